"""Threads while cooling from the command line: reply, release order, cancel."""

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


def test_reply_to_a_cooling_post_then_cancel_it(cli) -> None:
    # The default cooling-off: an hour.
    parent = json.loads(cli("post", "alice", "A thought", "--json")[1])
    code, out, err = cli(
        "post", "alice", "More on it", "--in-reply-to", parent["uri"], "--json", ok=False
    )
    assert code == 0, err
    reply = json.loads(out)
    assert reply["state"] == "cooling" and reply["in_reply_to"] == parent["uri"]
    assert reply["release_at"] >= parent["release_at"]

    code, _, err = cli("queue", "release", str(reply["id"]), ok=False)
    assert code == 1 and f"release item {parent['id']} first" in err

    _, out, _ = cli("queue", "cancel", str(parent["id"]))
    assert f"cooling replies were cancelled with it: {reply['id']}" in out
    _, out, _ = cli("queue", "list", "alice", "--all", "--json")
    assert {i["id"]: i["state"] for i in json.loads(out)} == {
        parent["id"]: "cancelled",
        reply["id"]: "cancelled",
    }


def test_cancel_answer_names_no_replies_when_there_are_none(cli) -> None:
    item = json.loads(cli("post", "alice", "alone", "--json")[1])
    data = json.loads(cli("queue", "cancel", str(item["id"]), "--json")[1])
    assert data["state"] == "cancelled" and data["cancelled_replies"] == []
