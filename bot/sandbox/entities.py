"""MessageEntity helpers: UTF-16 offsets, auto-detected entities, trimming."""

from __future__ import annotations

import re
from typing import Any

Entity = dict[str, Any]

# Entities Telegram finds by itself in any message text.
_AUTO_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("url", re.compile(r"(?<![\w@/])https?://[^\s<>\"']+", re.IGNORECASE)),
    ("email", re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")),
    (
        "bot_command",
        re.compile(r"(?<![\w/<>@])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/@])"),
    ),
    ("mention", re.compile(r"(?<![\w@])@[A-Za-z0-9_]{4,32}(?![\w@])")),
    ("hashtag", re.compile(r"(?<![\w#])#\w*[^\W\d]\w*")),
    ("cashtag", re.compile(r"(?<![\w$])\$[A-Z]{3,8}(?![\w])")),
]
_TRAILING_URL_PUNCT = ".,;:!?)]}'\""
# Auto entities are not created inside these.
_OPAQUE = {"code", "pre", "text_link", "text_mention", "custom_emoji", "url", "email"}


def utf16_len(text: str) -> int:
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def utf16_offsets(text: str) -> list[int]:
    """UTF-16 offset of each code point position (len(text) + 1 entries)."""
    offsets = [0] * (len(text) + 1)
    pos = 0
    for i, ch in enumerate(text):
        offsets[i] = pos
        pos += 2 if ord(ch) > 0xFFFF else 1
    offsets[len(text)] = pos
    return offsets


def utf16_slice(text: str, offset: int, length: int) -> str:
    """The substring covered by a UTF-16 (offset, length) pair."""
    encoded = text.encode("utf-16-le")
    return encoded[offset * 2 : (offset + length) * 2].decode("utf-16-le", errors="replace")


def sort_entities(entities: list[Entity]) -> list[Entity]:
    return sorted(entities, key=lambda e: (e["offset"], -e["length"]))


def find_auto_entities(text: str, existing: list[Entity] | None = None) -> list[Entity]:
    """bot_command, url, mention, hashtag... as Telegram detects them in plain text."""
    offsets = utf16_offsets(text)
    taken: list[tuple[int, int]] = [
        (e["offset"], e["offset"] + e["length"]) for e in existing or [] if e["type"] in _OPAQUE
    ]
    found: list[Entity] = []
    for kind, pattern in _AUTO_PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.span()
            if kind == "url":
                while end > start and text[end - 1] in _TRAILING_URL_PUNCT:
                    end -= 1
            begin16, end16 = offsets[start], offsets[end]
            if any(begin16 < t_end and t_begin < end16 for t_begin, t_end in taken):
                continue
            taken.append((begin16, end16))
            found.append({"type": kind, "offset": begin16, "length": end16 - begin16})
    return found


def strip_text(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Trim surrounding whitespace like Telegram, moving and clipping entities."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    total = utf16_len(stripped)
    result: list[Entity] = []
    for entity in entities:
        begin = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, total)
        if end > begin:
            result.append({**entity, "offset": begin, "length": end - begin})
    return stripped, result


def normalize_entities(raw: Any, text: str) -> list[Entity]:
    """Validate an explicit `entities` parameter (list of MessageEntity objects)."""
    from bot.sandbox.errors import bad_request

    if not isinstance(raw, list):
        raise bad_request("can't parse entities JSON object")
    total = utf16_len(text)
    result: list[Entity] = []
    for item in raw:
        if not isinstance(item, dict):
            raise bad_request("can't parse MessageEntity: expected an Object")
        kind, offset, length = item.get("type"), item.get("offset"), item.get("length")
        if not isinstance(kind, str):
            raise bad_request('can\'t parse MessageEntity: Field "type" must be of type String')
        if not isinstance(offset, int) or not isinstance(length, int):
            raise bad_request('can\'t parse MessageEntity: Field "offset" must be a valid Number')
        if kind == "text_link" and not isinstance(item.get("url"), str):
            raise bad_request('can\'t parse MessageEntity: Field "url" must be of type String')
        if offset < 0 or length <= 0 or offset >= total:
            continue
        entity = {**item, "length": min(length, total - offset)}
        result.append(entity)
    return sort_entities(result)
