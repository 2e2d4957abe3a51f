"""A tiny synthetic shop for the preference-model tests (no downloads, deterministic)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from preference_model import PreferenceConfig, PreferenceModel, Signal, StateStore

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)  # a Monday, noon
DIM = 16


def _catalog() -> tuple[list[str], np.ndarray, list[dict[str, list[str]]], list[str],
                        list[list[str]], list[str]]:
    rng = np.random.default_rng(7)
    directions: dict[str, np.ndarray] = {}

    def d(key: str) -> np.ndarray:
        if key not in directions:
            directions[key] = rng.standard_normal(DIM)
        return directions[key]

    ids, embs, attrs, cats, topics, titles = [], [], [], [], [], []
    spec = (
        [("Food", {"diet": ["vegan"]}, [])] * 10
        + [("Food", {"diet": ["regular"]}, [])] * 10
        + [("Shoes", {"material": ["leather"]}, [])] * 10
        + [("Shoes", {"material": ["synthetic"]}, [])] * 10
        + [("Kids", {"age": ["toddler"]}, [])] * 10
        + [("Pharmacy", {"topic": ["health"]}, ["health"])] * 6
        + [("Home", {"style": ["modern"]}, [])] * 4
    )
    for n, (cat, attr, topic) in enumerate(spec):
        vec = d(cat) + sum(d(f"{k}={v[0]}") for k, v in attr.items()) \
            + 0.4 * rng.standard_normal(DIM)
        ids.append(f"i{n:02d}")
        embs.append(vec / np.linalg.norm(vec))
        attrs.append(attr)
        cats.append(cat)
        topics.append(topic)
        value = next(iter(attr.values()))[0]
        titles.append(f"{value} {cat.lower()} #{n}")
    return ids, np.array(embs), attrs, cats, topics, titles


IDS, EMB, ATTRS, CATS, TOPICS, TITLES = _catalog()
VEGAN = [i for i, a in zip(IDS, ATTRS, strict=True) if a.get("diet") == ["vegan"]]
LEATHER = [i for i, a in zip(IDS, ATTRS, strict=True) if a.get("material") == ["leather"]]
KIDS = [i for i, c in zip(IDS, CATS, strict=True) if c == "Kids"]
HEALTH = [i for i, c in zip(IDS, CATS, strict=True) if c == "Pharmacy"]
POPULARITY = np.random.default_rng(3).integers(0, 50, len(IDS)).astype(float)


def make_model(store: StateStore | None = None, **config: object) -> PreferenceModel:
    model = PreferenceModel(PreferenceConfig(**config), store)  # type: ignore[arg-type]
    model.set_items(IDS, EMB, ATTRS, CATS, POPULARITY, titles=TITLES, sensitive_topics=TOPICS)
    return model


def at(minutes: float = 0.0, days: float = 0.0) -> datetime:
    return T0 + timedelta(minutes=minutes, days=days)


def event(customer: str, item: str, event_type: str = "purchase", *, minutes: float = 0.0,
          days: float = 0.0, role: str = "self", **kw: object) -> Signal:
    return Signal(customer, "inferred", item_id=item, event_type=event_type,
                  at=at(minutes, days), role=role, **kw)  # type: ignore[arg-type]


def top(model: PreferenceModel, customer: str, k: int = 10, **kw: object) -> list[str]:
    kw.setdefault("at", at(days=0))
    return [s.item_id for s in model.rank(customer, IDS, **kw)[:k]]  # type: ignore[arg-type]


def share(items: list[str], group: list[str]) -> float:
    return sum(i in group for i in items) / len(items)
