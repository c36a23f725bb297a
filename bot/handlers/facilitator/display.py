"""How facilitator replies are shaped: inline keyboards, attached files, shortened text."""

from __future__ import annotations

import base64
from typing import Any

from bot.handlers.context import BotContext
from bot.texts import text

PREFIX = "fac"
"""Every facilitator button's callback data starts with `fac:`."""

Row = list[tuple[str, str]]


def buttons(*rows: Row) -> dict[str, Any]:
    """An inline keyboard of (label, callback data) rows; empty rows are left out."""
    return {
        "inline_keyboard": [
            [{"text": label, "callback_data": data} for label, data in row] for row in rows if row
        ]
    }


def send_or_cancel(language: str | None, callback_base: str) -> Row:
    """The Send / Cancel row under a preview: `<callback_base>:y` and `<callback_base>:n`."""
    return [
        (text("fac_button_send", language), f"{callback_base}:y"),
        (text("fac_button_cancel", language), f"{callback_base}:n"),
    ]


def remove_buttons(context: BotContext, chat_id: int, query: Any) -> None:
    """Take the keyboard off the message whose button was pressed, once the work is saved."""
    context.after_commit(chat_id, lambda: query.edit_message_reply_markup(reply_markup=None))


def document(filename: str, content: bytes, *, as_photo: bool = False) -> dict[str, Any]:
    """An outbox attachment: a file, or (as_photo) an image shown in the chat."""
    attachment = {"filename": filename, "content_b64": base64.b64encode(content).decode()}
    return {**attachment, "as_photo": True} if as_photo else attachment


def shorten(value: str, limit: int) -> str:
    """`value` on one line, cut to `limit` characters with an ellipsis."""
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1] + "…"
