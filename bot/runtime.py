"""What handlers and jobs share: settings, clocks, the database, the curricula, the sender."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings
from bot.curriculum.loader import LoadedProgram
from bot.services.clock import Clock, ProgramClock

if TYPE_CHECKING:
    from bot.inbox import Inbox
    from bot.scheduling.menus import CommandMenus
    from bot.scheduling.sender import Sender
    from bot.supervision import Supervisor


@dataclass
class Runtime:
    settings: Settings
    clock: Clock
    program_clock: ProgramClock
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    catalog: dict[str, LoadedProgram]
    sender: Sender
    inbox: Inbox
    supervisor: Supervisor
    menus: CommandMenus
    bot_username: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    def now(self) -> datetime:
        return self.clock.now()
