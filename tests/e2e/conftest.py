"""End-to-end fixtures: the emulator and the real Application talking over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from telegram.request import HTTPXRequest

from bot.app import build_application
from bot.config import Settings
from bot.curriculum.loader import LoadedProgram
from bot.db.session import unit_of_work
from bot.runner import running
from bot.runtime import Runtime
from bot.sandbox import EmulatedUser, Emulator, SentMessage
from bot.services.catalog import ensure_version
from bot.services.cohorts import create_cohort

MINI_PROGRAM = """\
program_id: mini
title: Mini Resilience
description: Three short days to try things out.
consent:
  version: "mini-1"
  text: Your facilitator reads your answers. This is not an emergency service.
closing_message: That's the end of the mini program. Thank you!
weeks:
  - title: Week one
    days:
      - title: Strengths
        lesson: {text: "You have strengths.\\n\\nNotice one today."}
        practice: Write down one strength.
        prompts:
          - {id: d1-mood, type: scale, text: "How are you today?", min: 1, max: 5,
             labels: {1: Low, 5: Great}}
          - {id: d1-reflect, type: text, text: "Which strength did you notice?"}
      - title: Coping
        lesson: {text: "Breathing helps <calm> & focus."}
        prompts:
          - id: d2-choice
            type: choice
            text: "What helps you most?"
            options:
              - {id: walk, label: "A walk"}
              - {id: talk, label: "Talking"}
      - title: Kindness
        lesson: {text: "Be kind to yourself."}
        prompts:
          - {id: d3-reflect, type: text, text: "What would you tell a friend?"}
"""


@pytest.fixture
def curricula_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "curricula"
    directory.mkdir()
    (directory / "mini.yaml").write_text(MINI_PROGRAM)
    return directory


E2E_EPOCH = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
"""Where the bot's clock starts in every end-to-end test, whatever today's date: fixtures with
fixed dates (tests/test_reports.py's cohort starts on 2026-12-01) then mean the same thing on
any day the suite runs, also under faketime."""


@dataclass
class SteppableClock:
    """A clock that starts at `start` and runs at real speed; tests that need "tomorrow" jump
    there (`advance`) instead of racing a short preview day on a busy machine."""

    start: datetime = E2E_EPOCH
    offset: timedelta = field(init=False)

    def __post_init__(self) -> None:
        self.offset = self.start - datetime.now(UTC)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class Harness:
    emulator: Emulator
    runtime: Runtime
    settings: Settings
    application: Any
    clock: SteppableClock

    def advance(self, seconds: float) -> None:
        """Move the bot's clock forward; the next tick sees the new time."""
        self.clock.offset += timedelta(seconds=seconds)

    def user(self, user_id: int, name: str = "Ana") -> EmulatedUser:
        return self.emulator.user(user_id, first_name=name)

    def inbox(self, user_id: int) -> list[SentMessage]:
        return self.emulator.bot_messages(user_id)

    def texts(self, user_id: int) -> list[str]:
        return [m.text or m.caption or "" for m in self.inbox(user_id)]

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 15) -> Any:
        return await self.emulator.wait_for(predicate, timeout=timeout)

    async def wait_for_text(self, user_id: int, fragment: str, timeout: float = 15) -> SentMessage:
        return await self.wait_for(
            lambda: next((m for m in self.inbox(user_id) if fragment in (m.text or "")), None),
            timeout,
        )

    async def create_cohort(self, program_id: str = "mini", **kwargs: Any) -> Any:
        loaded: LoadedProgram = self.runtime.catalog[program_id]
        async with unit_of_work(self.runtime.sessions) as session:
            version = await ensure_version(session=session, loaded=loaded)
            return await create_cohort(
                session=session,
                version=version,
                name=kwargs.get("name", "Test cohort"),
                start=kwargs.get("start"),
                timezone=kwargs.get("timezone", "UTC"),
                delivery_time=kwargs.get("delivery_time", time(9, 0)),
                now=self.runtime.now(),
            )

    async def join(self, user: EmulatedUser, code: str) -> None:
        """Open the invite link and accept the consent."""
        user.send_command("start", code)
        consent = await self.wait_for(
            lambda: next((m for m in self.inbox(user.id) if m.reply_markup), None)
        )
        user.press_button(consent, "I agree")
        await self.wait_for_text(user.id, "you're in")


def make_settings(database_url: str, curricula: Path, emulator: Emulator, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "telegram_bot_token": emulator.token,
        "telegram_api_base_url": emulator.base_url,
        "database_url": database_url,
        "curricula_dir": curricula,
        "day_length_seconds": 60.0,  # tests that need "tomorrow" move the clock there
        "tick_seconds": 0.1,
        "unknown_retry_seconds": 0.5,
        "health_file": curricula.parent / "health.json",
        "_env_file": None,
    }
    values.update(extra)
    return Settings(**values)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {}


@pytest.fixture
def emulator_rate_limits() -> bool:
    return True


@pytest.fixture
async def emulator(emulator_rate_limits: bool) -> AsyncIterator[Emulator]:
    async with Emulator(rate_limits=emulator_rate_limits) as emu:
        yield emu


@pytest.fixture
async def harness(
    database_url: str, curricula_dir: Path, emulator: Emulator, settings_overrides: dict[str, Any]
) -> AsyncIterator[Harness]:
    settings = make_settings(database_url, curricula_dir, emulator, **settings_overrides)
    clock = SteppableClock()
    application = build_application(
        settings,
        clock=clock,
        request=HTTPXRequest(connection_pool_size=64, read_timeout=2, connect_timeout=2),
        poll_timeout=1,
    )
    async with running(application) as runtime:
        yield Harness(emulator, runtime, settings, application, clock)
