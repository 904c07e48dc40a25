"""Per-user settings as the CLI (and later the web UI) names them.

One table of names so ``slowpub user set`` and ``slowpub user show`` always
agree. Faces change settings through :func:`slowpub.social.profile.change_settings`,
which also tells followers when the profile changed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from slowpub.outbound.policy import (
    PolicyError,
    format_duration,
    format_quiet_hours,
    parse_duration,
    parse_quiet_hours,
    parse_timezone,
)
from slowpub.social.accounts import hash_password
from slowpub.storage.models import User


class SettingError(ValueError):
    """An unknown setting or a value it cannot take."""


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"on", "true", "yes", "1"}:
        return True
    if lowered in {"off", "false", "no", "0"}:
        return False
    raise SettingError(f"expected on or off, not {value!r}")


def _text(limit: int) -> Callable[[str], str | None]:
    def parse(value: str) -> str | None:
        if len(value) > limit:
            raise SettingError(f"at most {limit} characters")
        return value or None

    return parse


def _email(value: str) -> str | None:
    value = value.strip().lower()
    if not value:
        return None
    if "@" not in value or " " in value or len(value) > 320:
        raise SettingError(f"{value!r} is not an e-mail address")
    return value


def _set_display_name(user: User, value: str) -> None:
    user.actor.name = _text(100)(value)


def _set_summary(user: User, value: str) -> None:
    user.actor.summary = _text(2000)(value)


def _set_email(user: User, value: str) -> None:
    user.email = _email(value)


def _set_manual(user: User, value: str) -> None:
    user.actor.manually_approves_followers = _bool(value)


def _set_publish_graph(user: User, value: str) -> None:
    user.publish_graph = _bool(value)


def _set_password(user: User, value: str) -> None:
    try:
        user.password_hash = hash_password(value)
    except ValueError as exc:
        raise SettingError(str(exc)) from exc


def _policy(parse: Callable[[str], object]) -> Callable[[str], object]:
    def wrapped(value: str) -> object:
        try:
            return parse(value)
        except PolicyError as exc:
            raise SettingError(str(exc)) from exc

    return wrapped


def _set_cooling(user: User, value: str) -> None:
    duration = _policy(parse_duration)(value)
    assert isinstance(duration, timedelta)
    user.cooling_off_seconds = int(duration.total_seconds())


def _set_quiet(user: User, value: str) -> None:
    user.quiet_hours = format_quiet_hours(_policy(parse_quiet_hours)(value))  # type: ignore[arg-type]
    if user.quiet_hours == "off":
        user.quiet_hours = None


def _set_daily_limit(user: User, value: str) -> None:
    cleaned = value.strip().lower()
    if cleaned in {"off", "none", ""}:
        user.daily_limit = None
        return
    if not (cleaned.isascii() and cleaned.isdigit()) or int(cleaned) < 1:
        raise SettingError(f"expected a positive number of posts per day or off, not {value!r}")
    user.daily_limit = int(cleaned)


def _set_timezone(user: User, value: str) -> None:
    user.timezone = str(_policy(parse_timezone)(value))
    user.next_seal_at = None  # rescheduled in the new timezone by the next worker pass


def _set_bundle_time(user: User, value: str) -> None:
    from slowpub.bundles.sealing import parse_bundle_time

    at = _policy(parse_bundle_time)(value)
    user.bundle_time = f"{at:%H:%M}"  # type: ignore[str-format]
    user.next_seal_at = None


def _set_restart(user: User, value: str) -> None:
    user.restart_on_edit = _bool(value)


SETTERS: dict[str, Callable[[User, str], None]] = {
    "display-name": _set_display_name,
    "summary": _set_summary,
    "email": _set_email,
    "manually-approves-followers": _set_manual,
    "publish-graph": _set_publish_graph,
    "password": _set_password,
    "cooling-off": _set_cooling,
    "quiet-hours": _set_quiet,
    "daily-limit": _set_daily_limit,
    "timezone": _set_timezone,
    "restart-on-edit": _set_restart,
    "bundle-time": _set_bundle_time,
}


def apply_setting(user: User, key: str, value: str) -> None:
    setter = SETTERS.get(key)
    if setter is None:
        raise SettingError(f"unknown setting {key!r}; known: {', '.join(sorted(SETTERS))}")
    try:
        setter(user, value)
    except SettingError as exc:
        raise SettingError(f"{key}: {exc}") from exc


def describe_user(user: User) -> dict[str, Any]:
    return {
        "display-name": user.actor.name or "",
        "summary": user.actor.summary or "",
        "email": user.email or "",
        "manually-approves-followers": "on" if user.actor.manually_approves_followers else "off",
        "publish-graph": "on" if user.publish_graph else "off",
        "cooling-off": format_duration(timedelta(seconds=user.cooling_off_seconds)),
        "quiet-hours": user.quiet_hours or "off",
        "daily-limit": user.daily_limit if user.daily_limit is not None else "off",
        "timezone": user.timezone,
        "restart-on-edit": "on" if user.restart_on_edit else "off",
        "bundle-time": user.bundle_time,
    }
