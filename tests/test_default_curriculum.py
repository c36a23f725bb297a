"""The default program in curricula/building-resilience.yaml stays valid and well shaped."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.curriculum.loader import load_program, validate_paths
from bot.curriculum.schema import Program

CURRICULUM = Path(__file__).resolve().parents[1] / "curricula" / "building-resilience.yaml"


@pytest.fixture(scope="module")
def program() -> Program:
    return load_program(CURRICULUM)


def test_validates_without_problems() -> None:
    assert validate_paths([CURRICULUM]) == []


def test_identity(program: Program) -> None:
    assert program.program_id == "building-resilience"
    assert program.language == "en"
    assert program.closing_message


def test_four_weeks_of_seven_days(program: Program) -> None:
    assert len(program.weeks) == 4
    assert [len(week.days) for week in program.weeks] == [7, 7, 7, 7]
    assert program.length_days == 28


def test_lessons_are_60_to_150_words(program: Program) -> None:
    for number, day in enumerate(program.days(), start=1):
        words = len(day.lesson.text.split())
        assert 60 <= words <= 150, f"day {number} ({day.title!r}) has {words} words"


def test_every_day_has_a_practice_and_one_or_two_prompts(program: Program) -> None:
    for number, day in enumerate(program.days(), start=1):
        assert day.practice, f"day {number} has no practice"
        assert 1 <= len(day.prompts) <= 2, f"day {number} has {len(day.prompts)} prompts"


def test_prompt_types_are_mixed(program: Program) -> None:
    types = {prompt.type for day in program.days() for prompt in day.prompts}
    assert types == {"scale", "text", "choice"}


def test_prompt_ids_are_unique(program: Program) -> None:
    ids = [prompt.id for day in program.days() for prompt in day.prompts]
    assert len(ids) == len(set(ids))


def test_mood_check_ins_raise_alerts(program: Program) -> None:
    alerting = [
        prompt
        for day in program.days()
        for prompt in day.prompts
        if prompt.type == "scale" and prompt.alert is not None
    ]
    assert len(alerting) >= 4
    for prompt in alerting:
        assert prompt.alert.at_or_below == prompt.min
        assert prompt.alert.consecutive_days == 2


def test_button_labels_are_short(program: Program) -> None:
    for day in program.days():
        for prompt in day.prompts:
            labels = (
                [option.label for option in prompt.options]
                if prompt.type == "choice"
                else list(getattr(prompt, "labels", {}).values())
            )
            for label in labels:
                assert len(label) <= 24, f"{prompt.id}: {label!r} is long for a phone button"


def test_consent_mentions_the_essentials(program: Program) -> None:
    text = program.consent.text
    for needle in ("/mydata", "/delete", "/stop", "not therapy", "emergency", "facilitator"):
        assert needle in text, needle
