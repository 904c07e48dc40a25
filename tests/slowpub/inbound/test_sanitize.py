"""Remote HTML: nothing executable survives, Mastodon's own markup does."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from slowpub.inbound.sanitize import html_to_text, sanitize_html

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "remote"

HOSTILE = [
    "<script>alert(1)</script>hello",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>hello",
    '<img src=x onerror="alert(1)">hello',
    '<a href="javascript:alert(1)">hello</a>',
    '<a href="JaVaScRiPt:alert(1)">hello</a>',
    '<a href="&#106;avascript:alert(1)">hello</a>',
    '<a href="&#x6A;&#x61;vascript&#58;alert(1)">hello</a>',
    '<a href="java\tscript:alert(1)">hello</a>',
    '<a href=" javascript:alert(1)">hello</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">hello</a>',
    '<a href="vbscript:msgbox(1)">hello</a>',
    '<p style="background:url(javascript:alert(1))">hello</p>',
    "<style>body{display:none}</style>hello",
    '<iframe src="https://evil.example/"></iframe>hello',
    '<form action="https://evil.example/"><input name="pw"><button>go</button></form>hello',
    '<svg><script>alert(1)</script><a xlink:href="javascript:alert(1)">x</a></svg>hello',
    '<svg onload="alert(1)">hello',
    '<math><mi xlink:href="javascript:alert(1)">hello</mi></math>',
    '<p onclick="alert(1)" onmouseover="alert(2)">hello</p>',
    "<p>hello<script>alert(1)",
    "<<script>script>alert(1)<</script>/script>hello",
    '<a href="https://ok.example/" onclick="alert(1)">hello</a>',
    '<object data="https://evil.example/x.swf"></object>hello',
    '<embed src="https://evil.example/x.swf">hello',
    '<meta http-equiv="refresh" content="0;url=https://evil.example/">hello',
    '<base href="https://evil.example/">hello',
    '<link rel="stylesheet" href="https://evil.example/x.css">hello',
    "<!--<script>alert(1)</script>-->hello",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">hello',
    '<span class="invisible" style="display:block">hello</span>',
    '<a href="/relative/path">hello</a>',
    '<div><table><tr><td onclick="x()">hello</td></tr></table></div>',
]

DANGEROUS = re.compile(
    r"<\s*(script|style|iframe|form|input|img|svg|math|object|embed|meta|base|link|button)\b"
    r"|\bon[a-z]+\s*=|javascript:|vbscript:|data:|style\s*=|srcdoc",
    re.IGNORECASE,
)


@pytest.mark.parametrize("html", HOSTILE)
def test_nothing_executable_survives(html: str) -> None:
    clean = sanitize_html(html)
    assert not DANGEROUS.search(clean), clean
    # Whatever an href kept, it is an absolute http(s) or mailto URL.
    for href in re.findall(r'href="([^"]*)"', clean):
        assert href.startswith(("http://", "https://", "mailto:")), clean
    # The sanitizer is a fixed point: cleaning again changes nothing.
    assert sanitize_html(clean) == clean


def test_unclosed_and_nested_tags_are_balanced() -> None:
    clean = sanitize_html("<p><strong><em>deep<p>next</blockquote>")
    assert clean.count("<strong>") == clean.count("</strong>")
    assert clean.count("<em>") == clean.count("</em>")
    assert "deep" in clean and "next" in clean


MASTODON_HTML = (
    '<p><span class="h-card" translate="no"><a href="https://social.example/@bob" '
    'class="u-url mention">@<span>bob</span></a></span> look: '
    '<a href="https://blog.example.net/2024/11/05/the-season-finale-recap" target="_blank" '
    'rel="nofollow noopener noreferrer" translate="no"><span class="invisible">https://</span>'
    '<span class="ellipsis">blog.example.net/2024/11/05/th</span>'
    '<span class="invisible">e-season-finale-recap</span></a> '
    '<a href="https://mastodon.example/tags/TVTime" class="mention hashtag" rel="tag">'
    "#<span>TVTime</span></a></p><p>second&nbsp;paragraph<br>new line</p>"
)


def test_mastodon_markup_survives() -> None:
    clean = sanitize_html(MASTODON_HTML)
    assert '<span class="h-card">' in clean
    assert 'class="u-url mention"' in clean
    assert 'class="mention hashtag"' in clean
    assert '<span class="invisible">https://</span>' in clean
    assert '<span class="ellipsis">blog.example.net/2024/11/05/th</span>' in clean
    assert 'href="https://blog.example.net/2024/11/05/the-season-finale-recap"' in clean
    assert "<br>" in clean and clean.count("<p>") == 2
    # Every link opens elsewhere and leaks no referrer.
    assert clean.count('rel="nofollow noopener noreferrer"') == 3
    assert clean.count('target="_blank"') == 3
    # Same visible text before and after.
    assert html_to_text(clean) == html_to_text(MASTODON_HTML)


def test_foreign_classes_and_attributes_are_dropped() -> None:
    clean = sanitize_html(
        '<a href="https://x.example/" class="mention evil" data-user="1" id="a">x</a>'
        '<span class="h-card big">y</span><p class="quote-inline">RE: z</p>'
    )
    assert 'class="mention"' in clean and "evil" not in clean
    assert "data-user" not in clean and 'id="' not in clean
    assert '<span class="h-card">' in clean
    assert '<p class="quote-inline">' in clean


def test_kept_structure() -> None:
    html = (
        '<h2>Title</h2><blockquote><p>quoted</p></blockquote><ol start="3" reversed>'
        "<li>a</li></ol><ul><li><code>x</code></li></ul><pre>  two\n  lines</pre>"
        "<p><s>gone</s> <del>old</del> <sub>2</sub><sup>3</sup> <b>b</b> <i>i</i> <u>u</u></p>"
    )
    clean = sanitize_html(html)
    for tag in ("h2", "blockquote", "ol", "ul", "li", "code", "pre", "s", "del", "sub", "sup"):
        assert f"<{tag}" in clean, tag
    assert 'start="3"' in clean and "reversed" in clean
    assert "  two\n  lines" in clean


def test_images_are_dropped_from_content() -> None:
    # Like Mastodon: media come as attachments, inline images would track readers.
    article = json.loads((FIXTURES / "friendica_or_wordpress_article.json").read_text())
    clean = sanitize_html(article["content"])
    assert "<img" not in clean and "<figure" not in clean and "<!--" not in clean
    assert "<h2>Owning the words</h2>" in clean


def test_empty_input() -> None:
    assert sanitize_html("") == ""
    assert html_to_text("") == ""


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>one</p><p>two</p>", "one\n\ntwo"),
        ("<p>line<br>break<br/>again</p>", "line\nbreak\nagain"),
        ("<p>a &amp; b &lt;c&gt; &#8212; &eacute;</p>", "a & b <c> — é"),
        ('<a href="https://x.example/page">a page</a>', "a page <https://x.example/page>"),
        ('<a href="https://x.example/page">https://x.example/page</a>', "https://x.example/page"),
        ('<a href="https://x.example/">x.example</a>', "x.example"),
        ('<a href="https://x.example/@bob" class="u-url mention">@bob</a>', "@bob"),
        ("<p>  lots   of\n  space  </p>", "lots of space"),
        ("<ul><li>one</li><li>two</li></ul>", "- one\n- two"),
        ("<pre>keep\n  this</pre>", "keep\n  this"),
        ("<p>x</p><script>alert(1)</script><style>p{}</style>", "x"),
        ("plain text", "plain text"),
        ("<p>unclosed <a href='https://x.example/'>link", "unclosed link <https://x.example/>"),
        ("<h2>Title</h2><p>Body</p>", "Title\n\nBody"),
        ("<blockquote><p>q</p></blockquote><p>a</p>", "q\n\na"),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


def test_html_to_text_mastodon_note() -> None:
    assert html_to_text(MASTODON_HTML) == (
        "@bob look: https://blog.example.net/2024/11/05/the-season-finale-recap #TVTime\n\n"
        "second\xa0paragraph\nnew line"
    )


def test_html_to_text_on_every_fixture_is_readable() -> None:
    for path in sorted(FIXTURES.glob("*.json")):
        content = json.loads(path.read_text()).get("content") or ""
        text = html_to_text(sanitize_html(content))
        assert "<p>" not in text and "<span" not in text, path.name
