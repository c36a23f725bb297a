"""Curriculum text becomes safe, phone-sized Telegram messages."""

from __future__ import annotations

from bot.curriculum.loader import parse_program
from bot.services.rendering import (
    MESSAGE_LIMIT,
    lesson_messages,
    prompt_keyboard,
    prompt_message,
    split_paragraphs,
    telegram_length,
)
from tests.e2e.conftest import MINI_PROGRAM


def test_short_text_is_one_message() -> None:
    assert split_paragraphs("one\n\ntwo") == ["one\n\ntwo"]


def test_long_text_splits_on_paragraph_boundaries() -> None:
    paragraphs = [f"Paragraph {n}. " + "word " * 150 for n in range(12)]
    chunks = split_paragraphs("\n\n".join(p.strip() for p in paragraphs))
    assert len(chunks) > 1
    assert all(telegram_length(c) <= MESSAGE_LIMIT for c in chunks)
    assert all(c.startswith("Paragraph") for c in chunks)  # never cut mid-paragraph
    assert "\n\n".join(chunks).count("Paragraph") == 12


def test_one_enormous_paragraph_splits_on_words() -> None:
    chunks = split_paragraphs("x" * 9000)
    assert [telegram_length(c) for c in chunks] and all(
        telegram_length(c) <= MESSAGE_LIMIT for c in chunks
    )
    assert "".join(chunks).replace(" ", "") == "x" * 9000


def test_emoji_count_as_two_units() -> None:
    assert telegram_length("🙂") == 2


def test_lesson_text_is_escaped_for_html() -> None:
    program = parse_program(MINI_PROGRAM, "mini.yaml")
    (message,) = lesson_messages(program=program, day_number=2, language="en")
    assert "Breathing helps &lt;calm&gt; &amp; focus." in message
    assert message.startswith("<b>Day 2 of 3 · Coping</b>")


def test_long_lesson_and_practice_become_several_messages_with_the_header_once() -> None:
    lesson = "\\n\\n".join(f"Part {n}: " + "calm " * 150 for n in range(5))  # ~3,800 chars
    practice = "Breathe slowly. " * 120  # ~1,900 chars
    yaml = MINI_PROGRAM.replace(
        'lesson: {text: "Be kind to yourself."}',
        f'lesson: {{text: "{lesson}"}}\n        practice: "{practice}"',
    )
    program = parse_program(yaml, "long.yaml")
    messages = lesson_messages(program=program, day_number=3, language="en")
    assert len(messages) == 2
    assert messages[0].startswith("<b>Day 3 of 3") and not messages[1].startswith("<b>Day")
    assert all(telegram_length(m) <= MESSAGE_LIMIT for m in messages)
    assert "<b>Today's practice</b>" in messages[1]


def test_prompts_have_buttons_that_fit_telegram() -> None:
    program = parse_program(MINI_PROGRAM, "mini.yaml")
    scale = program.day(1).prompts[0]
    keyboard = prompt_keyboard(prompt=scale, participant_id=10**9, day=365, prompt_index=2)
    datas = [b["callback_data"] for row in keyboard["inline_keyboard"] for b in row]
    assert all(len(d.encode()) <= 64 for d in datas)
    assert "1 = Low · 5 = Great" in prompt_message(prompt=scale, language="en")
    assert (
        prompt_keyboard(prompt=program.day(1).prompts[1], participant_id=1, day=1, prompt_index=1)
        is None
    )
