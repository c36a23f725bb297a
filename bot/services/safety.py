"""Crisis-language safety checks: the configuration, its loader, the matcher, scale alerts.

Pure domain logic: no database, no Telegram. See curricula/safety.yaml for the list syntax.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.services.safety_text import Normalizer

SAFETY_FILE_NAME = "safety.yaml"
MAX_ANY_ORDER_WORDS = 4
MASK_CHAR = "_"

LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[a-z0-9]+)?$")]
NonEmpty = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]


class SafetyCategory(StrEnum):
    SELF_HARM = "self_harm"
    HARM_TO_OTHERS = "harm_to_others"
    ABUSE = "abuse"


ReplyKind = Literal["self_harm", "harm_to_others", "abuse", "low_scale"]


class SafetyConfigError(Exception):
    """The safety configuration cannot be read, parsed or compiled."""


# --- configuration models ------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Helpline(_Strict):
    name: NonEmpty
    phone: NonEmpty | None = None
    url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$")] | None = None
    note: NonEmpty | None = None

    @model_validator(mode="after")
    def _reachable(self) -> Helpline:
        if self.phone is None and self.url is None:
            raise ValueError(f"helpline {self.name!r} needs a phone or a url")
        return self

    def render(self) -> str:
        contact = " · ".join(part for part in (self.phone, self.url) if part)
        line = f"• {self.name}: {contact}"
        return f"{line} ({self.note})" if self.note else line


class CrisisResources(_Strict):
    """Where to get help now: shown in every caring reply."""

    intro: NonEmpty
    emergency: NonEmpty
    helplines: list[Helpline] = Field(default_factory=list)

    def render(self) -> str:
        """Plain text: intro, emergency line, one bullet per helpline."""
        blocks = [self.intro, self.emergency]
        if self.helplines:
            blocks.append("\n".join(helpline.render() for helpline in self.helplines))
        return "\n\n".join(blocks)


class PhraseRule(_Strict):
    """A phrase with its own settings; a plain string phrase uses the defaults."""

    phrase: NonEmpty
    gap: int | None = Field(default=None, ge=0, le=6)
    any_order: bool = False


PhraseSpec = NonEmpty | PhraseRule


class TermLists(_Strict):
    phrases: list[PhraseSpec] = Field(default_factory=list)
    patterns: list[NonEmpty] = Field(default_factory=list)

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"bad regular expression {pattern!r}: {exc}") from None
        return patterns


class Replies(_Strict):
    """Caring reply templates; `{resources}` is replaced by the rendered crisis resources."""

    self_harm: NonEmpty
    harm_to_others: NonEmpty
    abuse: NonEmpty
    low_scale: NonEmpty


class LanguageSafety(_Strict):
    """Everything language-specific: risk lists, exclusions, spelling help, replies."""

    self_harm: TermLists = Field(default_factory=TermLists)
    harm_to_others: TermLists = Field(default_factory=TermLists)
    abuse: TermLists = Field(default_factory=TermLists)
    exclusions: TermLists = Field(default_factory=TermLists)
    aliases: dict[NonEmpty, NonEmpty] = Field(default_factory=dict)
    fuzzy: list[NonEmpty] = Field(default_factory=list)
    fuzzy_protect: list[NonEmpty] = Field(default_factory=list)
    replies: Replies | None = None
    crisis_resources: CrisisResources | None = None

    def lists(self, category: SafetyCategory) -> TermLists:
        return getattr(self, category.value)


class SafetyConfig(_Strict):
    version: Literal[1] = 1
    max_gap: int = Field(default=2, ge=0, le=6, description="words allowed between phrase words")
    exclusion_gap: int = Field(default=1, ge=0, le=6)
    fallback_language: LanguageCode | None = "en"
    crisis_resources: CrisisResources
    languages: dict[LanguageCode, LanguageSafety] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_languages(self) -> SafetyConfig:
        fallback = self.fallback_language
        if fallback is not None and fallback not in self.languages:
            raise ValueError(f"fallback_language {fallback!r} is not under languages")
        without = [code for code, lang in self.languages.items() if lang.replies is None]
        if without and (fallback is None or self.languages[fallback].replies is None):
            raise ValueError(f"languages {without} have no replies and no fallback has them")
        return self

    def language_key(self, language: str | None) -> str | None:
        """The configured language for a code such as "en-GB" or "PT-br", else the fallback."""
        if language:
            code = language.strip().lower().replace("_", "-")
            for candidate in (code, code.split("-", 1)[0]):
                if candidate in self.languages:
                    return candidate
        return self.fallback_language

    def _setting(self, language: str | None, name: str) -> Any:
        for key in (self.language_key(language), self.fallback_language):
            value = getattr(self.languages[key], name) if key else None
            if value is not None:
                return value
        return None

    def resources(
        self,
        language: str | None = "en",
        override: CrisisResources | Mapping[str, Any] | None = None,
    ) -> CrisisResources:
        """Crisis resources for a language; a cohort's partial mapping overrides single keys."""
        base: CrisisResources = self._setting(language, "crisis_resources") or self.crisis_resources
        if override is None:
            return base
        if isinstance(override, CrisisResources):
            return override
        return CrisisResources.model_validate({**base.model_dump(), **override})

    def reply(
        self,
        kind: ReplyKind | SafetyCategory,
        language: str | None = "en",
        resources: CrisisResources | Mapping[str, Any] | None = None,
    ) -> str:
        """The caring reply for a match or a low-scale alert, with crisis resources filled in."""
        replies: Replies = self._setting(language, "replies")
        template: str = getattr(replies, str(kind))
        rendered = self.resources(language, resources).render()
        return template.replace("{resources}", rendered).strip()


