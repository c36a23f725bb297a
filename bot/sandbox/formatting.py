"""Turn (text, parse_mode, entities) of a request into Telegram's plain text + entities."""

from __future__ import annotations

from typing import Any

from bot.sandbox.entities import (
    Entity,
    find_auto_entities,
    normalize_entities,
    sort_entities,
    strip_text,
    utf16_len,
)
from bot.sandbox.errors import ParseError, bad_request
from bot.sandbox.html import parse_html
from bot.sandbox.markdown import parse_markdown, parse_markdown_v2

MAX_TEXT = 4096
MAX_CAPTION = 1024
_PARSERS = {"html": parse_html, "markdownv2": parse_markdown_v2, "markdown": parse_markdown}


def parse(text: str, parse_mode: str | None, raw_entities: Any = None) -> tuple[str, list[Entity]]:
    """Apply parse_mode (or explicit entities), trim, and add auto-detected entities."""
    if parse_mode:
        parser = _PARSERS.get(parse_mode.lower())
        if parser is None:
            raise bad_request(f"unsupported parse_mode {parse_mode!r}")
        try:
            plain, entities = parser(text)
        except ParseError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
    elif raw_entities is not None:
        plain, entities = text, normalize_entities(raw_entities, text)
    else:
        plain, entities = text, []
    plain, entities = strip_text(plain, entities)
    entities = sort_entities(entities + find_auto_entities(plain, entities))
    return plain, entities


def message_text(text: str | None, parse_mode: str | None, raw_entities: Any = None):
    """Text of a message: 1-4096 characters (UTF-16 code units) after entity parsing."""
    plain, entities = parse(text or "", parse_mode, raw_entities)
    if not plain:
        raise bad_request("message text is empty")
    if utf16_len(plain) > MAX_TEXT:
        raise bad_request("message is too long")
    return plain, entities


def caption_text(text: str | None, parse_mode: str | None, raw_entities: Any = None):
    """Caption: 0-1024 characters after entity parsing; None when absent or empty."""
    if not text:
        return None, []
    plain, entities = parse(text, parse_mode, raw_entities)
    if utf16_len(plain) > MAX_CAPTION:
        raise bad_request("message caption is too long")
    return (plain or None), entities
