"""Settings, read once from the environment.

The variable names are a contract other tools (deploy files, CI, operators'
scripts) rely on, so they are spelled out here and in the README only.
Nothing is read at import time: the CLI and the app factory call
:func:`load_settings` and pass the result down.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
# The most any request body may be, on every endpoint (the inbox included):
# activities, forms and API calls are all far smaller, and media uploads,
# which would need more, do not exist yet.
MAX_REQUEST_BODY = 1024 * 1024
# Seconds a client has to send a request's head (from connecting, or from
# the previous response), then its body: slow clients must not hold a
# connection, or a request's memory, open indefinitely.
DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_BODY_TIMEOUT = 30.0
# Per sending host, what the inbox holds accepted but not yet processed
# before it answers 429: one host's flood must neither fill the disk nor
# queue everyone else behind it (Mastodon retries a 429 later).
DEFAULT_INBOX_QUOTA_ACTIVITIES = 1000
DEFAULT_INBOX_QUOTA_MIB = 64
# Days processed inbound activities and finished deliveries are kept (for
# `slowpub deliveries` and for spotting a redelivered id) before pruning.
DEFAULT_RETENTION_DAYS = 30


class ConfigError(ValueError):
    """A setting has a value slowpub cannot work with."""


@dataclass(frozen=True)
class Settings:
    base_url: str
    data_dir: Path
    database_url: str
    secret_key: str
    allow_private_networks: bool = False
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = field(
        default_factory=tuple
    )
    smtp_url: str | None = None
    mail_from: str | None = None
    allow_password_grant: bool = True
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    inbox_quota_activities: int = DEFAULT_INBOX_QUOTA_ACTIVITIES
    inbox_quota_bytes: int = DEFAULT_INBOX_QUOTA_MIB * 1024 * 1024
    retention_days: int = DEFAULT_RETENTION_DAYS

    @property
    def host(self) -> str:
        """The account domain: the authority of the base URL, port included."""
        return urlsplit(self.base_url).netloc.lower()

    @property
    def scheme(self) -> str:
        return urlsplit(self.base_url).scheme

    def url(self, path: str) -> str:
        """An absolute public URL for a path on this instance."""
        return self.base_url + path

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _normalise_base_url(raw: str) -> str:
    raw = raw.strip().rstrip("/")
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigError(
            f"SLOWPUB_BASE_URL must be an http(s) URL like https://slow.example, not {raw!r}"
        )
    if parts.path or parts.query or parts.fragment:
        raise ConfigError("SLOWPUB_BASE_URL must not have a path, query or fragment")
    netloc = parts.netloc.lower()
    default_port = {"http": ":80", "https": ":443"}[parts.scheme]
    if netloc.endswith(default_port):
        # https://host:443 is https://host: the handle and the signed Host
        # header must not carry a default port.
        netloc = netloc[: -len(default_port)]
    return f"{parts.scheme}://{netloc}"


def _parse_proxies(raw: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    networks = []
    for item in raw.replace(" ", ",").split(","):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ConfigError(
                f"SLOWPUB_TRUSTED_PROXIES: {item!r} is not an address or network"
            ) from exc
    return tuple(networks)


def _secret_key(data_dir: Path, configured: str | None, create: bool) -> str:
    """Use the configured secret, else the one kept in the data dir.

    ``create`` is only true for ``slowpub init``: other commands must not
    silently invent a new secret (it would invalidate every session).
    """
    if configured:
        return configured
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    if not create:
        return ""
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


MIN_SECRET_LENGTH = 16


def require_secret(settings: Settings) -> str:
    """The secret that signs session cookies, or a one-line refusal.

    Without it a server would sign sessions with a value anyone can guess, and
    a forged session mints OAuth tokens: no command that serves or works on
    behalf of users may start without a real one.
    """
    key = settings.secret_key
    if not key:
        raise ConfigError(
            f"no secret key: run `slowpub init` (it writes {settings.data_dir / 'secret_key'})"
            " or set SLOWPUB_SECRET_KEY"
        )
    if len(key) < MIN_SECRET_LENGTH:
        raise ConfigError(
            f"the secret key is too short ({len(key)} characters, at least {MIN_SECRET_LENGTH}):"
            " `python3 -c 'import secrets; print(secrets.token_urlsafe(48))'` makes one"
        )
    return key


def load_settings(env: Mapping[str, str] | None = None, *, create_secret: bool = False) -> Settings:
    env = os.environ if env is None else env
    base_url = _normalise_base_url(env.get("SLOWPUB_BASE_URL") or DEFAULT_BASE_URL)
    data_dir = Path(env.get("SLOWPUB_DATA_DIR") or "./data").resolve()
    database_url = (
        env.get("SLOWPUB_DATABASE_URL") or f"sqlite+aiosqlite:///{data_dir / 'slowpub.db'}"
    )
    if database_url.startswith("postgresql://") or database_url.startswith("postgres://"):
        # Operators paste libpq URLs; the async driver is the only one we ship.
        database_url = "postgresql+asyncpg://" + database_url.split("://", 1)[1]
    if not (
        database_url.startswith("sqlite+aiosqlite://")
        or database_url.startswith("postgresql+asyncpg://")
    ):
        raise ConfigError(
            "SLOWPUB_DATABASE_URL must be a sqlite+aiosqlite:// or postgresql+asyncpg:// URL"
        )
    return Settings(
        base_url=base_url,
        data_dir=data_dir,
        database_url=database_url,
        secret_key=_secret_key(data_dir, env.get("SLOWPUB_SECRET_KEY"), create_secret),
        allow_private_networks=_truthy(env.get("SLOWPUB_ALLOW_PRIVATE_NETWORKS")),
        trusted_proxies=_parse_proxies(env.get("SLOWPUB_TRUSTED_PROXIES", "")),
        smtp_url=_smtp_url(env.get("SLOWPUB_SMTP_URL")),
        mail_from=env.get("SLOWPUB_MAIL_FROM") or None,
        allow_password_grant=not _falsy(env.get("SLOWPUB_PASSWORD_GRANT")),
        header_timeout=_seconds(env, "SLOWPUB_HEADER_TIMEOUT", DEFAULT_HEADER_TIMEOUT),
        body_timeout=_seconds(env, "SLOWPUB_BODY_TIMEOUT", DEFAULT_BODY_TIMEOUT),
        inbox_quota_activities=_count(
            env, "SLOWPUB_INBOX_QUOTA_ACTIVITIES", DEFAULT_INBOX_QUOTA_ACTIVITIES, 10_000_000
        ),
        inbox_quota_bytes=_count(env, "SLOWPUB_INBOX_QUOTA_MIB", DEFAULT_INBOX_QUOTA_MIB, 1_000_000)
        * 1024
        * 1024,
        retention_days=_count(env, "SLOWPUB_RETENTION_DAYS", DEFAULT_RETENTION_DAYS, 36_500),
    )


def _count(env: Mapping[str, str], name: str, default: int, most: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    value = int(raw) if raw.strip().isascii() and raw.strip().isdigit() else 0
    if not 1 <= value <= most:
        raise ConfigError(f"{name} must be a whole number from 1 to {most:,}, not {raw!r}")
    return value


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not 0 < value <= 3600:
        raise ConfigError(f"{name} must be a number of seconds between 0 and 3600, not {raw!r}")
    return value


def _falsy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"0", "false", "no", "off"}


def _smtp_url(raw: str | None) -> str | None:
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
        raise ConfigError(
            "SLOWPUB_SMTP_URL must look like smtp://user:pass@host:587 (STARTTLS) "
            "or smtps://user:pass@host:465"
        )
    return raw
