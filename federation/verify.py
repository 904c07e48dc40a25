"""The one entry point the app calls to authenticate a signed request.

It chooses the signature scheme (RFC 9421 when ``Signature-Input`` is present,
else draft-cavage), enforces what must be signed and the time window — the
policy Mastodon applies — then verifies against the key the app's resolver
returns, refetching the key once when verification fails because the remote
may have rotated it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from federation.digest import verify_content_digest, verify_digest
from federation.errors import (
    DigestError,
    SignatureExpiredError,
    SignatureMalformedError,
    SignatureMismatchError,
)
from federation.rfc9421 import Rfc9421Signature, parse_rfc9421, verify_rfc9421
from federation.signatures import (
    CavageSignature,
    lower_headers,
    signature_from_headers,
    verify_cavage,
)


@dataclass(frozen=True)
class PublicKey:
    """A remote actor's public key, as the app's resolver returns it."""

    key_id: str
    owner: str
    pem: str


# Called as resolver(key_id, refresh). With refresh=True the app refetches the
# key (subject to its own cool-down); it raises KeyNotFoundError when it cannot.
KeyResolver = Callable[[str, bool], Awaitable[PublicKey]]


def _check_window(
    moment: datetime, now: datetime, max_age: timedelta, max_future: timedelta, what: str
) -> None:
    if moment < now - max_age:
        raise SignatureExpiredError(f"{what} is too old")
    if moment > now + max_future:
        raise SignatureExpiredError(f"{what} is in the future")


def _from_timestamp(value: int) -> datetime:
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise SignatureMalformedError("timestamp out of range") from exc


def _has_body(method: str, body: bytes | None) -> bool:
    # A GET handler typically passes b"" for "no body"; a POST always has one.
    return bool(body) or method.upper() == "POST"


def _check_cavage_policy(
    method: str,
    headers: Mapping[str, str],
    body: bytes | None,
    sig: CavageSignature,
    now: datetime,
    max_age: timedelta,
    max_future: timedelta,
) -> None:
    signed = set(sig.headers)
    if "(request-target)" not in signed:
        raise SignatureMalformedError("(request-target) must be signed")
    if _has_body(method, body):
        if "digest" not in signed:
            raise DigestError("a request with a body must sign Digest")
        verify_digest(headers.get("digest"), body or b"")
    elif "host" not in signed:
        raise SignatureMalformedError("host must be signed")
    if "date" not in signed and "(created)" not in signed:
        raise SignatureMalformedError("date or (created) must be signed")
    if "date" in signed:
        raw = headers.get("date", "")
        try:
            moment = parsedate_to_datetime(raw)
        except (TypeError, ValueError) as exc:
            raise SignatureMalformedError("unparsable Date header") from exc
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        _check_window(moment, now, max_age, max_future, "Date")
    if "(created)" in signed and sig.created is not None:
        _check_window(_from_timestamp(sig.created), now, max_age, max_future, "(created)")
    if "(expires)" in signed and sig.expires is not None:
        if _from_timestamp(sig.expires) < now:
            raise SignatureExpiredError("signature has expired")


def _check_rfc9421_policy(
    method: str,
    headers: Mapping[str, str],
    body: bytes | None,
    sig: Rfc9421Signature,
    now: datetime,
    max_age: timedelta,
    max_future: timedelta,
) -> None:
    if sig.created is None:
        raise SignatureMalformedError("RFC 9421 signature has no created parameter")
    _check_window(_from_timestamp(sig.created), now, max_age, max_future, "created")
    if sig.expires is not None and _from_timestamp(sig.expires) < now:
        raise SignatureExpiredError("signature has expired")
    covered = set(sig.covered)
    for required in ("@method", "@target-uri"):
        if required not in covered:
            raise SignatureMalformedError(f"{required} must be covered")
    if _has_body(method, body):
        if "content-digest" not in covered:
            raise DigestError("a request with a body must cover content-digest")
        verify_content_digest(headers.get("content-digest"), body or b"")


async def verify_request(
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    resolver: KeyResolver,
    now: datetime,
    max_age: timedelta = timedelta(hours=1, minutes=5),
    max_future: timedelta = timedelta(hours=1),
) -> PublicKey:
    """Authenticate a request and return the key that verified it.

    ``url`` is the public URL the client addressed (scheme, public host, path
    and query). The caller must still check that ``key.owner`` is the
    activity's actor. Raises a ``SignatureError`` subclass on any failure.
    """
    lowered = lower_headers(headers)
    parts = urlsplit(url)
    verify: Callable[[str], None]
    if "signature-input" in lowered:
        rfc_sig = parse_rfc9421(lowered)
        _check_rfc9421_policy(method, lowered, body, rfc_sig, now, max_age, max_future)
        key_id = rfc_sig.key_id

        def verify(pem: str) -> None:
            verify_rfc9421(method, url, lowered, rfc_sig, pem)

    else:
        cavage_sig = signature_from_headers(lowered)
        _check_cavage_policy(method, lowered, body, cavage_sig, now, max_age, max_future)
        key_id = cavage_sig.key_id

        def verify(pem: str) -> None:
            verify_cavage(method, parts.path, parts.query, lowered, cavage_sig, pem)

    key = await resolver(key_id, False)
    try:
        verify(key.pem)
        return key
    except SignatureMismatchError:
        # The remote may have rotated its key since we cached it: refetch once.
        fresh = await resolver(key_id, True)
        if fresh.pem.strip() == key.pem.strip():
            raise
        verify(fresh.pem)
        return fresh
