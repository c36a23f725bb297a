"""reply_markup validation (inline keyboards as Telegram checks them)."""

from __future__ import annotations

import re
from typing import Any

from bot.sandbox.errors import bad_request

_ACTIONS = (
    "callback_data",
    "url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "web_app",
    "login_url",
    "callback_game",
    "pay",
    "copy_text",
)
_URL_RE = re.compile(r"^(https?://[^\s/$.?#][^\s]*|tg://[^\s]+)$", re.IGNORECASE)
MAX_CALLBACK_DATA = 64


def _button_error(text: str) -> Exception:
    return bad_request(f"can't parse inline keyboard button: {text}")


def _inline_button(button: Any) -> dict[str, Any]:
    if not isinstance(button, dict):
        raise _button_error("InlineKeyboardButton must be an Object")
    text = button.get("text")
    if not isinstance(text, str):
        raise _button_error('Field "text" must be of type String')
    actions = [name for name in _ACTIONS if button.get(name) is not None]
    if not actions:
        raise _button_error("Text buttons are unallowed in the inline keyboard")
    if not text.strip():
        raise bad_request("BUTTON_TEXT_INVALID")
    if "callback_data" in actions:
        data = button["callback_data"]
        if not isinstance(data, str):
            raise _button_error('Field "callback_data" must be of type String')
        if not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in actions:
        url = button["url"]
        if not isinstance(url, str):
            raise _button_error('Field "url" must be of type String')
        if not _URL_RE.match(url):
            raise bad_request("BUTTON_URL_INVALID")
    return {k: v for k, v in button.items() if v is not None}


def validate_reply_markup(markup: Any) -> dict[str, Any] | None:
    """Normalized reply_markup, or ApiError with Telegram's wording."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list):
            raise bad_request(
                'Field "inline_keyboard" of the InlineKeyboardMarkup must be an Array'
            )
        result = []
        for row in rows:
            if not isinstance(row, list):
                raise bad_request(
                    'Field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
                )
            result.append([_inline_button(button) for button in row])
        return {"inline_keyboard": result}
    if "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request('Field "keyboard" of the ReplyKeyboardMarkup must be an Array')
        return markup
    if markup.get("remove_keyboard") or markup.get("force_reply"):
        return markup
    raise bad_request('can\'t find field "inline_keyboard"')


def buttons_of(markup: dict[str, Any] | None) -> list[list[tuple[str, str | None]]]:
    """Rows of (label, callback_data) of an inline keyboard; callback_data is None for links."""
    if not markup or "inline_keyboard" not in markup:
        return []
    return [[(b["text"], b.get("callback_data")) for b in row] for row in markup["inline_keyboard"]]
