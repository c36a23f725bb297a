"""parse_mode=HTML the way Telegram parses it (TDLib's parse_html)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.sandbox.entities import Entity, sort_entities
from bot.sandbox.errors import ParseError

_SIMPLE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
ALLOWED_TAGS = frozenset({*_SIMPLE, "a", "code", "pre", "blockquote", "tg-emoji"})
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|([a-zA-Z]+));")
_USER_LINK_RE = re.compile(r"^tg://user\?id=(\d+)$")


@dataclass
class _Open:
    tag: str
    argument: str
    offset: int  # UTF-16 offset in the result
    result_index: int  # position in the result list of characters


def _decode_entity(text: str, i: int) -> tuple[str, int] | None:
    """(character, length) of an HTML entity starting at text[i] == '&', if valid."""
    match = _ENTITY_RE.match(text, i)
    if not match:
        return None
    dec, hexa, name = match.groups()
    if name is not None:
        if name not in _NAMED:
            return None
        return _NAMED[name], match.end() - i
    code = int(dec) if dec is not None else int(hexa, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), match.end() - i


def _check_url(url: str) -> str | None:
    """Telegram keeps a text_link only for a valid link; others are dropped silently."""
    url = url.strip()
    if not url or any(ch.isspace() for ch in url):
        return None
    scheme, sep, _rest = url.partition("://")
    if not sep:
        return "http://" + url if re.match(r"^[\w.-]+\.[A-Za-z]{2,}(/.*)?$", url) else None
    if scheme.lower() in {"http", "https", "tg", "ton", "tonsite"}:
        return url
    return None


def parse_html(text: str) -> tuple[str, list[Entity]]:
    """Plain text and entities (UTF-16 offsets); raises ParseError with Telegram's wording."""
    byte_at = [0] * (len(text) + 1)
    for idx, ch in enumerate(text):
        byte_at[idx + 1] = byte_at[idx] + len(ch.encode("utf-8", "surrogatepass"))
    n = len(text)
    out: list[str] = []
    utf16 = 0
    stack: list[_Open] = []
    entities: list[Entity] = []
    i = 0
    while i < n:
        ch = text[i]
        if ch == "&":
            decoded = _decode_entity(text, i)
            if decoded is not None:
                char, length = decoded
                out.append(char)
                utf16 += 2 if ord(char) > 0xFFFF else 1
                i += length
                continue
        if ch != "<":
            out.append(ch)
            utf16 += 2 if ord(ch) > 0xFFFF else 1
            i += 1
            continue
        begin = i
        i += 1
        if i < n and text[i] == "/":
            i = _close_tag(text, i, begin, byte_at, stack, entities, out, utf16)
            continue
        while i < n and not text[i].isspace() and text[i] != ">":
            i += 1
        if i >= n:
            raise ParseError(f"Unclosed start tag at byte offset {byte_at[begin]}")
        tag = text[begin + 1 : i].lower()
        if tag not in ALLOWED_TAGS:
            raise ParseError(f'Unsupported start tag "{tag}" at byte offset {byte_at[begin]}')
        i, argument = _attributes(text, i, begin, tag, byte_at)
        if tag == "span" and argument != "spoiler":
            raise ParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {byte_at[begin]}'
            )
        stack.append(_Open(tag, argument, utf16, len(out)))
        i += 1  # skip '>'
    if stack:
        raise ParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    for entity in entities:
        entity.pop("_language", None)
    return "".join(out), sort_entities(entities)


