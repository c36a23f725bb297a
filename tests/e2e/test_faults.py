"""Telegram misbehaving: 429s, 5xx and timeouts on 10% of sends, and every day still arrives."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from bot.sandbox import FaultConfig
from tests.e2e.conftest import Harness
from tests.e2e.people import Autopilot, run_autopilots
from tests.e2e.test_cohort_run import lesson_days, said

DAY_SECONDS = 60.0  # the test moves the clock to the next day itself


@pytest.fixture
def settings_overrides() -> dict:
    return {"day_length_seconds": DAY_SECONDS, "unknown_retry_seconds": 0.3}


async def test_every_day_reaches_everyone_despite_faults(harness: Harness) -> None:
    cohort = await harness.create_cohort()
    users = [harness.user(3000 + n, f"F{n}") for n in range(10)]
    pilots = [Autopilot(harness.emulator, u) for u in users]
    stop = asyncio.Event()
    answering = asyncio.create_task(run_autopilots(pilots, stop))
    await asyncio.gather(*(harness.join(u, cohort.invite_code) for u in users))

    harness.emulator.faults = FaultConfig(
        rate_limit_429=0.034,
        server_error_5xx=0.033,
        timeout=0.02,
        lost_response=0.013,
        timeout_delay=2.5,  # longer than the bot's 2 s read timeout
        lost_response_mode="delay",
        seed=7,
        methods=frozenset({"sendMessage"}),
    )
    for done in ("Day 1 of 3 done", "Day 2 of 3 done", "That was day 3 of 3"):
        # Each day reaches everyone (retries included) and is answered; then the next begins.
        await harness.wait_for(
            lambda done=done: all(said(harness, u.id, done) for u in users), timeout=30
        )
        harness.advance(DAY_SECONDS)
    await harness.wait_for(
        lambda: all(said(harness, u.id, "end of the mini program") for u in users), timeout=30
    )
    stop.set()
    await answering
    counters = harness.emulator.counters
    injected = (
        counters.rate_limited_injected
        + counters.server_errors
        + counters.timeouts
        + counters.lost_responses
    )
    assert injected >= 5, counters  # the faults really happened

    duplicates = 0
    for user in users:
        days = lesson_days(harness, user.id)
        assert sorted(set(days)) == [1, 2, 3], (user.first_name, days)
        texts = Counter(m.html for m in harness.inbox(user.id))
        duplicates += sum(n - 1 for n in texts.values() if n > 1)
    stats = harness.runtime.sender.stats
    # A message can only arrive twice when its send had an unknown fate (the response was
    # lost after Telegram stored it); a timeout before storing leads to a single resend.
    assert duplicates <= counters.lost_responses <= stats.unknown
    # Each 429 and 5xx was retried (429s after waiting), and nothing was given up on.
    assert stats.rate_limited == counters.rate_limited_injected
    assert stats.retried >= counters.rate_limited_injected + counters.server_errors
    assert stats.failed == 0