# --- loading and overriding ----------------------------------------------------------------


def _deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; lists and plain values in `override` replace those in `base`."""
    merged = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = _deep_merge(current, value)
        else:
            merged[key] = value
    return merged


def _format_validation(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top)"
        lines.append(f"{where}: {str(item['msg']).removeprefix('Value error, ')}")
    return "; ".join(lines)


def _validate(data: Mapping[str, Any], source: str) -> SafetyConfig:
    try:
        config = SafetyConfig.model_validate(data)
    except ValidationError as exc:
        raise SafetyConfigError(f"{source}: {_format_validation(exc)}") from None
    try:
        SafetyMatcher(config)
    except SafetyConfigError as exc:
        raise SafetyConfigError(f"{source}: {exc}") from None
    return config


def merge_safety_config(
    base: SafetyConfig, override: Mapping[str, Any], source: str = "override"
) -> SafetyConfig:
    """`base` with a partial configuration laid over it (lists it defines replace base lists)."""
    return _validate(_deep_merge(base.model_dump(), override), source)


def parse_safety_config(
    text: str, source: str = "<string>", base: SafetyConfig | None = None
) -> SafetyConfig:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SafetyConfigError(f"{source}: YAML syntax error: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SafetyConfigError(f"{source}: expected a mapping at the top")
    if base is not None:
        return merge_safety_config(base, data, source)
    return _validate(data, source)


def load_safety_config(path: Path, base: SafetyConfig | None = None) -> SafetyConfig:
    """Load a full configuration, or with `base` a program/cohort override merged over it."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SafetyConfigError(f"{path}: cannot read file: {exc}") from None
    return parse_safety_config(text, str(path), base)


def program_safety_path(directory: Path, program_id: str) -> Path:
    """Where a program's own override lives: `safety-<program_id>.yaml` beside the curricula."""
    return directory / f"safety-{program_id}.yaml"


def load_program_safety_config(
    base: SafetyConfig, directory: Path, program_id: str
) -> SafetyConfig:
    """`base` merged with the program's override file when there is one."""
    path = program_safety_path(directory, program_id)
    return load_safety_config(path, base) if path.is_file() else base


# --- compiling phrases ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Alternative:
    literal: str
    wildcard: bool
    exact: str | None

    def regex(self, at_start: bool) -> str:
        """The alternative; at the start of a phrase the word-start check follows the literal.

        `want(?<!\\Swant)` lets the regex engine jump to literal candidates instead of
        testing a leading lookbehind at every position: about 20x faster on long messages.
        """
        edge = f"(?<!\\S{self.literal})" if at_start else ""
        return self.literal + edge + (r"\S*" if self.wildcard else "")


@dataclass(frozen=True)
class _Word:
    """One phrase position: its alternatives, the exact words usable as index anchors, flags."""

    alternatives: tuple[_Alternative, ...]
    optional: bool
    masked: bool

    @property
    def anchors(self) -> frozenset[str] | None:
        exact = [alt.exact for alt in self.alternatives]
        return None if None in exact else frozenset(w for w in exact if w)

    def regex(self, at_start: bool = False) -> str:
        inner = "|".join(alt.regex(at_start) for alt in self.alternatives)
        return f"({inner})" if self.masked else f"(?:{inner})"


