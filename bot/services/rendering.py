"""Turn curriculum content into Telegram-ready HTML messages and keyboards (pure functions)."""

from __future__ import annotations

from typing import Any

from bot.curriculum.schema import ChoicePrompt, Day, Program, ScalePrompt, TextPrompt
from bot.texts import escape, text

MESSAGE_LIMIT = 4096
ANSWER_PREFIX = "a"


def telegram_length(plain: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(plain.encode("utf-16-le")) // 2


def split_paragraphs(plain: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split text into chunks under `limit`, on paragraph, then line, then word boundaries."""
    if telegram_length(plain) <= limit:
        return [plain]
    chunks: list[str] = []
    current = ""
    for separator, pieces in (("\n\n", plain.split("\n\n")),):
        for piece in pieces:
            candidate = f"{current}{separator}{piece}" if current else piece
            if telegram_length(candidate) <= limit:
                current = candidate
                continue
            if current:
                chunks.append(current)
            current = ""
            if telegram_length(piece) <= limit:
                current = piece
            else:
                chunks.extend(_split_words(piece, limit))
    if current:
        chunks.append(current)
    return chunks


def _split_words(piece: str, limit: int) -> list[str]:
    chunks: list[str] = []
    current = ""
    for word in piece.split(" "):
        while telegram_length(word) > limit:
            head, word = word[: limit // 2], word[limit // 2 :]
            if current:
                chunks.append(current)
                current = ""
            chunks.append(head)
        candidate = f"{current} {word}" if current else word
        if telegram_length(candidate) <= limit:
            current = candidate
        else:
            chunks.append(current)
            current = word
    if current:
        chunks.append(current)
    return chunks


def lesson_messages(*, program: Program, day_number: int, language: str | None) -> list[str]:
    """The day's lesson and practice as HTML messages, split so none exceeds Telegram's limit."""
    day = program.day(day_number)
    header = text(
        "lesson_header",
        language,
        day=day_number,
        days=program.length_days,
        title=escape(day.title),
    )
    header_plain = f"Day {day_number} of {program.length_days} · {day.title}"
    header_plain_length = telegram_length(header_plain)
    body = day.lesson.text
    if day.practice:
        body = f"{body}\n\n\u2063PRACTICE\u2063\n{day.practice}"
    parts = split_paragraphs(body, MESSAGE_LIMIT - header_plain_length - 40)
    practice_header = text("practice_header", language)
    rendered = []
    for index, part in enumerate(parts):
        html_part = escape(part).replace("\u2063PRACTICE\u2063", practice_header)
        rendered.append(f"{header}\n\n{html_part}" if index == 0 else html_part)
    return rendered


def prompt_message(*, prompt: Any, language: str | None) -> str:
    """The question, the scale's legend if any, and a one-line hint on how to answer."""
    hint_key = {"scale": "scale_hint", "choice": "choice_hint", "text": "text_hint"}[prompt.type]
    lines = [escape(prompt.text)]
    if isinstance(prompt, ScalePrompt) and prompt.labels:
        lines.append(escape(scale_legend(prompt)))
    return "\n".join(lines) + f"\n\n<i>{text(hint_key, language)}</i>"


def answer_callback(participant_id: int, day: int, prompt_index: int, value_index: int) -> str:
    return f"{ANSWER_PREFIX}:{participant_id}:{day}:{prompt_index}:{value_index}"


def prompt_keyboard(
    *, prompt: Any, participant_id: int, day: int, prompt_index: int
) -> dict[str, Any] | None:
    """Inline keyboard for scale and choice prompts (None for free text)."""
    if isinstance(prompt, TextPrompt):
        return None
    if isinstance(prompt, ScalePrompt):
        buttons = [
            {
                "text": str(value),
                "callback_data": answer_callback(participant_id, day, prompt_index, value),
            }
            for value in range(prompt.min, prompt.max + 1)
        ]
        rows = [buttons] if len(buttons) <= 6 else [buttons[:6], buttons[6:]]
        return {"inline_keyboard": rows}
    assert isinstance(prompt, ChoicePrompt)
    return {
        "inline_keyboard": [
            [
                {
                    "text": option.label,
                    "callback_data": answer_callback(participant_id, day, prompt_index, index),
                }
            ]
            for index, option in enumerate(prompt.options)
        ]
    }


def scale_legend(prompt: ScalePrompt) -> str:
    """'1 = Very low · 5 = Very good', shown under the question so the buttons stay short."""
    return " · ".join(f"{value} = {label}" for value, label in sorted(prompt.labels.items()))


def answer_label(prompt: Any, value_index: int) -> str:
    """Human-readable label for a button answer."""
    if isinstance(prompt, ScalePrompt):
        label = prompt.labels.get(value_index)
        return f"{value_index} – {label}" if label else str(value_index)
    if isinstance(prompt, ChoicePrompt):
        return prompt.options[value_index].label
    return str(value_index)


def answer_value(prompt: Any, value_index: int) -> str | None:
    """The stored value for a button answer; None if the index is out of range."""
    if isinstance(prompt, ScalePrompt):
        return str(value_index) if prompt.min <= value_index <= prompt.max else None
    if isinstance(prompt, ChoicePrompt):
        if 0 <= value_index < len(prompt.options):
            return prompt.options[value_index].id
        return None
    return None


def day_theme(day: Day) -> str:
    return day.title
