"""Supervised loops: a failure is retried, an outage is waited out, a bug is set aside (and
can be retried), and a loop that keeps failing ends the process with a non-zero exit."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from sqlmodel import select
from telegram.request import HTTPXRequest

from bot import health
from bot.app import build_application
from bot.db.models import Response, SafetyAlert
from bot.runner import serve
from bot.sandbox import Emulator, FaultConfig
from bot.services import answers
from bot.texts import text
from tests.e2e.conftest import Harness, SteppableClock, make_settings
from tests.e2e.outage import DatabaseOutage
from tests.test_cli import cli

SORRY = text("error")


async def _cli(*args: str, env: dict[str, str]) -> Any:
    """The command line in another process while this one's bot keeps running."""
    return await asyncio.to_thread(cli, *args, env=env)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"send_rate_per_second": 0}


@pytest.fixture
def emulator_rate_limits() -> bool:
    return False


async def _answers(harness: Harness) -> list[tuple[int, str, str | None]]:
    async with harness.runtime.sessions() as session:
        rows = (await session.exec(select(Response).order_by(Response.id))).all()
    return [(r.participant_id, r.prompt_id, r.value or r.text) for r in rows]


async def _joined(harness: Harness, *people: tuple[int, str]) -> list[Any]:
    cohort = await harness.create_cohort()
    users = [harness.user(user_id, name) for user_id, name in people]
    for user in users:
        await harness.join(user, cohort.invite_code)
        await harness.wait_for_text(user.id, "How are you today?")
    return users


def _tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.exc_info and r.levelno >= logging.WARNING]