@dataclass(frozen=True)
class _Rule:
    label: str
    regex: re.Pattern[str]
    anchors: frozenset[str] | None


def _parse_alternative(text: str, normalizer: Normalizer) -> _Alternative:
    """One alternative; "a_few_hours" is three words, "kill*" any word starting with "kill"."""
    wildcard = text.endswith("*")
    convert = normalizer.clean if wildcard else normalizer.words
    words = [w for raw in text.rstrip("*").split("_") for w in convert(raw)]
    if not words:
        raise SafetyConfigError(f"{text!r} has no letters left after normalization")
    exact = words[0] if len(words) == 1 and not wildcard else None
    return _Alternative(" ".join(map(re.escape, words)), wildcard, exact)


def _parse_word(token: str, normalizer: Normalizer) -> _Word:
    masked = token.startswith("[") and token.endswith("]")
    body = token[1:-1] if masked else token
    optional = body.endswith("?")
    body = body.removesuffix("?")
    alternatives = tuple(_parse_alternative(alt, normalizer) for alt in body.split("|") if alt)
    if not alternatives:
        raise SafetyConfigError(f"empty word {token!r}")
    return _Word(alternatives, optional, masked)


def _sequence(words: list[_Word], gap: int) -> str:
    """Words in this order with at most `gap` other words after each; optional words may go."""
    skip = rf"(?:\S+ ){{0,{gap}}}"
    parts: list[str] = []
    for index, word in enumerate(words):
        if word.optional:
            required_before = any(not w.optional for w in words[:index])
            required_after = any(not w.optional for w in words[index + 1 :])
            if required_before and required_after:
                parts.append(f"(?:{word.regex()} {skip})?")
            continue
        parts.append(f"{word.regex(at_start=not parts)} {skip}")
    return "".join(parts).removesuffix(f" {skip}") + r"(?!\S)"


def _best_anchor(words: list[_Word]) -> frozenset[str] | None:
    """The required word whose exact spellings are longest: the rarest handle to index by."""
    candidates = [w.anchors for w in words if not w.optional and w.anchors]
    return max(candidates, key=lambda a: min(len(x) for x in a)) if candidates else None


def _compile_phrase(
    spec: PhraseSpec, normalizer: Normalizer, default_gap: int, exclusion: bool
) -> _Rule:
    rule = spec if isinstance(spec, PhraseRule) else PhraseRule(phrase=spec)
    words = [_parse_word(token, normalizer) for token in rule.phrase.split()]
    if not exclusion and any(w.masked for w in words):
        raise SafetyConfigError(f"[brackets] are only for exclusions: {rule.phrase!r}")
    required = [w for w in words if not w.optional]
    if not required:
        raise SafetyConfigError(f"phrase {rule.phrase!r} has no required word")
    gap = default_gap if rule.gap is None else rule.gap
    if rule.any_order:
        if len(required) > MAX_ANY_ORDER_WORDS:
            limit = MAX_ANY_ORDER_WORDS
            raise SafetyConfigError(
                f"any_order phrases have at most {limit} words: {rule.phrase!r}"
            )
        orders = itertools.permutations(required)
        source = "|".join(f"(?:{_sequence(list(order), gap)})" for order in orders)
    else:
        source = _sequence(words, gap)
    return _Rule(rule.phrase, re.compile(source), _best_anchor(words))


def _compile_lists(
    lists: TermLists, normalizer: Normalizer, gap: int, exclusion: bool = False
) -> _RuleSet:
    rules = [_compile_phrase(spec, normalizer, gap, exclusion) for spec in lists.phrases]
    rules += [_Rule(pattern, re.compile(pattern), None) for pattern in lists.patterns]
    return _RuleSet(rules)


