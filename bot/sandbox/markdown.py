"""parse_mode=MarkdownV2 and legacy Markdown, modelled on TDLib's parsers."""

from __future__ import annotations

from dataclasses import dataclass

from bot.sandbox.entities import Entity, sort_entities
from bot.sandbox.errors import ParseError

RESERVED = "_*[]()~`>#+-=|{}.!"
_TDLIB_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


@dataclass
class _Open:
    kind: str
    offset: int  # UTF-16 offset in the result
    byte_offset: int
    result_index: int
    argument: str = ""


def _units(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def _byte_offsets(text: str) -> list[int]:
    at = [0] * (len(text) + 1)
    for idx, ch in enumerate(text):
        at[idx + 1] = at[idx] + len(ch.encode("utf-8", "surrogatepass"))
    return at


def _reserved(ch: str) -> ParseError:
    return ParseError(f"Character '{ch}' is reserved and must be escaped with the preceding '\\'")


def _is_end(kind: str, text: str, i: int) -> bool:
    ch, nxt = text[i], text[i + 1 : i + 2]
    return {
        "bold": ch == "*",
        "italic": ch == "_" and nxt != "_",
        "underline": ch == "_" and nxt == "_",
        "strikethrough": ch == "~",
        "spoiler": ch == "|" and nxt == "|",
        "code": ch == "`",
        "pre": text.startswith("```", i),
        "text_link": ch == "]",
        "custom_emoji": ch == "]",
    }[kind]


def parse_markdown_v2(text: str) -> tuple[str, list[Entity]]:
    byte_at = _byte_offsets(text)
    n = len(text)
    out: list[str] = []
    utf16 = 0
    stack: list[_Open] = []
    entities: list[Entity] = []
    quote_start: int | None = None
    i = 0
    while i < n:
        ch = text[i]
        at_line_start = i == 0 or text[i - 1] == "\n"
        in_code = bool(stack) and stack[-1].kind in {"code", "pre"}
        if ch == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
            out.append(text[i + 1])
            utf16 += 1
            i += 2
            continue
        if at_line_start and not in_code and (ch == ">" or text.startswith("**>", i)):
            if quote_start is None:
                quote_start = utf16
            i += 3 if ch == "*" else 1
            continue
        if ch == "\n" and quote_start is not None and not text.startswith(">", i + 1):
            entities.append(
                {"type": "blockquote", "offset": quote_start, "length": utf16 - quote_start}
            )
            quote_start = None
        reserved = "`" if in_code else RESERVED
        if ch not in reserved:
            out.append(ch)
            utf16 += _units(ch)
            i += 1
            continue
        if stack and _is_end(stack[-1].kind, text, i):
            i = _close(text, i, stack.pop(), entities, out, utf16)
            continue
        i = _open(text, i, byte_at, stack, utf16, len(out))
    if stack:
        top = stack[-1]
        raise ParseError(
            f"Can't find end of {_TDLIB_NAMES[top.kind]} entity at byte offset {top.byte_offset}"
        )
    if quote_start is not None and utf16 > quote_start:
        entities.append(
            {"type": "blockquote", "offset": quote_start, "length": utf16 - quote_start}
        )
    return "".join(out), sort_entities(entities)


def _open(text: str, i: int, byte_at: list[int], stack: list[_Open], utf16: int, pos: int) -> int:
    ch, nxt = text[i], text[i + 1 : i + 2]
    start = i
    argument = ""
    if ch == "_" and nxt == "_":
        kind, i = "underline", i + 2
    elif ch == "_":
        kind, i = "italic", i + 1
    elif ch == "*":
        kind, i = "bold", i + 1
    elif ch == "~":
        kind, i = "strikethrough", i + 1
    elif ch == "|" and nxt == "|":
        kind, i = "spoiler", i + 2
    elif ch == "[":
        kind, i = "text_link", i + 1
    elif ch == "!" and nxt == "[":
        kind, i = "custom_emoji", i + 2
    elif text.startswith("```", i):
        kind, i = "pre", i + 3
        line_end = text.find("\n", i)
        if line_end != -1 and all(c.isalnum() or c in "_-+#." for c in text[i:line_end]):
            argument = text[i:line_end]
            i = line_end + 1
    elif ch == "`":
        kind, i = "code", i + 1
    else:
        raise _reserved(ch)
    stack.append(_Open(kind, utf16, byte_at[start], pos, argument))
    return i


def _close(
    text: str, i: int, top: _Open, entities: list[Entity], out: list[str], utf16: int
) -> int:
    length = utf16 - top.offset
    base = {"offset": top.offset, "length": length}
    kind = top.kind
    if kind in {"text_link", "custom_emoji"}:
        i += 1
        url = ""
        if text[i : i + 1] == "(":
            i += 1
            chars: list[str] = []
            while i < len(text) and text[i] != ")":
                if text[i] == "\\" and i + 1 < len(text):
                    i += 1
                chars.append(text[i])
                i += 1
            if i >= len(text):
                raise ParseError(f"Can't find end of a url at byte offset {top.byte_offset}")
            url = "".join(chars)
            i += 1
        elif kind == "text_link":
            url = "".join(out[top.result_index :])
        if length > 0 and kind == "text_link" and url:
            if url.startswith("tg://user?id=") and url[13:].isdigit():
                entities.append({"type": "text_mention", **base, "user_id": int(url[13:])})
            else:
                entities.append({"type": "text_link", **base, "url": url})
        elif length > 0 and kind == "custom_emoji":
            emoji_id = url.removeprefix("tg://emoji?id=")
            if not emoji_id.isdigit():
                raise ParseError("Custom emoji entity must contain a valid custom emoji identifier")
            entities.append({"type": "custom_emoji", **base, "custom_emoji_id": emoji_id})
        return i
    step = {"pre": 3, "underline": 2, "spoiler": 2}.get(kind, 1)
    if length > 0:
        entity: Entity = {"type": kind, **base}
        if kind == "pre" and top.argument:
            entity["language"] = top.argument
        entities.append(entity)
    return i + step


def parse_markdown(text: str) -> tuple[str, list[Entity]]:
    """Legacy Markdown: *bold*, _italic_, `code`, ```pre```, [text](url); no escaping rules."""
    byte_at = _byte_offsets(text)
    n = len(text)
    out: list[str] = []
    entities: list[Entity] = []
    utf16 = 0
    i = 0
    while i < n:
        ch = text[i]
        if ch not in "*_`[":
            out.append(ch)
            utf16 += _units(ch)
            i += 1
            continue
        begin = i
        if text.startswith("```", i):
            end_mark, kind, i = "```", "pre", i + 3
        elif ch == "[":
            end_mark, kind, i = "]", "text_link", i + 1
        else:
            end_mark, kind, i = ch, {"*": "bold", "_": "italic", "`": "code"}[ch], i + 1
        end = text.find(end_mark, i)
        if end == -1:
            raise ParseError(
                f"Can't find end of the entity starting at byte offset {byte_at[begin]}"
            )
        inner = text[i:end]
        i = end + len(end_mark)
        entity: Entity = {"type": kind, "offset": utf16, "length": sum(map(_units, inner))}
        if kind == "text_link":
            if text[i : i + 1] != "(" or text.find(")", i) == -1:
                raise ParseError(
                    f"Can't find end of the entity starting at byte offset {byte_at[begin]}"
                )
            close = text.find(")", i)
            entity["url"] = text[i + 1 : close]
            i = close + 1
        out.append(inner)
        utf16 += entity["length"]
        if entity["length"]:
            entities.append(entity)
    return "".join(out), sort_entities(entities)
