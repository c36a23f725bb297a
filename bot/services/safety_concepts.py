"""The concept-rules layer of the safety detector: small lexicons of concepts (means, acts,
finality, a dependent, ...) and frames that combine them within one sentence, with the
sentence's distance markers ("years ago", "a film about", "at work") and negations ("I would
never") switching a frame off.

Lexicons and frames are data, one file per language (bot/safety_data/<lang>/concepts.yaml), so
a clinician can read and extend them. Terms go through the same normalizer as the phrase lists
("pills" and "pils", "im" and "i am" meet). A term is one to four words; a word ending in `*`
matches every word that starts with it.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bot.services.safety_model import CATEGORIES, SAFETY_DATA
from bot.services.safety_text import Normalizer, split_word

NEGATION_REACH = 4
"""A negation this many words (or fewer) before a frame's first word switches it off."""


class ConceptsError(Exception):
    """A concepts file cannot be read or does not follow the format."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FrameSpec(_Strict):
    name: str
    category: str
    all: list[str] = Field(min_length=1)
    window: int = Field(default=10, ge=1, le=60)
    ordered: bool = False
    """When true, the concepts must appear in the order listed."""


class ConceptsFile(_Strict):
    concepts: dict[str, list[str]]
    distance: list[str] = Field(default_factory=list)
    negation: list[str] = Field(default_factory=list)
    frames: list[FrameSpec]

    @model_validator(mode="after")
    def _known_names(self) -> ConceptsFile:
        for frame in self.frames:
            unknown = [name for name in frame.all if name not in self.concepts]
            if unknown:
                raise ValueError(f"frame {frame.name!r} uses unknown concepts {unknown}")
            if frame.category not in CATEGORIES or frame.category == "none":
                raise ValueError(f"frame {frame.name!r}: unknown category {frame.category!r}")
        return self


@dataclass(frozen=True)
class _Word:
    text: str
    prefix: bool

    def matches(self, word: str) -> bool:
        return word.startswith(self.text) if self.prefix else word == self.text


@dataclass(frozen=True)
class _Term:
    words: tuple[_Word, ...]

    def ends_at(self, sentence: Sequence[str], start: int) -> int | None:
        """The index after the term if it starts at `start`, else None."""
        end = start + len(self.words)
        if end > len(sentence):
            return None
        ok = all(w.matches(sentence[start + i]) for i, w in enumerate(self.words))
        return end if ok else None


@dataclass(frozen=True)
class ConceptHit:
    frame: str
    category: str
    words: str  # the stretch of the sentence the frame covered, normalized

    @property
    def reason(self) -> str:
        return f"concept rule: {self.frame} ({self.words})"


def _parse_term(raw: str) -> _Term:
    words: list[_Word] = []
    for token in raw.split():
        if token == "*":  # any one word
            words.append(_Word("", True))
            continue
        prefix = token.endswith("*")
        for word in split_word(token.rstrip("*").casefold()):
            words.append(_Word(word, False))
        if prefix and words:
            words[-1] = _Word(words[-1].text, True)
    if not words:
        raise ConceptsError(f"empty concept term {raw!r}")
    return _Term(tuple(words))


def _spans(terms: Sequence[_Term], sentence: Sequence[str]) -> list[tuple[int, int]]:
    spans = []
    for start in range(len(sentence)):
        for term in terms:
            end = term.ends_at(sentence, start)
            if end is not None:
                spans.append((start, end))
    return spans


class ConceptRules:
    def __init__(self, spec: ConceptsFile) -> None:
        self.spec = spec
        self.concepts = {k: [_parse_term(t) for t in v] for k, v in spec.concepts.items()}
        self.distance = [_parse_term(t) for t in spec.distance]
        self.negation = [_parse_term(t) for t in spec.negation]
        self.normalizer = Normalizer()

    @classmethod
    def from_file(cls, path: Path) -> ConceptRules:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            return cls(ConceptsFile.model_validate(data))
        except (OSError, yaml.YAMLError, ValidationError) as exc:
            raise ConceptsError(f"{path}: {exc}") from None

    def find(self, text: str) -> ConceptHit | None:
        """The first frame that holds in a sentence without a distance marker or negation."""
        for sentence in self.normalizer.sentences(text):
            if _spans(self.distance, sentence):
                continue
            negations = [start for start, _ in _spans(self.negation, sentence)]
            found: dict[str, list[tuple[int, int]]] = {}
            for frame in self.spec.frames:
                hit = self._frame_hit(frame, sentence, negations, found)
                if hit is not None:
                    return hit
        return None

    def _frame_hit(
        self,
        frame: FrameSpec,
        sentence: list[str],
        negations: list[int],
        found: dict[str, list[tuple[int, int]]],
    ) -> ConceptHit | None:
        for name in frame.all:
            if name not in found:
                found[name] = _spans(self.concepts[name], sentence)
            if not found[name]:
                return None
        chosen = _closest(frame, [found[name] for name in frame.all])
        if chosen is None:
            return None
        first = min(start for start, _ in chosen)
        last = max(end for _, end in chosen)
        if any(_negates(n, first, chosen) for n in negations):
            return None
        return ConceptHit(frame.name, frame.category, " ".join(sentence[first:last]))


def _negates(position: int, first: int, chosen: list[tuple[int, int]]) -> bool:
    """A negation shortly before or inside the frame, unless it is part of a concept's own
    words ("no point", "don't want to live" carry their negation with them)."""
    last = max(end for _, end in chosen)
    if not first - NEGATION_REACH <= position < last:
        return False
    return not any(start <= position < end for start, end in chosen)


def _closest(
    frame: FrameSpec, options: list[list[tuple[int, int]]]
) -> list[tuple[int, int]] | None:
    """One span of every concept, the narrowest such choice, if it fits the window."""
    best: list[tuple[int, int]] | None = None
    best_width = frame.window + 1

    def walk(index: int, chosen: list[tuple[int, int]]) -> None:
        nonlocal best, best_width
        if index == len(options):
            if frame.ordered and any(a[0] >= b[0] for a, b in itertools.pairwise(chosen)):
                return
            width = max(e for _, e in chosen) - min(s for s, _ in chosen)
            if width < best_width:
                best, best_width = list(chosen), width
            return
        for span in options[index][:8]:
            walk(index + 1, [*chosen, span])

    walk(0, [])
    return best


def concepts_path(language: str) -> Path:
    return SAFETY_DATA / language / "concepts.yaml"


@functools.cache
def shipped_rules(language: str) -> ConceptRules | None:
    """The language's shipped rules, loaded once; None for a language without a file."""
    path = concepts_path(language)
    return ConceptRules.from_file(path) if path.exists() else None