class _RuleSet:
    """Rules indexed by an anchor word so a message only runs the rules it could match."""

    def __init__(self, rules: list[_Rule]) -> None:
        self._rules = rules
        self._always = [i for i, rule in enumerate(rules) if rule.anchors is None]
        self._index: dict[str, list[int]] = {}
        for i, rule in enumerate(rules):
            for anchor in rule.anchors or ():
                self._index.setdefault(anchor, []).append(i)

    def candidates(self, vocabulary: set[str]) -> list[_Rule]:
        found = set(self._always)
        for word in vocabulary & self._index.keys():
            found.update(self._index[word])
        return [self._rules[i] for i in sorted(found)]

    def first(self, text: str, vocabulary: set[str]) -> _Rule | None:
        return next((r for r in self.candidates(vocabulary) if r.regex.search(text)), None)

    def mask(self, text: str, vocabulary: set[str]) -> str:
        """Blank out the bracketed words (or whole match if none) of every exclusion found."""
        spans: list[tuple[int, int]] = []
        for rule in self.candidates(vocabulary):
            for match in rule.regex.finditer(text):
                groups = [match.span(i) for i in range(1, (match.re.groups or 0) + 1)]
                marked = [span for span in groups if span[0] >= 0]
                spans.extend(marked if match.re.groups else [match.span()])
        chars = list(text)
        for start, end in spans:
            for i in range(start, end):
                if not chars[i].isspace():
                    chars[i] = MASK_CHAR
        return "".join(chars)


# --- matching ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SafetyMatch:
    """A risk found in a message: category, the configured phrase or pattern, its language."""

    category: SafetyCategory
    matched: str
    language: str


class _LanguageMatcher:
    def __init__(self, lang: LanguageSafety, config: SafetyConfig) -> None:
        self.normalizer = Normalizer(lang.aliases, lang.fuzzy, lang.fuzzy_protect)
        self.exclusions = _compile_lists(
            lang.exclusions, self.normalizer, config.exclusion_gap, exclusion=True
        )
        self.categories = [
            (category, _compile_lists(lang.lists(category), self.normalizer, config.max_gap))
            for category in SafetyCategory
        ]

    def prepare(self, text: str) -> str:
        """Normalized text with exclusion words blanked out."""
        normalized = self.normalizer.normalize(text)
        return self.exclusions.mask(normalized, set(normalized.split()))

    def check(self, text: str) -> tuple[SafetyCategory, str] | None:
        """The first category with a matching rule, and that rule's label."""
        prepared = self.prepare(text)
        vocabulary = set(prepared.split())
        for category, rules in self.categories:
            rule = rules.first(prepared, vocabulary)
            if rule is not None:
                return category, rule.label
        return None


class SafetyMatcher:
    """Checks participant text against a compiled SafetyConfig; build once, reuse."""

    def __init__(self, config: SafetyConfig) -> None:
        self.config = config
        self._languages: dict[str, _LanguageMatcher] = {}
        for code, lang in config.languages.items():
            try:
                self._languages[code] = _LanguageMatcher(lang, config)
            except (SafetyConfigError, re.error) as exc:
                raise SafetyConfigError(f"languages.{code}: {exc}") from None

    def _languages_for(self, language: str | None) -> Iterable[str]:
        key = self.config.language_key(language)
        fallback = self.config.fallback_language
        return [code for code in dict.fromkeys((key, fallback)) if code is not None]

    def check(self, text: str, language: str | None = "en") -> SafetyMatch | None:
        """The first risk found (self_harm, then harm_to_others, then abuse), or None.

        The participant's language is checked first, then the fallback language.
        """
        if not text or not text.strip():
            return None
        for code in self._languages_for(language):
            found = self._languages[code].check(text)
            if found is not None:
                return SafetyMatch(category=found[0], matched=found[1], language=code)
        return None

    def normalize(self, text: str, language: str | None = "en") -> str:
        """The text as the matcher sees it (exclusions blanked): for debugging and tests."""
        key = self.config.language_key(language)
        return self._languages[key].prepare(text) if key else text


# --- scale alerts --------------------------------------------------------------------------


def low_streak(values: list[int], at_or_below: int) -> int:
    """How many of the most recent answers in a row are at or below the threshold."""
    count = 0
    for value in reversed(values):
        if value > at_or_below:
            break
        count += 1
    return count


def scale_alert_due(values: list[int], at_or_below: int, consecutive_days: int) -> bool:
    """True when the last `consecutive_days` answers (day order, newest last) are all low.

    It stays True while the streak continues; alert once per streak by also checking
    `low_streak(values, at_or_below) == consecutive_days`.
    """
    if consecutive_days < 1:
        raise ValueError("consecutive_days must be at least 1")
    return low_streak(values, at_or_below) >= consecutive_days
