"""The command line as a script would use it: --json output, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slowpub.cli import main


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    monkeypatch.setenv("SLOWPUB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SLOWPUB_BASE_URL", "https://slow.test")
    monkeypatch.delenv("SLOWPUB_DATABASE_URL", raising=False)

    def run(*args: str, ok: bool = True) -> tuple[int, str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        if ok:
            assert code == 0, err
        return code, out, err

    run("init")
    run("user", "create", "alice")
    return run


def test_post_and_queue_commands(cli) -> None:
    _, out, _ = cli("user", "set", "alice", "cooling-off", "2h")
    _, out, _ = cli("post", "alice", "Hello, #slow world", "--cw", "greeting")
    item_id, release_at = out.split()
    assert release_at.endswith("Z")
    _, out, _ = cli("post", "alice", "second", "--visibility", "unlisted", "--json")
    second = json.loads(out)
    assert second["state"] == "cooling" and second["visibility"] == "unlisted"
    assert {"id", "state", "release_at"} <= set(second)

    _, out, _ = cli("queue", "list", "alice", "--json")
    assert [i["id"] for i in json.loads(out)] == [int(item_id), second["id"]]
    _, out, _ = cli("queue", "list", "alice")
    assert "Hello, #slow world" in out

    cli("queue", "edit", item_id, "Hello again")
    _, out, _ = cli("queue", "show", item_id, "--json")
    shown = json.loads(out)
    assert shown["text"] == "Hello again" and shown["cw"] == "greeting"

    _, out, _ = cli("queue", "cancel", str(second["id"]))
    assert "cancelled" in out
    _, out, _ = cli("queue", "list", "alice", "--json")
    assert [i["id"] for i in json.loads(out)] == [int(item_id)]

    _, out, _ = cli("queue", "release", item_id, "--json")
    assert json.loads(out)["state"] == "released"
    code, _, err = cli("queue", "cancel", item_id, ok=False)
    assert code == 1 and "slowpub delete" in err
    _, out, _ = cli("delete", item_id, "--json")
    assert json.loads(out)["post_state"] == "deleted"
    _, out, _ = cli("deliveries", "alice", "--json")
    assert json.loads(out) == []  # no followers: nothing to deliver


def test_user_settings_round_trip(cli) -> None:
    for key, value in (
        ("cooling-off", "30m"),
        ("quiet-hours", "22:00-07:00"),
        ("daily-limit", "3"),
        ("timezone", "Europe/Berlin"),
        ("restart-on-edit", "off"),
    ):
        cli("user", "set", "alice", key, value)
    _, out, _ = cli("user", "show", "alice", "--json")
    shown = json.loads(out)
    assert shown["cooling-off"] == "30m" and shown["quiet-hours"] == "22:00-07:00"
    assert shown["daily-limit"] == 3 and shown["timezone"] == "Europe/Berlin"
    assert shown["restart-on-edit"] == "off"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("user", "set", "alice", "cooling-off", "8d"), "at most 7 days"),
        (("user", "set", "alice", "timezone", "Mars/Olympus"), "IANA"),
        (("user", "set", "alice", "quiet-hours", "late"), "22:00-07:00"),
        (("user", "set", "alice", "daily-limit", "-2"), "positive"),
        (("user", "set", "alice", "colour", "blue"), "unknown setting"),
        (("post", "alice", "   "), "some text"),
        (("post", "alice", "hi @nobody"), "nobody"),
        (("post", "bob", "hi"), "no local user"),
        (("queue", "show", "999"), "no queued item"),
        (("queue", "edit", "999", "x"), "no queued item"),
    ],
)
def test_bad_input_is_one_line(cli, args, message) -> None:
    code, _out, err = cli(*args, ok=False)
    assert code == 1
    assert message in err
    assert len(err.strip().splitlines()) == 1 and err.startswith("slowpub: ")


def test_usage_errors_are_one_line(cli) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["post", "alice"])
    assert exit_info.value.code == 2


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_no_secret_no_server(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """Without a secret, sessions would be signed with a value anyone can guess."""
    monkeypatch.setenv("SLOWPUB_DATA_DIR", str(tmp_path / "never-initialised"))
    monkeypatch.delenv("SLOWPUB_SECRET_KEY", raising=False)
    assert main([command, "--port", "1"] if command == "serve" else [command]) == 1
    err = capsys.readouterr().err
    assert err.startswith("slowpub: no secret key") and err.count("\n") == 1
    monkeypatch.setenv("SLOWPUB_SECRET_KEY", "short")
    assert main([command]) == 1
    assert "too short" in capsys.readouterr().err


async def test_the_app_refuses_an_empty_secret(tmp_path: Path) -> None:
    """A second layer: whatever builds the app, it never signs with a guessable key."""
    from slowpub.config import ConfigError, load_settings
    from slowpub.context import build_context
    from slowpub.web.app import create_app

    settings = load_settings({"SLOWPUB_DATA_DIR": str(tmp_path)})
    assert settings.secret_key == ""
    ctx = build_context(settings)
    try:
        with pytest.raises(ConfigError, match="no secret key"):
            create_app(ctx)
    finally:
        await ctx.close()


def test_user_sessions_commands(cli) -> None:
    _, out, _ = cli("user", "sessions", "alice")
    assert out.strip() == "alice has no web session"
    _, out, _ = cli("user", "end-sessions", "alice", "--json")
    assert json.loads(out) == {"ended": 0}
    code, _, err = cli("user", "end-sessions", "nobody", ok=False)
    assert code == 1 and err.startswith("slowpub: ") and len(err.splitlines()) == 1
