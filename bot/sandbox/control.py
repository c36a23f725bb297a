"""JSON control API under /_sandbox/ for driving the emulator from another process."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.sandbox.faults import FaultConfig
from bot.sandbox.server import EMULATOR_KEY, reply

Route = Callable[[web.Request], Awaitable[Any]]
_PROFILE = ("first_name", "last_name", "username", "language_code")


def _wrap(func: Route) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        try:
            return reply({"ok": True, "result": await func(request)})
        except (ValueError, RuntimeError, KeyError, TypeError) as exc:
            return reply({"ok": False, "error": f"{type(exc).__name__}: {exc}"}, status=400)

    return handler


async def _body(request: web.Request) -> Any:
    return await request.json() if request.can_read_body else {}


def _user(request: web.Request, body: dict[str, Any] | None = None, key: str = "id") -> Any:
    emu = request.app[EMULATOR_KEY]
    source = request.match_info if key == "id" else body or {}
    profile = {k: v for k, v in (body or {}).items() if k in _PROFILE}
    return emu.user(int(source[key]), **profile)


async def health(request: web.Request) -> Any:
    emu = request.app[EMULATOR_KEY]
    return {"bot_id": emu.bot_id, "bot_username": emu.world.bot_username}


async def counters(request: web.Request) -> Any:
    return request.app[EMULATOR_KEY].counters.to_dict()


async def reset_counters(request: web.Request) -> Any:
    request.app[EMULATOR_KEY].reset_counters()
    return True


async def user_create(request: web.Request) -> Any:
    return _user(request, await _body(request)).to_json()


async def user_text(request: web.Request) -> Any:
    body = await _body(request)
    return _user(request, body).send_text(body["text"], reply_to=body.get("reply_to"))


async def user_command(request: web.Request) -> Any:
    body = await _body(request)
    return _user(request, body).send_command(body["command"], body.get("payload"))


async def user_press(request: web.Request) -> Any:
    body = await _body(request)
    user = _user(request, body)
    query_id = user.press(int(body["message_id"]), body["data"], chat_id=body.get("chat_id"))
    return {"callback_query_id": query_id}


async def user_press_button(request: web.Request) -> Any:
    body = await _body(request)
    user = _user(request, body)
    emu = request.app[EMULATOR_KEY]
    chat_id = body.get("chat_id", user.id)
    msg = next((m for m in emu.messages(chat_id) if m.message_id == int(body["message_id"])), None)
    if msg is None:
        raise ValueError(f"no message {body['message_id']} in chat {chat_id}")
    return {"callback_query_id": user.press_button(msg, body["text"])}


async def user_document(request: web.Request) -> Any:
    body = await _body(request)
    data = base64.b64decode(body.get("data_base64", ""))
    return _user(request, body).send_document(
        body["name"], data, mime=body.get("mime"), caption=body.get("caption")
    )


async def user_state(request: web.Request) -> Any:
    user = _user(request)
    {"block": user.block, "unblock": user.unblock, "deactivate": user.deactivate}[
        request.match_info["action"]
    ]()
    return True


async def group_create(request: web.Request) -> Any:
    body = await _body(request)
    emu = request.app[EMULATOR_KEY]
    group = emu.group(
        int(request.match_info["id"]),
        body.get("title", "Group"),
        supergroup=bool(body.get("supergroup")),
    )
    return {"chat_id": group.chat_id}


def _group(request: web.Request) -> Any:
    emu = request.app[EMULATOR_KEY]
    chat_id = int(request.match_info["id"])
    group = emu.world.groups.get(chat_id)
    if group is None:
        raise ValueError(f"no group {chat_id}")
    return group


async def group_add_bot(request: web.Request) -> Any:
    body = await _body(request)
    _group(request).add_bot(_user(request, body, key="user_id"))
    return True


async def group_post(request: web.Request) -> Any:
    body = await _body(request)
    return _group(request).post(_user(request, body, key="user_id"), body["text"])


async def group_upgrade(request: web.Request) -> Any:
    body = await _body(request)
    by_user = _user(request, body, key="user_id") if body.get("user_id") else None
    return {"new_chat_id": _group(request).upgrade_to_supergroup(by_user)}


async def group_kick_bot(request: web.Request) -> Any:
    body = await _body(request)
    by_user = _user(request, body, key="user_id") if body.get("user_id") else None
    _group(request).kick_bot(by_user)
    return True


async def chat_messages(request: web.Request) -> Any:
    emu = request.app[EMULATOR_KEY]
    chat_id = int(request.match_info["id"])
    bot_only = request.query.get("bot_only") in {"1", "true"}
    found = emu.bot_messages(chat_id) if bot_only else emu.messages(chat_id)
    return [m.to_dict() for m in found]


async def chat_actions(request: web.Request) -> Any:
    return request.app[EMULATOR_KEY].chat_actions(int(request.match_info["id"]))


async def callback_answer(request: web.Request) -> Any:
    return request.app[EMULATOR_KEY].callback_answer(request.match_info["id"])


async def commands(request: web.Request) -> Any:
    return request.app[EMULATOR_KEY].commands


async def pending_updates(request: web.Request) -> Any:
    return request.app[EMULATOR_KEY].pending_updates()


async def bulk_text(request: web.Request) -> Any:
    """Many users write at once: [{"user_id", "text"}, ...] -> number of messages queued."""
    emu = request.app[EMULATOR_KEY]
    items = await _body(request)
    if not isinstance(items, list):
        raise ValueError("expected a JSON array of {user_id, text}")
    for item in items:
        emu.user(int(item["user_id"])).send_text(item["text"])
    return {"count": len(items)}


async def bulk_users(request: web.Request) -> Any:
    """Create many users at once: {"user_ids": [...], "open_chat": true} -> number created.

    With open_chat the private chat exists as if each had pressed Start, but no update is
    queued (benchmarks enroll people straight in the bot's database).
    """
    emu = request.app[EMULATOR_KEY]
    body = await _body(request)
    if not isinstance(body, dict) or not isinstance(body.get("user_ids"), list):
        raise ValueError('expected {"user_ids": [...], "open_chat": bool}')
    for user_id in body["user_ids"]:
        user = emu.user(int(user_id), first_name=f"User{user_id}")
        if body.get("open_chat", True):
            emu.world.private_chat(user.id)
    return {"count": len(body["user_ids"])}


async def bot_message_stats(request: web.Request) -> Any:
    """Totals over every bot message: how many, in how many chats, and repeats.

    A repeat is a bot message whose text (or caption) and keyboard equal an earlier bot
    message in the same chat: a message delivered twice.
    """
    emu = request.app[EMULATOR_KEY]
    messages = chats = repeats = 0
    for chat in emu.world.chats.values():
        seen: set[str] = set()
        for msg in chat.messages.values():
            if not msg.from_bot:
                continue
            messages += 1
            key = repr((msg.html or msg.text or msg.caption, msg.reply_markup))
            repeats += key in seen
            seen.add(key)
        chats += bool(seen)
    return {"messages": messages, "chats": chats, "repeats": repeats}


async def get_faults(request: web.Request) -> Any:
    config = request.app[EMULATOR_KEY].faults
    return config.to_dict() if config else None


async def put_faults(request: web.Request) -> Any:
    body = await _body(request)
    emu = request.app[EMULATOR_KEY]
    emu.faults = FaultConfig.from_dict(body) if body else None
    return True


async def put_rate_limits(request: web.Request) -> Any:
    body = await _body(request)
    request.app[EMULATOR_KEY].rate_limits = bool(body.get("enabled", True))
    return True


def add_control_routes(app: web.Application) -> None:
    routes: list[tuple[str, str, Route]] = [
        ("GET", "/health", health),
        ("GET", "/counters", counters),
        ("POST", "/reset_counters", reset_counters),
        ("POST", "/users/{id}", user_create),
        ("POST", "/users/{id}/text", user_text),
        ("POST", "/users/{id}/command", user_command),
        ("POST", "/users/{id}/press", user_press),
        ("POST", "/users/{id}/press_button", user_press_button),
        ("POST", "/users/{id}/document", user_document),
        ("POST", "/users/{id}/{action:block|unblock|deactivate}", user_state),
        ("POST", "/groups/{id}", group_create),
        ("POST", "/groups/{id}/add_bot", group_add_bot),
        ("POST", "/groups/{id}/post", group_post),
        ("POST", "/groups/{id}/upgrade", group_upgrade),
        ("POST", "/groups/{id}/kick_bot", group_kick_bot),
        ("GET", "/chats/{id}/messages", chat_messages),
        ("GET", "/chats/{id}/actions", chat_actions),
        ("GET", "/callback_queries/{id}", callback_answer),
        ("GET", "/commands", commands),
        ("GET", "/pending_updates", pending_updates),
        ("POST", "/bulk_text", bulk_text),
        ("POST", "/bulk_users", bulk_users),
        ("GET", "/bot_message_stats", bot_message_stats),
        ("GET", "/faults", get_faults),
        ("PUT", "/faults", put_faults),
        ("PUT", "/rate_limits", put_rate_limits),
    ]
    for method, path, func in routes:
        app.router.add_route(method, "/_sandbox" + path, _wrap(func))
