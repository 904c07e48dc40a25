"""Argon2 password hashes: the one hasher, checking a hash, and a dummy to check against.

Apart from :mod:`slowpub.social.accounts` because the runtime context's
password threads (:mod:`slowpub.auth.password_checks`) need these without
the accounts module (which needs the context).
"""

from __future__ import annotations

import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

HASHER = PasswordHasher()


def verify_password_hash(password_hash: str, password: str) -> bool:
    """Blocking, tens of milliseconds of CPU: call it on a thread from async code."""
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def dummy_password_hash() -> str:
    """A hash no password matches, made with the same parameters as real ones.

    A login naming nobody (or an account without a password) is checked
    against it, so it costs what a wrong password costs and timing does not
    tell which usernames exist.
    """
    return HASHER.hash(secrets.token_urlsafe(32))
