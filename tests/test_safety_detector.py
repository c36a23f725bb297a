"""The layered safety detector: the shipped model matches its corpus, training reproduces it,
the command line works, and the held-out figures do not fall back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bot.services.alerts import SafetyChecker
from bot.services.safety_detector import Level, SafetyDetector, model_directory
from bot.services.safety_eval import evaluate
from bot.services.safety_model import (
    SafetyModel,
    corpus_files,
    corpus_hash,
    load_examples,
    train,
)
from tests.conftest import CURRICULA
from tests.test_cli import cli

HELD_OUT = Path(__file__).parent / "data" / "safety_heldout"


@pytest.fixture(scope="module")
def detector() -> SafetyDetector:
    checker = SafetyChecker.load(safety_file=None, curricula_dir=CURRICULA)
    return SafetyDetector.load(checker)


def test_the_shipped_model_was_trained_on_the_shipped_corpus() -> None:
    shipped = SafetyModel.load(model_directory("en"))
    assert shipped.corpus_sha256 == corpus_hash(corpus_files("en")), (
        "the corpus changed: run 'resilience-bot safety train' and commit the new model"
    )


def test_training_reproduces_the_shipped_model(tmp_path: Path) -> None:
    files = corpus_files("en")
    examples = [e for path in files for e in load_examples(path)]
    retrained = train(examples, corpus_sha256=corpus_hash(files))
    retrained.save(tmp_path)
    again, shipped = SafetyModel.load(tmp_path), SafetyModel.load(model_directory("en"))
    assert again.words.vocabulary == shipped.words.vocabulary
    assert again.chars.vocabulary == shipped.chars.vocabulary
    np.testing.assert_allclose(again.coef, shipped.coef, atol=1e-4)
    np.testing.assert_allclose(again.intercept, shipped.intercept, atol=1e-4)


def test_a_method_without_the_word_suicide_is_caught_and_a_topic_mention_is_not(
    detector: SafetyDetector,
) -> None:
    # Both written for this test, after the model was trained.
    saving = detector.decide("been putting aside a few of my sleeping tablets every night")
    assert saving.level != Level.NONE and saving.category == "self_harm"
    film = detector.decide("we watched a documentary about suicide prevention in schools")
    assert film.level != Level.ALERT
    assert detector.decide("   ").level == Level.NONE


def test_check_and_eval_work_on_the_command_line(tmp_path: Path) -> None:
    labelled = tmp_path / "mini.yaml"
    labelled.write_text(
        "items:\n"
        '  - {category: self_harm, kind: direct, text: "i want to kill myself tonight"}\n'
        '  - {category: none, kind: everyday, text: "had a lovely walk with my dog"}\n',
        encoding="utf-8",
    )
    checked = cli("safety", "check", "--json", "i want to kill myself tonight")
    assert checked.returncode == 0, checked.stderr
    decision = json.loads(checked.stdout)
    assert decision["level"] == "alert" and decision["category"] == "self_harm"
    assert any(r.startswith("phrase list") for r in decision["reasons"])
    evaluated = cli("safety", "eval", "--json", str(labelled))
    assert evaluated.returncode == 0, evaluated.stderr
    report = json.loads(evaluated.stdout)
    assert report["recall"] == {"total": 1, "found": 1, "rate": 1.0}
    assert report["false_alarms"]["total"] == 1
    assert len(report["misses"]) == report["false_alarms"]["found"]
    plain = cli("safety", "eval", "--no-misses", str(labelled))
    assert "recall (check or alert):" in plain.stdout and "misses" not in plain.stdout
    broken = cli("safety", "eval", str(tmp_path / "missing.yaml"))
    assert broken.returncode == 2 and len(broken.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    ("name", "recall", "false_alerts"),
    # Floors a little under the figures measured on 2026-12-08 (dev: recall 93.5%, false
    # alerts 1.4%; names_only: 88.3%, 3.7%; final, written last: 94.8%, 1.2%). Issue #12's
    # targets (recall >= 97%, false alarms <= 1.5%) are not met yet: see
    # tests/data/safety_heldout/README.md.
    [("dev", 0.91, 0.025), ("names_only", 0.86, 0.045), ("final", 0.93, 0.02)],
)
def test_held_out_figures_do_not_fall_back(
    detector: SafetyDetector, name: str, recall: float, false_alerts: float
) -> None:
    report = evaluate(detector, load_examples(HELD_OUT / f"{name}.yaml"))
    print(json.dumps(report.as_dict(with_misses=False)))
    assert report.recall.rate >= recall
    assert report.false_alerts.rate <= false_alerts
