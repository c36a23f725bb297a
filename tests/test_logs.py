"""Neither the bot token nor what participants write ever reaches a log, even at DEBUG.

python-telegram-bot logs every request and response at DEBUG (message texts included) and
httpx logs URLs (which contain the token); bot/logging_setup.py cuts and redacts those records
where they are made, so it holds for every handler: pytest's caplog here, stderr of `run`.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from telegram.request import HTTPXRequest

from bot.app import build_application
from bot.curriculum.loader import LoadedProgram, parse_program
from bot.db.session import create_engine, create_session_factory, unit_of_work
from bot.runner import running
from bot.sandbox import Emulator
from bot.services.catalog import ensure_version
from bot.services.cohorts import create_cohort
from tests.e2e.conftest import MINI_PROGRAM, Harness, SteppableClock, make_settings
from tests.processes import child_env

TOKEN = "7093482211:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
SECRET_ANSWER = "the name of my childhood cat was Pimpernel"
SECRET_NOTE = "nobody knows about the letter in the drawer"
RISK = "I want to end my life, Pimpernel is gone"
SECRETS = [TOKEN, TOKEN.split(":")[1], "Pimpernel", "letter in the drawer"]


@pytest.fixture(autouse=True)
def debug_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # before the bot is built: everything it logs


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator(token=TOKEN, rate_limits=False) as emu:
        yield emu


@pytest.fixture
def curricula_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "curricula"
    directory.mkdir()
    (directory / "mini.yaml").write_text(MINI_PROGRAM)
    return directory


def _leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


async def _journey(emulator: Emulator, code: str, wait_for_text: Any) -> None:
    """Join, answer with a button and in words, send a note and a risk message, edit one."""
    ana = emulator.user(1001, first_name="Ana")
    ana.send_command("start", code)
    consent = await emulator.wait_for(
        lambda: next((m for m in emulator.bot_messages(ana.id) if m.reply_markup), None)
    )
    ana.press_button(consent, "I agree")
    mood = await wait_for_text(ana.id, "How are you today?")
    ana.press_button(mood, "2")
    reflect = await wait_for_text(ana.id, "Which strength did you notice?")
    sent = ana.send_text(SECRET_ANSWER, reply_to=reflect.message_id)
    await wait_for_text(ana.id, "Day 1 of 3 done")
    ana.send_text(SECRET_NOTE)
    await wait_for_text(ana.id, "no open question")
    ana.send_text(RISK)
    await wait_for_text(ana.id, "You don't have to go through this alone")
    ana.edit(sent["message_id"], SECRET_ANSWER + " and a dog")
    ana.send_command("mydata")
    await emulator.wait_for(
        lambda: any(m.document for m in emulator.bot_messages(ana.id)), timeout=30
    )


async def test_caplog_at_debug_has_no_token_and_no_answers(
    database_url: str, curricula_dir: Path, emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(
        database_url,
        curricula_dir,
        emulator,
        day_length_seconds=60.0,
        send_rate_per_second=0,
        log_level="DEBUG",
    )
    clock = SteppableClock()
    application = build_application(
        settings,
        clock=clock,
        request=HTTPXRequest(connection_pool_size=16, read_timeout=2, connect_timeout=2),
        poll_timeout=1,
    )
    async with running(application) as runtime:
        harness = Harness(emulator, runtime, settings, application, clock)
        cohort = await harness.create_cohort()
        await _journey(emulator, cohort.invite_code, harness.wait_for_text)

    records = caplog.get_records("setup") + caplog.get_records("call")
    messages = [r.getMessage() for r in records]
    everything = "\n".join(messages) + caplog.text
    assert len(records) > 50  # DEBUG was really captured...
    assert any("Calling Bot API endpoint `sendMessage`" in m for m in messages)  # ...cut short
    assert any("<redacted>" in m for m in messages)  # URLs with the token were logged, redacted
    assert _leaks(everything) == []


async def test_run_subprocess_stderr_has_no_token_and_no_answers(
    database_url: str, curricula_dir: Path, emulator: Emulator, tmp_path: Path
) -> None:
    engine = create_engine(database_url)
    async with unit_of_work(create_session_factory(engine)) as session:
        loaded = LoadedProgram(curricula_dir / "mini.yaml", parse_program(MINI_PROGRAM, "mini"))
        version = await ensure_version(session=session, loaded=loaded)
        from datetime import UTC, datetime, time

        cohort = await create_cohort(
            session=session,
            version=version,
            name="Logs",
            start=None,
            timezone="UTC",
            delivery_time=time(9),
            now=datetime.now(UTC),
        )
        code = cohort.invite_code
    await engine.dispose()

    env = child_env(
        drop=("TELEGRAM", "DATABASE"),
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=emulator.base_url,
        DATABASE_URL=database_url,
        CURRICULA_DIR=str(curricula_dir),
        DAY_LENGTH_SECONDS="60",
        TICK_SECONDS="0.2",
        SEND_RATE_PER_SECOND="0",
        LOG_LEVEL="DEBUG",
    )
    output = tmp_path / "run.log"  # a file, not a pipe: DEBUG output would fill a pipe and stall
    with output.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=env, cwd=tmp_path, stdout=sink, stderr=sink
        )
    try:

        async def wait_for_text(user_id: int, fragment: str) -> Any:
            return await emulator.wait_for(
                lambda: next(
                    (m for m in emulator.bot_messages(user_id) if fragment in (m.text or "")),
                    None,
                ),
                timeout=30,
            )

        await _journey(emulator, code, wait_for_text)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), timeout=30)
    log = output.read_text()
    assert "Calling Bot API endpoint `getUpdates`" in log  # DEBUG really was on
    assert "is running" in log
    assert _leaks(log) == []


def test_database_errors_and_library_payloads_are_cut(caplog: pytest.LogCaptureFixture) -> None:
    from sqlalchemy.exc import IntegrityError

    from bot.logging_setup import protect_log_records

    protect_log_records([TOKEN])
    try:
        raise IntegrityError("INSERT INTO responses VALUES (?)", (SECRET_ANSWER,), Exception("x"))
    except IntegrityError:
        logging.getLogger("bot.inbox").exception("update %s could not be processed", 7)
    logging.getLogger("telegram.ext.ExtBot").debug(
        "Calling Bot API endpoint `%s` with parameters `%s`", "sendMessage", {"text": RISK}
    )
    logging.getLogger("somewhere").info("token %s in a message", TOKEN)
    assert "parameters hidden" in caplog.text and "`sendMessage`" in caplog.text
    assert _leaks(caplog.text) == []
