"""Text rules: HTML and MarkdownV2 parsing, entities in UTF-16, length limits."""

from __future__ import annotations

import pytest
from telegram import Bot, MessageEntity
from telegram.error import BadRequest

from bot.sandbox import Emulator
from bot.sandbox.entities import find_auto_entities, utf16_len
from bot.sandbox.errors import ParseError
from bot.sandbox.html import parse_html
from bot.sandbox.markdown import parse_markdown, parse_markdown_v2
from tests.sandbox.conftest import RawApi

PREFIX = "Bad Request: can't parse entities: "


@pytest.fixture
def ana(emu: Emulator):  # type: ignore[no-untyped-def]
    user = emu.user(5)
    user.send_text("hi")
    return user


def test_html_entities_and_utf16_offsets() -> None:
    text, entities = parse_html("😀 <b>bold <i>both</i></b> &lt;tag&gt; &amp; &#33; &#x41;")
    assert text == "😀 bold both <tag> & ! A"
    assert entities == [
        {"type": "bold", "offset": 3, "length": 9},
        {"type": "italic", "offset": 8, "length": 4},
    ]


@pytest.mark.parametrize(
    ("source", "kind", "extra"),
    [
        ("<strong>x</strong>", "bold", {}),
        ("<em>x</em>", "italic", {}),
        ("<ins>x</ins>", "underline", {}),
        ("<del>x</del>", "strikethrough", {}),
        ("<strike>x</strike>", "strikethrough", {}),
        ('<span class="tg-spoiler">x</span>', "spoiler", {}),
        ("<tg-spoiler>x</tg-spoiler>", "spoiler", {}),
        ("<code>x</code>", "code", {}),
        ("<pre>x</pre>", "pre", {}),
        ('<pre><code class="language-python">x</code></pre>', "pre", {"language": "python"}),
        ('<a href="https://example.org/a?b=1&amp;c=2">x</a>', "text_link",
         {"url": "https://example.org/a?b=1&c=2"}),
        ("<a href='tg://user?id=77'>x</a>", "text_mention", {"user_id": 77}),
        ("<blockquote>x</blockquote>", "blockquote", {}),
        ("<blockquote expandable>x</blockquote>", "expandable_blockquote", {}),
        ('<tg-emoji emoji-id="5368324170671202286">x</tg-emoji>', "custom_emoji",
         {"custom_emoji_id": "5368324170671202286"}),
    ],
)  # fmt: skip
def test_html_allowed_tags(source: str, kind: str, extra: dict) -> None:
    assert parse_html(source) == ("x", [{"type": kind, "offset": 0, "length": 1, **extra}])


