"""The command menu: the default menu for everyone, and the facilitator menu in the chat of
each administrator and facilitator.

Telegram answers `chat not found` to a chat scope for someone who has not written to the bot
yet (the normal case on day one), so that never stops the bot: they are skipped with one INFO
line and get the menu with their first message. A regular sync follows `facilitator add` and
`facilitator remove` from the command line: a removed facilitator loses the menu.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot.db.session import unit_of_work
from bot.failures import short
from bot.services import menus

log = logging.getLogger(__name__)

MENU_SYNC_SECONDS = 30.0


class CommandMenus:
    def __init__(
        self,
        *,
        bot: Any,
        sessions: async_sessionmaker[AsyncSession],
        now: Callable[[], datetime],
        admin_ids: Collection[int],
        default_menu: list[BotCommand],
        facilitator_menu: list[BotCommand],
    ) -> None:
        self.bot = bot
        self.sessions = sessions
        self.now = now
        self.admin_ids = frozenset(admin_ids)
        self.default_menu = default_menu
        self.facilitator_menu = facilitator_menu
        self.default_published = False
        self.waiting: set[int] = set()
        """People who should have the facilitator menu but whose chat does not exist yet."""

    async def sync(self) -> None:
        """Publish what is missing and withdraw what is no longer wanted."""
        if not self.default_published:
            await self.bot.set_my_commands(self.default_menu, scope=BotCommandScopeDefault())
            self.default_published = True
        async with unit_of_work(self.sessions) as session:
            wanted = await menus.menu_holders(session=session, admin_ids=self.admin_ids)
            published = await menus.published_menus(session=session)
        self.waiting &= wanted
        for user_id in sorted(wanted - published - self.waiting):  # waiting: their first message
            await self.publish(user_id)
        for user_id in sorted(published - wanted):
            await self.withdraw(user_id)

    async def publish(self, user_id: int) -> bool:
        try:
            await self.bot.set_my_commands(
                self.facilitator_menu, scope=BotCommandScopeChat(user_id)
            )
        except (BadRequest, Forbidden) as exc:
            if user_id not in self.waiting:
                log.info(
                    "facilitator menu for %s waits for their first message to the bot (%s)",
                    user_id,
                    exc.message,
                )
            self.waiting.add(user_id)
            return False
        except (NetworkError, RetryAfter) as exc:  # try again at the next sync
            log.warning("facilitator menu for %s not published (%s)", user_id, short(exc))
            return False
        self.waiting.discard(user_id)
        async with unit_of_work(self.sessions) as session:
            await menus.record_published(session=session, telegram_user_id=user_id, now=self.now())
        return True

    async def withdraw(self, user_id: int) -> None:
        try:
            await self.bot.delete_my_commands(scope=BotCommandScopeChat(user_id))
        except (BadRequest, Forbidden) as exc:  # the chat is gone, and its menu with it
            log.info("facilitator menu for %s could not be withdrawn (%s)", user_id, exc.message)
        except (NetworkError, RetryAfter) as exc:  # try again at the next sync
            log.warning("facilitator menu for %s not withdrawn (%s)", user_id, short(exc))
            return
        async with unit_of_work(self.sessions) as session:
            await menus.record_withdrawn(session=session, telegram_user_id=user_id)
