"""Load curriculum YAML files, reporting every problem as `file:line:column: message`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bot.curriculum.schema import Program

Location = tuple[int, int]
PathKey = tuple[Any, ...]


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class CurriculumError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


@dataclass(frozen=True)
class LoadedProgram:
    path: Path
    program: Program


def _mark(node: yaml.Node) -> Location:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Converter:
    """Turns a composed YAML node tree into plain data, remembering where each value stood."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.locations: dict[PathKey, Location] = {}
        self.problems: list[Problem] = []
        self._constructor = yaml.SafeLoader("")

    def convert(self, node: yaml.Node, path: PathKey = ()) -> Any:
        self.locations.setdefault(path, _mark(node))
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self._constructor.construct_object(key_node, deep=True)
                if key in result:
                    line, column = _mark(key_node)
                    self.problems.append(Problem(self.file, line, column, f"duplicate key {key!r}"))
                self.locations[(*path, key)] = _mark(key_node)
                result[key] = self.convert(value_node, (*path, key))
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*path, index)) for index, item in enumerate(node.value)]
        return self._constructor.construct_object(node, deep=True)

    def locate(self, data: Any, loc: tuple[Any, ...]) -> Location:
        """Follow a pydantic error location through the data, skipping union tags."""
        path: PathKey = ()
        current = data
        for part in loc:
            key = part
            if isinstance(current, dict) and isinstance(part, str) and part not in current:
                int_key = int(part) if part.lstrip("-").isdigit() else None
                if int_key is not None and int_key in current:
                    key = int_key
            if (isinstance(current, dict) and key in current) or (
                isinstance(current, list) and isinstance(key, int) and 0 <= key < len(current)
            ):
                current = current[key]
                path = (*path, key)
            elif (
                isinstance(current, dict) and key not in current and (*path, key) in self.locations
            ):
                path = (*path, key)
                break
        return self.locations.get(path, (1, 1))


def _format_error(error: Any) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    field = error["loc"][-1] if error["loc"] else ""
    if error["type"] == "extra_forbidden":
        return f"unknown key {field!r}"
    if error["type"] == "missing":
        return f"missing required key {field!r}"
    if error["type"] == "string_too_long":
        limit = error.get("ctx", {}).get("max_length")
        return f"{field!r} is longer than Telegram allows ({limit} characters)"
    return f"{field}: {message}" if isinstance(field, str) and field else message


def _duplicate_prompt_ids(program: Program, converter: _Converter, data: Any) -> list[Problem]:
    seen: set[str] = set()
    problems = []
    for w, week in enumerate(program.weeks):
        for d, day in enumerate(week.days):
            for p, prompt in enumerate(day.prompts):
                if prompt.id in seen:
                    line, column = converter.locate(
                        data, ("weeks", w, "days", d, "prompts", p, "id")
                    )
                    problems.append(
                        Problem(converter.file, line, column, f"duplicate prompt id {prompt.id!r}")
                    )
                seen.add(prompt.id)
    return problems


def parse_program(text: str, file: str) -> Program:
    """Parse and validate one curriculum; raises CurriculumError listing every problem."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise CurriculumError(
            [Problem(file, line, column, f"YAML syntax error: {exc.problem or exc}")]
        ) from None
    if root is None:
        raise CurriculumError([Problem(file, 1, 1, "the file is empty")])
    converter = _Converter(file)
    data = converter.convert(root)
    problems = list(converter.problems)
    if not isinstance(data, dict):
        raise CurriculumError([*problems, Problem(file, 1, 1, "expected a mapping at the top")])
    try:
        program = Program.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            line, column = converter.locate(data, error["loc"])
            problems.append(Problem(file, line, column, _format_error(error)))
        raise CurriculumError(sorted(problems)) from None
    problems.extend(_duplicate_prompt_ids(program, converter, data))
    if problems:
        raise CurriculumError(sorted(problems))
    return program


def load_program(path: Path) -> Program:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CurriculumError([Problem(str(path), 1, 1, f"cannot read file: {exc}")]) from None
    return parse_program(text, str(path))


def is_curriculum_file(path: Path) -> bool:
    """Curricula are *.yaml / *.yml; safety*.yaml holds the safety configuration instead."""
    return path.suffix in {".yaml", ".yml"} and not path.name.startswith("safety")


def discover(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.is_file() and is_curriculum_file(p)))
        else:
            found.append(path)
    return found


def validate_paths(paths: list[Path]) -> list[Problem]:
    problems: list[Problem] = []
    for path in discover(paths):
        if not path.exists():
            problems.append(Problem(str(path), 1, 1, "no such file"))
            continue
        try:
            load_program(path)
        except CurriculumError as exc:
            problems.extend(exc.problems)
    return problems


def load_catalog(directory: Path) -> dict[str, LoadedProgram]:
    """Every valid program in a directory, by program id; invalid files raise."""
    catalog: dict[str, LoadedProgram] = {}
    for path in discover([directory]) if directory.is_dir() else []:
        program = load_program(path)
        if program.program_id in catalog:
            raise CurriculumError(
                [Problem(str(path), 1, 1, f"program id {program.program_id!r} is used twice")]
            )
        catalog[program.program_id] = LoadedProgram(path=path, program=program)
    return catalog
