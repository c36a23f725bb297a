"""Reading numbers people type, strictly: `str.isdigit()` is true for "²" and "٣", which
`int()` then refuses or reads as another number."""

from __future__ import annotations


def is_number(value: str, *, max_digits: int) -> bool:
    """Only the digits 0-9, at least one and at most `max_digits` of them."""
    return 0 < len(value) <= max_digits and value.isascii() and value.isdigit()
