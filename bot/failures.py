"""Telling failures apart: an outage to wait out, or a bug to set aside. And describing them
in one line that never carries what a participant wrote."""

from __future__ import annotations

import traceback
from pathlib import Path

from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from telegram.error import BadRequest, NetworkError, RetryAfter

_PACKAGE = Path(__file__).resolve().parent


def is_transient(error: BaseException) -> bool:
    """The database or the network was unavailable: trying again later should work."""
    for cause in _chain(error):
        if isinstance(cause, BadRequest):  # a NetworkError subclass, but never transient
            return False
        if isinstance(cause, RetryAfter | NetworkError | DisconnectionError | PoolTimeout):
            return True
        if isinstance(cause, OperationalError | InterfaceError):
            return True
        if isinstance(cause, DBAPIError) and cause.connection_invalidated:
            return True
        if isinstance(cause, ConnectionError | TimeoutError):
            return True
    return False


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def short(error: BaseException) -> str:
    """Class and first line, at most 200 characters (never a whole HTML error page)."""
    message = str(error).strip()
    first = message.splitlines()[0] if message else ""
    line = f"{type(error).__name__}: {first}" if first else type(error).__name__
    return line if len(line) <= 200 else line[:199] + "…"


def where_it_failed(error: BaseException) -> str:
    """The exception's class and the innermost line of this project it came from, without its
    message (which may quote what someone wrote): 'ValueError at bot/handlers/x.py:12'."""
    place = ""
    for frame in traceback.extract_tb(error.__traceback__):
        path = Path(frame.filename).resolve()
        if path.is_relative_to(_PACKAGE):
            place = f" at {path.relative_to(_PACKAGE.parent)}:{frame.lineno}"
    return f"{type(error).__name__}{place}"
