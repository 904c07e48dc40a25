"""Typed errors raised by the federation package.

The app maps these to HTTP answers (every ``SignatureError`` is a 401, a
``SignatureMalformedError`` may be a 400) and to delivery decisions (a
``FetchError`` carries the remote status so retries can be decided), so each
failure mode gets its own class instead of a message to parse.
"""

from __future__ import annotations


class FederationError(Exception):
    """Base class of every error this package raises on purpose."""


class SignatureError(FederationError):
    """An HTTP signature could not be accepted (the app answers 401)."""


class SignatureMissingError(SignatureError):
    """The request carries no signature at all."""


class SignatureMalformedError(SignatureError):
    """The signature header cannot be parsed or signs too little."""


class UnsupportedAlgorithmError(SignatureError):
    """The signature names an algorithm (or key type) we do not verify."""


class DigestError(SignatureError):
    """The body digest is missing, unsigned or does not match the body."""


class SignatureExpiredError(SignatureError):
    """``Date``/``created``/``expires`` fall outside the accepted window."""


class KeyNotFoundError(SignatureError):
    """The signing key cannot be obtained or is unusable."""


class SignatureMismatchError(SignatureError):
    """The signature does not verify against the key."""


class FetchError(FederationError):
    """A remote document could not be fetched or delivered to.

    ``status`` is the HTTP status when the remote answered, else ``None``
    (network error, refused address, bad document).
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class BlockedAddressError(FetchError):
    """The URL points at a private network, or uses a refused scheme."""


class ContentTypeError(FetchError):
    """The response is not of the expected content type (CVE-2024-23832)."""


class ResponseTooLargeError(FetchError):
    """The response body exceeds the size cap."""


class OriginMismatchError(FetchError):
    """The document's ``id`` is not on the origin that finally served it."""


class TooManyRedirectsError(FetchError):
    """The redirect chain is longer than allowed."""


class WebFingerError(FederationError):
    """An account could not be resolved through WebFinger."""
