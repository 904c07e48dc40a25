"""RSA key handling: generating actor keys and loading PEM documents.

Loading is cached because every inbox POST and signed fetch parses the same
handful of PEMs, and parsing (especially private keys, which are checked for
consistency) is far costlier than the signature operation itself.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    PrivateKeyTypes,
    PublicKeyTypes,
)

from federation.errors import KeyNotFoundError


def generate_private_key_pem(bits: int = 2048) -> str:
    """A new RSA private key as PKCS#8 PEM (Mastodon expects RSA, 2048+ bits)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    ).decode("ascii")


def public_key_pem(private_pem: str) -> str:
    """The SubjectPublicKeyInfo PEM to publish in the actor's ``publicKey``."""
    return (
        load_private_key(private_pem)
        .public_key()
        .public_bytes(
            encoding=serialization.Encoding.PEM,
            format=serialization.PublicFormat.SubjectPublicKeyInfo,
        )
        .decode("ascii")
    )


@lru_cache(maxsize=64)
def load_private_key(pem: str) -> PrivateKeyTypes:
    """Parse a private key PEM (PKCS#1 or PKCS#8); cached."""
    try:
        return serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm, UnicodeEncodeError) as exc:
        raise KeyNotFoundError(f"unusable private key PEM: {exc}") from exc


@lru_cache(maxsize=1024)
def load_public_key(pem: str) -> PublicKeyTypes:
    """Parse a remote public key PEM (SPKI or PKCS#1 ``RSA PUBLIC KEY``); cached.

    Remote actors publish garbage now and then; that is a key we cannot use,
    hence ``KeyNotFoundError`` rather than a crash.
    """
    try:
        return serialization.load_pem_public_key(pem.strip().encode("ascii"))
    except (ValueError, TypeError, UnsupportedAlgorithm, UnicodeEncodeError) as exc:
        raise KeyNotFoundError(f"unusable public key PEM: {exc}") from exc
