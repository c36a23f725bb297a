"""The crisis-language matcher: corpus recall/false alarms, normalization, config, scale alerts."""

from __future__ import annotations

import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.services.safety import (
    CrisisResources,
    SafetyCategory,
    SafetyConfig,
    SafetyConfigError,
    SafetyMatcher,
    load_program_safety_config,
    load_safety_config,
    low_streak,
    merge_safety_config,
    parse_safety_config,
    program_safety_path,
    scale_alert_due,
)
from bot.services.safety_text import Normalizer, collapse_repeats, fold

ROOT = Path(__file__).resolve().parents[1]
SAFETY_FILE = ROOT / "curricula" / "safety.yaml"
CORPUS_FILE = Path(__file__).parent / "data" / "safety_corpus.yaml"

MIN_RECALL = 0.95
MAX_FALSE_ALARM_RATE = 0.02


@pytest.fixture(scope="module")
def config() -> SafetyConfig:
    return load_safety_config(SAFETY_FILE)


@pytest.fixture(scope="module")
def matcher(config: SafetyConfig) -> SafetyMatcher:
    return SafetyMatcher(config)


@pytest.fixture(scope="module")
def corpus() -> dict[str, Any]:
    return yaml.safe_load(CORPUS_FILE.read_text(encoding="utf-8"))


def _ordinary(corpus: dict[str, Any]) -> list[str]:
    return corpus["ordinary"] + corpus["tricky"]


# --- corpus ----------------------------------------------------------------------------------


def test_corpus_is_big_and_varied_enough(corpus: dict[str, Any]) -> None:
    categories = Counter(item["category"] for item in corpus["risk"])
    assert len(corpus["risk"]) >= 120
    assert len(_ordinary(corpus)) >= 320
    assert len(corpus["tricky"]) >= 60
    assert set(categories) == {c.value for c in SafetyCategory}
    texts = [item["text"] for item in corpus["risk"]] + _ordinary(corpus)
    duplicates = [text for text, n in Counter(texts).items() if n > 1]
    assert not duplicates


def test_corpus_recall_and_false_alarms(
    matcher: SafetyMatcher, corpus: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    risk = corpus["risk"]
    ordinary = _ordinary(corpus)
    results = [(item, matcher.check(item["text"])) for item in risk]
    flagged = [(item, match) for item, match in results if match is not None]
    missed = [item["text"] for item, match in results if match is None]
    false_alarms = [(text, m.matched) for text in ordinary if (m := matcher.check(text))]
    same_category = sum(1 for item, match in flagged if match.category == item["category"])

    recall = len(flagged) / len(risk)
    false_alarm_rate = len(false_alarms) / len(ordinary)
    by_category = {
        c.value: (
            sum(1 for item, m in results if item["category"] == c and m is not None),
            sum(1 for item in risk if item["category"] == c),
        )
        for c in SafetyCategory
    }
    with capsys.disabled():
        print(f"\n[safety corpus] recall {recall:.3f} ({len(flagged)}/{len(risk)} risk flagged)")
        for name, (hit, total) in by_category.items():
            print(f"[safety corpus]   {name}: {hit}/{total}")
        print(
            f"[safety corpus] false alarms {false_alarm_rate:.3f} "
            f"({len(false_alarms)}/{len(ordinary)} ordinary flagged)"
        )
        print(f"[safety corpus] right category {same_category}/{len(flagged)} flagged")
        for text in missed:
            print(f"[safety corpus]   missed: {text}")
        for text, matched in false_alarms:
            print(f"[safety corpus]   false alarm: {text}  <- {matched}")

    assert recall >= MIN_RECALL
    assert false_alarm_rate <= MAX_FALSE_ALARM_RATE
    assert same_category / len(flagged) >= 0.9


def test_checks_are_fast(
    matcher: SafetyMatcher, corpus: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    texts = [item["text"] for item in corpus["risk"]] + _ordinary(corpus)
    for text in texts:
        matcher.check(text)
    timings = []
    for text in texts:
        start = time.perf_counter()
        matcher.check(text)
        timings.append(time.perf_counter() - start)
    longest = " ".join(texts)[:4096]
    start = time.perf_counter()
    matcher.check(longest)
    longest_seconds = time.perf_counter() - start
    median = statistics.median(timings)
    with capsys.disabled():
        print(
            f"\n[safety corpus] check median {median * 1e6:.0f} us, "
            f"max {max(timings) * 1e6:.0f} us, 4096-char message {longest_seconds * 1e3:.1f} ms"
        )
    assert median < 0.001
    assert longest_seconds < 0.1


# --- what must be caught, what must not --------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "suicde",
        "sucide",
        "kil myself",
        "kms",
        "unalive",
        "want to die",
        "wanna die",
        "dont want to be here anymore",
        "end it all",
        "no reason to live",
        "better off without me",
        "hurt myself",
        "cutting myself",
        "overdose",
        "myself kill",
        "to die i want",
        "I want so badly to just die",
        "i want to dieeeee",
        "I'M SOOOO DONE I WANT TO DIE!!!",
        "k1ll mys3lf",
        "i don't want to live anymore",
        "i dont want to live anymore",
        "I don’t want to live anymore",
    ],
)
def test_risk_variants_are_flagged_as_self_harm(matcher: SafetyMatcher, text: str) -> None:
    match = matcher.check(text)
    assert match is not None, matcher.normalize(text)
    assert match.category is SafetyCategory.SELF_HARM


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("I'm going to kill him", SafetyCategory.HARM_TO_OTHERS),
        ("i keep having thoughts of hurting my baby", SafetyCategory.HARM_TO_OTHERS),
        ("my husband hits me", SafetyCategory.ABUSE),
        ("i don't feel safe at home", SafetyCategory.ABUSE),
        ("he said he'd kill me if i leave", SafetyCategory.ABUSE),
    ],
)
def test_other_categories(matcher: SafetyMatcher, text: str, category: SafetyCategory) -> None:
    match = matcher.check(text)
    assert match is not None
    assert match.category is category


