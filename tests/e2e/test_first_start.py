"""Day one: the administrator's id is in FACILITATOR_IDS before they have ever opened the bot.
Telegram answers `chat not found` to their menu; the bot must start anyway."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from tests.e2e.conftest import Harness
from tests.test_cli import cli

ADMIN = 9401
FACILITATOR = 9402
FACILITATOR_COMMANDS = {"cohorts", "report", "alerts"}


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"facilitator_ids": frozenset({ADMIN}), "send_rate_per_second": 0}


def _menu(harness: Harness, user_id: int) -> set[str]:
    return {c["command"] for c in harness.emulator.commands.get(f"chat:{user_id}", [])}


async def test_an_administrator_who_never_opened_the_bot_gets_the_menu_with_their_first_message(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.scheduling.menus")
    await harness.wait_for(lambda: harness.emulator.commands.get("default"))
    await harness.wait_for(lambda: "waits for their first message" in caplog.text)
    assert harness.emulator.counters.errors[400] >= 1  # Telegram's "chat not found"
    assert _menu(harness, ADMIN) == set()

    stranger = harness.user(9403, "Sam")
    stranger.send_command("help")
    await harness.wait_for_text(stranger.id, "What you can do")  # the bot is up and answering

    harness.user(ADMIN, "Alex").send_text("hello")
    await harness.wait_for(lambda: _menu(harness, ADMIN) >= FACILITATOR_COMMANDS)
    assert [r.levelname for r in caplog.records if "waits for" in r.getMessage()] == ["INFO"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_facilitators_added_and_removed_on_the_command_line_gain_and_lose_the_menu(
    harness: Harness,
) -> None:
    cohort = await harness.create_cohort()
    env = {"DATABASE_URL": harness.settings.database_url}
    kim = harness.user(FACILITATOR, "Kim")
    kim.send_text("hi")  # Kim has talked to the bot before
    await harness.wait_for(lambda: harness.emulator.pending_updates() == 0)

    def facilitator(action: str) -> Any:
        return cli(
            "facilitator", action, "--cohort", str(cohort.id), "--telegram-id", str(kim.id), env=env
        )

    added = await asyncio.to_thread(facilitator, "add")
    assert added.returncode == 0, added.stderr
    await harness.runtime.menus.sync()  # what the bot does every MENU_SYNC_SECONDS
    assert _menu(harness, kim.id) >= FACILITATOR_COMMANDS

    removed = await asyncio.to_thread(facilitator, "remove")
    assert removed.returncode == 0, removed.stderr
    await harness.runtime.menus.sync()
    assert f"chat:{kim.id}" not in harness.emulator.commands
