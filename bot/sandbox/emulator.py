"""Emulator: a local Telegram Bot API server plus a Python API to play people."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from aiohttp import web

from bot.sandbox.faults import Counters, FaultConfig, FaultInjector
from bot.sandbox.limits import LimitConfig, RateLimiter
from bot.sandbox.models import SentMessage
from bot.sandbox.people import EmulatedGroup, EmulatedUser
from bot.sandbox.server import build_app
from bot.sandbox.world import World


class Emulator:
    """Telegram Bot API stand-in on 127.0.0.1 for python-telegram-bot's base_url.

    Usage: ``async with Emulator() as emu: Bot(emu.token, base_url=emu.base_url, ...)``.
    """

    def __init__(
        self,
        *,
        token: str = "123456:TEST",
        bot_username: str = "resilience_test_bot",
        bot_name: str = "Resilience Test Bot",
        rate_limits: bool = True,
        faults: FaultConfig | None = None,
        seed: int = 0,
        clock: Callable[[], float] = time.monotonic,
        limits: LimitConfig | None = None,
        control_api: bool = True,
        shutdown_timeout: float = 0.5,
        strict: bool = True,
    ):
        self.world = World(
            token=token,
            bot_username=bot_username,
            bot_name=bot_name,
            seed=seed,
            clock=clock,
            rate_limits=rate_limits,
        )
        if limits is not None:
            self.world.limiter = RateLimiter(clock, limits)
        self.seed = seed
        self.injector = FaultInjector(faults, seed)
        self._control_api = control_api
        self.strict = strict
        self._shutdown_timeout = shutdown_timeout
        self._runner: web.AppRunner | None = None
        self._host = "127.0.0.1"
        self._port: int | None = None

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> Emulator:
        app = build_app(self, control_api=self._control_api)
        runner = web.AppRunner(
            app,
            handler_cancellation=True,
            shutdown_timeout=self._shutdown_timeout,
            access_log=None,
        )
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[union-attr]
        self._port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._host = host
        self._runner = runner
        self.world.updates.closed = False
        return self

    async def stop(self) -> None:
        self.world.updates.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Emulator:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
        if self.strict and exc is None:
            self.assert_no_violations()

    def assert_no_violations(self) -> None:
        """Fail on requests real Telegram would silently accept although they are bugs."""
        if self.world.violations:
            raise AssertionError(
                "the bot sent requests Telegram would quietly ignore parts of: "
                + "; ".join(sorted(set(self.world.violations)))
            )

    # -- addresses ------------------------------------------------------------------------
    @property
    def token(self) -> str:
        return self.world.token

    @property
    def bot_id(self) -> int:
        return self.world.bot_id

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("emulator not started")
        return self._port

    @property
    def url(self) -> str:
        """Root URL of the server, e.g. for SandboxClient."""
        return f"http://{self._host}:{self.port}"

    @property
    def base_url(self) -> str:
        """python-telegram-bot's base_url (it appends the token)."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    # -- switches -------------------------------------------------------------------------
    @property
    def faults(self) -> FaultConfig | None:
        return self.injector.config

    @faults.setter
    def faults(self, config: FaultConfig | None) -> None:
        """Switch fault injection at run time (re-seeds the fault RNG)."""
        self.injector = FaultInjector(config, self.seed)

    @property
    def rate_limits(self) -> bool:
        return self.world.rate_limits

    @rate_limits.setter
    def rate_limits(self, enabled: bool) -> None:
        if enabled and not self.world.rate_limits:
            self.world.limiter.reset()
        self.world.rate_limits = enabled

    # -- people ---------------------------------------------------------------------------
    def user(
        self,
        user_id: int,
        first_name: str = "Ana",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> EmulatedUser:
        """The user with this id (created on first call; later calls return the same object)."""
        existing = self.world.users.get(user_id)
        if existing is not None:
            return existing
        if user_id <= 0 or user_id == self.bot_id:
            raise ValueError("user ids are positive and differ from the bot's id")
        user = EmulatedUser(self.world, user_id, first_name, last_name, username, language_code)
        self.world.users[user_id] = user
        return user

    def group(
        self, chat_id: int, title: str = "Group", *, supergroup: bool = False
    ) -> EmulatedGroup:
        """The group with this (negative) id, created on first call."""
        existing = self.world.groups.get(chat_id)
        if existing is not None:
            return existing
        group = EmulatedGroup(self.world, chat_id, title, supergroup=supergroup)
        self.world.groups[chat_id] = group
        return group

    # -- inspection -----------------------------------------------------------------------
    def messages(self, chat_id: int) -> list[SentMessage]:
        """All messages of a chat in order (deleted ones included, flagged)."""
        chat = self.world.chats.get(chat_id)
        return list(chat.messages.values()) if chat else []

    def bot_messages(self, chat_id: int) -> list[SentMessage]:
        return [m for m in self.messages(chat_id) if m.from_bot]

    def chat_actions(self, chat_id: int) -> list[str]:
        chat = self.world.chats.get(chat_id)
        return list(chat.actions) if chat else []

    def callback_answer(self, query_id: str) -> dict[str, Any] | None:
        """What the bot answered to a callback query (None while unanswered)."""
        query = self.world.callback_queries.get(query_id)
        return query.answer if query else None

    @property
    def commands(self) -> dict[str, list[dict[str, str]]]:
        """Last setMyCommands per scope key ("default", "chat:<id>", ..., "/<lang>" suffix)."""
        return self.world.commands

    @property
    def counters(self) -> Counters:
        return self.world.counters

    def reset_counters(self) -> None:
        self.world.counters = Counters()

    def pending_updates(self) -> int:
        """Updates queued and not yet confirmed by the bot."""
        return self.world.updates.pending()

    def updates(self) -> list[dict[str, Any]]:
        return self.world.updates.peek()

    async def wait_for(
        self,
        predicate: Callable[[], Any],
        timeout: float = 10.0,  # noqa: ASYNC109
        interval: float = 0.05,
    ) -> Any:
        """Wait until predicate() (sync or async) is truthy and return its value."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = predicate()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout} s")
            self.world.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.world.changed.wait(), min(remaining, interval))