@pytest.mark.parametrize(
    "text",
    [
        "killing time before my train",
        "dying to try that new place",
        "I hurt my knee",
        "this workout killed me",
        "this cake is to die for",
        "she killed it at the recital",
        "going to kill it tomorrow",
        "my feet are killing me",
        "dead tired",
        "I could kill for a coffee",
        "laughed so hard I died",
        "gonna murder a pizza",
        "my boss will kill me if I'm late",
        "cut myself some slack today",
        "I'm burning myself out at work",
        "I'm not suicidal, just tired",
        "I don't want to die without seeing the sea",
        "I cut myself shaving",
        "we watched die hard",
    ],
)
def test_benign_idioms_are_not_flagged(matcher: SafetyMatcher, text: str) -> None:
    assert matcher.check(text) is None, matcher.normalize(text)


@pytest.mark.parametrize(
    "text",
    [
        "killing time at the station. honestly i want to kill myself",
        "I was killing time and thinking about killing myself",
        "dead tired of living",
        "this cake is to die for. i want to die",
        "I'm not suicidal but I want to die",
        "dying to try the new cafe but honestly i want to end it all",
        "I hurt my knee and then I hurt myself on purpose",
        "cut myself some slack, then cut myself again",
        "my boss will kill me if I'm late, not that it matters, I'm going to kill myself",
    ],
)
def test_exclusions_never_mask_risk_elsewhere(matcher: SafetyMatcher, text: str) -> None:
    match = matcher.check(text)
    assert match is not None, matcher.normalize(text)
    assert match.category is SafetyCategory.SELF_HARM


def test_exclusions_blank_only_their_bracketed_words(matcher: SafetyMatcher) -> None:
    assert matcher.normalize("killing time") == "______ time"
    assert matcher.normalize("I hurt my knee") == "i ____ my kne"


def test_match_reports_the_configured_phrase(matcher: SafetyMatcher) -> None:
    match = matcher.check("honestly i wanna die")
    assert match is not None
    assert match.matched == "want*|wish* to? die"
    assert match.language == "en"


def test_empty_and_unknown_language(matcher: SafetyMatcher) -> None:
    assert matcher.check("") is None
    assert matcher.check("   \n ") is None
    assert matcher.check("🙂🙂") is None
    for language in ("de", "en-GB", "EN_us", None):
        match = matcher.check("i want to die", language)
        assert match is not None
        assert match.language == "en"


# --- normalization ---------------------------------------------------------------------------


