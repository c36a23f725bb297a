"""`safety train`, `safety check` and `safety eval`: the detector from the command line."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bot.cli.common import CliError, add_json_flag, print_json
from bot.config import Settings


def _detector(settings: Settings) -> Any:
    from bot.services.alerts import SafetyChecker
    from bot.services.safety_detector import SafetyDetector

    checker = SafetyChecker.load(
        safety_file=settings.safety_file, curricula_dir=settings.curricula_dir
    )
    return SafetyDetector.load(checker)


def cmd_train(settings: Settings, args: argparse.Namespace) -> int:
    """Train the model from the shipped corpus, deterministically, and write its parameters."""
    from bot.services.safety_detector import model_directory
    from bot.services.safety_model import corpus_files, corpus_hash, load_examples, train

    files = corpus_files(args.language)
    if not files:
        raise CliError(f"no corpus files for language {args.language!r}")
    examples = [e for path in files for e in load_examples(path)]
    model = train(examples, corpus_sha256=corpus_hash(files), seed=args.seed)
    output = args.output or model_directory(args.language)
    model.save(output)
    print(
        f"trained on {len(examples)} sentences from {len(files)} files "
        f"(corpus sha256 {model.corpus_sha256[:12]}); parameters in {output}"
    )
    return 0


def cmd_check(settings: Settings, args: argparse.Namespace) -> int:
    decision = _detector(settings).decide(args.text, args.language)
    if args.json:
        print_json(decision.as_dict())
    else:
        print(f"{decision.level.value} ({decision.category or 'no category'})")
        for reason in decision.reasons:
            print(f"  {reason}")
    return 0


def cmd_eval(settings: Settings, args: argparse.Namespace) -> int:
    from bot.services.safety_eval import evaluate
    from bot.services.safety_model import CorpusError, load_examples

    try:
        examples = load_examples(args.file)
    except CorpusError as exc:
        raise CliError(str(exc)) from None
    report = evaluate(_detector(settings), examples, args.language)
    if args.json:
        print_json(report.as_dict(with_misses=not args.no_misses))
        return 0
    print(f"recall (check or alert): {_line(report.recall)}")
    print(f"recall at alert level:   {_line(report.recall_alert)}")
    print(f"false alarms:            {_line(report.false_alarms)}")
    print(f"false alerts:            {_line(report.false_alerts)}")
    for name, tally in sorted(report.by_category.items()):
        print(f"  {name:20s} {_line(tally)}")
    print("by kind (risk: found; none: flagged):")
    for name, tally in sorted(report.by_kind.items()):
        print(f"  {name:28s} {_line(tally)}")
    if not args.no_misses:
        print(f"misses and false alarms ({len(report.misses)}):")
        for miss in report.misses:
            print(f"  [{miss['label']} -> {miss['level']} {miss['risk']}] {miss['text']}")
    return 0


def _line(tally: Any) -> str:
    return f"{tally.rate:6.1%}  ({tally.found}/{tally.total})"


def add_safety(commands: Any) -> None:
    safety = commands.add_parser("safety", help="the crisis-language detector").add_subparsers(
        dest="safety_command", required=True, metavar="ACTION"
    )
    train = safety.add_parser("train", help="train the model from the shipped corpus")
    train.add_argument("--language", default="en")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--output", type=Path, help="where to write (default: the shipped model)")
    train.set_defaults(handler=cmd_train)
    check = safety.add_parser("check", help="the decision for one message, and what fired")
    check.add_argument("text")
    check.add_argument("--language", default="en")
    add_json_flag(check)
    check.set_defaults(handler=cmd_check)
    evaluate = safety.add_parser("eval", help="recall and false alarms on a labelled file")
    evaluate.add_argument("file", type=Path)
    evaluate.add_argument("--language", default="en")
    evaluate.add_argument("--no-misses", action="store_true", help="figures only")
    add_json_flag(evaluate)
    evaluate.set_defaults(handler=cmd_eval)
