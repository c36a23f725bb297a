"""Optional encryption at rest for answer texts and names.

With `ANSWER_ENCRYPTION_KEY` set (a Fernet key from the `cryptography` package; several keys
separated by commas rotate: the first encrypts, all decrypt), the columns typed `EncryptedText`
are written encrypted and read back in plain text, so reports and exports never notice. The
column is still TEXT, so switching encryption on needs no migration: values written before stay
readable (they carry no prefix), new ones are encrypted.

Encrypted values are different every time they are written, so never compare an encrypted
column with a value in SQL (`WHERE text = ...`); load the rows and compare in Python.

The key is configured once per process with `configure()` (the bot at start, the CLI before
opening the database).
"""

from __future__ import annotations

import logging
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

from bot.config import ConfigError

log = logging.getLogger(__name__)

PREFIX = "enc1:"
KEY_VARIABLE = "ANSWER_ENCRYPTION_KEY"
KEY_HINT = (
    "expected a Fernet key (44 characters of url-safe base64); make one with: "
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)

_cipher: MultiFernet | None = None


class EncryptionError(ConfigError):
    """Stored data cannot be decrypted: no key, or not the key it was written with."""


def parse_keys(value: str) -> MultiFernet:
    """One key, or several separated by commas (the first encrypts). Raises ValueError."""
    keys = [part.strip() for part in value.split(",") if part.strip()]
    if not keys:
        raise ValueError(KEY_HINT)
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except (ValueError, TypeError):
        raise ValueError(KEY_HINT) from None


def _secret(value: Any) -> str | None:
    if value is None:
        return None
    raw = value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
    return raw.strip() or None


def configure(key: Any, *, warn: bool = False) -> bool:
    """Use `key` (str, SecretStr or None) from now on; returns whether encryption is on.

    With `warn`, a missing key is logged as a warning (the bot does this at start).
    """
    global _cipher
    raw = _secret(key)
    _cipher = parse_keys(raw) if raw else None
    if _cipher is None and warn:
        log.warning(
            "%s is not set: answers and names are stored unencrypted in the database", KEY_VARIABLE
        )
    return _cipher is not None


def is_enabled() -> bool:
    return _cipher is not None


def encrypt(value: str) -> str:
    if _cipher is None:
        return value
    return PREFIX + _cipher.encrypt(value.encode("utf-8")).decode("ascii")


def decrypt(value: str) -> str:
    if not value.startswith(PREFIX):
        return value
    if _cipher is None:
        raise EncryptionError(f"the database holds encrypted text but {KEY_VARIABLE} is not set")
    try:
        return _cipher.decrypt(value[len(PREFIX) :].encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise EncryptionError(
            f"encrypted text cannot be read with this {KEY_VARIABLE} (was the key changed? "
            "list the old key after the new one, separated by a comma)"
        ) from None


class EncryptedText(TypeDecorator[str]):
    """TEXT that is encrypted when a key is configured; plain (and readable) otherwise."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: object) -> str | None:
        return None if value is None else encrypt(value)

    def process_result_value(self, value: str | None, dialect: object) -> str | None:
        return None if value is None else decrypt(value)