def test_fold_and_collapse() -> None:
    assert fold("Ça VA? Naïve café") == "ca va? naive cafe"
    assert collapse_repeats("soooo goooood") == "so god"
    assert collapse_repeats("kill") == "kil"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I DON'T want to!!!", "i do not want to"),
        ("I don’t", "i do not"),
        ("can't won't he'll she'd i'm", "can not wil not he wil she would i am"),
        ("dont cant wont im", "do not can not wil not i am"),
        ("wanna gonna u", "want to going to you"),
        ("k1ll mys3lf", "kil myself"),
        ("$uicide", "suicide"),
        ("sh*t happens", "sht hapens"),
        ("suicde sucide suiside", "suicide suicide suicide"),
        ("self-harm", "self harm"),
        ("One. Two! Three?\nfour", "one\ntwo\nthre\nfour"),
        ("3.5 hours at 5am", "3 5 hours at sam"),
        ("Zoë's résumé", "zoes resume"),
    ],
)
def test_normalize(matcher: SafetyMatcher, text: str, expected: str) -> None:
    assert matcher.normalize(text) == expected


def test_fuzzy_respects_protected_words() -> None:
    normalizer = Normalizer(fuzzy=["overdose"], fuzzy_protect=["overdone"])
    assert normalizer.normalize("overdoze overdone") == "overdose overdone"


def test_aliases_can_expand_to_several_words() -> None:
    normalizer = Normalizer(aliases={"kms": "kill myself"})
    assert normalizer.normalize("KMS") == "kil myself"


# --- configuration ---------------------------------------------------------------------------


MINIMAL = """
crisis_resources:
  intro: Talk to someone.
  emergency: Call 112.
  helplines:
    - {name: Line, phone: "0800 123"}
languages:
  en:
    replies:
      self_harm: "SH {resources}"
      harm_to_others: "HO {resources}"
      abuse: "AB {resources}"
      low_scale: "LS {resources}"
    self_harm:
      phrases: ["want to? die", {phrase: "kill myself", any_order: true, gap: 0}]
      patterns: ['(?<!\\S)bye forever(?!\\S)']
    abuse:
      phrases: [he hits me]
    exclusions:
      phrases: ["[die] hard"]
"""


def test_minimal_config_loads_and_matches() -> None:
    config = parse_safety_config(MINIMAL, "minimal.yaml")
    matcher = SafetyMatcher(config)
    assert matcher.check("myself kill") is not None
    assert matcher.check("bye forever everyone") is not None
    assert matcher.check("I want to watch die hard") is None
    abuse = matcher.check("he always hits me")
    assert abuse is not None
    assert abuse.category is SafetyCategory.ABUSE


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("languages:\n  en:\n    colour: blue\n", "colour"),
        ("max_gap: 99\n", "max_gap"),
        ("fallback_language: de\n", "fallback_language"),
        (
            "languages:\n  en:\n    self_harm:\n      patterns: ['(unclosed']\n",
            "regular expression",
        ),
        ("languages:\n  en:\n    self_harm:\n      phrases: ['!!! ???']\n", "no letters"),
        ("languages:\n  en:\n    abuse:\n      phrases: ['[he] hits me']\n", "brackets"),
        ("crisis_resources:\n  helplines:\n    - {name: Nothing}\n", "phone or a url"),
    ],
)
def test_bad_configs_are_rejected(change: str, message: str) -> None:
    base = parse_safety_config(MINIMAL)
    with pytest.raises(SafetyConfigError, match=message):
        parse_safety_config(change, "override.yaml", base=base)


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(SafetyConfigError, match="cannot read"):
        load_safety_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("languages: [", encoding="utf-8")
    with pytest.raises(SafetyConfigError, match="YAML"):
        load_safety_config(bad)
    incomplete = tmp_path / "incomplete.yaml"
    incomplete.write_text("max_gap: 1\n", encoding="utf-8")
    with pytest.raises(SafetyConfigError, match="crisis_resources"):
        load_safety_config(incomplete)


