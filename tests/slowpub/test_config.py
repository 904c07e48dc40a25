"""Settings from the environment: defaults, normalisation and clear refusals."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from slowpub.config import ConfigError, load_settings


def test_defaults(tmp_path: Path) -> None:
    s = load_settings({"SLOWPUB_DATA_DIR": str(tmp_path)}, create_secret=True)
    assert s.base_url == "http://127.0.0.1:8000"
    assert s.host == "127.0.0.1:8000"  # the port is part of the account domain
    assert s.database_url == f"sqlite+aiosqlite:///{tmp_path / 'slowpub.db'}"
    assert s.allow_private_networks is False
    assert (s.header_timeout, s.body_timeout) == (10.0, 30.0)
    assert (s.inbox_quota_activities, s.inbox_quota_bytes) == (1000, 64 * 1024 * 1024)
    assert s.retention_days == 30
    assert len(s.secret_key) > 40
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    # The secret is kept, not regenerated.
    assert load_settings({"SLOWPUB_DATA_DIR": str(tmp_path)}).secret_key == s.secret_key


def test_normalisation(tmp_path: Path) -> None:
    s = load_settings(
        {
            "SLOWPUB_BASE_URL": "https://Slow.Example/",
            "SLOWPUB_DATA_DIR": str(tmp_path),
            "SLOWPUB_DATABASE_URL": "postgresql://u@db/slowpub",
            "SLOWPUB_ALLOW_PRIVATE_NETWORKS": "true",
            "SLOWPUB_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8",
            "SLOWPUB_INBOX_QUOTA_ACTIVITIES": "50",
            "SLOWPUB_INBOX_QUOTA_MIB": "2",
            "SLOWPUB_RETENTION_DAYS": "7",
        }
    )
    assert (s.inbox_quota_activities, s.inbox_quota_bytes, s.retention_days) == (
        50,
        2 * 1024 * 1024,
        7,
    )
    assert s.base_url == "https://slow.example"
    assert s.host == "slow.example"
    assert s.database_url == "postgresql+asyncpg://u@db/slowpub"
    assert s.allow_private_networks is True
    assert s.trusted_proxies == (
        ipaddress.ip_network("127.0.0.1/32"),
        ipaddress.ip_network("10.0.0.0/8"),
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SLOWPUB_BASE_URL", "slow.example"),
        ("SLOWPUB_BASE_URL", "https://slow.example/sub"),
        ("SLOWPUB_DATABASE_URL", "mysql://x"),
        ("SLOWPUB_TRUSTED_PROXIES", "not-an-ip"),
        ("SLOWPUB_BODY_TIMEOUT", "0"),
        ("SLOWPUB_HEADER_TIMEOUT", "soon"),
        ("SLOWPUB_INBOX_QUOTA_ACTIVITIES", "0"),
        ("SLOWPUB_INBOX_QUOTA_MIB", "lots"),
        ("SLOWPUB_RETENTION_DAYS", "-1"),
        ("SLOWPUB_RETENTION_DAYS", "٣"),  # a non-ASCII digit
    ],
)
def test_refusals(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(ConfigError):
        load_settings({"SLOWPUB_DATA_DIR": str(tmp_path), name: value})


def test_default_port_is_not_part_of_the_domain(tmp_path: Path) -> None:
    env = {"SLOWPUB_DATA_DIR": str(tmp_path), "SLOWPUB_BASE_URL": "https://slow.example:443"}
    assert load_settings(env).host == "slow.example"
    env["SLOWPUB_BASE_URL"] = "http://127.0.0.1:80"
    assert load_settings(env).base_url == "http://127.0.0.1"
