"""draft-cavage-http-signatures-12: the HTTP signatures Mastodon sends and expects.

Signing reproduces Mastodon's exact header shape so strict peers accept us;
verification follows Mastodon's leniencies (``hs2019`` or no algorithm means
RSA-SHA256 for an RSA key; the request target is tried with and without its
query string). Policy (which headers must be signed, time windows) lives in
``federation.verify``.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import urlsplit

from federation.algorithms import Algorithm, algorithm_for_key, sign_bytes, verify_bytes
from federation.digest import make_digest
from federation.errors import (
    SignatureMalformedError,
    SignatureMismatchError,
    SignatureMissingError,
    UnsupportedAlgorithmError,
)
from federation.vocab import host_of


@dataclass(frozen=True)
class CavageSignature:
    """The parsed parameters of a draft-cavage ``Signature`` header."""

    key_id: str
    algorithm: str | None
    headers: list[str]
    signature: bytes
    created: int | None
    expires: int | None


# name="quoted value" or name=bare-value, separated by commas; the draft only
# defines quoted strings, but (created)/(expires) are often sent bare.
_PARAM = re.compile(r'\s*([A-Za-z]+)\s*=\s*(?:"([^"]*)"|([^,\s"]*))\s*(?:,|$)')


def parse_signature_header(value: str) -> CavageSignature:
    """Parse the value of a ``Signature`` header (or of ``Authorization: Signature``)."""
    params: dict[str, str] = {}
    pos = 0
    text = value.strip()
    while pos < len(text):
        match = _PARAM.match(text, pos)
        if not match or match.end() == pos:
            raise SignatureMalformedError(f"unparsable Signature header near offset {pos}")
        name = match.group(1)
        if name in params:
            raise SignatureMalformedError(f"duplicate Signature parameter {name}")
        params[name] = match.group(2) if match.group(2) is not None else match.group(3)
        pos = match.end()
    key_id = params.get("keyId")
    if not key_id:
        raise SignatureMalformedError("Signature has no keyId")
    raw_signature = params.get("signature")
    if not raw_signature:
        raise SignatureMalformedError("Signature has no signature value")
    try:
        signature = base64.b64decode(raw_signature, validate=True)
    except binascii.Error as exc:
        raise SignatureMalformedError("signature value is not base64") from exc
    # The draft's default when `headers` is absent is the Date header alone.
    headers = params.get("headers", "date").lower().split()
    if not headers:
        raise SignatureMalformedError("Signature signs no headers")
    return CavageSignature(
        key_id=key_id,
        algorithm=params.get("algorithm"),
        headers=headers,
        signature=signature,
        created=_int_param(params, "created"),
        expires=_int_param(params, "expires"),
    )


def _int_param(params: Mapping[str, str], name: str) -> int | None:
    raw = params.get(name)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise SignatureMalformedError(f"{name} is not an integer") from exc


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Copy a header mapping with lowercase names, for case-insensitive lookups."""
    return {name.lower(): value for name, value in headers.items()}


def signature_from_headers(headers: Mapping[str, str]) -> CavageSignature:
    """Find the signature in ``Signature`` or, failing that, ``Authorization``."""
    lowered = lower_headers(headers)
    if "signature" in lowered:
        return parse_signature_header(lowered["signature"])
    scheme, _, rest = lowered.get("authorization", "").strip().partition(" ")
    if scheme.lower() == "signature" and rest.strip():
        return parse_signature_header(rest)
    raise SignatureMissingError("request is not signed")


def build_signing_string(
    method: str,
    target: str,
    headers: Mapping[str, str],
    signed: Sequence[str],
    created: int | None = None,
    expires: int | None = None,
) -> str:
    """The newline-joined ``name: value`` lines the signature is computed over."""
    lowered = lower_headers(headers)
    lines: list[str] = []
    for name in signed:
        name = name.lower()
        if name == "(request-target)":
            lines.append(f"(request-target): {method.lower()} {target}")
        elif name == "(created)":
            if created is None:
                raise SignatureMalformedError("(created) is signed but has no value")
            lines.append(f"(created): {created}")
        elif name == "(expires)":
            if expires is None:
                raise SignatureMalformedError("(expires) is signed but has no value")
            lines.append(f"(expires): {expires}")
        elif name in lowered:
            lines.append(f"{name}: {lowered[name].strip()}")
        else:
            raise SignatureMalformedError(f"signed header {name} is missing")
    return "\n".join(lines)


def request_target(url: str) -> str:
    """Path plus ``?query`` of a URL, as ``(request-target)`` uses it."""
    parts = urlsplit(url)
    path = parts.path or "/"
    return f"{path}?{parts.query}" if parts.query else path


def http_date(moment: datetime) -> str:
    """RFC 7231 IMF-fixdate, e.g. ``Sun, 06 Nov 1994 08:49:37 GMT``."""
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def sign_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    *,
    key_id: str,
    private_key_pem: str,
    now: datetime | None = None,
) -> dict[str, str]:
    """Return a new header dict with Host, Date, Digest and Signature added.

    The signed header list copies Mastodon's: ``(request-target) host date
    digest content-type`` for requests with a body, ``(request-target) host
    date accept`` for GETs, each last header only when present.
    """
    replaced = {"host", "date", "digest", "signature"}
    out = {name: value for name, value in headers.items() if name.lower() not in replaced}
    out["Host"] = host_of(url)
    out["Date"] = http_date(now or datetime.now(UTC))
    signed = ["(request-target)", "host", "date"]
    lowered = lower_headers(out)
    if body is not None:
        out["Digest"] = make_digest(body)
        signed.append("digest")
        if "content-type" in lowered:
            signed.append("content-type")
    elif "accept" in lowered:
        signed.append("accept")
    text = build_signing_string(method, request_target(url), out, signed)
    raw = sign_bytes(Algorithm.RSA_V1_5_SHA256, private_key_pem, text.encode("utf-8"))
    out["Signature"] = (
        f'keyId="{key_id}",algorithm="rsa-sha256",headers="{" ".join(signed)}",'
        f'signature="{base64.b64encode(raw).decode("ascii")}"'
    )
    return out


def _algorithm(sig: CavageSignature, public_key_pem: str) -> Algorithm:
    name = (sig.algorithm or "hs2019").lower()
    if name == "hs2019":
        # hs2019 defers to the key's type (RSA → PKCS#1 v1.5 SHA-256 in practice).
        return algorithm_for_key(public_key_pem)
    if name == "rsa-sha256":
        return Algorithm.RSA_V1_5_SHA256
    if name == "ed25519":
        return Algorithm.ED25519
    raise UnsupportedAlgorithmError(f"unsupported signature algorithm {sig.algorithm}")


def verify_cavage(
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    sig: CavageSignature,
    public_key_pem: str,
) -> None:
    """Verify ``sig`` over the request; raises ``SignatureMismatchError``.

    Mastodon checks the target with the query string first, then without it,
    because some signers (and some proxies) drop the query.
    """
    algorithm = _algorithm(sig, public_key_pem)
    path = path or "/"
    targets = [f"{path}?{query}", path] if query else [path]
    for target in targets:
        text = build_signing_string(method, target, headers, sig.headers, sig.created, sig.expires)
        try:
            verify_bytes(algorithm, public_key_pem, text.encode("utf-8"), sig.signature)
            return
        except SignatureMismatchError:
            continue
    raise SignatureMismatchError("signature does not verify")