def test_html_bare_ampersand_is_kept_like_telegram() -> None:
    assert parse_html("Tom & Jerry &unknown; &#0;") == ("Tom & Jerry &unknown; &#0;", [])


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("a <foo>b</foo>", 'Unsupported start tag "foo" at byte offset 2'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("é <br>", 'Unsupported start tag "br" at byte offset 3'),
        ("<b>open", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b", "Unclosed start tag at byte offset 0"),
        ('<span class="x">s</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ],
)
def test_html_errors(source: str, error: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_html(source)
    assert str(info.value) == error


def test_markdown_v2_entities_and_escapes() -> None:
    text, entities = parse_markdown_v2(r"*b* _i_ __u__ ~s~ ||p|| `c` [l](https://x.org) 1\.5\!")
    assert text == "b i u s p c l 1.5!"
    assert [e["type"] for e in entities] == [
        "bold", "italic", "underline", "strikethrough", "spoiler", "code", "text_link",
    ]  # fmt: skip
    assert entities[-1]["url"] == "https://x.org"


@pytest.mark.parametrize("char", list("_*[]()~`>#+-=|{}.!"))
def test_markdown_v2_reserved_characters(char: str) -> None:
    with pytest.raises(ParseError):
        parse_markdown_v2(f"a {char}")
    assert parse_markdown_v2(f"a \\{char}")[0] == f"a {char}"


def test_markdown_v2_unclosed_entity() -> None:
    with pytest.raises(ParseError, match="Can't find end of Bold entity at byte offset 2"):
        parse_markdown_v2("a *bold")


def test_legacy_markdown() -> None:
    assert parse_markdown("*b* [x](http://a.org)")[1][1]["url"] == "http://a.org"
    with pytest.raises(ParseError, match="Can't find end of the entity starting at byte"):
        parse_markdown("*open")


def test_auto_entities_find_commands_links_and_mentions() -> None:
    text = "/start@resilience_test_bot see https://example.org, @someone #tag"
    kinds = [(e["type"], e["offset"], e["length"]) for e in find_auto_entities(text)]
    assert ("bot_command", 0, 26) in kinds
    assert ("url", 31, 19) in kinds
    assert ("mention", 52, 8) in kinds
    assert ("hashtag", 61, 4) in kinds


async def test_html_message_returns_plain_text_and_entities(bot: Bot, emu: Emulator, ana) -> None:  # type: ignore[no-untyped-def]
    msg = await bot.send_message(5, "<b>Day 1</b> — <i>breathe</i> 🌿", parse_mode="HTML")
    assert msg.text == "Day 1 — breathe 🌿"
    assert msg.entities == (
        MessageEntity(MessageEntity.BOLD, 0, 5),
        MessageEntity(MessageEntity.ITALIC, 8, 7),
    )
    stored = emu.bot_messages(5)[-1]
    assert stored.text == "Day 1 — breathe 🌿"
    assert stored.html == "<b>Day 1</b> — <i>breathe</i> 🌿"
    assert stored.parse_mode == "HTML"


async def test_html_parse_error_through_ptb(bot: Bot, raw: RawApi, ana) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(BadRequest) as info:
        await bot.send_message(5, "Use <name> here", parse_mode="HTML")
    assert str(info.value) == 'Can\'t parse entities: unsupported start tag "name" at byte offset 4'
    status, body = await raw("sendMessage", chat_id=5, text="<b>x</i>", parse_mode="HTML")
    assert status == 400
    assert body["description"] == (
        PREFIX + 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'
    )


async def test_markdown_v2_reserved_dot_through_api(raw: RawApi, ana) -> None:  # type: ignore[no-untyped-def]
    status, body = await raw("sendMessage", chat_id=5, text="Done.", parse_mode="MarkdownV2")
    assert status == 400
    assert body["description"] == (
        PREFIX + "Character '.' is reserved and must be escaped with the preceding '\\'"
    )


async def test_unknown_parse_mode(raw: RawApi, ana) -> None:  # type: ignore[no-untyped-def]
    status, body = await raw("sendMessage", chat_id=5, text="x", parse_mode="BBCode")
    assert status == 400 and "parse_mode" in body["description"]


async def test_text_length_limit_counts_after_parsing(bot: Bot, raw: RawApi, ana) -> None:  # type: ignore[no-untyped-def]
    ok = "x" * 4096
    assert (await bot.send_message(5, f"<b>{ok}</b>", parse_mode="HTML")).text == ok
    with pytest.raises(BadRequest, match=r"^Message is too long$"):
        await bot.send_message(5, ok + "y")
    status, body = await raw("sendMessage", chat_id=5, text="😀" * 2049)
    assert utf16_len("😀" * 2049) == 4098
    assert (status, body["description"]) == (400, "Bad Request: message is too long")


async def test_html_only_tags_is_empty_text(raw: RawApi, ana) -> None:  # type: ignore[no-untyped-def]
    status, body = await raw("sendMessage", chat_id=5, text="<b> </b>", parse_mode="HTML")
    assert (status, body["description"]) == (400, "Bad Request: message text is empty")


async def test_caption_limit(bot: Bot, raw: RawApi, ana) -> None:  # type: ignore[no-untyped-def]
    msg = await bot.send_document(5, b"data", filename="a.txt", caption="c" * 1024)
    assert msg.caption == "c" * 1024
    with pytest.raises(BadRequest, match=r"^Message caption is too long$"):
        await bot.send_document(5, b"data", filename="a.txt", caption="c" * 1025)


async def test_explicit_entities_instead_of_parse_mode(bot: Bot, ana) -> None:  # type: ignore[no-untyped-def]
    msg = await bot.send_message(5, "hello", entities=[MessageEntity("bold", 0, 5)])
    assert msg.entities == (MessageEntity("bold", 0, 5),)


async def test_text_is_trimmed_like_telegram(bot: Bot, ana) -> None:  # type: ignore[no-untyped-def]
    msg = await bot.send_message(5, "  <b>hi</b>  \n", parse_mode="HTML")
    assert msg.text == "hi"
    assert msg.entities == (MessageEntity("bold", 0, 2),)
