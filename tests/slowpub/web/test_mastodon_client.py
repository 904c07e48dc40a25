"""A maintained Mastodon client library (Mastodon.py) against a real `slowpub serve`.

Register an app, log in both ways (password grant and authorization code
with the out-of-band redirect), post, see the post cool in the scheduled
statuses, edit it, cancel another, and read the sealed bundle as the home
timeline and notifications, all through the library as apps use it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from mastodon import Mastodon
from serve_support import Server, wait_for

pytestmark = pytest.mark.slow
PASSWORD = "a long password"


def _code_flow(server: Server, client_id: str, client_secret: str, url: str) -> str:
    """What a person does in the browser: log in and allow; returns the OOB code."""
    with httpx.Client(base_url=server.base, follow_redirects=False) as browser:
        page = browser.get(url)
        assert page.status_code == 200, page.text
        form = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page.text))
        form.update(username="alice", password=PASSWORD, decision="allow")
        answer = browser.post("/oauth/authorize", data=form)
        if (
            answer.status_code == 200
            and "allow" in answer.text.lower()
            and "code" not in answer.text.lower()
        ):
            form = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', answer.text))
            form["decision"] = "allow"
            answer = browser.post("/oauth/authorize", data=form)
        assert answer.status_code == 200, answer.text
        code = re.search(r"<code[^>]*>([^<]+)</code>", answer.text)
        assert code, answer.text
        return code.group(1).strip()


def test_mastodon_py_end_to_end(tmp_path: Path) -> None:
    a, b = Server("a", tmp_path, None), Server("b", tmp_path, None)
    try:
        for server, name in ((a, "alice"), (b, "bob")):
            server.cli("init")
            server.cli(
                "user",
                "create",
                name,
                "--password-stdin",
                "--email",
                f"{name}@mail.test",
                stdin=PASSWORD + "\n",
            )
            server.start()
        b.cli("user", "set", "bob", "cooling-off", "0")
        a.cli("follow", "alice", f"bob@127.0.0.1:{b.port}")
        wait_for(
            lambda: (
                json.loads(a.cli("following", "alice", "--json").stdout)[0]["state"] == "accepted"
            )
        )

        client_id, client_secret = Mastodon.create_app(
            "slowpub test",
            api_base_url=a.base,
            scopes=["read", "write", "follow"],
            redirect_uris="urn:ietf:wg:oauth:2.0:oob",
        )
        # Log in with the password grant (as command-line clients do)...
        api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=a.base)
        api.log_in("alice", PASSWORD, scopes=["read", "write", "follow"], allow_http=True)
        # ...and with the authorization code shown out of band.
        other = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=a.base)
        url = other.auth_request_url(
            scopes=["read", "write"], redirect_uris="urn:ietf:wg:oauth:2.0:oob", allow_http=True
        )
        other.log_in(
            code=_code_flow(a, client_id, client_secret, url),
            scopes=["read", "write"],
            allow_http=True,
        )
        assert other.account_verify_credentials()["username"] == "alice"

        me = api.account_verify_credentials()
        assert me["acct"] == "alice" and me["followers_count"] == 0

        status = api.status_post("Hello from Mastodon.py, slowly")
        assert status["slowpub"]["state"] == "cooling" and status["slowpub"]["release_at"]
        assert "scheduled_at" not in status
        queued = api.scheduled_statuses()
        assert [str(s["id"]) for s in queued] == [str(status["slowpub"]["queue_id"])]

        edited = api.status_update(status["id"], "Hello again, edited while cooling")
        assert "edited while cooling" in edited["content"]
        second = api.status_post("Never mind this one")
        api.status_delete(second["id"])
        assert len(api.scheduled_statuses()) == 1

        # bob posts; nothing reaches alice's home until her bundle is sealed.
        b.cli("post", "bob", "A thought from bob")
        assert api.timeline_home() == []
        wait_for(lambda: "sealed" in a.cli("bundle", "seal", "alice").stdout)
        home = api.timeline_home()
        assert any("A thought from bob" in s["content"] for s in home)
        notes = api.notifications()
        assert isinstance(notes, list)
        api.markers_set(["home"], [home[0]["id"]])
        assert str(api.markers_get(["home"])["home"]["last_read_id"]) == str(home[0]["id"])

        # What apps call at launch, and 4.3's endpoints, through the library (issue 10.5-10.8).
        assert api.preferences()["posting:default:visibility"] == "public"
        bob = f"bob@127.0.0.1:{b.port}"
        assert [x["acct"] for x in api.account_following(me["id"])] == [bob]
        assert api.account_statuses(me["id"], pinned=True) == []
        api.status_bookmark(home[0]["id"])
        assert [str(x["id"]) for x in api.bookmarks()] == [str(home[0]["id"])]
        assert [str(x["id"]) for x in api.statuses([home[0]["id"]])] == [str(home[0]["id"])]
        grouped = api.grouped_notifications()
        assert isinstance(grouped["notification_groups"], list)
        assert api.notifications_unread_count()["count"] >= 0
        assert api.notifications_policy()["for_not_following"] == "accept"
        assert api.filters_v2() == [] and api.trending_links() == []
        assert api.follow_requests() == [] and api.suggestions() == []
    finally:
        a.stop()
        b.stop()
