"""Bot API method signatures (from api.json) and request parameter binding."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.sandbox.errors import ApiError, bad_request
from bot.sandbox.spec_data import ALL_METHODS, METHODS, SPEC_VERSION

DEFAULT_SPEC_PATH = Path("/work/shared/telegram-bot-api-spec/api.json")
_INT_RE = re.compile(r"^\s*[+-]?\d+\s*$")

# Telegram words some "missing parameter" errors specially.
_EMPTY_MESSAGES = {
    ("sendmessage", "text"): "message text is empty",
    ("senddocument", "document"): "there is no document in the request",
    ("sendphoto", "photo"): "there is no photo in the request",
    ("answercallbackquery", "callback_query_id"): (
        "query is too old and response timeout expired or query ID is invalid"
    ),
}


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request."""

    filename: str | None
    content_type: str | None
    data: bytes


@dataclass(frozen=True)
class Field:
    name: str
    types: tuple[str, ...]
    required: bool


def canonical_name(method: str) -> str | None:
    """The spec's spelling of a method name looked up case-insensitively, or None."""
    return _ALL_BY_LOWER.get(method.lower())


_ALL_BY_LOWER = {name.lower(): name for name in ALL_METHODS}


@functools.cache
def fields_of(method: str) -> dict[str, Field]:
    return {
        name: Field(name, tuple(types), required)
        for name, (types, required) in METHODS[method].items()
    }


class Params:
    """Request parameters of one method call, typed by the spec on access.

    Reading a name that is not a parameter of the method in the spec is a programming error
    (KeyError), so handlers can only read what Telegram documents.
    """

    def __init__(self, method: str, raw: dict[str, Any], uploads: dict[str, Upload]):
        self.method = method
        self.fields = fields_of(method)  # shared, read-only
        self.raw = {k: v for k, v in raw.items() if k in self.fields}
        self.uploads = uploads
        for upload_name, upload in uploads.items():
            if upload_name in self.fields:
                self.raw[upload_name] = upload

    def check_required(self) -> None:
        for field in self.fields.values():
            if field.required and _is_empty(self.raw.get(field.name)):
                text = _EMPTY_MESSAGES.get((self.method.lower(), field.name))
                raise bad_request(text or f"{field.name} is empty")

    def _value(self, name: str) -> Any:
        if name not in self.fields:
            raise KeyError(f"{name!r} is not a parameter of {self.method} in the Bot API spec")
        return self.raw.get(name)

    def has(self, name: str) -> bool:
        return not _is_empty(self._value(name))

    def string(self, name: str, default: str | None = None) -> str | None:
        value = self._value(name)
        if value is None:
            return default
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        if isinstance(value, Upload):
            raise bad_request(f"{name} must be a String")
        return json.dumps(value)

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self._value(name)
        if _is_empty(value):
            return default
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _INT_RE.match(value):
            return int(value)
        raise bad_request(f"invalid {name} specified")

    def flag(self, name: str, default: bool = False) -> bool:
        value = self._value(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return value != 0
        return str(value).strip().lower() in {"true", "1"}

    def obj(self, name: str, error: str | None = None) -> Any:
        """A JSON-serialized object or array parameter, decoded."""
        value = self._value(name)
        if _is_empty(value):
            return None
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise bad_request(error or f"can't parse {name} JSON object") from None
        if isinstance(value, Upload):
            raise bad_request(error or f"can't parse {name} JSON object")
        return value

    def chat(self, name: str = "chat_id") -> int | str | None:
        """Integer chat id or "@username"; anything else is an unknown chat."""
        value = self._value(name)
        if _is_empty(value):
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            if _INT_RE.match(value):
                return int(value)
            if value.startswith("@") and len(value) > 1:
                return value
        raise bad_request("chat not found")

    def file(self, name: str) -> Upload | str | None:
        """An InputFile: uploaded part, "attach://<part>" reference, file_id or URL."""
        value = self._value(name)
        if _is_empty(value):
            return None
        if isinstance(value, Upload):
            return value
        if isinstance(value, str):
            if value.startswith("attach://"):
                upload = self.uploads.get(value.removeprefix("attach://"))
                if upload is None:
                    raise bad_request(f"{name} is empty")
                return upload
            return value
        raise bad_request(f"wrong file identifier/HTTP URL specified for {name}")


def _is_empty(value: Any) -> bool:
    return value is None or value == ""


def bind(method: str, raw: dict[str, Any], uploads: dict[str, Upload]) -> Params:
    params = Params(method, raw, uploads)
    params.check_required()
    return params


def ensure_known(method: str) -> str:
    name = canonical_name(method)
    if name is None:
        raise ApiError(404, "Not Found")
    return name


def generate(spec_path: Path, methods: list[str]) -> str:
    """Source of spec_data.py for the given implemented methods (run via __main__ --regen)."""
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    lines = [
        '"""Generated from telegram-bot-api-spec api.json (MIT, Paul Larsen). Do not edit."""',
        "",
        f"SPEC_VERSION = {spec['version']!r}",
        "",
        "ALL_METHODS: frozenset[str] = frozenset(",
        "    {",
    ]
    lines += [f"        {name!r}," for name in sorted(spec["methods"])]
    lines += ["    }", ")", ""]
    lines.append("METHODS: dict[str, dict[str, tuple[tuple[str, ...], bool]]] = {")
    for name in sorted(methods):
        lines.append(f"    {name!r}: {{")
        for field in spec["methods"][name].get("fields", []):
            types = tuple(field["types"])
            lines.append(f"        {field['name']!r}: ({types!r}, {field['required']!r}),")
        lines.append("    },")
    lines.append("}")
    return "\n".join(lines) + "\n"


__all__ = [
    "DEFAULT_SPEC_PATH",
    "SPEC_VERSION",
    "Field",
    "Params",
    "Upload",
    "bind",
    "canonical_name",
    "ensure_known",
    "generate",
]
