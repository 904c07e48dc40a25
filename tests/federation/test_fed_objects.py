"""Normalising remote content objects from the shapes real servers send.

Fixture sources (tests/fixtures/remote/; hosts and ids are made up, the shapes
are the servers' own):
- mastodon_note_with_cw_and_image.json, mastodon_question.json: Mastodon
  app/serializers/activitypub/note_serializer.rb (attachment Document with
  blurhash/focalPoint/width/height, Mention/Hashtag tags, conversation and
  context, anyOf with replies.totalItems, endTime, votersCount) and the
  captured Mastodon note in LemmyNet/lemmy crates/apub/assets/mastodon/objects/
  note.json (h-card mention markup); link-shortening spans as Mastodon's
  formatter emits them.
- gotosocial_note.json: GoToSocial docs/federation/posts.md (single-object
  ``tag``, ``to``/``cc`` as strings, ``summary: ""``, interactionPolicy).
- misskey_note_quote.json: Misskey packages/backend/src/core/activitypub/
  ApRendererService.ts renderNote (_misskey_content, source
  text/x.misskeymarkdown, _misskey_quote + quoteUrl, "RE:" in content, Emoji).
- pleroma_note_contentmap.json: the Pleroma/Akkoma note captured in
  framasoft/mobilizon test/fixtures/pleroma-comment-object.json (litepub
  context, actor, context + conversation, ``sensitive: null``, hashtag markup).
- pixelfed_image_post.json: Pixelfed app/Transformer/ActivityPub/Verb/
  CreateNote.php (attachment with blurhash/width/height, commentsEnabled,
  capabilities, location Place) and Media::activityVerb (Image).
- peertube_video.json: PeerTube server/core/models/video/formatter/
  video-activity-pub-format.ts (url list: text/html first, mp4 files,
  metadata, torrent, HLS; icon list; text/markdown content; attributedTo
  [account, channel]).
- lemmy_page.json, lemmy_comment_note.json: LemmyNet/lemmy crates/apub/assets/
  lemmy/objects/page.json and note.json (plus ``audience`` as Lemmy sends it).
- friendica_or_wordpress_article.json: Automattic/wordpress-activitypub
  includes/transformer/class-post.php (Article with name, generated summary,
  image/icon, Image attachments, Hashtag tags, ``?p=`` id).
- mobilizon_event.json: framasoft/mobilizon lib/federation/activity_stream/
  converter/event.ex and address.ex (startTime/endTime, joinMode, Place with
  PostalAddress, PropertyValue metadata, "Website" Link attachment).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from federation.errors import FederationError
from federation.objects import (
    OBJECT_TYPES,
    Attachment,
    Hashtag,
    Mention,
    ObjectShapeError,
    PollOption,
    addressed_to,
    parse_datetime,
    parse_object,
    visibility,
)
from federation.vocab import PUBLIC

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "remote"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def minimal(**extra: Any) -> dict[str, Any]:
    return {"id": "https://a.example/notes/1", "type": "Note", **extra}


def test_every_fixture_parses_to_a_shown_type() -> None:
    names = sorted(p.name for p in FIXTURES.glob("*.json"))
    assert len(names) >= 11
    for name in names:
        obj = parse_object(load(name))
        assert obj.type in OBJECT_TYPES, name
        assert obj.attributed_to, name
        assert obj.content, name
        assert obj.published is not None and obj.published.tzinfo is UTC, name


def test_mastodon_note_with_cw_and_image() -> None:
    obj = parse_object(load("mastodon_note_with_cw_and_image.json"))
    assert obj.type == "Note"
    assert obj.summary == "spoilers for the season finale"
    assert obj.sensitive is True
    assert obj.url == "https://mastodon.example/@alice/113456789012345678"
    assert obj.published == datetime(2024, 11, 5, 11, 46, 50, tzinfo=UTC)
    assert obj.updated is None
    assert 'class="invisible"' in obj.content  # raw, not sanitised here
    assert obj.mentions == (Mention("https://social.example/users/bob", "@bob@social.example"),)
    assert obj.hashtags == (Hashtag("tvtime", "https://mastodon.example/tags/tvtime"),)
    (image,) = obj.attachments
    assert image == Attachment(
        url="https://files.mastodon.example/media_attachments/files/113/456/789/original/57859aede991da25.jpeg",
        media_type="image/jpeg",
        kind="image",
        description="A television showing the closing credits, a cat asleep in front of it",
        width=640,
        height=480,
    )
    # ``context`` wins over the legacy ostatus ``conversation`` tag URI.
    assert obj.context == "https://mastodon.example/contexts/98765432"
    assert visibility(obj.to, obj.cc, "https://mastodon.example/users/alice/followers") == "public"


def test_mastodon_question_multiple_choice() -> None:
    obj = parse_object(load("mastodon_question.json"))
    assert obj.type == "Question"
    assert obj.poll_multiple is True
    assert obj.poll_options == (
        PollOption("Novels", 11),
        PollOption("Newspapers", 3),
        PollOption("Comics", 6),
    )
    assert obj.poll_end == datetime(2024, 11, 15, 9, tzinfo=UTC)
    assert obj.updated == datetime(2024, 11, 12, 9, 5, 13, tzinfo=UTC)
    assert visibility(obj.to, obj.cc, "https://mastodon.example/users/alice/followers") == (
        "unlisted"
    )


def test_gotosocial_note_with_string_addressing_and_single_tag() -> None:
    obj = parse_object(load("gotosocial_note.json"))
    assert obj.to == (PUBLIC,)
    assert obj.cc == ("https://gts.example.org/users/i_p_freely/followers",)
    assert obj.hashtags == (Hashtag("welcome", "https://gts.example.org/tags/welcome"),)
    assert obj.summary is None  # "" is no content warning
    assert obj.attachments == ()


def test_misskey_quote() -> None:
    obj = parse_object(load("misskey_note_quote.json"))
    assert obj.quote_of == "https://mastodon.example/users/alice/statuses/113456789012345678"
    # The HTML content, not the MFM source.
    assert obj.content.startswith("<p><span>this is the best")
    assert obj.hashtags == (Hashtag("programming", "https://misskey.example/tags/programming"),)
    (file,) = obj.attachments
    assert file.kind == "image" and file.media_type == "image/webp" and file.description is None
    assert obj.published == datetime(2024, 11, 6, 2, 14, 9, 123000, tzinfo=UTC)


def test_pleroma_note() -> None:
    obj = parse_object(load("pleroma_note_contentmap.json"))
    assert obj.sensitive is False  # "sensitive": null
    assert obj.summary is None
    assert obj.context == "https://akkoma.example/contexts/4adddb80-0236-4e03-8a83-94be817b5dbe"
    assert obj.mentions[0].href == "https://mastodon.example/users/alice"
    (image,) = obj.attachments
    assert image.kind == "image" and image.description is None  # name ""
    assert addressed_to(load("pleroma_note_contentmap.json")) == {
        PUBLIC,
        "https://mastodon.example/users/alice",
        "https://akkoma.example/users/dqn/followers",
    }


def test_pixelfed_image_post() -> None:
    obj = parse_object(load("pixelfed_image_post.json"))
    assert [a.kind for a in obj.attachments] == ["image", "image"]
    assert obj.attachments[0].description == "Flat grey lake, pine trees disappearing into fog"
    assert (obj.attachments[1].width, obj.attachments[1].height) == (1080, 1350)
    assert obj.location == "Tampere"
    assert obj.hashtags[0].name == "landscape"


def test_peertube_video() -> None:
    obj = parse_object(load("peertube_video.json"))
    assert obj.type == "Video"
    assert obj.name == "Repairing a bicycle hub, step by step"
    # attributedTo is [account, channel]: the account is the author.
    assert obj.attributed_to == "https://peertube.example/accounts/marta"
    assert obj.url == "https://peertube.example/w/kBy3bGS6ZEGNJgYqQ6Cj1j"
    # One file per kind, the tallest; torrents, metadata and HLS are not media.
    (video,) = obj.attachments
    assert video.kind == "video" and video.height == 1080 and video.url.endswith("-1080.mp4")
    # Markdown description becomes escaped HTML paragraphs.
    assert obj.content.startswith("<p>Taking apart a **rear hub**, cleaning the bearings &amp;")
    assert "&lt;together&gt;" in obj.content and obj.content.count("<p>") == 2
    assert obj.hashtags == (Hashtag("bicycle", None), Hashtag("repair", None))


def test_peertube_video_with_only_hls_falls_back_to_thumbnail() -> None:
    doc = load("peertube_video.json")
    doc["url"] = [u for u in doc["url"] if u.get("mediaType") != "video/mp4"]
    (thumb,) = parse_object(doc).attachments
    assert thumb.kind == "image" and thumb.width == 850


def test_lemmy_page_in_a_community() -> None:
    obj = parse_object(load("lemmy_page.json"))
    assert obj.type == "Page"
    assert obj.name == "Post title"
    assert obj.attributed_to == "https://enterprise.lemmy.ml/u/picard"
    assert obj.audience == ("https://enterprise.lemmy.ml/c/tenforward",)
    assert obj.context == "https://enterprise.lemmy.ml/post/55143/context"
    (link,) = obj.attachments
    assert link.kind == "link" and link.url.endswith("eOtYb9iEiB.png")


def test_lemmy_comment() -> None:
    obj = parse_object(load("lemmy_comment_note.json"))
    assert obj.in_reply_to == "https://enterprise.lemmy.ml/post/55143"
    assert obj.updated == datetime(2021, 3, 1, 13, 43, 3, 955787, tzinfo=UTC)
    assert obj.mentions == (Mention("https://ds9.lemmy.ml/u/sisko", "@sisko@ds9.lemmy.ml"),)


def test_wordpress_article() -> None:
    obj = parse_object(load("friendica_or_wordpress_article.json"))
    assert obj.type == "Article"
    assert obj.name == "Why I still write a blog in 2024"
    assert obj.summary is not None and obj.summary.startswith("Social networks")
    assert obj.url == "https://blog.example.net/2024/03/why-i-still-write-a-blog/"
    assert [h.name for h in obj.hashtags] == ["blogging", "IndieWeb"]
    assert [a.description for a in obj.attachments] == ["A desk with a notebook"]


def test_mobilizon_event() -> None:
    obj = parse_object(load("mobilizon_event.json"))
    assert obj.type == "Event"
    assert obj.start_time == datetime(2024, 11, 16, 13, tzinfo=UTC)
    assert obj.poll_end is None  # an Event's endTime is not a poll's
    assert obj.location == "Maison des associations"
    # PropertyValue metadata is not an attachment; the banner and link are.
    assert [a.kind for a in obj.attachments] == ["image", "link"]


# --- edge shapes ---------------------------------------------------------------


def test_single_string_and_object_addressing() -> None:
    obj = parse_object(
        minimal(to=PUBLIC, cc={"id": "https://a.example/followers", "type": "Collection"})
    )
    assert obj.to == (PUBLIC,)
    assert obj.cc == ("https://a.example/followers",)


def test_single_tag_and_attachment_objects() -> None:
    obj = parse_object(
        minimal(
            tag={"type": "Mention", "href": "https://b.example/u/x"},
            attachment={"type": "Document", "mediaType": "audio/ogg", "url": "https://a.example/1"},
        )
    )
    assert obj.mentions == (Mention("https://b.example/u/x", None),)
    assert obj.attachments[0].kind == "audio"


def test_content_map_only_prefers_english() -> None:
    doc = minimal(contentMap={"de": "<p>Hallo</p>", "en": "<p>Hello</p>"})
    assert parse_object(doc).content == "<p>Hello</p>"
    assert parse_object(minimal(contentMap={"fr": "<p>Salut</p>"})).content == "<p>Salut</p>"
    assert parse_object(minimal()).content == ""


def test_attributed_to_list_prefers_the_person() -> None:
    doc = minimal(
        attributedTo=[
            {"type": "Group", "id": "https://tube.example/video-channels/c"},
            {"type": "Person", "id": "https://tube.example/accounts/p"},
        ]
    )
    assert parse_object(doc).attributed_to == "https://tube.example/accounts/p"
    group_only = minimal(attributedTo=[{"type": "Group", "id": "https://x.example/c/g"}])
    assert parse_object(group_only).attributed_to is None


def test_missing_or_odd_dates_are_none() -> None:
    obj = parse_object(minimal(published="yesterday-ish", updated=12345))
    assert obj.published is None and obj.updated is None
    assert parse_object(minimal()).published is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2021-11-05T11:46:50Z", datetime(2021, 11, 5, 11, 46, 50, tzinfo=UTC)),
        ("2021-11-05T12:46:50+01:00", datetime(2021, 11, 5, 11, 46, 50, tzinfo=UTC)),
        ("2021-11-05T11:46:50", datetime(2021, 11, 5, 11, 46, 50, tzinfo=UTC)),
        ("Fri, 05 Nov 2021 11:46:50 GMT", datetime(2021, 11, 5, 11, 46, 50, tzinfo=UTC)),
        ("", None),
        (None, None),
        ("not a date", None),
    ],
)
def test_parse_datetime(value: Any, expected: datetime | None) -> None:
    assert parse_datetime(value) == expected


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        ("not a dict", "JSON object"),
        ({"type": "Note"}, "no id"),
        ({"id": "https://a.example/1"}, "no type"),
        ({"id": "https://a.example/1", "type": "Tombstone"}, "Tombstone"),
        ({"id": "https://a.example/1", "type": "Create", "object": {}}, "Create"),
        ({"id": "https://a.example/u", "type": "Person"}, "Person"),
        ({"id": "https://a.example/c", "type": "OrderedCollection"}, "OrderedCollection"),
    ],
)
def test_non_objects_are_refused(doc: Any, reason: str) -> None:
    with pytest.raises(ObjectShapeError, match=reason) as info:
        parse_object(doc)
    assert isinstance(info.value, FederationError)
    assert "\n" not in str(info.value)


def test_unknown_extension_properties_are_ignored() -> None:
    obj = parse_object(
        minimal(
            type=["Note", "https://ns.example/Thing"],
            tag=[{"type": "Emoji", "name": ":x:"}, "junk", 7, {"type": "Hashtag"}],
            attachment=[{"type": "PropertyValue", "name": "k", "value": "v"}, None, {}],
            sensitive="yes",
            _weird={"nested": [1, 2]},
        )
    )
    assert obj.type == "Note"
    assert obj.hashtags == () and obj.mentions == () and obj.attachments == ()
    assert obj.sensitive is False


def test_question_single_choice_and_closed() -> None:
    obj = parse_object(
        minimal(
            type="Question",
            oneOf=[
                {"type": "Note", "name": "Yes", "replies": {"totalItems": 2}},
                {"type": "Note", "name": "No"},
            ],
            closed="2024-01-02T03:04:05Z",
        )
    )
    assert obj.poll_multiple is False
    assert obj.poll_options == (PollOption("Yes", 2), PollOption("No", None))
    assert obj.poll_end == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_summary_zero_width_space_and_url_link_object() -> None:
    obj = parse_object(
        minimal(summary="\u200b", url={"type": "Link", "href": "https://a.example/@u/1"})
    )
    assert obj.summary is None
    assert obj.url == "https://a.example/@u/1"


def test_quote_keys() -> None:
    for key in ("quote", "quoteUrl", "quoteUri", "_misskey_quote"):
        assert parse_object(minimal(**{key: "https://q.example/1"})).quote_of == (
            "https://q.example/1"
        )
    # Mastodon sends a Tombstone when the quoted post is gone.
    assert parse_object(minimal(quote={"type": "Tombstone"})).quote_of is None


def test_addressed_to_collects_everything() -> None:
    doc = minimal(
        to="https://a.example/1",
        cc=["https://a.example/2", {"id": "https://a.example/3"}],
        bto=["https://a.example/4"],
        bcc="https://a.example/5",
        audience={"type": "Group", "id": "https://a.example/6"},
    )
    assert addressed_to(doc) == {f"https://a.example/{i}" for i in range(1, 7)}
    assert parse_object(doc).audience == (
        "https://a.example/4",
        "https://a.example/5",
        "https://a.example/6",
    )


@pytest.mark.parametrize("public", [PUBLIC, "as:Public", "Public"])
def test_visibility(public: str) -> None:
    followers = "https://a.example/u/followers"
    assert visibility([public], [followers], followers) == "public"
    assert visibility([followers], [public], followers) == "unlisted"
    assert visibility([followers], ["https://b.example/u"], followers) == "followers"
    assert visibility(["https://b.example/u"], [], followers) == "direct"
    assert visibility([followers], [], None) == "direct"
