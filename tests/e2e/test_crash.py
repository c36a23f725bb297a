"""SIGKILL in the middle of a day's sending: everyone still gets the day, no answer is lost."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import update
from sqlmodel import select

from bot.curriculum.loader import LoadedProgram, load_program
from bot.db.models import Cohort, Delivery, Participant, Response
from bot.db.session import create_engine, create_session_factory, unit_of_work
from bot.sandbox import Emulator
from bot.services.catalog import ensure_version
from bot.services.clock import SystemClock
from bot.services.cohorts import create_cohort
from tests.processes import child_env

PEOPLE = 40


def _bot_process_env(database_url: str, curricula: Path, emulator: Emulator) -> dict[str, str]:
    return child_env(
        drop=("TELEGRAM", "DATABASE"),
        TELEGRAM_BOT_TOKEN=emulator.token,
        TELEGRAM_API_BASE_URL=emulator.base_url,
        DATABASE_URL=database_url,
        CURRICULA_DIR=str(curricula),
        DAY_LENGTH_SECONDS="60",
        TICK_SECONDS="0.2",
        UNKNOWN_RETRY_SECONDS="0.5",
        LOG_LEVEL="WARNING",
    )


async def _start_bot(env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_sigkill_mid_sending_then_restart(
    database_url: str, curricula_dir: Path, tmp_path: Path
) -> None:
    engine = create_engine(database_url)
    sessions = create_session_factory(engine)
    async with Emulator() as emulator:
        loaded = LoadedProgram(
            curricula_dir / "mini.yaml", load_program(curricula_dir / "mini.yaml")
        )
        async with unit_of_work(sessions) as session:
            version = await ensure_version(session=session, loaded=loaded)
            cohort = await create_cohort(
                session=session,
                version=version,
                name="crash",
                start=None,
                timezone="UTC",
                delivery_time=SystemClock().now().time(),
                now=SystemClock().now(),
            )
            cohort.start_at = SystemClock().now() + timedelta(days=1)  # not started yet
            session.add(cohort)
        env = _bot_process_env(database_url, curricula_dir, emulator)
        bot = await _start_bot(env, tmp_path)
        try:
            users = [emulator.user(4000 + n, first_name=f"K{n}") for n in range(PEOPLE)]
            for user in users:
                user.send_command("start", cohort.invite_code)
            await emulator.wait_for(
                lambda: all(any(m.buttons for m in emulator.bot_messages(u.id)) for u in users),
                timeout=30,
            )
            for user in users:
                consent = next(m for m in emulator.bot_messages(user.id) if m.buttons)
                user.press_button(consent, "I agree")
            await emulator.wait_for(
                lambda: all(
                    "you're in" in " ".join(m.text or "" for m in emulator.bot_messages(u.id))
                    for u in users
                ),
                timeout=30,
            )
            # Day 1 becomes due now: 80 messages at 30/s take a few seconds to go out.
            async with unit_of_work(sessions) as session:
                await session.exec(update(Cohort).values(start_at=SystemClock().now()))
                await session.exec(update(Participant).values(next_due_at=SystemClock().now()))

            def lessons_sent() -> int:
                return sum(1 for u in users if 1 in lesson_days_for(emulator, u.id))

            def prompted() -> list:
                return [
                    u
                    for u in users
                    if any(
                        "How are you today?" in (m.text or "") for m in emulator.bot_messages(u.id)
                    )
                ]

            await emulator.wait_for(lambda: len(prompted()) >= 5, timeout=30)
            # Some people answer right away; their answers must survive the crash.
            early = prompted()[:5]
            for user in early:
                prompt = next(
                    m
                    for m in emulator.bot_messages(user.id)
                    if "How are you today?" in (m.text or "")
                )
                user.press_button(prompt, "2")
            bot.send_signal(signal.SIGKILL)
            await bot.wait()
            assert len(prompted()) < PEOPLE, "the crash should come in the middle of sending"

            async with sessions() as session:
                in_flight = len(
                    (await session.exec(select(Delivery).where(Delivery.state == "sending"))).all()
                )
            # While the bot is down, people keep writing.
            for user in users[-3:]:
                user.send_text("I'm writing while you are away")

            bot = await _start_bot(env, tmp_path)
            await emulator.wait_for(lambda: lessons_sent() == PEOPLE, timeout=40)
            await emulator.wait_for(
                lambda: all(
                    sum("How are you today?" in (m.text or "") for m in emulator.bot_messages(u.id))
                    >= 1
                    for u in users
                ),
                timeout=30,
            )
            await asyncio.sleep(1.0)
        finally:
            if bot.returncode is None:
                bot.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(bot.wait(), 15)
                except TimeoutError:
                    bot.kill()
        duplicates = 0
        for user in users:
            texts = Counter(m.html for m in emulator.bot_messages(user.id))
            duplicates += sum(n - 1 for n in texts.values() if n > 1)
        assert duplicates <= in_flight

        async with sessions() as session:
            responses = (await session.exec(select(Response))).all()
            participants = (await session.exec(select(Participant))).all()
        scale_answers = [r for r in responses if r.answer_type == "scale"]
        assert sorted(r.participant_id for r in scale_answers) == sorted(
            p.id for p in participants if p.telegram_user_id in {u.id for u in early}
        )
        assert {r.value for r in scale_answers} == {"2"}
        written_while_down = [r for r in responses if r.text == "I'm writing while you are away"]
        assert len(written_while_down) == 3
    await engine.dispose()


def lesson_days_for(emulator: Emulator, user_id: int) -> list[int]:
    return [
        int(m.text.split()[1])
        for m in emulator.bot_messages(user_id)
        if (m.text or "").startswith("Day ") and " of 3 ·" in m.text
    ]


async def test_run_polls_the_configured_server_and_stops_cleanly(
    database_url: str, curricula_dir: Path, tmp_path: Path
) -> None:
    async with Emulator() as emulator:
        bot = await _start_bot(_bot_process_env(database_url, curricula_dir, emulator), tmp_path)
        try:
            await emulator.wait_for(lambda: emulator.counters.requests["getUpdates"] >= 1, 30)
            assert emulator.counters.requests["getMe"] >= 1
            assert emulator.commands["default"]  # the command menu was published
        finally:
            bot.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(bot.wait(), 20)
        stderr = (await bot.stderr.read()).decode()
    assert code == 0, stderr
    assert emulator.token not in stderr
