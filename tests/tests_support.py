"""Small helpers shared by the slowpub tests."""

from __future__ import annotations

from typing import Any

import httpx

from federation.vocab import AP_CONTENT_TYPE


async def ap_get(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    r = await client.get(url, headers={"Accept": AP_CONTENT_TYPE})
    assert r.status_code == 200, (url, r.status_code, r.text)
    assert r.headers["content-type"].startswith(AP_CONTENT_TYPE)
    doc: dict[str, Any] = r.json()
    return doc