def test_override_replaces_only_the_lists_it_defines(config: SafetyConfig) -> None:
    override = {"languages": {"en": {"abuse": {"phrases": ["my landlord yells"]}}}}
    merged = merge_safety_config(config, override)
    matcher = SafetyMatcher(merged)
    landlord = matcher.check("my landlord yells at me")
    assert landlord is not None
    assert landlord.category is SafetyCategory.ABUSE
    assert matcher.check("my husband hits me") is None  # the base abuse phrases were replaced
    assert matcher.check("i want to die") is not None  # self_harm lists untouched
    assert merged.languages["en"].abuse.patterns == config.languages["en"].abuse.patterns
    assert merged.crisis_resources == config.crisis_resources


def test_program_override_file(config: SafetyConfig, tmp_path: Path) -> None:
    assert load_program_safety_config(config, tmp_path, "calm-8w") is config
    path = program_safety_path(tmp_path, "calm-8w")
    assert path.name == "safety-calm-8w.yaml"
    path.write_text(
        "crisis_resources:\n"
        "  helplines:\n"
        "    - {name: Samaritans, phone: '116 123', url: 'https://www.samaritans.org'}\n",
        encoding="utf-8",
    )
    program = load_program_safety_config(config, tmp_path, "calm-8w")
    assert [h.name for h in program.crisis_resources.helplines] == ["Samaritans"]
    assert program.crisis_resources.emergency == config.crisis_resources.emergency
    assert "116 123" in program.reply("self_harm")


def test_new_language_falls_back_for_replies(config: SafetyConfig) -> None:
    merged = merge_safety_config(
        config, {"languages": {"de": {"self_harm": {"phrases": ["will sterben"]}}}}
    )
    matcher = SafetyMatcher(merged)
    german = matcher.check("ich will sterben", "de-AT")
    assert german is not None
    assert german.language == "de"
    english_in_german_chat = matcher.check("i want to die", "de")
    assert english_in_german_chat is not None
    assert english_in_german_chat.language == "en"
    assert merged.reply("self_harm", "de") == merged.reply("self_harm", "en")


# --- replies and resources -------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["self_harm", "harm_to_others", "abuse", "low_scale"])
def test_replies_include_the_crisis_resources(config: SafetyConfig, kind: str) -> None:
    text = config.reply(kind)  # type: ignore[arg-type]
    assert "{resources}" not in text
    assert config.crisis_resources.emergency in text
    assert "https://findahelpline.com" in text
    assert len(text) < 4096


def test_default_resources_point_to_emergency_services(config: SafetyConfig) -> None:
    resources = config.crisis_resources
    assert "112" in resources.emergency and "911" in resources.emergency
    assert any(h.url == "https://findahelpline.com" for h in resources.helplines)


def test_cohort_resources_override_single_keys(config: SafetyConfig) -> None:
    cohort = {"helplines": [{"name": "Campus line", "phone": "555 0100"}]}
    resources = config.resources("en", cohort)
    assert resources.intro == config.crisis_resources.intro
    assert [h.name for h in resources.helplines] == ["Campus line"]
    reply = config.reply(SafetyCategory.ABUSE, "en", cohort)
    assert "Campus line: 555 0100" in reply
    replacement = CrisisResources(intro="Hi", emergency="Call 000")
    assert config.resources("en", replacement) is replacement


# --- scale alerts ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "at_or_below", "days", "due"),
    [
        ([], 2, 1, False),
        ([1], 2, 1, True),
        ([3], 2, 1, False),
        ([1, 1], 2, 3, False),
        ([5, 1, 2, 1], 2, 3, True),
        ([1, 1, 3], 2, 2, False),
        ([1, 1, 3, 2, 2], 2, 2, True),
        ([1, 2, 1, 1], 2, 3, True),
        ([2, 2, 2, 2, 2], 2, 3, True),
        ([4, 4, 4], 3, 1, False),
    ],
)
def test_scale_alert_due(values: list[int], at_or_below: int, days: int, due: bool) -> None:
    assert scale_alert_due(values, at_or_below, days) is due


def test_low_streak_lets_callers_alert_once_per_streak() -> None:
    assert low_streak([5, 1, 1, 1], 2) == 3
    assert low_streak([1, 1, 5], 2) == 0
    alerts = [day for day in range(1, 7) if low_streak([1, 1, 1, 1, 4, 1][:day], 2) == 2]
    assert alerts == [2]


def test_scale_alert_rejects_zero_days() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        scale_alert_due([1], 2, 0)
