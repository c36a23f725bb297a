"""Emulated people and groups that talk to the bot (sync: they only queue updates)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.sandbox.models import Chat, SentMessage

if TYPE_CHECKING:
    from bot.sandbox.world import World

# A 1x1 PNG, used when a test does not care about a photo's content.
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


class EmulatedUser:
    """A Telegram user. Methods create the updates a real client would cause.

    All methods are synchronous: they store the message and queue the update; the bot
    receives it on its next getUpdates. They return the Message (dict) as the bot sees it.
    """

    def __init__(
        self,
        world: World,
        user_id: int,
        first_name: str = "Ana",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ):
        self._world = world
        self.id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code
        self.blocked = False
        self.deactivated = False

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    @property
    def chat(self) -> Chat | None:
        """The private chat with the bot, once the user has written to it."""
        return self._world.chats.get(self.id)

    def _active_chat(self) -> Chat:
        if self.deactivated:
            raise RuntimeError(f"user {self.id} is deactivated")
        if self.blocked:
            raise RuntimeError(f"user {self.id} has blocked the bot; call unblock() first")
        return self._world.private_chat(self.id)

    def _reply(self, chat: Chat, reply_to: int | None) -> dict[str, Any]:
        if reply_to is None:
            return {}
        if self._world.find_message(chat, reply_to) is None:
            raise ValueError(f"no message {reply_to} in chat {chat.id}")
        return {"reply_to": reply_to}

    def send_text(self, text: str, reply_to: int | None = None) -> dict[str, Any]:
        """Write to the bot; the first message opens the private chat. /commands get entities."""
        chat = self._active_chat()
        return self._world.user_message(self.id, chat, text, **self._reply(chat, reply_to))

    def send_command(self, command: str, payload: str | None = None) -> dict[str, Any]:
        text = "/" + command.lstrip("/")
        return self.send_text(f"{text} {payload}" if payload else text)

    def press(self, message_id: int, callback_data: str, chat_id: int | None = None) -> str:
        """Press an inline button of a bot message; returns the callback query id."""
        world = self._world
        chat = world.chats.get(chat_id if chat_id is not None else self.id)
        msg = world.find_message(chat, message_id) if chat else None
        if msg is None or not msg.from_bot:
            raise ValueError(f"no bot message {message_id} in chat {chat_id or self.id}")
        if self.blocked or self.deactivated:
            raise RuntimeError(f"user {self.id} cannot press buttons (blocked or deactivated)")
        if not any(data == callback_data for row in msg.buttons for _label, data in row):
            raise ValueError(f"message {message_id} has no button with data {callback_data!r}")
        return world.new_callback_query(self.id, msg, callback_data)

    def press_button(self, message: SentMessage | int, text: str) -> str:
        """Press the inline button labelled `text` (message object or id in the private chat)."""
        chat_id = message.chat_id if isinstance(message, SentMessage) else self.id
        message_id = message.message_id if isinstance(message, SentMessage) else message
        chat = self._world.chats.get(chat_id)
        msg = self._world.find_message(chat, message_id) if chat else None
        for row in msg.buttons if msg else []:
            for label, data in row:
                if label == text and data is not None:
                    return self.press(message_id, data, chat_id=chat_id)
        raise ValueError(f"no button labelled {text!r} on message {message_id}")

    def edit(self, message_id: int, new_text: str, chat_id: int | None = None) -> dict[str, Any]:
        """Edit one of this user's text messages (an `edited_message` update)."""
        world = self._world
        chat = world.chats.get(chat_id if chat_id is not None else self.id)
        msg = world.find_message(chat, message_id) if chat else None
        if chat is None or msg is None or msg.sender_id != self.id or msg.text is None:
            raise ValueError(f"user {self.id} has no text message {message_id} to edit")
        from bot.sandbox.entities import find_auto_entities

        msg.edits.append(msg.text)
        msg.text, msg.html = new_text, new_text
        msg.entities = find_auto_entities(new_text)
        msg.edit_date = world.now()
        data = world.message_json(msg)
        if chat.bot_status == "member":
            world.emit("edited_message", data)
        return data

    def send_sticker(self, emoji: str = "👍") -> dict[str, Any]:
        chat = self._active_chat()
        record = self._world.add_file("sticker", b"RIFF\0\0\0\0WEBPVP8 ", width=512, height=512)
        sticker = {
            **self._world.file_json(record),
            "type": "regular",
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return self._world.user_message(self.id, chat, extra={"sticker": sticker})

    def send_photo(self, data: bytes = TINY_PNG, caption: str | None = None) -> dict[str, Any]:
        chat = self._active_chat()
        sizes = self._world.add_photo(data)
        return self._world.user_message(
            self.id, chat, photo_file=sizes[-1], photo_sizes=sizes, **_caption(caption)
        )

    def send_voice(self, data: bytes = b"OggS\0voice", duration: int = 1) -> dict[str, Any]:
        chat = self._active_chat()
        record = self._world.add_file("voice", data, mime="audio/ogg")
        voice = {**self._world.file_json(record), "duration": duration, "mime_type": "audio/ogg"}
        return self._world.user_message(self.id, chat, extra={"voice": voice})

    def send_document(
        self, name: str, data: bytes, mime: str | None = None, caption: str | None = None
    ) -> dict[str, Any]:
        chat = self._active_chat()
        record = self._world.add_file("document", data, name=name, mime=mime)
        return self._world.user_message(self.id, chat, document=record, **_caption(caption))

    def block(self) -> None:
        """Block the bot: later sends get 403; the bot gets a my_chat_member update."""
        if self.blocked:
            return
        self.blocked = True
        if self.chat is not None:
            self._world.chat_member_update(self.chat, self.id, "member", "kicked")

    def unblock(self) -> None:
        """Unblock (my_chat_member update only; no /start is sent automatically)."""
        if not self.blocked:
            return
        self.blocked = False
        if self.chat is not None:
            self._world.chat_member_update(self.chat, self.id, "kicked", "member")

    def deactivate(self) -> None:
        """Delete the account: later sends get 403 "user is deactivated" (no update)."""
        self.deactivated = True
        self._world.notify()


def _caption(caption: str | None) -> dict[str, Any]:
    from bot.sandbox.entities import find_auto_entities

    if not caption:
        return {}
    return {"caption": caption, "entities": find_auto_entities(caption)}


class EmulatedGroup:
    """A basic group (or supergroup) the bot can be added to."""

    def __init__(self, world: World, chat_id: int, title: str, supergroup: bool = False):
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        self._world = world
        self.chat_id = chat_id
        self.old_chat_id: int | None = None
        world.chats[chat_id] = Chat(
            id=chat_id, type="supergroup" if supergroup else "group", title=title
        )

    @property
    def chat(self) -> Chat:
        return self._world.chats[self.chat_id]

    def add_bot(self, by_user: EmulatedUser) -> None:
        """A member adds the bot: my_chat_member plus a new_chat_members service message."""
        chat = self.chat
        old = chat.bot_status if chat.bot_status in {"left", "kicked"} else "left"
        chat.bot_status = "member"
        self._world.chat_member_update(chat, by_user.id, old, "member")
        bot = self._world.bot_json()
        self._world.user_message(
            by_user.id, chat, extra={"new_chat_members": [bot], "new_chat_member": bot}
        )

    def post(self, user: EmulatedUser, text: str, reply_to: int | None = None) -> dict[str, Any]:
        """A member writes in the group (delivered while the bot is a member)."""
        chat = self.chat
        fields: dict[str, Any] = {}
        if reply_to is not None:
            if self._world.find_message(chat, reply_to) is None:
                raise ValueError(f"no message {reply_to} in chat {chat.id}")
            fields["reply_to"] = reply_to
        return self._world.user_message(user.id, chat, text, **fields)

    def upgrade_to_supergroup(self, by_user: EmulatedUser | None = None) -> int:
        """Migrate to a supergroup; the old id then answers with migrate_to_chat_id."""
        world = self._world
        old = self.chat
        if old.type != "group":
            raise ValueError("only basic groups can be upgraded")
        new_id = -1_000_000_000_000 - abs(old.id)
        new = Chat(id=new_id, type="supergroup", title=old.title, bot_status=old.bot_status)
        world.chats[new_id] = new
        actor = by_user.id if by_user is not None else _any_member(old)
        world.user_message(actor, old, extra={"migrate_to_chat_id": new_id})
        old.migrated_to = new_id
        world.user_message(actor, new, extra={"migrate_from_chat_id": old.id})
        world.groups[new_id] = self
        self.old_chat_id, self.chat_id = old.id, new_id
        return new_id

    def kick_bot(self, by_user: EmulatedUser | None = None) -> None:
        chat = self.chat
        actor = by_user.id if by_user is not None else _any_member(chat)
        previous = chat.bot_status or "left"
        chat.bot_status = "kicked"
        self._world.chat_member_update(chat, actor, previous, "kicked")


def _any_member(chat: Chat) -> int:
    for msg in chat.messages.values():
        if not msg.from_bot:
            return msg.sender_id
    raise ValueError(f"chat {chat.id} has no known member; pass by_user")
