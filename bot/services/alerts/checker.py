"""Which words raise an alert, and the caring reply: the safety configuration, with each
program's own additions merged in."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.services.safety import (
    SAFETY_FILE_NAME,
    SafetyConfig,
    SafetyConfigError,
    SafetyMatch,
    SafetyMatcher,
    load_program_safety_config,
    load_safety_config,
)

log = logging.getLogger(__package__)  # the package's logger, "bot.services.alerts"

BUNDLED_SAFETY_FILE = Path(__file__).resolve().parents[3] / "curricula" / SAFETY_FILE_NAME


def default_safety_file(*, safety_file: Path | None, curricula_dir: Path) -> Path:
    """SAFETY_FILE if set, else safety.yaml in CURRICULA_DIR, else the one shipped with the bot."""
    if safety_file is not None:
        return safety_file
    beside = curricula_dir / SAFETY_FILE_NAME
    return beside if beside.is_file() else BUNDLED_SAFETY_FILE


class SafetyChecker:
    """The base safety configuration, with each program's override merged in on first use."""

    def __init__(self, base: SafetyConfig, curricula_dir: Path | None = None) -> None:
        self.base = base
        self.curricula_dir = curricula_dir
        self._programs: dict[str | None, tuple[SafetyConfig, SafetyMatcher]] = {
            None: (base, SafetyMatcher(base))
        }

    @classmethod
    def load(cls, *, safety_file: Path | None, curricula_dir: Path) -> SafetyChecker:
        """Raises SafetyConfigError (with the file name) when a file is broken."""
        path = default_safety_file(safety_file=safety_file, curricula_dir=curricula_dir)
        checker = cls(load_safety_config(path), curricula_dir)
        return checker

    def for_program(self, program_id: str | None) -> tuple[SafetyConfig, SafetyMatcher]:
        cached = self._programs.get(program_id)
        if cached is None:
            config = self.base
            if self.curricula_dir is not None and program_id is not None:
                try:
                    config = load_program_safety_config(self.base, self.curricula_dir, program_id)
                except SafetyConfigError as exc:  # never leave a person without an answer
                    log.error("program safety file ignored: %s", exc)
            cached = self._programs[program_id] = (config, SafetyMatcher(config))
        return cached

    def check(self, text_: str, language: str | None, program_id: str | None) -> SafetyMatch | None:
        return self.for_program(program_id)[1].check(text_, language)

    def reply(
        self,
        kind: str,
        *,
        language: str | None,
        program_id: str | None,
        resources: Mapping[str, Any] | None,
    ) -> str:
        """The caring reply (plain text) with the cohort's crisis resources, or the defaults
        when the cohort's are broken."""
        config = self.for_program(program_id)[0]
        try:
            return config.reply(kind, language, resources)  # type: ignore[arg-type]
        except (ValidationError, ValueError, TypeError):
            log.error("cohort crisis_resources are invalid; using the defaults")
            return config.reply(kind, language, None)  # type: ignore[arg-type]
