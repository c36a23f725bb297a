"""Records the emulator keeps: files, messages, chats, callback queries."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.keyboards import buttons_of


@dataclass
class FileRecord:
    file_id: str
    file_unique_id: str
    kind: str  # document, photo, voice, sticker
    data: bytes
    name: str | None = None
    mime: str | None = None
    width: int | None = None
    height: int | None = None
    path: str = ""

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class SentMessage:
    """A message in a chat, sent by the bot or by an emulated person."""

    message_id: int
    chat_id: int
    from_bot: bool
    sender_id: int
    date: int
    text: str | None = None
    html: str | None = None  # the text or caption as sent, before entity parsing
    parse_mode: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    caption: str | None = None
    reply_markup: dict[str, Any] | None = None
    document: FileRecord | None = None
    photo_file: FileRecord | None = None
    photo_sizes: list[FileRecord] = field(default_factory=list)
    edits: list[str | None] = field(default_factory=list)
    deleted: bool = False
    reply_to: int | None = None
    edit_date: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # sticker, voice, service fields

    @property
    def buttons(self) -> list[list[tuple[str, str | None]]]:
        return buttons_of(self.reply_markup)

    @property
    def photo(self) -> bytes | None:
        return self.photo_file.data if self.photo_file else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly view for the control API (file bytes in base64)."""

        def file_view(record: FileRecord | None) -> dict[str, Any] | None:
            if record is None:
                return None
            return {
                "file_id": record.file_id,
                "name": record.name,
                "mime": record.mime,
                "data_base64": base64.b64encode(record.data).decode(),
            }

        return {
            "message_id": self.message_id,
            "chat_id": self.chat_id,
            "from_bot": self.from_bot,
            "sender_id": self.sender_id,
            "date": self.date,
            "text": self.text,
            "html": self.html,
            "parse_mode": self.parse_mode,
            "entities": self.entities,
            "caption": self.caption,
            "reply_markup": self.reply_markup,
            "buttons": [[list(b) for b in row] for row in self.buttons],
            "document": file_view(self.document),
            "photo": file_view(self.photo_file),
            "edits": self.edits,
            "deleted": self.deleted,
            "reply_to": self.reply_to,
            "edit_date": self.edit_date,
            "extra": self.extra,
        }


@dataclass
class Chat:
    id: int
    type: str  # private, group, supergroup
    title: str | None = None
    username: str | None = None
    bot_status: str | None = None  # None (never added), member, left, kicked
    migrated_to: int | None = None
    messages: dict[int, SentMessage] = field(default_factory=dict)
    next_message_id: int = 1
    actions: list[str] = field(default_factory=list)

    @property
    def is_group(self) -> bool:
        return self.type in {"group", "supergroup"}

    def new_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id


@dataclass
class CallbackQuery:
    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    created: float  # emulator clock
    answered: bool = False
    answer: dict[str, Any] | None = None
