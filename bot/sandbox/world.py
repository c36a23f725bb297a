"""The emulated Telegram: users, chats, messages, files and the bot's update queue."""

from __future__ import annotations

import asyncio
import mimetypes
import random
import struct
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bot.sandbox.entities import find_auto_entities
from bot.sandbox.errors import bad_request, forbidden
from bot.sandbox.faults import Counters
from bot.sandbox.limits import RateLimiter
from bot.sandbox.models import CallbackQuery, Chat, FileRecord, SentMessage
from bot.sandbox.updates import UpdateQueue

if TYPE_CHECKING:
    from bot.sandbox.people import EmulatedGroup, EmulatedUser

CALLBACK_QUERY_TTL = 15.0
_PHOTO_SIDES = (90, 320, 800, 1280)


class World:
    """State shared by the Bot API handlers and the people-playing API."""

    def __init__(
        self,
        *,
        token: str,
        bot_username: str,
        bot_name: str,
        seed: int,
        clock: Callable[[], float],
        rate_limits: bool,
    ):
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.bot_name = bot_name
        self.clock = clock
        self._epoch = time.time() - clock()
        self.rng = random.Random(seed)
        self.users: dict[int, EmulatedUser] = {}
        self.groups: dict[int, EmulatedGroup] = {}
        self.chats: dict[int, Chat] = {}
        self.files: dict[str, FileRecord] = {}
        self.files_by_path: dict[str, FileRecord] = {}
        self.callback_queries: dict[str, CallbackQuery] = {}
        self.commands: dict[str, list[dict[str, str]]] = {}
        self.violations: list[str] = []
        """Requests Telegram would quietly accept but that are bugs (a parameter the method
        does not take); a strict emulator fails the test at the end."""
        self.descriptions: dict[str, str] = {}
        self.webhook_url = ""
        self.updates = UpdateQueue(first_update_id=self.rng.randint(10**8, 9 * 10**8))
        self.counters = Counters()
        self.limiter = RateLimiter(clock)
        self.rate_limits = rate_limits
        self.changed = asyncio.Event()

    # -- time, ids ------------------------------------------------------------------------
    def now(self) -> int:
        """Unix time on the emulator's clock."""
        return int(self._epoch + self.clock())

    def _token(self, prefix: str, size: int) -> str:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
        return prefix + "".join(self.rng.choice(alphabet) for _ in range(size))

    def notify(self) -> None:
        self.changed.set()

    # -- JSON views -----------------------------------------------------------------------
    def bot_json(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_name,
            "username": self.bot_username,
        }

    def user_json(self, user_id: int) -> dict[str, Any]:
        if user_id == self.bot_id:
            return self.bot_json()
        return self.users[user_id].to_json()

    def chat_json(self, chat: Chat) -> dict[str, Any]:
        data: dict[str, Any] = {"id": chat.id, "type": chat.type}
        if chat.type == "private":
            user = self.users[chat.id].to_json()
            for key in ("first_name", "last_name", "username"):
                if key in user:
                    data[key] = user[key]
        else:
            data["title"] = chat.title
            if chat.username:
                data["username"] = chat.username
        return data

    def file_json(self, record: FileRecord) -> dict[str, Any]:
        data: dict[str, Any] = {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "file_size": record.size,
        }
        if record.kind == "document":
            if record.name:
                data["file_name"] = record.name
            if record.mime:
                data["mime_type"] = record.mime
        if record.width is not None:
            data["width"], data["height"] = record.width, record.height
        return data

    def message_json(self, msg: SentMessage, *, with_reply: bool = True) -> dict[str, Any]:
        chat = self.chats[msg.chat_id]
        data: dict[str, Any] = {
            "message_id": msg.message_id,
            "from": self.user_json(msg.sender_id),
            "chat": self.chat_json(chat),
            "date": msg.date,
        }
        if msg.text is not None:
            data["text"] = msg.text
            if msg.entities:
                data["entities"] = msg.entities
        if msg.document is not None:
            data["document"] = self.file_json(msg.document)
        if msg.photo_sizes:
            data["photo"] = [self.file_json(size) for size in msg.photo_sizes]
        if msg.caption is not None:
            data["caption"] = msg.caption
            if msg.entities:
                data["caption_entities"] = msg.entities
        if msg.reply_markup and "inline_keyboard" in msg.reply_markup:
            data["reply_markup"] = msg.reply_markup
        if msg.edit_date is not None:
            data["edit_date"] = msg.edit_date
        if with_reply and msg.reply_to is not None:
            target = chat.messages.get(msg.reply_to)
            if target is not None:
                data["reply_to_message"] = self.message_json(target, with_reply=False)
        data.update(msg.extra)
        return data

    # -- chats ----------------------------------------------------------------------------
    def private_chat(self, user_id: int) -> Chat:
        chat = self.chats.get(user_id)
        if chat is None:
            chat = Chat(id=user_id, type="private", bot_status="member")
            self.chats[user_id] = chat
        return chat

    def resolve_chat(self, chat_id: int | str | None) -> Chat:
        """The chat a bot request targets, with Telegram's 400/403 errors."""
        if chat_id is None:
            raise bad_request("chat_id is empty")
        if isinstance(chat_id, str):
            found = next((c for c in self.chats.values() if c.username == chat_id[1:]), None)
            if found is None:
                raise bad_request("chat not found")
            chat_id = found.id
        chat = self.chats.get(chat_id)
        user = self.users.get(chat_id)
        if user is not None:
            if user.deactivated:
                raise forbidden("user is deactivated")
            if chat is None:
                raise forbidden("bot can't initiate conversation with a user")
            if user.blocked:
                raise forbidden("bot was blocked by the user")
            return chat
        if chat is None or chat.bot_status is None:
            raise bad_request("chat not found")
        if chat.migrated_to is not None:
            raise bad_request(
                "group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.migrated_to},
            )
        kind = "supergroup chat" if chat.type == "supergroup" else "group chat"
        if chat.bot_status == "kicked":
            raise forbidden(f"bot was kicked from the {kind}")
        if chat.bot_status == "left":
            raise forbidden(f"bot is not a member of the {kind}")
        return chat

    def find_message(self, chat: Chat, message_id: int | None) -> SentMessage | None:
        msg = chat.messages.get(message_id) if message_id is not None else None
        return None if msg is None or msg.deleted else msg

    # -- messages and updates --------------------------------------------------------------
    def store(self, chat: Chat, msg_fields: dict[str, Any], *, sender_id: int) -> SentMessage:
        msg = SentMessage(
            message_id=chat.new_message_id(),
            chat_id=chat.id,
            from_bot=sender_id == self.bot_id,
            sender_id=sender_id,
            date=self.now(),
            **msg_fields,
        )
        chat.messages[msg.message_id] = msg
        if msg.from_bot:
            self.counters.messages_sent += 1
        self.notify()
        return msg

    def emit(self, kind: str, payload: dict[str, Any]) -> None:
        if self.updates.push(kind, payload) is not None:
            self.counters.updates_delivered += 1
        self.notify()

    def user_message(
        self, user_id: int, chat: Chat, text: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Store a person's message and deliver it to the bot as a `message` update."""
        entities = find_auto_entities(text) if text else []
        msg = self.store(chat, {"text": text, "entities": entities, **fields}, sender_id=user_id)
        data = self.message_json(msg)
        if chat.bot_status == "member" and chat.migrated_to is None:
            self.emit("message", data)
        return data

    def chat_member_update(self, chat: Chat, by_user: int, old: str, new: str) -> dict[str, Any]:
        payload = {
            "chat": self.chat_json(chat),
            "from": self.user_json(by_user),
            "date": self.now(),
            "old_chat_member": self._member(old),
            "new_chat_member": self._member(new),
        }
        self.emit("my_chat_member", payload)
        return payload

    def _member(self, status: str) -> dict[str, Any]:
        member: dict[str, Any] = {"user": self.bot_json(), "status": status}
        if status == "kicked":
            member["until_date"] = 0
        return member

    # -- files ----------------------------------------------------------------------------
    def add_file(
        self,
        kind: str,
        data: bytes,
        *,
        name: str | None = None,
        mime: str | None = None,
        width: int | None = None,
        height: int | None = None,
    ) -> FileRecord:
        prefix = {"document": "BQACAgIAAxkB", "photo": "AgACAgIAAxkB"}.get(kind, "AwACAgIAAxkB")
        record = FileRecord(
            file_id=self._token(prefix, 40),
            file_unique_id=self._token("AQAD", 12),
            kind=kind,
            data=data,
            name=name,
            mime=mime or (mimetypes.guess_type(name)[0] if name else None),
            width=width,
            height=height,
        )
        ext = (name or "").rpartition(".")[2] if name and "." in name else "bin"
        if kind == "photo":
            ext = "jpg"
        record.path = f"{kind}s/file_{len(self.files)}.{ext}"
        self.files[record.file_id] = record
        self.files_by_path[record.path] = record
        return record

    def add_photo(self, data: bytes) -> list[FileRecord]:
        """Photo sizes Telegram would generate (all share the original bytes here)."""
        width, height = image_size(data) or (1280, 720)
        side = max(width, height)
        sizes: list[FileRecord] = []
        for target in (*[s for s in _PHOTO_SIDES if s < side], side):
            scale = target / side
            sizes.append(
                self.add_file(
                    "photo",
                    data,
                    width=max(1, round(width * scale)),
                    height=max(1, round(height * scale)),
                )
            )
        return sizes[-4:]

    # -- callback queries -------------------------------------------------------------------
    def new_callback_query(self, user_id: int, msg: SentMessage, data: str) -> str:
        query_id = str(self.rng.randint(10**17, 10**19))
        self.callback_queries[query_id] = CallbackQuery(
            id=query_id,
            user_id=user_id,
            chat_id=msg.chat_id,
            message_id=msg.message_id,
            data=data,
            created=self.clock(),
        )
        self.emit(
            "callback_query",
            {
                "id": query_id,
                "from": self.user_json(user_id),
                "message": self.message_json(msg),
                "chat_instance": str(abs(hash((self.bot_id, msg.chat_id))) % 10**19),
                "data": data,
            },
        )
        return query_id

    def answer_callback_query(self, query_id: str, answer: dict[str, Any]) -> None:
        query = self.callback_queries.get(query_id)
        if query is None or query.answered or self.clock() - query.created > CALLBACK_QUERY_TTL:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        query.answered = True
        query.answer = answer
        self.notify()


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG, GIF, JPEG or WebP image, None for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return width, height
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return 512, 512
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            length = struct.unpack(">H", data[i + 2 : i + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return width, height
            i += 2 + length
        return 1280, 720
    return None
