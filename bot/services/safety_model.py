"""The statistical layer of the safety detector: a linear model over word and character
n-grams, trained from the shipped corpus, shipped as plain parameters (JSON + NPZ, never a
pickle), loaded once.

`train` is deterministic for a given corpus and seed; `resilience-bot safety train` writes the
parameters and the corpus hash they came from, and a test fails when they no longer match.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from bot.services.safety_text import fold

NONE = "none"
CATEGORIES = ("none", "self_harm", "harm_to_others", "abuse", "harm_to_dependent")
SAFETY_DATA = Path(__file__).resolve().parents[1] / "safety_data"
MODEL_VERSION = 1
_REPEATS = re.compile(r"(.)\1{2,}")


def model_text(text: str) -> str:
    """What the model reads: folded (lowercase, no accents), long letter runs cut to two."""
    return _REPEATS.sub(r"\1\1", fold(text))


@dataclass(frozen=True)
class Example:
    text: str
    category: str
    kind: str
    level: str | None = None


class CorpusError(Exception):
    """A corpus file cannot be read, or a line is not labelled as the format says."""


def load_examples(path: Path) -> list[Example]:
    """One labelled file: `items:` with category, kind, text (and level for training)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CorpusError(f"{path}: {exc}") from None
    items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise CorpusError(f"{path}: expected a mapping with an 'items' list")
    examples = []
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise CorpusError(f"{path}: item {number} has no text")
        category = item.get("category", NONE)
        if category not in CATEGORIES:
            raise CorpusError(f"{path}: item {number}: unknown category {category!r}")
        examples.append(
            Example(item["text"], category, str(item.get("kind", "")), item.get("level"))
        )
    return examples


def corpus_files(language: str = "en") -> list[Path]:
    return sorted((SAFETY_DATA / language / "corpus").glob("*.yaml"))


def corpus_hash(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _vectorizers() -> tuple[TfidfVectorizer, TfidfVectorizer]:
    words = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, dtype=np.float64)
    chars = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(2, 5), min_df=3, sublinear_tf=True, dtype=np.float64
    )
    return words, chars


@dataclass
class SafetyModel:
    words: TfidfVectorizer
    chars: TfidfVectorizer
    coef: np.ndarray  # classes x features
    intercept: np.ndarray
    classes: tuple[str, ...]
    corpus_sha256: str

    def features(self, texts: list[str]) -> sparse.csr_matrix:
        prepared = [model_text(t) for t in texts]
        return sparse.hstack(
            [self.words.transform(prepared), self.chars.transform(prepared)], format="csr"
        )

    def probabilities(self, texts: list[str]) -> np.ndarray:
        scores = self.features(texts) @ self.coef.T + self.intercept
        scores -= scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return exp / exp.sum(axis=1, keepdims=True)  # type: ignore[no-any-return]

    def predict(self, text: str) -> tuple[float, str]:
        """P(any risk) and the most likely risk category."""
        probs = self.probabilities([text])[0]
        none = self.classes.index(NONE)
        risk = {c: p for c, p in zip(self.classes, probs, strict=True) if c != NONE}
        return float(1.0 - probs[none]), max(risk, key=risk.__getitem__)

    # -- plain files ----------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        meta = {
            "version": MODEL_VERSION,
            "corpus_sha256": self.corpus_sha256,
            "classes": list(self.classes),
            "words": _vectorizer_meta(self.words),
            "chars": _vectorizer_meta(self.chars),
        }
        (directory / "model.json").write_text(json.dumps(meta, sort_keys=True), "utf-8")
        with (directory / "model.npz").open("wb") as sink:
            np.savez_compressed(
                sink,
                coef=self.coef.astype(np.float32),
                intercept=self.intercept.astype(np.float32),
                words_idf=self.words.idf_.astype(np.float32),
                chars_idf=self.chars.idf_.astype(np.float32),
            )

    @classmethod
    def load(cls, directory: Path) -> SafetyModel:
        meta = json.loads((directory / "model.json").read_text("utf-8"))
        if meta.get("version") != MODEL_VERSION:
            raise CorpusError(f"{directory}: model version {meta.get('version')} is not supported")
        with np.load(directory / "model.npz", allow_pickle=False) as arrays:
            words = _restore(meta["words"], arrays["words_idf"])
            chars = _restore(meta["chars"], arrays["chars_idf"])
            coef = arrays["coef"].astype(np.float64)
            intercept = arrays["intercept"].astype(np.float64)
        return cls(words, chars, coef, intercept, tuple(meta["classes"]), meta["corpus_sha256"])


def _vectorizer_meta(vectorizer: TfidfVectorizer) -> dict[str, Any]:
    vocabulary = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
    return {
        "analyzer": vectorizer.analyzer,
        "ngram_range": list(vectorizer.ngram_range),
        "vocabulary": vocabulary,
    }


def _restore(meta: dict[str, Any], idf: np.ndarray) -> TfidfVectorizer:
    vectorizer = TfidfVectorizer(
        analyzer=meta["analyzer"],
        ngram_range=tuple(meta["ngram_range"]),
        vocabulary={term: index for index, term in enumerate(meta["vocabulary"])},
        sublinear_tf=True,
        dtype=np.float64,
    )
    vectorizer.idf_ = idf.astype(np.float64)
    return vectorizer


def train(
    examples: list[Example], *, corpus_sha256: str, seed: int = 0, c: float = 8.0
) -> SafetyModel:
    """Fit the vectorizers and a multinomial logistic regression, deterministically."""
    ordered = sorted(examples, key=lambda e: (e.category, e.text))
    texts = [model_text(e.text) for e in ordered]
    labels = [e.category for e in ordered]
    words, chars = _vectorizers()
    matrix = sparse.hstack([words.fit_transform(texts), chars.fit_transform(texts)], format="csr")
    classifier = LogisticRegression(C=c, max_iter=3000, random_state=seed, class_weight=None)
    classifier.fit(matrix, labels)
    classes = tuple(str(c) for c in classifier.classes_)
    return SafetyModel(
        words,
        chars,
        classifier.coef_.astype(np.float32).astype(np.float64),
        classifier.intercept_.astype(np.float32).astype(np.float64),
        classes,
        corpus_sha256,
    )
