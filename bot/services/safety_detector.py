"""The layered safety detector: text + language -> a decision with a level, a category and
the reasons that fired.

Layers, in order:
1. the phrase lists (curricula/safety.yaml), as the bot has used them from the start;
2. concept rules (bot/services/safety_concepts.py): lexicons of means, acts, finality, a
   dependent... and frames that combine them within a sentence, with negation and distance;
3. the statistical model (bot/services/safety_model.py), trained on the shipped corpus.
Levels: `alert` (caring reply, alert to facilitators), `check` (ask the person whether they
are safe), or `none`. A phrase hit the model finds very unlikely is only a `check`: that is
how topic mentions and recovery stories, which the lists flag, stay out of the alerts. A
concept frame is a `check`, or an `alert` when the model agrees.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from bot.services.safety_concepts import ConceptRules, shipped_rules
from bot.services.safety_model import SAFETY_DATA, SafetyModel

if TYPE_CHECKING:
    from bot.services.alerts.checker import SafetyChecker

PHRASE_CONFIRM = 0.2
"""A phrase hit is an alert when the model gives it at least this probability of risk."""
CONCEPT_CHECK = 0.1
CONCEPT_CONFIRM = 0.5
"""A concept frame is a check when the model gives it at least CONCEPT_CHECK probability of
risk, an alert from CONCEPT_CONFIRM (both from 5-fold cross-validation on the corpus)."""
MODEL_CHECK = 0.6
MODEL_ALERT = 0.9
"""Chosen by 5-fold cross-validation on the training corpus (never on a held-out set)."""


class Level(StrEnum):
    NONE = "none"
    CHECK = "check"
    ALERT = "alert"


@dataclass(frozen=True)
class SafetyDecision:
    level: Level
    category: str | None
    risk: float  # the model's probability that the message signals any risk
    reasons: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, object]:
        return {
            "level": self.level.value,
            "category": self.category,
            "risk": round(self.risk, 3),
            "reasons": list(self.reasons),
        }


def model_directory(language: str) -> Path:
    return SAFETY_DATA / language / "model"


@functools.cache
def _shipped_model(language: str) -> SafetyModel:
    """Loaded once per process (the parameters never change while it runs)."""
    return SafetyModel.load(model_directory(language))


class SafetyDetector:
    def __init__(
        self,
        checker: SafetyChecker,
        models: dict[str, SafetyModel],
        rules: dict[str, ConceptRules] | None = None,
    ) -> None:
        self.checker = checker
        self.models = models
        self.rules = rules or {}

    @classmethod
    def load(cls, checker: SafetyChecker, languages: tuple[str, ...] = ("en",)) -> SafetyDetector:
        rules = {code: r for code in languages if (r := shipped_rules(code)) is not None}
        return cls(checker, {code: _shipped_model(code) for code in languages}, rules)

    @staticmethod
    def _code(language: str | None) -> str:
        return (language or "en").split("-")[0]

    def _model(self, language: str | None) -> SafetyModel:
        return self.models.get(self._code(language)) or self.models["en"]

    def _rules(self, language: str | None) -> ConceptRules | None:
        return self.rules.get(self._code(language)) or self.rules.get("en")

    def decide(
        self, text: str, language: str | None = "en", program_id: str | None = None
    ) -> SafetyDecision:
        if not text or not text.strip():
            return SafetyDecision(Level.NONE, None, 0.0)
        risk, model_category = self._model(language).predict(text)
        reasons = [f"model: {model_category} {risk:.2f}"]
        match = self.checker.check(text, language, program_id)
        if match is not None:
            reasons.insert(0, f"phrase list: {match.category.value} ({match.matched})")
            level = Level.ALERT if risk >= PHRASE_CONFIRM else Level.CHECK
            return SafetyDecision(level, match.category.value, risk, tuple(reasons))
        rules = self._rules(language)
        hit = rules.find(text) if rules is not None else None
        if hit is not None and risk >= CONCEPT_CHECK:
            reasons.insert(0, hit.reason)
            level = Level.ALERT if risk >= CONCEPT_CONFIRM else Level.CHECK
            return SafetyDecision(level, hit.category, risk, tuple(reasons))
        if risk >= MODEL_ALERT:
            return SafetyDecision(Level.ALERT, model_category, risk, tuple(reasons))
        if risk >= MODEL_CHECK:
            return SafetyDecision(Level.CHECK, model_category, risk, tuple(reasons))
        return SafetyDecision(Level.NONE, None, risk, tuple(reasons))
