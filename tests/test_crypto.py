"""Encryption at rest of answer texts and names: transparent when on, plain when off."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlmodel import select

from bot.config import ConfigError, load_settings
from bot.db import crypto
from bot.db.models import Participant, Response, SafetyAlert
from bot.db.session import unit_of_work
from bot.services import alerts
from bot.services.alerts import SafetyChecker
from tests.conftest import CURRICULA
from tests.test_alerts import enrol, make_cohort

KEY = Fernet.generate_key().decode()
OLD_KEY = Fernet.generate_key().decode()
SECRET = "my brother's name is Tomasz and I miss him"
NAME = "Zofia Kowalska"
RISK = "I want to end my life"


@pytest.fixture(autouse=True)
def no_key_afterwards() -> Iterator[None]:
    yield
    crypto.configure(None)


async def _store(sessions: Any) -> None:
    checker = SafetyChecker.load(safety_file=None, curricula_dir=CURRICULA)
    async with unit_of_work(sessions) as session:
        cohort = await make_cohort(session, facilitators=(501,))
        enrollment = await enrol(session, cohort, 1001, NAME)
        participant = enrollment.participant
        session.add(
            Response(
                dedupe_key="k1",
                participant_id=participant.id,  # type: ignore[arg-type]
                cohort_id=cohort.id,
                curriculum_version_id=enrollment.version.id,  # type: ignore[arg-type]
                day=1,
                prompt_id="d1-reflect",
                answer_type="text",
                text=SECRET,
                previous_text="an earlier draft",
            )
        )
        await alerts.check_text(
            session=session,
            checker=checker,
            enrollment=enrollment,
            telegram_user_id=1001,
            message=RISK,
            language="en",
            now=participant.joined_at,
            admin_ids=(),
        )


async def _raw(sessions: Any) -> list[str]:
    """Every stored value of the four encrypted columns, as the database holds it."""
    async with sessions() as session:
        rows = (
            await session.exec(  # type: ignore[call-overload]
                text(
                    "SELECT text FROM responses UNION ALL SELECT previous_text FROM responses "
                    "UNION ALL SELECT display_name FROM participants "
                    "UNION ALL SELECT message_text FROM safety_alerts"
                )
            )
        ).all()
    return [row[0] for row in rows if row[0] is not None]


async def test_with_a_key_the_columns_are_encrypted_and_read_back_plain(sessions: Any) -> None:
    assert crypto.configure(KEY)
    await _store(sessions)
    raw = await _raw(sessions)
    assert len(raw) == 4
    assert all(value.startswith(crypto.PREFIX) for value in raw)
    assert not any(word in value for value in raw for word in ("Tomasz", "Zofia", "end my"))
    async with sessions() as session:
        response = (await session.exec(select(Response))).one()
        name = (await session.exec(select(Participant.display_name))).one()
        message = (await session.exec(select(SafetyAlert.message_text))).one()
    assert (response.text, response.previous_text) == (SECRET, "an earlier draft")
    assert (name, message) == (NAME, RISK)  # column selects, as reports and exports use


async def test_without_a_key_storage_is_plain_and_a_warning_is_logged(
    sessions: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        assert not crypto.configure(None, warn=True)
    assert "ANSWER_ENCRYPTION_KEY is not set" in caplog.text
    await _store(sessions)
    assert sorted(await _raw(sessions)) == sorted([SECRET, "an earlier draft", NAME, RISK])


async def test_switching_on_later_keeps_old_rows_readable_and_keys_rotate(sessions: Any) -> None:
    await _store(sessions)  # plain
    crypto.configure(OLD_KEY)
    async with unit_of_work(sessions) as session:
        response = (await session.exec(select(Response))).one()
        assert response.text == SECRET
        response.text = "written with the old key"
        session.add(response)
    crypto.configure(f"{KEY},{OLD_KEY}")  # new key first; the old one still decrypts
    async with sessions() as session:
        assert (await session.exec(select(Response.text))).one() == "written with the old key"
    crypto.configure(KEY)
    async with sessions() as session:
        with pytest.raises(crypto.EncryptionError, match="ANSWER_ENCRYPTION_KEY"):
            (await session.exec(select(Response.text))).one()
    crypto.configure(None)
    async with sessions() as session:
        with pytest.raises(crypto.EncryptionError, match="is not set"):
            (await session.exec(select(Response.text))).one()


def test_a_bad_key_is_one_config_line_naming_the_variable(monkeypatch: Any) -> None:
    for bad in ("not-a-key", "abc,def", KEY[:-4]):
        monkeypatch.setenv("ANSWER_ENCRYPTION_KEY", bad)
        with pytest.raises(ConfigError) as error:
            load_settings(_env_file=None)
        message = str(error.value)
        assert message.startswith("ANSWER_ENCRYPTION_KEY: expected a Fernet key")
        assert "\n" not in message and bad not in message


def test_good_keys_and_blank_are_accepted(monkeypatch: Any) -> None:
    monkeypatch.setenv("ANSWER_ENCRYPTION_KEY", f"{KEY}, {OLD_KEY}")
    assert load_settings(_env_file=None).answer_encryption_key is not None
    monkeypatch.setenv("ANSWER_ENCRYPTION_KEY", "")
    assert load_settings(_env_file=None).answer_encryption_key is None


def test_encrypted_values_differ_each_time() -> None:
    crypto.configure(KEY)
    first, second = crypto.encrypt("same"), crypto.encrypt("same")
    assert first != second and crypto.decrypt(first) == crypto.decrypt(second) == "same"
