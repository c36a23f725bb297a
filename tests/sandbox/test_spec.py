"""The emulator only implements Bot API methods and reads parameters that api.json defines."""

from __future__ import annotations

import ast
import inspect
import os
from pathlib import Path

import pytest

from bot.sandbox import methods, spec
from bot.sandbox.methods import HANDLERS
from bot.sandbox.spec import Params
from bot.sandbox.spec_data import ALL_METHODS, METHODS, SPEC_VERSION

ACCESSORS = {"string", "integer", "flag", "obj", "chat", "file", "has"}
ROOT = Path(__file__).resolve().parents[2]


def _api_json() -> Path | None:
    candidates = [
        os.environ.get("TELEGRAM_BOT_API_SPEC"),
        str(spec.DEFAULT_SPEC_PATH),
        str(ROOT.parent / "shared" / "telegram-bot-api-spec" / "api.json"),
    ]
    return next((Path(c) for c in candidates if c and Path(c).is_file()), None)


def _reads_per_method() -> dict[str, set[str]]:
    """Parameter names each handler reads, following module-level helpers it calls."""
    tree = ast.parse(inspect.getsource(methods))
    functions = {
        node.name: node
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    reads: dict[str, set[str]] = {}
    calls: dict[str, set[str]] = {}
    for name, node in functions.items():
        reads[name], calls[name] = set(), set()
        for call in ast.walk(node):
            if not isinstance(call, ast.Call):
                continue
            func = call.func
            if isinstance(func, ast.Name) and func.id in functions:
                calls[name].add(func.id)
            is_param_read = (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id == "p"
                and func.attr in ACCESSORS
            )
            if is_param_read:
                first = call.args[0] if call.args else None
                assert isinstance(first, ast.Constant) and isinstance(first.value, str), (
                    f"{name} reads a parameter by a non-literal name (line {call.lineno})"
                )
                reads[name].add(first.value)

    def closure(name: str, seen: set[str]) -> set[str]:
        found = set(reads[name])
        for callee in calls[name] - seen:
            found |= closure(callee, seen | {callee})
        return found

    result = {}
    for name, node in functions.items():
        for decorator in node.decorator_list:
            if (
                isinstance(decorator, ast.Call)
                and isinstance(decorator.func, ast.Name)
                and decorator.func.id == "api_method"
            ):
                method = decorator.args[0]
                assert isinstance(method, ast.Constant)
                result[method.value] = closure(name, {name})
    return result


def test_every_implemented_method_is_in_the_spec() -> None:
    assert HANDLERS, "no handlers registered"
    for method in HANDLERS:
        assert method in ALL_METHODS, method
        assert method in METHODS, f"{method}: regenerate spec_data.py"


def test_handlers_read_only_spec_parameters() -> None:
    reads = _reads_per_method()
    assert set(reads) == set(HANDLERS)
    assert "reply_markup" in reads["sendMessage"], "helpers' reads are followed"
    for method, names in reads.items():
        unknown = names - set(METHODS[method])
        assert not unknown, f"{method} reads {unknown}, not parameters in the Bot API spec"


def test_params_refuse_names_outside_the_spec() -> None:
    params = Params("sendMessage", {"text": "x", "bogus": 1}, {})
    assert params.string("text") == "x"
    with pytest.raises(KeyError):
        params.string("bogus")


def test_spec_data_matches_api_json() -> None:
    path = _api_json()
    if path is None:
        pytest.skip("api.json not found (set TELEGRAM_BOT_API_SPEC)")
    expected: dict = {}
    exec(spec.generate(path, sorted(HANDLERS)), expected)
    hint = "run: python -m bot.sandbox --regen-spec path/to/api.json"
    assert expected["SPEC_VERSION"] == SPEC_VERSION, hint
    assert expected["ALL_METHODS"] == ALL_METHODS, hint
    assert expected["METHODS"] == METHODS, hint
