"""Bot API method handlers. Each reads only parameters the spec defines for it."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from bot.sandbox.entities import utf16_len
from bot.sandbox.errors import ApiError, bad_request, conflict
from bot.sandbox.formatting import caption_text, message_text
from bot.sandbox.keyboards import validate_reply_markup
from bot.sandbox.models import Chat, FileRecord, SentMessage
from bot.sandbox.spec import Params, Upload
from bot.sandbox.world import World, image_size

Handler = Callable[[World, Params], Awaitable[Any]]
HANDLERS: dict[str, Handler] = {}
MAX_UPLOAD = 50 * 1024 * 1024
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)


def api_method(name: str) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        HANDLERS[name] = func
        return func

    return register


# -- helpers ---------------------------------------------------------------------------------
def _markup(p: Params) -> dict[str, Any] | None:
    return validate_reply_markup(
        p.obj("reply_markup", "can't parse reply keyboard markup JSON object")
    )


def _reply_to(world: World, chat: Chat, p: Params) -> int | None:
    params = p.obj("reply_parameters", "can't parse ReplyParameters JSON object")
    if not params:
        return None
    if not isinstance(params, dict) or not isinstance(params.get("message_id"), int):
        raise bad_request("can't parse ReplyParameters JSON object")
    target_chat = chat
    if params.get("chat_id") not in (None, chat.id):
        target_chat = world.chats.get(params["chat_id"]) or chat
    if world.find_message(target_chat, params["message_id"]) is None:
        if params.get("allow_sending_without_reply"):
            return None
        raise bad_request("message to be replied not found")
    return params["message_id"] if target_chat is chat else None


def _limit(world: World, chat: Chat) -> None:
    if world.rate_limits:
        try:
            world.limiter.acquire(chat.id, chat.is_group)
        except ApiError:
            world.counters.rate_limited += 1
            raise


def _send(world: World, chat: Chat, fields: dict[str, Any]) -> dict[str, Any]:
    _limit(world, chat)
    msg = world.store(chat, fields, sender_id=world.bot_id)
    return world.message_json(msg)


def _input_file(world: World, value: Upload | str | None, kind: str) -> FileRecord | Upload:
    if isinstance(value, Upload):
        if not value.data:
            raise bad_request("file must be non-empty")
        if len(value.data) > MAX_UPLOAD:
            raise bad_request("file is too big")
        return value
    assert value is not None  # required parameter, checked by the spec
    if value.startswith(("http://", "https://")):
        raise bad_request("failed to get HTTP URL content")
    record = world.files.get(value)
    if record is None:
        raise bad_request("wrong file identifier/HTTP URL specified")
    if kind == "photo" and record.kind != "photo":
        raise bad_request(f"can't use file of type {record.kind.title()} as Photo")
    return record


def _editable(world: World, p: Params) -> tuple[Chat, SentMessage]:
    if p.has("inline_message_id"):
        raise bad_request("MESSAGE_ID_INVALID")
    chat = world.resolve_chat(p.chat("chat_id"))
    message_id = p.integer("message_id")
    if message_id is None:
        raise bad_request("message identifier is not specified")
    msg = world.find_message(chat, message_id)
    if msg is None:
        raise bad_request("message to edit not found")
    if not msg.from_bot:
        raise bad_request("message can't be edited")
    return chat, msg


def _scope_key(world: World, p: Params) -> str:
    scope = p.obj("scope", "can't parse BotCommandScope JSON object") or {"type": "default"}
    if not isinstance(scope, dict) or not isinstance(scope.get("type"), str):
        raise bad_request("can't parse BotCommandScope JSON object")
    if "chat_id" in scope:
        _scope_chat(world, scope["chat_id"])
    key = scope["type"]
    for part in ("chat_id", "user_id"):
        if part in scope:
            key += f":{scope[part]}"
    language = p.string("language_code")
    return f"{key}/{language}" if language else key


def _scope_chat(world: World, chat_id: Any) -> None:
    """A chat scope names a chat the bot knows: a private chat exists only once its user has
    written to the bot, a group only while the bot is in it. Otherwise Telegram answers 400."""
    if isinstance(chat_id, str) and chat_id.startswith("@"):
        known = any(c.username == chat_id[1:] for c in world.chats.values())
    else:
        chat = world.chats.get(chat_id) if isinstance(chat_id, int) else None
        known = chat is not None and (chat.type == "private" or chat.bot_status is not None)
    if not known:
        raise bad_request("chat not found")


# -- getting updates -------------------------------------------------------------------------
@api_method("getMe")
async def get_me(world: World, p: Params) -> Any:
    return {
        **world.bot_json(),
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


@api_method("getUpdates")
async def get_updates(world: World, p: Params) -> Any:
    if world.webhook_url:
        raise conflict(
            "can't use getUpdates method while webhook is active; "
            "use deleteWebhook to delete the webhook first"
        )
    offset = p.integer("offset", 0) or 0
    limit = min(max(p.integer("limit", 100) or 0, 1), 100)
    timeout = min(max(p.integer("timeout", 0) or 0, 0), 50)
    world.updates.set_allowed(p.obj("allowed_updates"))
    return await world.updates.get(offset, limit, timeout)


@api_method("setWebhook")
async def set_webhook(world: World, p: Params) -> Any:
    world.webhook_url = p.string("url") or ""
    if p.flag("drop_pending_updates"):
        world.updates.clear()
    return True


@api_method("deleteWebhook")
async def delete_webhook(world: World, p: Params) -> Any:
    world.webhook_url = ""
    if p.flag("drop_pending_updates"):
        world.updates.clear()
    return True


@api_method("getWebhookInfo")
async def get_webhook_info(world: World, p: Params) -> Any:
    return {
        "url": world.webhook_url,
        "has_custom_certificate": False,
        "pending_update_count": world.updates.pending(),
    }


# -- bot profile -----------------------------------------------------------------------------
@api_method("setMyCommands")
async def set_my_commands(world: World, p: Params) -> Any:
    commands = p.obj("commands", "can't parse commands JSON object")
    if not isinstance(commands, list):
        raise bad_request("can't parse commands JSON object")
    if len(commands) > 100:
        raise bad_request("BOT_COMMANDS_TOO_MUCH")
    result = []
    for item in commands:
        if not isinstance(item, dict):
            raise bad_request("can't parse BotCommand: expected an Object")
        command, description = item.get("command"), item.get("description")
        if not isinstance(command, str) or not _COMMAND_RE.match(command.removeprefix("/")):
            raise bad_request("BOT_COMMAND_INVALID")
        if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        result.append({"command": command.removeprefix("/"), "description": description})
    world.commands[_scope_key(world, p)] = result
    world.notify()
    return True


@api_method("getMyCommands")
async def get_my_commands(world: World, p: Params) -> Any:
    return world.commands.get(_scope_key(world, p), [])


@api_method("deleteMyCommands")
async def delete_my_commands(world: World, p: Params) -> Any:
    world.commands.pop(_scope_key(world, p), None)
    return True


def _profile_text(world: World, key: str, text: str | None, language: str | None) -> bool:
    world.descriptions[f"{key}/{language}" if language else key] = text or ""
    return True


@api_method("setMyDescription")
async def set_my_description(world: World, p: Params) -> Any:
    text = p.string("description")
    if text is not None and len(text) > 512:
        raise bad_request("description is too long")
    return _profile_text(world, "description", text, p.string("language_code"))


@api_method("setMyShortDescription")
async def set_my_short_description(world: World, p: Params) -> Any:
    text = p.string("short_description")
    if text is not None and len(text) > 120:
        raise bad_request("short description is too long")
    return _profile_text(world, "short_description", text, p.string("language_code"))


@api_method("getMyDescription")
async def get_my_description(world: World, p: Params) -> Any:
    language = p.string("language_code")
    key = f"description/{language}" if language else "description"
    return {"description": world.descriptions.get(key, "")}


@api_method("getMyShortDescription")
async def get_my_short_description(world: World, p: Params) -> Any:
    language = p.string("language_code")
    key = f"short_description/{language}" if language else "short_description"
    return {"short_description": world.descriptions.get(key, "")}


# -- sending ---------------------------------------------------------------------------------
@api_method("sendMessage")
async def send_message(world: World, p: Params) -> Any:
    chat = world.resolve_chat(p.chat("chat_id"))
    source = p.string("text")
    parse_mode = p.string("parse_mode")
    text, entities = message_text(source, parse_mode, p.obj("entities"))
    markup = _markup(p)
    reply_to = _reply_to(world, chat, p)
    fields = {
        "text": text,
        "html": source,
        "parse_mode": parse_mode,
        "entities": entities,
        "reply_markup": markup,
        "reply_to": reply_to,
    }
    return _send(world, chat, fields)


def _media_fields(world: World, chat: Chat, p: Params) -> dict[str, Any]:
    source = p.string("caption")
    parse_mode = p.string("parse_mode")
    caption, entities = caption_text(source, parse_mode, p.obj("caption_entities"))
    return {
        "caption": caption,
        "html": source,
        "parse_mode": parse_mode,
        "entities": entities,
        "reply_markup": _markup(p),
        "reply_to": _reply_to(world, chat, p),
    }


@api_method("sendDocument")
async def send_document(world: World, p: Params) -> Any:
    chat = world.resolve_chat(p.chat("chat_id"))
    source = _input_file(world, p.file("document"), "document")
    fields = _media_fields(world, chat, p)
    _limit(world, chat)
    if isinstance(source, Upload):
        mime = source.content_type
        if not mime or mime == "application/octet-stream":
            mime = None
        record = world.add_file("document", source.data, name=source.filename, mime=mime)
        if record.mime is None:
            record.mime = "application/octet-stream"
    else:
        record = source
    msg = world.store(chat, {**fields, "document": record}, sender_id=world.bot_id)
    return world.message_json(msg)


@api_method("sendPhoto")
async def send_photo(world: World, p: Params) -> Any:
    chat = world.resolve_chat(p.chat("chat_id"))
    source = _input_file(world, p.file("photo"), "photo")
    fields = _media_fields(world, chat, p)
    if isinstance(source, Upload):
        if image_size(source.data) is None:
            raise bad_request("IMAGE_PROCESS_FAILED")
        _limit(world, chat)
        sizes = world.add_photo(source.data)
    else:
        _limit(world, chat)
        sizes = [source]
    msg = world.store(
        chat, {**fields, "photo_file": sizes[-1], "photo_sizes": sizes}, sender_id=world.bot_id
    )
    return world.message_json(msg)


@api_method("copyMessage")
async def copy_message(world: World, p: Params) -> Any:
    chat = world.resolve_chat(p.chat("chat_id"))
    source_chat = world.chats.get(p.chat("from_chat_id"))  # type: ignore[arg-type]
    original = world.find_message(source_chat, p.integer("message_id")) if source_chat else None
    if original is None:
        raise bad_request("message to copy not found")
    fields: dict[str, Any] = {
        "text": original.text,
        "html": original.html,
        "entities": list(original.entities),
        "caption": original.caption,
        "document": original.document,
        "photo_file": original.photo_file,
        "photo_sizes": list(original.photo_sizes),
        "extra": {k: v for k, v in original.extra.items() if k in {"sticker", "voice"}},
        "reply_markup": _markup(p),
        "reply_to": _reply_to(world, chat, p),
    }
    if p.has("caption") and original.text is None:
        fields["caption"], fields["entities"] = caption_text(
            p.string("caption"), p.string("parse_mode"), p.obj("caption_entities")
        )
    sent = _send(world, chat, fields)
    return {"message_id": sent["message_id"]}


@api_method("forwardMessage")
async def forward_message(world: World, p: Params) -> Any:
    chat = world.resolve_chat(p.chat("chat_id"))
    source_chat = world.chats.get(p.chat("from_chat_id"))  # type: ignore[arg-type]
    original = world.find_message(source_chat, p.integer("message_id")) if source_chat else None
    if original is None or source_chat is None:
        raise bad_request("message to forward not found")
    origin = {
        "type": "user",
        "date": original.date,
        "sender_user": world.user_json(original.sender_id),
    }
    fields: dict[str, Any] = {
        "text": original.text,
        "html": original.html,
        "entities": list(original.entities),
        "caption": original.caption,
        "document": original.document,
        "photo_file": original.photo_file,
        "photo_sizes": list(original.photo_sizes),
        "extra": {"forward_origin": origin},
    }
    return _send(world, chat, fields)


@api_method("sendChatAction")
async def send_chat_action(world: World, p: Params) -> Any:
    chat = world.resolve_chat(p.chat("chat_id"))
    action = p.string("action") or ""
    if action not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    chat.actions.append(action)
    return True


# -- editing ---------------------------------------------------------------------------------
@api_method("editMessageText")
async def edit_message_text(world: World, p: Params) -> Any:
    chat, msg = _editable(world, p)
    if msg.text is None:
        raise bad_request("there is no text in the message to edit")
    source = p.string("text")
    parse_mode = p.string("parse_mode")
    text, entities = message_text(source, parse_mode, p.obj("entities"))
    markup = _markup(p)
    if text == msg.text and entities == msg.entities and markup == msg.reply_markup:
        raise bad_request(_NOT_MODIFIED)
    _limit(world, chat)
    msg.edits.append(msg.text)
    msg.text, msg.html, msg.parse_mode, msg.entities = text, source, parse_mode, entities
    msg.reply_markup = markup
    msg.edit_date = world.now()
    world.counters.messages_edited += 1
    world.notify()
    return world.message_json(msg)


@api_method("editMessageCaption")
async def edit_message_caption(world: World, p: Params) -> Any:
    chat, msg = _editable(world, p)
    if msg.text is not None:
        raise bad_request("there is no caption in the message to edit")
    source = p.string("caption")
    caption, entities = caption_text(source, p.string("parse_mode"), p.obj("caption_entities"))
    markup = _markup(p)
    if caption == msg.caption and entities == msg.entities and markup == msg.reply_markup:
        raise bad_request(_NOT_MODIFIED)
    _limit(world, chat)
    msg.edits.append(msg.caption)
    msg.caption, msg.html, msg.entities, msg.reply_markup = caption, source, entities, markup
    msg.edit_date = world.now()
    world.counters.messages_edited += 1
    world.notify()
    return world.message_json(msg)


@api_method("editMessageReplyMarkup")
async def edit_message_reply_markup(world: World, p: Params) -> Any:
    chat, msg = _editable(world, p)
    markup = _markup(p)
    if markup == msg.reply_markup:
        raise bad_request(_NOT_MODIFIED)
    _limit(world, chat)
    msg.reply_markup = markup
    msg.edit_date = world.now()
    world.counters.messages_edited += 1
    world.notify()
    return world.message_json(msg)


@api_method("deleteMessage")
async def delete_message(world: World, p: Params) -> Any:
    chat = world.resolve_chat(p.chat("chat_id"))
    msg = world.find_message(chat, p.integer("message_id"))
    if msg is None:
        raise bad_request("message to delete not found")
    if chat.is_group and not msg.from_bot:
        raise bad_request("message can't be deleted")
    msg.deleted = True
    world.notify()
    return True


@api_method("answerCallbackQuery")
async def answer_callback_query(world: World, p: Params) -> Any:
    text = p.string("text")
    if text is not None and utf16_len(text) > 200:
        raise bad_request("MESSAGE_TOO_LONG")
    world.answer_callback_query(
        p.string("callback_query_id") or "",
        {"text": text, "show_alert": p.flag("show_alert"), "url": p.string("url")},
    )
    return True


# -- chats and files -------------------------------------------------------------------------
@api_method("getChat")
async def get_chat(world: World, p: Params) -> Any:
    chat_id = p.chat("chat_id")
    chat = world.chats.get(chat_id) if isinstance(chat_id, int) else None
    if chat is None or (chat.is_group and chat.bot_status is None):
        raise bad_request("chat not found")
    return {
        **world.chat_json(chat),
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        },
    }


@api_method("getChatMember")
async def get_chat_member(world: World, p: Params) -> Any:
    chat = world.resolve_chat(p.chat("chat_id"))
    user_id = p.integer("user_id")
    if user_id == world.bot_id:
        return {"status": "member", "user": world.bot_json()}
    if user_id not in world.users:
        raise bad_request("user not found")
    if chat.type == "private" and user_id != chat.id:
        raise bad_request("user not found")
    return {"status": "member", "user": world.user_json(user_id)}


@api_method("leaveChat")
async def leave_chat(world: World, p: Params) -> Any:
    chat = world.resolve_chat(p.chat("chat_id"))
    if not chat.is_group:
        raise bad_request("chat member status can't be changed in private chats")
    actor = world.bot_id
    chat.bot_status = "left"
    world.chat_member_update(chat, actor, "member", "left")
    return True


@api_method("getFile")
async def get_file(world: World, p: Params) -> Any:
    record = world.files.get(p.string("file_id") or "")
    if record is None:
        raise bad_request("invalid file_id")
    return {
        "file_id": record.file_id,
        "file_unique_id": record.file_unique_id,
        "file_size": record.size,
        "file_path": record.path,
    }
