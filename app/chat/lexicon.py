"""The conversation layer's vocabulary, loaded once from ``data/conversation.yaml`` and
validated (a malformed file fails at import, in the tests, not in a customer's turn)."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, field_validator

DATA = Path(__file__).parent / "data" / "conversation.yaml"


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    text: str
    options: list[str]

    def ask(self, extra: list[str] | None = None) -> dict[str, object]:
        return {"text": self.text, "options": [*self.options, *(extra or [])][:4]}


class Lexicon(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    number_words: dict[str, int]
    relations: dict[str, tuple[Literal["female", "male"] | None, Literal["child", "adult"]]]
    occasions: dict[str, str]
    allergens: dict[str, list[str]]
    allergen_aliases: dict[str, str]
    diet_conflicts: dict[str, list[str]]
    type_synonyms: dict[str, str]
    generic_words: frozenset[str]
    questions: dict[Literal["greet", "who_for", "budget", "which_one"], Question]

    @field_validator("allergen_aliases")
    @classmethod
    def _aliases_known(cls, v: dict[str, str], info: object) -> dict[str, str]:
        known = getattr(info, "data", {}).get("allergens", {})
        unknown = sorted({a for a in v.values() if a not in known})
        if unknown:
            raise ValueError(f"allergen aliases point at unknown allergens: {unknown}")
        return v

    @field_validator("number_words", "relations", "occasions", "allergens", "type_synonyms")
    @classmethod
    def _lowercase_keys(cls, v: dict[str, object]) -> dict[str, object]:
        bad = [k for k in v if k != k.lower() or not k.strip()]
        if bad:
            raise ValueError(f"keys must be lowercase words: {bad}")
        return v


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    with DATA.open(encoding="utf-8") as f:
        return Lexicon.model_validate(yaml.safe_load(f))


def words_pattern(words: list[str] | tuple[str, ...]) -> re.Pattern[str]:
    """Whole words (plural-tolerant), longest first."""
    alts = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<![a-z0-9])(?:{alts})(?:s|es)?(?![a-z0-9])", re.I)


def stem(word: str) -> str:
    """A crude singular: enough to match "sweaters" with "sweater", "boxes" with "box"."""
    w = word.lower()
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 4 and re.search(r"(?:ss|x|ch|sh)es$", w):
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
        return w[:-1]
    return w
