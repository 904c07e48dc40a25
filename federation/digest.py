"""Body digests: the legacy ``Digest`` header and RFC 9530 ``Content-Digest``.

draft-cavage signatures only protect the body through a signed ``Digest``
header (Mastodon sends ``SHA-256=…``); RFC 9421 signatures cover
``Content-Digest`` instead. Both must be checked against the bytes received.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from federation.errors import DigestError, SignatureMalformedError
from federation.structured import Item, parse_dictionary


def _sha256_b64(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def make_digest(body: bytes) -> str:
    """The ``Digest`` header value Mastodon sends and expects: ``SHA-256=<b64>``."""
    return f"SHA-256={_sha256_b64(body)}"


def verify_digest(header: str | None, body: bytes) -> None:
    """Check a ``Digest`` header; it may list several algorithms, SHA-256 must be one."""
    if not header:
        raise DigestError("missing Digest header")
    found = False
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep or name.strip().lower() != "sha-256":
            continue
        found = True
        try:
            claimed = base64.b64decode(value.strip(), validate=True)
        except binascii.Error as exc:
            raise DigestError("Digest SHA-256 value is not base64") from exc
        if not hmac.compare_digest(claimed, hashlib.sha256(body).digest()):
            raise DigestError("Digest does not match the body")
    if not found:
        raise DigestError("Digest header has no SHA-256 value")


def make_content_digest(body: bytes) -> str:
    """An RFC 9530 ``Content-Digest`` value: ``sha-256=:<b64>:``."""
    return f"sha-256=:{_sha256_b64(body)}:"


_CONTENT_DIGEST_ALGS = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}


def verify_content_digest(header: str | None, body: bytes) -> None:
    """Check a ``Content-Digest`` dictionary; every sha-256/sha-512 entry must match."""
    if not header:
        raise DigestError("missing Content-Digest header")
    try:
        members = parse_dictionary(header)
    except SignatureMalformedError as exc:
        raise DigestError(f"unparsable Content-Digest: {exc}") from exc
    checked = 0
    for name, member in members.items():
        algorithm = _CONTENT_DIGEST_ALGS.get(name)
        if algorithm is None:
            continue  # unknown algorithms are ignored, as RFC 9530 allows
        if not isinstance(member, Item) or not isinstance(member.value, bytes):
            raise DigestError(f"Content-Digest {name} is not a byte sequence")
        if not hmac.compare_digest(member.value, algorithm(body).digest()):
            raise DigestError(f"Content-Digest {name} does not match the body")
        checked += 1
    if not checked:
        raise DigestError("Content-Digest has no sha-256 or sha-512 value")
