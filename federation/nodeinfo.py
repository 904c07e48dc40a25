"""NodeInfo documents, which crawlers and other servers read to learn what we are.

Both schema 2.0 and 2.1 are served because older consumers only know 2.0; the
only difference is that 2.1 adds ``repository`` and ``homepage`` to
``software``, which 2.0's schema forbids.
"""

from __future__ import annotations

import re
from typing import Any

SCHEMA_BASE = "http://nodeinfo.diaspora.software/ns/schema/"
VERSIONS = ("2.0", "2.1")
_SOFTWARE_NAME = re.compile(r"[a-z0-9-]+")


def nodeinfo_links(base_url: str) -> dict[str, Any]:
    """The ``/.well-known/nodeinfo`` document linking both schema versions."""
    base = base_url.rstrip("/")
    return {
        "links": [
            {"rel": f"{SCHEMA_BASE}{version}", "href": f"{base}/nodeinfo/{version}"}
            for version in VERSIONS
        ]
    }


def nodeinfo_document(
    version: str,
    *,
    software_name: str,
    software_version: str,
    repository: str | None,
    homepage: str | None,
    open_registrations: bool,
    users_total: int,
    active_month: int,
    active_halfyear: int,
    local_posts: int,
    metadata: dict[str, Any],
) -> dict[str, Any]:
    """A NodeInfo document valid against the schema of ``version`` (2.0 or 2.1)."""
    if version not in VERSIONS:
        raise ValueError(f"unsupported NodeInfo version {version!r}")
    if not _SOFTWARE_NAME.fullmatch(software_name):
        raise ValueError("NodeInfo software name must match ^[a-z0-9-]+$")
    software: dict[str, Any] = {"name": software_name, "version": software_version}
    if version == "2.1":
        if repository is not None:
            software["repository"] = repository
        if homepage is not None:
            software["homepage"] = homepage
    return {
        "version": version,
        "software": software,
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": open_registrations,
        "usage": {
            "users": {
                "total": users_total,
                "activeMonth": active_month,
                "activeHalfyear": active_halfyear,
            },
            "localPosts": local_posts,
        },
        "metadata": dict(metadata),
    }
