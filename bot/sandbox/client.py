"""SandboxClient: drive a separately running emulator through its /_sandbox control API."""

from __future__ import annotations

import asyncio
import base64
from types import TracebackType
from typing import Any

import aiohttp

from bot.sandbox.faults import FaultConfig


class SandboxError(RuntimeError):
    """The control API rejected a call."""


class SandboxClient:
    """Async client; use as ``async with SandboxClient("http://127.0.0.1:8081") as sb:``."""

    def __init__(self, base_http_url: str, *, token: str | None = None):
        self.base = base_http_url.rstrip("/")
        self.token = token
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> SandboxClient:
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def base_url(self) -> str:
        """python-telegram-bot base_url of the emulator."""
        return f"{self.base}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.base}/file/bot"

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        async with self._session.request(method, f"{self.base}/_sandbox{path}", json=body) as resp:
            data = await resp.json()
        if not data.get("ok"):
            raise SandboxError(data.get("error", "control API error"))
        return data["result"]

    # -- people -------------------------------------------------------------------------
    async def user(self, user_id: int, **profile: Any) -> dict[str, Any]:
        return await self._call("POST", f"/users/{user_id}", profile)

    async def send_text(
        self, user_id: int, text: str, reply_to: int | None = None, **profile: Any
    ) -> dict[str, Any]:
        body = {"text": text, "reply_to": reply_to, **profile}
        return await self._call("POST", f"/users/{user_id}/text", body)

    async def send_command(
        self, user_id: int, command: str, payload: str | None = None
    ) -> dict[str, Any]:
        body = {"command": command, "payload": payload}
        return await self._call("POST", f"/users/{user_id}/command", body)

    async def press(
        self, user_id: int, message_id: int, data: str, chat_id: int | None = None
    ) -> str:
        body = {"message_id": message_id, "data": data, "chat_id": chat_id}
        result = await self._call("POST", f"/users/{user_id}/press", body)
        return result["callback_query_id"]

    async def press_button(
        self, user_id: int, message_id: int, text: str, chat_id: int | None = None
    ) -> str:
        body: dict[str, Any] = {"message_id": message_id, "text": text}
        if chat_id is not None:
            body["chat_id"] = chat_id
        result = await self._call("POST", f"/users/{user_id}/press_button", body)
        return result["callback_query_id"]

    async def send_document(
        self, user_id: int, name: str, data: bytes, mime: str | None = None
    ) -> dict[str, Any]:
        body = {"name": name, "data_base64": base64.b64encode(data).decode(), "mime": mime}
        return await self._call("POST", f"/users/{user_id}/document", body)

    async def block(self, user_id: int) -> None:
        await self._call("POST", f"/users/{user_id}/block")

    async def unblock(self, user_id: int) -> None:
        await self._call("POST", f"/users/{user_id}/unblock")

    async def deactivate(self, user_id: int) -> None:
        await self._call("POST", f"/users/{user_id}/deactivate")

    async def bulk_text(self, items: list[dict[str, Any]]) -> int:
        """Queue many user messages at once: [{"user_id": .., "text": ..}, ...]."""
        return (await self._call("POST", "/bulk_text", items))["count"]

    async def bulk_users(self, user_ids: list[int], *, open_chat: bool = True) -> int:
        """Create many users; with open_chat their private chats exist (no updates queued)."""
        body = {"user_ids": list(user_ids), "open_chat": open_chat}
        return (await self._call("POST", "/bulk_users", body))["count"]

    # -- groups -------------------------------------------------------------------------
    async def group(self, chat_id: int, title: str = "Group", supergroup: bool = False) -> int:
        body = {"title": title, "supergroup": supergroup}
        return (await self._call("POST", f"/groups/{chat_id}", body))["chat_id"]

    async def add_bot(self, chat_id: int, user_id: int) -> None:
        await self._call("POST", f"/groups/{chat_id}/add_bot", {"user_id": user_id})

    async def post(self, chat_id: int, user_id: int, text: str) -> dict[str, Any]:
        body = {"user_id": user_id, "text": text}
        return await self._call("POST", f"/groups/{chat_id}/post", body)

    async def upgrade_to_supergroup(self, chat_id: int, user_id: int | None = None) -> int:
        result = await self._call("POST", f"/groups/{chat_id}/upgrade", {"user_id": user_id})
        return result["new_chat_id"]

    async def kick_bot(self, chat_id: int, user_id: int | None = None) -> None:
        await self._call("POST", f"/groups/{chat_id}/kick_bot", {"user_id": user_id})

    # -- inspection and switches ----------------------------------------------------------
    async def messages(self, chat_id: int, bot_only: bool = False) -> list[dict[str, Any]]:
        query = "?bot_only=1" if bot_only else ""
        return await self._call("GET", f"/chats/{chat_id}/messages{query}")

    async def chat_actions(self, chat_id: int) -> list[str]:
        return await self._call("GET", f"/chats/{chat_id}/actions")

    async def callback_answer(self, query_id: str) -> dict[str, Any] | None:
        return await self._call("GET", f"/callback_queries/{query_id}")

    async def commands(self) -> dict[str, list[dict[str, str]]]:
        return await self._call("GET", "/commands")

    async def counters(self) -> dict[str, Any]:
        return await self._call("GET", "/counters")

    async def bot_message_stats(self) -> dict[str, int]:
        """{"messages", "chats", "repeats"} over every bot message (repeats: sent twice)."""
        return await self._call("GET", "/bot_message_stats")

    async def reset_counters(self) -> None:
        await self._call("POST", "/reset_counters")

    async def pending_updates(self) -> int:
        return await self._call("GET", "/pending_updates")

    async def set_faults(self, config: FaultConfig | None) -> None:
        await self._call("PUT", "/faults", config.to_dict() if config else {})

    async def set_rate_limits(self, enabled: bool) -> None:
        await self._call("PUT", "/rate_limits", {"enabled": enabled})

    async def health(self) -> dict[str, Any]:
        return await self._call("GET", "/health")

    async def wait_for_messages(
        self,
        chat_id: int,
        count: int,
        *,
        bot_only: bool = True,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> list[dict[str, Any]]:
        """Poll until the chat holds at least `count` (bot) messages."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = await self.messages(chat_id, bot_only=bot_only)
            if len(found) >= count:
                return found
            if loop.time() >= deadline:
                raise TimeoutError(f"{len(found)}/{count} messages in chat {chat_id}")
            await asyncio.sleep(0.05)
