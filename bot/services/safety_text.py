"""Text normalization for the crisis-language matcher.

Participant text and configured phrases go through the same steps, so they meet in one form:
fold (lowercase, no accents, one apostrophe), split into sentences and words, expand
contractions ("he'll" -> "he will"), map leetspeak inside words ("k1ll" -> "kill"), drop
punctuation, collapse runs of a letter ("soooo" -> "so", "kill" -> "kil"), then apply the
configured aliases ("wanna" -> "want to") and one-typo variants of fuzzy terms
("suicde" -> "suicide").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

MIN_FUZZY_LENGTH = 5
_CACHE_LIMIT = 50_000
_ALPHABET = "abcdefghijklmnopqrstuvwxyz"

_APOSTROPHES = str.maketrans(dict.fromkeys("’‘`´ʼ′", "'"))
_SENTENCE_BREAK = re.compile(r"[.!?;:…]+(?=\s|$)|[\n\r]+")
_WORD = re.compile(r"(?:[^\W_]|[@$!*'])+")
_EDGE_SYMBOLS = "@$!*'"
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"}
)
_LEET_CHARS = frozenset("013457@$!")
_REPEATS = re.compile(r"([^\W\d_])\1+")
_CONTRACTIONS = (
    ("n't", " not"),
    ("'ll", " will"),
    ("'re", " are"),
    ("'ve", " have"),
    ("'m", " am"),
    ("'d", " would"),
)
_NOT_STEMS = {"ca": "can", "wo": "will", "sha": "shall", "ai": "is"}


def fold(text: str) -> str:
    """Lowercase, strip accents and unify apostrophes."""
    text = text.translate(_APOSTROPHES)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def collapse_repeats(word: str) -> str:
    """Collapse every run of one letter to a single letter: "soooo" -> "so", "kill" -> "kil"."""
    return _REPEATS.sub(r"\1", word)


def _expand_contraction(word: str) -> list[str]:
    for suffix, expansion in _CONTRACTIONS:
        if word.endswith(suffix) and len(word) > len(suffix):
            stem = word[: -len(suffix)]
            if suffix == "n't":
                stem = _NOT_STEMS.get(stem, stem)
            return [stem, expansion.strip()]
    return [word]


def clean_word(raw: str) -> str:
    """One raw word (already folded, no contraction) to its bare canonical spelling."""
    word = raw.strip("'*!")
    if word[:1] in ("@", "$") and not any(ch.isalpha() for ch in word[1:2]):
        word = word[1:]  # "$50", "@2pm"; but "$uicide" and "@ss" are leetspeak
    word = word.replace("'", "").replace("*", "")
    if _LEET_CHARS.intersection(word) and any(ch.isalpha() for ch in word):
        word = word.translate(_LEET)
    word = "".join(ch for ch in word if ch.isalnum())
    return collapse_repeats(word)


def split_word(raw: str) -> list[str]:
    """A raw folded word to clean words, expanding "n't", "'ll", "'m"... when spelled out."""
    stripped = raw.strip(_EDGE_SYMBOLS)
    parts = _expand_contraction(stripped) if "'" in stripped else [stripped]
    cleaned = (clean_word(part) for part in parts)
    return [word for word in cleaned if word]


def edit_variants(word: str) -> set[str]:
    """Every string one deletion, transposition, substitution or insertion away from `word`."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = {left + right[1:] for left, right in splits if right}
    transposes = {
        left + right[1] + right[0] + right[2:] for left, right in splits if len(right) > 1
    }
    replaces = {left + ch + right[1:] for left, right in splits if right for ch in _ALPHABET}
    inserts = {left + ch + right for left, right in splits for ch in _ALPHABET}
    return deletes | transposes | replaces | inserts


class Normalizer:
    """Turns text into canonical words, one list per sentence, for one language's lists."""

    def __init__(
        self,
        aliases: Mapping[str, str] | None = None,
        fuzzy: Iterable[str] = (),
        fuzzy_protect: Iterable[str] = (),
    ) -> None:
        self._aliases: dict[str, tuple[str, ...]] = {}
        protected = {clean_word(fold(word)) for word in fuzzy_protect}
        for term in fuzzy:
            self._add_fuzzy(clean_word(fold(term)), protected)
        for key, value in (aliases or {}).items():
            words = tuple(w for part in fold(value).split() for w in split_word(part))
            self._aliases[clean_word(fold(key))] = words
        self._cache: dict[str, tuple[str, ...]] = {}

    def _add_fuzzy(self, term: str, protected: set[str]) -> None:
        for variant in edit_variants(term):
            variant = collapse_repeats(variant)
            if len(variant) >= MIN_FUZZY_LENGTH and variant != term and variant not in protected:
                self._aliases.setdefault(variant, (term,))

    def canonical(self, word: str) -> tuple[str, ...]:
        """A clean word after aliases and fuzzy correction (possibly several words)."""
        return self._aliases.get(word, (word,))

    def clean(self, raw: str) -> tuple[str, ...]:
        """Clean words for one raw word, without aliases or fuzzy correction (for stems)."""
        return tuple(split_word(fold(raw)))

    def words(self, raw: str) -> tuple[str, ...]:
        """Canonical words for one raw, folded word."""
        cached = self._cache.get(raw)
        if cached is None:
            cached = tuple(w for part in split_word(raw) for w in self.canonical(part))
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[raw] = cached
        return cached

    def sentences(self, text: str) -> list[list[str]]:
        """Canonical words of each sentence; empty sentences are dropped."""
        result = []
        for sentence in _SENTENCE_BREAK.split(fold(text)):
            words = [w for raw in _WORD.findall(sentence) for w in self.words(raw)]
            if words:
                result.append(words)
        return result

    def normalize(self, text: str) -> str:
        """Words joined by single spaces, one line per sentence: the form the matcher searches."""
        return "\n".join(" ".join(words) for words in self.sentences(text))