async def test_a_loop_that_raises_is_logged_once_and_restarted(
    harness: Harness, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    sender = harness.runtime.sender
    real = sender.drain_once
    failures = iter([RuntimeError("boom 1"), RuntimeError("boom 2")])

    async def flaky() -> int:
        error = next(failures, None)
        if error is not None:
            raise error
        return await real()

    monkeypatch.setattr(sender, "drain_once", flaky)
    caplog.set_level(logging.INFO, logger="bot.supervision")
    await _joined(harness, (6301, "Ana"))  # only arrives once the sender is back
    assert harness.runtime.supervisor.loops["sender"].state == "running"
    await harness.wait_for(lambda: health.problems(harness.settings.health_file) == [])
    failed = [r for r in caplog.records if r.getMessage().startswith("sender failed")]
    assert [r.levelno for r in failed] == [logging.ERROR, logging.WARNING]
    assert failed[0].exc_info and not failed[1].exc_info  # one traceback, then one line
    assert "works again" in caplog.text


async def test_a_database_outage_of_30_seconds_loses_no_update_and_no_answer(
    harness: Harness,
) -> None:
    ana, ben = await _joined(harness, (6311, "Ana"), (6312, "Ben"))
    cohort = await harness.create_cohort(name="Second")
    outage = DatabaseOutage(harness.runtime.engine)
    outage.down = True
    mood_ana = await harness.wait_for_text(ana.id, "How are you today?")
    mood_ben = await harness.wait_for_text(ben.id, "How are you today?")
    ana.press_button(mood_ana, "4")
    ben.press_button(mood_ben, "2")
    cara = harness.user(6313, "Cara")
    cara.send_command("start", cohort.invite_code)
    await asyncio.sleep(30)
    assert outage.refused > 10  # every loop kept trying
    assert harness.emulator.pending_updates() == 3  # nothing confirmed while it couldn't store
    assert not harness.runtime.supervisor.fatal.is_set()

    outage.down = False
    await harness.wait_for_text(ana.id, "Which strength", timeout=90)
    await harness.wait_for_text(ben.id, "Which strength", timeout=30)
    await harness.wait_for(lambda: any(m.reply_markup for m in harness.inbox(cara.id)), 30)
    assert sorted(v for _, prompt, v in await _answers(harness) if prompt == "d1-mood") == [
        "2",
        "4",
    ]
    assert all(SORRY not in t for u in (ana, ben, cara) for t in harness.texts(u.id))


async def test_an_update_that_fails_twice_then_succeeds_is_handled_once(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    (ana,) = await _joined(harness, (6321, "Ana"))
    ana.press_button(await harness.wait_for_text(ana.id, "How are you today?"), "3")
    reflect = await harness.wait_for_text(ana.id, "Which strength")
    real = answers.record_text_answer
    calls = 0

    async def fails_twice(**kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls <= 2:
            raise RuntimeError("a bug that goes away")
        return await real(**kwargs)

    monkeypatch.setattr(answers, "record_text_answer", fails_twice)
    ana.send_text("Patience", reply_to=reflect.message_id)
    await harness.wait_for_text(ana.id, "Day 1 of 3 done")
    assert calls == 3
    assert [v for _, p, v in await _answers(harness) if p == "d1-reflect"] == ["Patience"]
    assert [t for t in harness.texts(ana.id) if "Day 1 of 3 done" in t] == [
        next(t for t in harness.texts(ana.id) if "Day 1 of 3 done" in t)
    ]
    assert SORRY not in harness.texts(ana.id)


async def test_an_update_that_keeps_failing_is_set_aside_listed_and_retried_once(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    (ana,) = await _joined(harness, (6331, "Ana"))
    ana.press_button(await harness.wait_for_text(ana.id, "How are you today?"), "3")
    reflect = await harness.wait_for_text(ana.id, "Which strength")

    async def broken(**kwargs: Any) -> Any:
        raise RuntimeError("Patience and courage")  # an error that quotes the message

    monkeypatch.setattr(answers, "record_text_answer", broken)
    ana.send_text("Patience and courage", reply_to=reflect.message_id)
    await harness.wait_for_text(ana.id, SORRY)  # never silence

    env = {"DATABASE_URL": harness.settings.database_url}
    listed = await _cli("inbox", "failed", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.strip(), listed.stderr
    (failed,) = json.loads(listed.stdout)
    assert failed["error"].startswith("RuntimeError at bot/handlers/participant.py:")
    assert "Patience" not in listed.stdout  # no message text, not even inside the error

    monkeypatch.undo()  # the bug is fixed
    retried = await _cli("inbox", "retry", "--all", env=env)
    assert retried.returncode == 0, retried.stderr
    await harness.wait_for_text(ana.id, "Day 1 of 3 done")
    assert [v for _, p, v in await _answers(harness) if p == "d1-reflect"] == [
        "Patience and courage"
    ]
    assert harness.texts(ana.id).count(SORRY) == 1
    assert json.loads((await _cli("inbox", "failed", "--json", env=env)).stdout) == []
    again = await _cli("inbox", "retry", str(failed["update_id"]), env=env)
    assert again.returncode != 0 and "not among the failed" in again.stderr


async def test_a_run_with_injected_502s_logs_no_traceback(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.emulator.faults = FaultConfig(
        server_error_5xx=0.3,
        seed=11,
        methods=frozenset({"sendMessage", "getUpdates", "answerCallbackQuery", "editMessageText"}),
    )
    ana, ben = await _joined(harness, (6341, "Ana"), (6342, "Ben"))
    for user in (ana, ben):
        user.press_button(await harness.wait_for_text(user.id, "How are you today?"), "4")
        reflect = await harness.wait_for_text(user.id, "Which strength")
        user.send_text("Kindness", reply_to=reflect.message_id)
        await harness.wait_for_text(user.id, "Day 1 of 3 done")
    assert harness.emulator.counters.errors[502] + harness.emulator.counters.errors[500] > 3
    assert _tracebacks(caplog) == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert "<html" not in caplog.text.lower()


async def test_a_loop_that_keeps_failing_ends_the_process_with_exit_code_1(
    database_url: str, curricula_dir: Any, caplog: pytest.LogCaptureFixture
) -> None:
    async with Emulator(rate_limits=False) as emulator:
        settings = make_settings(database_url, curricula_dir, emulator, loop_fail_exit_seconds=2.0)
        application = build_application(
            settings,
            clock=SteppableClock(),
            request=HTTPXRequest(connection_pool_size=8, read_timeout=2, connect_timeout=2),
            poll_timeout=1,
        )
        serving = asyncio.create_task(serve(settings, application, asyncio.Event()))
        await emulator.wait_for(lambda: "runtime" in application.bot_data, 20)
        await emulator.wait_for(lambda: emulator.counters.requests["getUpdates"] >= 1, 20)
        DatabaseOutage(application.bot_data["runtime"].engine).down = True
        code = await asyncio.wait_for(serving, 30)
    assert code == 1
    assert "has kept failing" in caplog.text and "LOOP_FAIL_EXIT_SECONDS=2" in caplog.text


async def test_a_crisis_message_whose_update_is_set_aside_still_gets_care_and_an_alert(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    (ana,) = await _joined(harness, (6351, "Ana"))
    ana.press_button(await harness.wait_for_text(ana.id, "How are you today?"), "3")
    await harness.wait_for_text(ana.id, "Which strength")

    async def broken(**kwargs: Any) -> Any:
        raise RuntimeError("a bug after the safety check")

    monkeypatch.setattr(answers, "record_text_answer", broken)
    ana.send_text("honestly i want to end my life")
    await harness.wait_for_text(ana.id, SORRY)
    await harness.wait_for_text(ana.id, "You don't have to go through this alone")
    async with harness.runtime.sessions() as session:
        alerts = (await session.exec(select(SafetyAlert))).all()
    assert [a.category for a in alerts] == ["self_harm"]
