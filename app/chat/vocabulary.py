"""The extraction vocabulary (``data/extract.yaml``), loaded once and validated: a malformed
file fails at import, in the tests, not in a customer's turn."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, model_validator

VOCABULARY = Path(__file__).parent / "data" / "extract.yaml"


class Vocabulary(BaseModel):
    """data/extract.yaml: attribute values, the sentiment lexicon and function words."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    materials: tuple[str, ...]
    colors: tuple[str, ...]
    diets: tuple[str, ...]
    certifications: tuple[str, ...]
    patterns: tuple[str, ...]
    canonical: dict[str, str]
    positive: dict[str, float]
    negative: dict[str, float]
    intensifiers: dict[str, float]
    like_verb_before: frozenset[str]
    negators: frozenset[str]
    negator_phrases: frozenset[str]
    answer_words: frozenset[str]
    not_after_too: frozenset[str]
    discourse_markers: frozenset[str]
    ellipsis_heads: frozenset[str]
    objectless_tail: frozenset[str]
    no_opinion: tuple[str, ...]
    ordinals: dict[str, int]
    number_words: dict[str, int]
    stopwords: frozenset[str]
    not_constraint: frozenset[str]
    small_talk: frozenset[str]

    @model_validator(mode="after")
    def _weights(self) -> Vocabulary:
        if any(not 0 < w <= 1 for w in self.positive.values()) or any(
                not -1 <= w < 0 for w in self.negative.values()):
            raise ValueError("positive weights must be in (0, 1], negative in [-1, 0)")
        if any(w <= 0 for w in self.intensifiers.values()):
            raise ValueError("intensifiers scale by a positive factor")
        if not self.negator_phrases <= set(self.negative):
            raise ValueError("negator_phrases must be negative lexicon entries")
        for pattern in self.no_opinion:
            re.compile(pattern)  # a bad pattern fails here, at load
        return self


def load_vocabulary(path: Path = VOCABULARY) -> Vocabulary:
    with path.open(encoding="utf-8") as f:
        return Vocabulary.model_validate(yaml.safe_load(f))


V = load_vocabulary()
