"""The offline demo runs the default program to the end and shows a summary."""

from __future__ import annotations

import re

from bot.demo import run_demo


async def test_demo_runs_offline_to_the_end(capsys, monkeypatch) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    assert await run_demo(participants=4, day_seconds=0.6) == 0
    out = capsys.readouterr().out
    # Lessons from start to end (on a busy machine a 0.6 s "day" may pass unseen: the bot
    # never sends missed days in a burst, so a few may be skipped).
    assert "Day 1 of 28 ·" in out
    assert len(re.findall(r"Day \d+ of 28 ·", out)) >= 20
    assert "Tap a number." in out  # prompts
    assert re.search(r"them │ (taps|\[)?.*", out)  # answers
    assert "Facilitator's summary" in out
    assert "(Ana" not in out  # the featured person never pauses or blocks
