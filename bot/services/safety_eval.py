"""Measuring the safety detector on a labelled file: recall per category and per kind, the
false-alarm rate on ordinary messages, and every miss."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from bot.services.safety_detector import Level, SafetyDecision, SafetyDetector
from bot.services.safety_model import NONE, Example


@dataclass
class Tally:
    total: int = 0
    found: int = 0

    @property
    def rate(self) -> float:
        return self.found / self.total if self.total else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {"total": self.total, "found": self.found, "rate": round(self.rate, 4)}


@dataclass
class EvalReport:
    recall: Tally = field(default_factory=Tally)  # risk messages at check or alert
    recall_alert: Tally = field(default_factory=Tally)  # risk messages at alert
    false_alarms: Tally = field(default_factory=Tally)  # ordinary messages at check or alert
    false_alerts: Tally = field(default_factory=Tally)  # ordinary messages at alert
    by_category: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_kind: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    misses: list[dict[str, object]] = field(default_factory=list)

    def as_dict(self, *, with_misses: bool = True) -> dict[str, object]:
        data: dict[str, object] = {
            "recall": self.recall.as_dict(),
            "recall_at_alert": self.recall_alert.as_dict(),
            "false_alarms": self.false_alarms.as_dict(),
            "false_alerts": self.false_alerts.as_dict(),
            "by_category": {k: v.as_dict() for k, v in sorted(self.by_category.items())},
            "by_kind": {k: v.as_dict() for k, v in sorted(self.by_kind.items())},
        }
        if with_misses:
            data["misses"] = self.misses
        return data


def evaluate(detector: SafetyDetector, examples: list[Example], language: str = "en") -> EvalReport:
    report = EvalReport()
    for example in examples:
        decision = detector.decide(example.text, language)
        _count(report, example, decision)
    return report


def _count(report: EvalReport, example: Example, decision: SafetyDecision) -> None:
    flagged = decision.level != Level.NONE
    alerted = decision.level == Level.ALERT
    kind = f"{example.category}/{example.kind}"
    if example.category == NONE:
        for tally, hit in ((report.false_alarms, flagged), (report.false_alerts, alerted)):
            tally.total += 1
            tally.found += hit
        report.by_kind[kind].total += 1
        report.by_kind[kind].found += flagged
        wrong = flagged
    else:
        for tally, hit in (
            (report.recall, flagged),
            (report.recall_alert, alerted),
            (report.by_category[example.category], flagged),
            (report.by_kind[kind], flagged),
        ):
            tally.total += 1
            tally.found += hit
        wrong = not flagged
    if wrong:
        report.misses.append({"label": kind, "text": example.text, **decision.as_dict()})