def _attributes(text: str, i: int, begin: int, tag: str, byte_at: list[int]) -> tuple[int, str]:
    """Parse attributes up to the closing '>' (returned index points at it)."""
    n = len(text)
    argument = ""
    while i < n and text[i] != ">":
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            break
        if text[i] == ">":
            break
        name_begin = i
        while i < n and not text[i].isspace() and text[i] not in "=>":
            i += 1
        name = text[name_begin:i].lower()
        if not name:
            raise ParseError(
                f'Empty attribute name in the tag "{tag}" at byte offset {byte_at[begin]}'
            )
        while i < n and text[i].isspace():
            i += 1
        if i < n and text[i] != "=":
            if tag == "blockquote" and name == "expandable":
                argument = "1"
                continue
            raise ParseError(
                f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                f"at byte offset {byte_at[begin]}"
            )
        i += 1
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            break
        if text[i] not in "'\"":
            token_begin = i
            while i < n and (text[i].isalnum() or text[i] in ".-"):
                i += 1
            value = text[token_begin:i].lower()
            if i < n and not text[i].isspace() and text[i] != ">":
                raise ParseError(
                    f"Unexpected end of name token at byte offset {byte_at[token_begin]}"
                )
        else:
            quote = text[i]
            i += 1
            chars: list[str] = []
            while i < n and text[i] != quote:
                if text[i] == "&":
                    decoded = _decode_entity(text, i)
                    if decoded is not None:
                        chars.append(decoded[0])
                        i += decoded[1]
                        continue
                chars.append(text[i])
                i += 1
            value = "".join(chars)
            if i < n:
                i += 1
        if tag == "a" and name == "href":
            argument = value
        elif tag == "code" and name == "class" and value.startswith("language-"):
            argument = value.removeprefix("language-")
        elif tag == "span" and name == "class" and value.startswith("tg-"):
            argument = value.removeprefix("tg-")
        elif tag == "tg-emoji" and name == "emoji-id":
            argument = value
        elif tag == "blockquote" and name == "expandable":
            argument = "1"
    if i >= n:
        raise ParseError(f"Unclosed start tag at byte offset {byte_at[begin]}")
    return i, argument


def _close_tag(
    text: str,
    i: int,
    begin: int,
    byte_at: list[int],
    stack: list[_Open],
    entities: list[Entity],
    out: list[str],
    utf16: int,
) -> int:
    n = len(text)
    if not stack:
        raise ParseError(f"Unexpected end tag at byte offset {byte_at[begin]}")
    i += 1  # skip '/'
    name_begin = i
    while i < n and not text[i].isspace() and text[i] != ">":
        i += 1
    end_name = text[name_begin:i].lower()
    while i < n and text[i].isspace():
        i += 1
    if i >= n or text[i] != ">":
        raise ParseError(f"Unclosed end tag at byte offset {byte_at[begin]}")
    top = stack.pop()
    if end_name and end_name != top.tag:
        raise ParseError(
            f"Unmatched end tag at byte offset {byte_at[begin]}, "
            f'expected "</{top.tag}>", found "</{end_name}>"'
        )
    length = utf16 - top.offset
    if length > 0:
        _emit(top, length, entities, "".join(out[top.result_index :]))
    return i + 1


def _emit(top: _Open, length: int, entities: list[Entity], inner: str) -> None:
    base = {"offset": top.offset, "length": length}
    tag, arg = top.tag, top.argument
    last = entities[-1] if entities else None
    same_span = last is not None and last["offset"] == top.offset and last["length"] == length
    if tag in _SIMPLE:
        entities.append({"type": _SIMPLE[tag], **base})
    elif tag == "a":
        url = arg or inner
        user = _USER_LINK_RE.match(url)
        if user:
            entities.append({"type": "text_mention", **base, "user_id": int(user.group(1))})
        elif (checked := _check_url(url)) is not None:
            entities.append({"type": "text_link", **base, "url": checked})
    elif tag == "code":
        if same_span and last is not None and last["type"] == "pre" and arg:
            last["language"] = arg
        else:
            entities.append({"type": "code", **base, **({"_language": arg} if arg else {})})
    elif tag == "pre":
        if same_span and last is not None and last["type"] == "code" and "_language" in last:
            last["type"] = "pre"
            last["language"] = last.pop("_language")
        else:
            entities.append({"type": "pre", **base})
    elif tag == "blockquote":
        kind = "expandable_blockquote" if arg else "blockquote"
        entities.append({"type": kind, **base})
    elif tag == "tg-emoji":
        if not arg.isdigit():
            raise ParseError("Custom emoji entity must contain a valid custom emoji identifier")
        entities.append({"type": "custom_emoji", **base, "custom_emoji_id": arg})
