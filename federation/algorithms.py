"""Signature algorithms shared by draft-cavage and RFC 9421.

Both signature schemes end in "verify these bytes with this key"; keeping the
algorithm table in one place means a key-type or algorithm we do not support is
refused the same way everywhere.
"""

from __future__ import annotations

from enum import Enum

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from federation.errors import SignatureMismatchError, UnsupportedAlgorithmError
from federation.keys import load_private_key, load_public_key


class Algorithm(Enum):
    """The algorithms we verify, named as RFC 9421 names them."""

    RSA_V1_5_SHA256 = "rsa-v1_5-sha256"
    RSA_PSS_SHA512 = "rsa-pss-sha512"
    ED25519 = "ed25519"


def _pss() -> padding.PSS:
    # RFC 9421 §3.3.1: MGF1 with SHA-512 and a 64-byte salt.
    return padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=64)


def algorithm_for_key(public_key_pem: str) -> Algorithm:
    """The algorithm implied by a key when the signature does not name one.

    This is how ``hs2019`` (and an absent algorithm) works in practice: the
    fediverse uses RSA PKCS#1 v1.5 with SHA-256 for RSA keys.
    """
    key = load_public_key(public_key_pem)
    if isinstance(key, rsa.RSAPublicKey):
        return Algorithm.RSA_V1_5_SHA256
    if isinstance(key, ed25519.Ed25519PublicKey):
        return Algorithm.ED25519
    raise UnsupportedAlgorithmError(f"unsupported key type {type(key).__name__}")


def algorithm_for_private_key(private_key_pem: str) -> Algorithm:
    """The algorithm a private key signs with when none is named."""
    key = load_private_key(private_key_pem)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return Algorithm.ED25519
    return Algorithm.RSA_V1_5_SHA256


def verify_bytes(algorithm: Algorithm, public_key_pem: str, data: bytes, signature: bytes) -> None:
    """Verify ``signature`` over ``data``; raises ``SignatureMismatchError``."""
    key = load_public_key(public_key_pem)
    try:
        if algorithm is Algorithm.ED25519:
            if not isinstance(key, ed25519.Ed25519PublicKey):
                raise SignatureMismatchError("ed25519 signature but the key is not Ed25519")
            key.verify(signature, data)
            return
        if not isinstance(key, rsa.RSAPublicKey):
            raise SignatureMismatchError(f"{algorithm.value} signature but the key is not RSA")
        if algorithm is Algorithm.RSA_PSS_SHA512:
            key.verify(signature, data, _pss(), hashes.SHA512())
        else:
            key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature as exc:
        raise SignatureMismatchError("signature does not verify") from exc


def sign_bytes(algorithm: Algorithm, private_key_pem: str, data: bytes) -> bytes:
    """Sign ``data`` with the private key using ``algorithm``."""
    key = load_private_key(private_key_pem)
    if algorithm is Algorithm.ED25519:
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise UnsupportedAlgorithmError("ed25519 needs an Ed25519 private key")
        return key.sign(data)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise UnsupportedAlgorithmError(f"{algorithm.value} needs an RSA private key")
    if algorithm is Algorithm.RSA_PSS_SHA512:
        return key.sign(data, _pss(), hashes.SHA512())
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
