"""A safety alert that reaches nobody is an error every time, in the log, in `doctor` and in
the administrators' /cohorts: never a quiet skip."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest

from tests.e2e.conftest import Harness
from tests.test_cli import cli

ADMIN = 9501
CRISIS = "honestly i want to end my life"


@pytest.fixture
def settings_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    admins = frozenset({ADMIN}) if "blocked" in request.node.name else frozenset()
    return {"send_rate_per_second": 0, "facilitator_ids": admins}


@pytest.fixture
def emulator_rate_limits() -> bool:
    return False


async def _doctor(harness: Harness) -> Any:
    env = {"DATABASE_URL": harness.settings.database_url}
    if harness.settings.facilitator_ids:
        env["FACILITATOR_IDS"] = ",".join(map(str, harness.settings.facilitator_ids))
    return await asyncio.to_thread(cli, "doctor", "--json", env=env)


async def _crisis(harness: Harness) -> None:
    cohort = await harness.create_cohort()
    ana = harness.user(9511, "Ana")
    await harness.join(ana, cohort.invite_code)
    ana.send_text(CRISIS)
    await harness.wait_for_text(ana.id, "You don't have to go through this alone")


async def test_an_alert_with_nobody_to_go_to_is_an_error_and_shows_in_doctor(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await _crisis(harness)
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("reaches nobody" in m for m in errors), errors
    doctor = await _doctor(harness)
    assert doctor.returncode == 1
    report = json.loads(doctor.stdout)
    (unreached,) = report["unreached_alerts"]
    assert unreached["reason"].startswith("nobody to send it to")
    assert any("FACILITATOR_IDS is empty" in p for p in report["problems"])


async def test_an_alert_whose_only_recipient_blocked_the_bot_shows_to_administrators(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    admin = harness.user(ADMIN, "Alex")
    admin.send_text("hello")
    await harness.wait_for(lambda: harness.emulator.pending_updates() == 0)
    admin.block()
    await _crisis(harness)
    await harness.wait_for(
        lambda: any("safety alert delivery" in r.getMessage() for r in caplog.records)
    )
    doctor = await _doctor(harness)
    assert doctor.returncode == 1
    (unreached,) = json.loads(doctor.stdout)["unreached_alerts"]
    assert unreached["reason"].startswith("every copy failed")

    admin.unblock()
    admin.send_command("cohorts")
    listing = await harness.wait_for_text(ADMIN, "reached nobody")
    assert f"alert {unreached['alert_id']}" in listing.text
