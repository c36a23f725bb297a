"""A clean stop in the middle of paced sending: nothing is left half-sent, and after a restart
everyone gets every message exactly once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from sqlmodel import select
from telegram.request import HTTPXRequest

from bot.app import build_application
from bot.db.models import Delivery
from bot.runner import running
from bot.sandbox import Emulator
from tests.e2e.conftest import Harness, SteppableClock, make_settings

PEOPLE = 2


def _application(database_url: str, curricula_dir: Path, emulator: Emulator, clock: object):  # type: ignore[no-untyped-def]
    settings = make_settings(
        database_url, curricula_dir, emulator, day_length_seconds=60.0, send_rate_per_second=30
    )
    application = build_application(
        settings,
        clock=clock,  # type: ignore[arg-type]
        request=HTTPXRequest(connection_pool_size=16, read_timeout=2, connect_timeout=2),
        poll_timeout=1,
    )
    return settings, application


async def test_stop_mid_sending_leaves_nothing_in_flight_and_restart_sends_the_rest_once(
    database_url: str, curricula_dir: Path
) -> None:
    clock = SteppableClock()
    async with Emulator() as emulator:
        settings, first = _application(database_url, curricula_dir, emulator, clock)
        async with running(first) as runtime:
            harness = Harness(emulator, runtime, settings, first, clock)
            cohort = await harness.create_cohort()
            people = [harness.user(7000 + n, f"P{n}") for n in range(PEOPLE)]
            for person in people:
                await harness.join(person, cohort.invite_code)
            # Day 1 is queued for everyone; each chat gets one message a second after a burst
            # of two, so most of the day is still waiting for its turn when we stop.
            await harness.wait_for_text(people[0].id, "You have strengths")
        async with runtime.sessions() as session:
            rows = (await session.exec(select(Delivery))).all()
        states = Counter(row.state for row in rows)
        assert states["sending"] == 0 and states["unknown"] == 0, states
        assert states["pending"] > 0, states  # the stop really came mid-day
        # What never went out used up none of its tries.
        assert all(row.attempts == 0 for row in rows if row.state == "pending")

        settings, second = _application(database_url, curricula_dir, emulator, clock)
        async with running(second) as runtime:
            harness = Harness(emulator, runtime, settings, second, clock)
            for person in people:
                await harness.wait_for_text(person.id, "How are you today?")
        for person in people:
            texts = harness.texts(person.id)
            assert len(texts) == len(set(texts)), texts  # nothing twice
            assert any("You have strengths" in t for t in texts)
