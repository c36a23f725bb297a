"""Logging that never prints the bot token or what participants write."""

from __future__ import annotations

import logging
import re

_TOKEN_PATTERN = re.compile(r"\d{3,}:[A-Za-z0-9_-]{20,}")


class RedactTokens(logging.Filter):
    """Replace anything shaped like a bot token (and the configured one) with a placeholder."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        super().__init__()
        self._secrets = [s for s in (secrets or []) if s]

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "<redacted>")
        return _TOKEN_PATTERN.sub("<redacted>", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self._redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


# At DEBUG, python-telegram-bot logs every request and response body (participants' messages,
# the bot's replies) and aiosqlite every statement with its parameters (answers, names). Keep
# what happened, drop the data: (logger name prefix, message) -> shorter message.
_PAYLOAD_MESSAGES = {
    ("telegram", "Calling Bot API endpoint `%s` with parameters `%s`"): (
        "Calling Bot API endpoint `%s`"
    ),
    ("telegram", "Call to Bot API endpoint `%s` finished with return value `%s`"): (
        "Call to Bot API endpoint `%s` finished"
    ),
    ("telegram", "Processing update %s"): "Processing an update",
    ("telegram", "Dropping pending update: %s"): "Dropping a pending update",
    ("aiosqlite", "executing %s"): "executing a statement",
    ("aiosqlite", "operation %s completed"): "statement completed",
}
_secrets: set[str] = set()
_redactor = RedactTokens()
_factory_installed = False


def _hide_statement_parameters(error: BaseException | None) -> None:
    """SQLAlchemy errors print the statement's parameters (answers, names) in tracebacks."""
    for _ in range(10):
        if error is None:
            return
        if hasattr(error, "hide_parameters"):
            error.hide_parameters = True
        error = error.__cause__ or error.__context__


def _clean_record(record: logging.LogRecord) -> None:
    if record.exc_info:
        _hide_statement_parameters(record.exc_info[1])
    prefix = record.name.split(".", 1)[0]
    replacement = (
        _PAYLOAD_MESSAGES.get((prefix, record.msg)) if isinstance(record.msg, str) else None
    )
    if replacement is not None:
        keep = replacement.count("%s")
        args = record.args if isinstance(record.args, tuple) else ()
        record.msg, record.args = replacement, tuple(args[:keep])
    try:
        message = record.getMessage()
    except Exception:  # a malformed call: leave it to the handler to report
        return
    redacted = _redactor._redact(message)
    if redacted != message:
        record.msg, record.args = redacted, None


def protect_log_records(secrets: list[str] | None = None) -> None:
    """Clean every log record where it is made, whichever handler receives it (a file,
    the console, pytest's caplog): library request/response bodies are cut, tokens redacted."""
    global _factory_installed, _redactor
    _secrets.update(s for s in secrets or [] if s)
    _redactor = RedactTokens(sorted(_secrets))
    if _factory_installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _clean_record(record)
        return record

    logging.setLogRecordFactory(factory)
    _factory_installed = True


def configure_logging(level: str, secrets: list[str] | None = None) -> None:
    protect_log_records(secrets)
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactTokens(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
