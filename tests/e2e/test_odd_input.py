"""Input that used to crash a handler (the update was dropped, the person got no reply): each
now gets a kind one-line answer, and nothing is set aside."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from bot.db.models import InboxUpdate, Response
from bot.texts import text
from tests.e2e.conftest import Harness
from tests.e2e.test_facilitator import ask

ADMIN = 9601
SORRY = text("error")


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"facilitator_ids": frozenset({ADMIN}), "send_rate_per_second": 0}


@pytest.fixture
def emulator_rate_limits() -> bool:
    return False


async def _set_aside(harness: Harness) -> list[int]:
    async with harness.runtime.sessions() as session:
        rows = await session.exec(
            select(InboxUpdate.update_id).where(InboxUpdate.error.is_not(None))  # type: ignore[union-attr]
        )
        return list(rows.all())


@pytest.mark.parametrize(
    ("command", "payload"),
    [
        ("report", "²"),
        ("answers", "1 ²"),
        ("digest", "0²:30"),
        ("export", "٣"),
        ("timezone", "A" * 300),
        ("digest", "08:00 " + "Europe/" * 50),
    ],
)
async def test_odd_arguments_get_an_answer(harness: Harness, command: str, payload: str) -> None:
    await harness.create_cohort()
    admin = harness.user(ADMIN, "Alex")
    reply = await ask(harness, admin, command, payload)
    assert reply.text and reply.text != SORRY
    assert await _set_aside(harness) == []


async def test_a_superscript_digit_typed_to_a_scale_question_is_kept_as_text(
    harness: Harness,
) -> None:
    cohort = await harness.create_cohort()
    ana = harness.user(9611, "Ana")
    await harness.join(ana, cohort.invite_code)
    await harness.wait_for_text(ana.id, "How are you today?")
    before = len(harness.inbox(ana.id))
    ana.send_text("²")
    await harness.wait_for(lambda: len(harness.inbox(ana.id)) > before)
    assert SORRY not in harness.texts(ana.id)
    assert await _set_aside(harness) == []
    async with harness.runtime.sessions() as session:
        scale = (await session.exec(select(Response).where(Response.answer_type == "scale"))).all()
    assert scale == []  # "²" is not the number 2
