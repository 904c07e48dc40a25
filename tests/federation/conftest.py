"""Session fixtures for the federation tests: freshly generated actor keys."""

from __future__ import annotations

import pytest

from federation.keys import generate_private_key_pem, public_key_pem


@pytest.fixture(scope="session")
def actor_private_pem() -> str:
    return generate_private_key_pem()


@pytest.fixture(scope="session")
def actor_public_pem(actor_private_pem: str) -> str:
    return public_key_pem(actor_private_pem)


@pytest.fixture(scope="session")
def other_private_pem() -> str:
    return generate_private_key_pem()
