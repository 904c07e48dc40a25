"""RFC 9421 HTTP Message Signatures: verification (and a signer for tests).

Mastodon 4.5 verifies these by default and other servers are moving to them,
so inbound requests signed this way must be accepted. We still sign outgoing
requests with draft-cavage (``federation.signatures``), which every server
understands. Only request signatures are handled.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from federation.algorithms import (
    Algorithm,
    algorithm_for_key,
    algorithm_for_private_key,
    sign_bytes,
    verify_bytes,
)
from federation.digest import make_content_digest
from federation.errors import (
    SignatureMalformedError,
    SignatureMissingError,
    UnsupportedAlgorithmError,
)
from federation.signatures import lower_headers
from federation.structured import (
    InnerList,
    Item,
    Parameters,
    parse_dictionary,
    serialize_inner_list,
)
from federation.vocab import host_of


@dataclass(frozen=True)
class Rfc9421Signature:
    """One signature from ``Signature-Input``/``Signature``.

    ``components`` keeps each covered component with its parameters (for the
    signature base); ``covered`` is just the names, for policy checks.
    ``params_line`` is the canonical ``@signature-params`` value.
    """

    label: str
    key_id: str
    covered: list[str]
    created: int | None
    expires: int | None
    alg: str | None
    signature: bytes
    params_line: str
    nonce: str | None = None
    tag: str | None = None
    components: list[Item] = field(default_factory=list)


def _str_param(params: Parameters, name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise SignatureMalformedError(f"Signature-Input parameter {name} must be a string")
    return str(value)


def _int_param(params: Parameters, name: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise SignatureMalformedError(f"Signature-Input parameter {name} must be an integer")
    return value


def parse_rfc9421(headers: Mapping[str, str]) -> Rfc9421Signature:
    """Parse the first signature listed in ``Signature-Input`` that has a value."""
    lowered = lower_headers(headers)
    raw_input = lowered.get("signature-input")
    raw_signature = lowered.get("signature")
    if not raw_input or not raw_signature:
        raise SignatureMissingError("no RFC 9421 Signature-Input/Signature pair")
    inputs = parse_dictionary(raw_input)
    values = parse_dictionary(raw_signature)
    for label, member in inputs.items():
        if label not in values:
            continue
        if not isinstance(member, InnerList):
            raise SignatureMalformedError(f"Signature-Input {label} is not an inner list")
        value = values[label]
        if not isinstance(value, Item) or not isinstance(value.value, bytes):
            raise SignatureMalformedError(f"Signature {label} is not a byte sequence")
        components: list[Item] = []
        for item in member.items:
            if not isinstance(item.value, str) or isinstance(item.value, bytes):
                raise SignatureMalformedError("covered components must be strings")
            if item.value != item.value.lower():
                raise SignatureMalformedError("component names must be lowercase")
            components.append(item)
        key_id = _str_param(member.params, "keyid")
        if not key_id:
            raise SignatureMalformedError(f"Signature-Input {label} has no keyid")
        return Rfc9421Signature(
            label=label,
            key_id=key_id,
            covered=[str(item.value) for item in components],
            created=_int_param(member.params, "created"),
            expires=_int_param(member.params, "expires"),
            alg=_str_param(member.params, "alg"),
            signature=value.value,
            params_line=serialize_inner_list(member),
            nonce=_str_param(member.params, "nonce"),
            tag=_str_param(member.params, "tag"),
            components=components,
        )
    raise SignatureMalformedError("no Signature-Input label has a matching Signature")


def _component_value(name: str, method: str, url: str, headers: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    path = parts.path or "/"
    if name == "@method":
        return method.upper()
    if name == "@target-uri":
        return url
    if name == "@authority":
        # RFC 9421 §2.2.3: lowercase host, default port omitted — host_of's rule.
        return host_of(url)
    if name == "@scheme":
        return parts.scheme.lower()
    if name == "@path":
        return path
    if name == "@query":
        return f"?{parts.query}"
    if name == "@request-target":
        return f"{path}?{parts.query}" if parts.query else path
    if name.startswith("@"):
        raise SignatureMalformedError(f"unsupported derived component {name}")
    if name not in headers:
        raise SignatureMalformedError(f"covered header {name} is missing")
    return headers[name].strip()


def build_signature_base(
    method: str,
    url: str,
    headers: Mapping[str, str],
    components: Sequence[Item],
    params_line: str,
) -> str:
    """The RFC 9421 §2.5 signature base for a request."""
    lowered = lower_headers(headers)
    lines: list[str] = []
    seen: set[str] = set()
    for item in components:
        name = str(item.value)
        if item.params:
            # sf, key, bs, req, tr and name change the value; none is needed here.
            raise SignatureMalformedError(f"unsupported component parameters on {name}")
        if name in seen:
            raise SignatureMalformedError(f"component {name} is covered twice")
        seen.add(name)
        lines.append(f'"{name}": {_component_value(name, method, url, lowered)}')
    lines.append(f'"@signature-params": {params_line}')
    return "\n".join(lines)


_ALGS = {alg.value: alg for alg in Algorithm}


def _algorithm(sig: Rfc9421Signature, public_key_pem: str) -> Algorithm:
    if sig.alg is None:
        # Without `alg` the key decides (RSA → rsa-v1_5-sha256, like Mastodon).
        return algorithm_for_key(public_key_pem)
    try:
        return _ALGS[sig.alg]
    except KeyError:
        raise UnsupportedAlgorithmError(f"unsupported RFC 9421 algorithm {sig.alg}") from None


def verify_rfc9421(
    method: str,
    url: str,
    headers: Mapping[str, str],
    sig: Rfc9421Signature,
    public_key_pem: str,
) -> None:
    """Verify the signature cryptographically; raises ``SignatureMismatchError``.

    Which components must be covered, and the time window, are checked by
    ``federation.verify.verify_request``.
    """
    algorithm = _algorithm(sig, public_key_pem)
    base = build_signature_base(method, url, headers, sig.components, sig.params_line)
    verify_bytes(algorithm, public_key_pem, base.encode("utf-8"), sig.signature)


def sign_rfc9421(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    *,
    key_id: str,
    private_key_pem: str,
    covered: Sequence[str] | None = None,
    created: int | None = None,
    expires: int | None = None,
    alg: str | None = "rsa-v1_5-sha256",
    label: str = "sig1",
) -> dict[str, str]:
    """Sign a request RFC 9421-style; returns a new header dict (used by tests).

    Adds ``Content-Digest`` when there is a body. ``covered`` defaults to
    ``@method @target-uri`` plus ``content-digest`` when there is a body.
    """
    out = dict(headers)
    if body is not None:
        out["Content-Digest"] = make_content_digest(body)
    if covered is None:
        covered = ["@method", "@target-uri"] + (["content-digest"] if body is not None else [])
    params: Parameters = {}
    params["created"] = created if created is not None else int(datetime.now(UTC).timestamp())
    if expires is not None:
        params["expires"] = expires
    params["keyid"] = key_id
    if alg is not None:
        params["alg"] = alg
    inner = InnerList([Item(name) for name in covered], params)
    params_line = serialize_inner_list(inner)
    components = [Item(name) for name in covered]
    base = build_signature_base(method, url, out, components, params_line)
    algorithm = _ALGS[alg] if alg is not None else algorithm_for_private_key(private_key_pem)
    raw = sign_bytes(algorithm, private_key_pem, base.encode("utf-8"))
    out["Signature-Input"] = f"{label}={params_line}"
    out["Signature"] = f"{label}=:{base64.b64encode(raw).decode('ascii')}:"
    return out
