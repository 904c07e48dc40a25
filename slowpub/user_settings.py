"""Per-user settings as the CLI (and later the web UI) names them.

One table of names so ``slowpub user set`` and ``slowpub user show`` always
agree; later issues add the cooling-off and bundle settings here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slowpub.accounts import hash_password
from slowpub.models import User


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


SETTERS: dict[str, Callable[[User, str], None]] = {
    "display-name": _set_display_name,
    "summary": _set_summary,
    "email": _set_email,
    "manually-approves-followers": _set_manual,
    "publish-graph": _set_publish_graph,
    "password": _set_password,
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
    }
