"""slowpub's ActivityPub protocol library: signatures, safe fetching, discovery.

It knows nothing of the app's storage: I/O comes in as arguments (an
``httpx.AsyncClient``, a key-resolver callable) and failures go out as typed
errors from ``federation.errors``.
"""

from federation.digest import (
    make_content_digest,
    make_digest,
    verify_content_digest,
    verify_digest,
)
from federation.errors import (
    BlockedAddressError,
    ContentTypeError,
    DigestError,
    FederationError,
    FetchError,
    KeyNotFoundError,
    OriginMismatchError,
    ResponseTooLargeError,
    SignatureError,
    SignatureExpiredError,
    SignatureMalformedError,
    SignatureMismatchError,
    SignatureMissingError,
    TooManyRedirectsError,
    UnsupportedAlgorithmError,
    WebFingerError,
)
from federation.fetch import fetch_json, signed_get, signed_post
from federation.keys import (
    generate_private_key_pem,
    load_private_key,
    load_public_key,
    public_key_pem,
)
from federation.netguard import check_url, is_public_address, make_http_client
from federation.nodeinfo import nodeinfo_document, nodeinfo_links
from federation.rfc9421 import Rfc9421Signature, parse_rfc9421, verify_rfc9421
from federation.signatures import (
    CavageSignature,
    build_signing_string,
    parse_signature_header,
    sign_request,
    signature_from_headers,
    verify_cavage,
)
from federation.verify import KeyResolver, PublicKey, verify_request
from federation.vocab import (
    AP_ACCEPT,
    AP_CONTENT_TYPE,
    AS_CONTEXT,
    LD_CONTENT_TYPE,
    PUBLIC,
    PUBLIC_ALIASES,
    SECURITY_CONTEXT,
    as_list,
    host_of,
    id_of,
    is_ap_content_type,
    same_origin,
    wants_ap,
    web_url,
)
from federation.webfinger import host_meta_xrd, jrd_for_actor, lookup, parse_account

__all__ = [
    "AP_ACCEPT",
    "AP_CONTENT_TYPE",
    "AS_CONTEXT",
    "LD_CONTENT_TYPE",
    "PUBLIC",
    "PUBLIC_ALIASES",
    "SECURITY_CONTEXT",
    "BlockedAddressError",
    "CavageSignature",
    "ContentTypeError",
    "DigestError",
    "FederationError",
    "FetchError",
    "KeyNotFoundError",
    "KeyResolver",
    "OriginMismatchError",
    "PublicKey",
    "ResponseTooLargeError",
    "Rfc9421Signature",
    "SignatureError",
    "SignatureExpiredError",
    "SignatureMalformedError",
    "SignatureMismatchError",
    "SignatureMissingError",
    "TooManyRedirectsError",
    "UnsupportedAlgorithmError",
    "WebFingerError",
    "as_list",
    "build_signing_string",
    "check_url",
    "fetch_json",
    "generate_private_key_pem",
    "host_meta_xrd",
    "host_of",
    "id_of",
    "is_ap_content_type",
    "is_public_address",
    "jrd_for_actor",
    "load_private_key",
    "load_public_key",
    "lookup",
    "make_content_digest",
    "make_digest",
    "make_http_client",
    "nodeinfo_document",
    "nodeinfo_links",
    "parse_account",
    "parse_rfc9421",
    "parse_signature_header",
    "public_key_pem",
    "same_origin",
    "sign_request",
    "signature_from_headers",
    "signed_get",
    "signed_post",
    "verify_cavage",
    "verify_content_digest",
    "verify_digest",
    "verify_request",
    "verify_rfc9421",
    "wants_ap",
    "web_url",
]
