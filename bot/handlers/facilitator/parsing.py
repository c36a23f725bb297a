"""Reading what facilitators type or press: cohort numbers, small numbers, clock times."""

from __future__ import annotations

from datetime import time

from bot.parsing import is_number

MAX_ID_DIGITS = 11


def second_argument(args: list[str] | None) -> str:
    """What follows the cohort in a command (`/export 3 jsonl`), or "" when nothing does."""
    return args[1] if args and len(args) > 1 else ""


def number(value: str, max_digits: int = MAX_ID_DIGITS) -> int | None:
    """`value` as a number if it is all ASCII digits and at most `max_digits` long."""
    return int(value) if is_number(value, max_digits=max_digits) else None


def cohort_number(argument: str) -> int | None:
    """The cohort id in a command argument such as `12` or `#12`."""
    return number(argument.lstrip("#"))


def parse_hhmm(value: str) -> time | None:
    """`HH:MM` (or `H:MM`) as a time of day, or None."""
    hours, _, minutes = value.partition(":")
    if not (is_number(hours, max_digits=2) and is_number(minutes, max_digits=2)):
        return None
    if len(minutes) != 2:
        return None
    if int(hours) > 23 or int(minutes) > 59:
        return None
    return time(int(hours), int(minutes))
