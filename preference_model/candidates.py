"""Candidate generators: the first stage of every decision, so ranking never has to score
the whole catalog and no item is hidden by a fixed cap.

Each generator proposes item rows for one customer from one angle; `propose` merges them
with provenance (which generators proposed each item: it feeds the reasons):

- taste: maximum inner product search of the customer's query vector over the items'
  factor vectors, augmented with each item's bias so the search ranks by the population
  and taste terms of the score (model/scoring.py) exactly as the ranker does;
- neighbours: the item-to-item (EASE) rows of the recent history;
- repurchase: the customer's own past purchases (a repurchase model plugs in here);
- popular: the items with the highest population score (cold start, anonymous visitors);
- exploration: a few random items, seeded per customer + session + surface so the same
  request twice in a session proposes the same items.

The taste search runs over `FactorIndex`: exact below `exact_below` items, FAISS IVF above
(with the standard MIPS-to-nearest-neighbour augmentation, Bachrach et al. 2014: every
vector padded to the same norm, so an L2-clustered index answers inner-product queries).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import faiss
import numpy as np

from preference_model.signals import Context

if TYPE_CHECKING:
    from preference_model.config import Population
    from preference_model.items import ItemTable
    from preference_model.similar import ItemNeighbors
    from preference_model.state import CustomerState, HistoryEntry

SOURCES = ("taste", "neighbours", "repurchase", "trending", "popular", "exploration")


class Scorer(Protocol):
    """What the generators read from the model (`PreferenceModel` has it): a narrow view,
    so this module does not import the model that calls it."""

    @property
    def vectors(self) -> np.ndarray: ...

    def require(self) -> tuple[ItemTable, Population]: ...

    def factor_query(self, st: CustomerState | None, role: str, ctx: Context,
                     t: float) -> np.ndarray: ...

    def similar_scores(self, st: CustomerState, role: str,
                       similar: ItemNeighbors) -> np.ndarray | None: ...

    def history(self, st: CustomerState, role: str, *, positive: bool = False,
                last: int | None = None) -> tuple[list[HistoryEntry], np.ndarray]: ...

    def resolve_context(self, st: CustomerState | None,
                        context: Context | Mapping[str, object] | None) -> Context: ...


@dataclass(frozen=True)
class Budget:
    """How many items each generator proposes (before merging)."""

    taste: int = 300
    neighbours: int = 150
    repurchase: int = 50
    popular: int = 100
    exploration: int = 3


@dataclass
class Proposal:
    """Merged candidates in the order first proposed, with who proposed each one."""

    sources: dict[str, set[str]] = field(default_factory=dict)

    def add(self, ids: Iterable[str], source: str) -> None:
        for item_id in ids:
            self.sources.setdefault(item_id, set()).add(source)

    @property
    def ids(self) -> list[str]:
        return list(self.sources)


def session_seed(*parts: str) -> int:
    """A stable 32-bit seed (crc32: the same in every process, unlike hash())."""
    return zlib.crc32("\x1f".join(parts).encode())


class FactorIndex:
    """Top-k rows by <q, v_i> + b_i over all items, exact or approximate (see module)."""

    def __init__(self, vectors: np.ndarray, bias: np.ndarray, *, exact_below: int = 50_000,
                 nprobe: int = 24) -> None:
        aug = np.hstack([vectors, bias[:, None]]).astype(np.float32)
        self.n = len(aug)
        self.exact = self.n < exact_below
        if self.exact:
            self._aug = aug
            return
        norms = np.linalg.norm(aug, axis=1)
        pad = np.sqrt(np.maximum(norms.max() ** 2 - norms ** 2, 0.0)).astype(np.float32)
        data = np.ascontiguousarray(np.hstack([aug, pad[:, None]]))
        dim = data.shape[1]
        nlist = max(1, int(2 * math.sqrt(self.n)))
        quantizer = faiss.IndexFlatL2(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(0)
        sample = rng.choice(self.n, size=min(self.n, 32 * nlist), replace=False)
        index.train(data[np.sort(sample)])
        index.add(data)
        index.nprobe = nprobe
        self._index = index

    def search(self, query: np.ndarray, k: int) -> np.ndarray:
        q = np.append(query, 1.0).astype(np.float32)
        k = min(k, self.n)
        if k < 1:
            return np.zeros(0, dtype=np.int64)
        if self.exact:
            scores = self._aug @ q
            top = np.argpartition(-scores, k - 1)[:k]
            return top[np.argsort(-scores[top], kind="stable")]
        _, rows = self._index.search(np.append(q, 0.0).astype(np.float32)[None, :], k)
        return rows[0][rows[0] >= 0]


class Generators:
    """The generators for one model's item table; rebuilt when the table changes."""

    def __init__(self, model: Scorer, *, exact_below: int = 50_000) -> None:
        items, pop = model.require()
        self.model = model
        self.vectors = model.vectors  # identity of the table these structures were built for
        item_score = pop.item_bias + pop.w_pop * items.pop
        self.factors = FactorIndex(self.vectors, item_score, exact_below=exact_below)
        self.by_popularity = np.argsort(-item_score, kind="stable")

    def fresh(self, model: Scorer) -> bool:
        return self.vectors is model.vectors

    def query(self, st: CustomerState | None, role: str, ctx: Context, t: float) -> np.ndarray:
        """The customer's vector in the score's factor term (`PreferenceModel.factor_query`)."""
        return self.model.factor_query(st, role, ctx, t)

    def taste(self, st: CustomerState | None, role: str, ctx: Context, t: float,
              k: int) -> np.ndarray:
        return self.factors.search(self.query(st, role, ctx, t), k)

    def neighbours(self, st: CustomerState | None, role: str, k: int) -> np.ndarray:
        _, pop = self.model.require()
        if st is None or pop.similar is None or k < 1:
            return np.zeros(0, dtype=np.int64)
        scores = self.model.similar_scores(st, role, pop.similar)
        if scores is None:
            return np.zeros(0, dtype=np.int64)
        hist, rows = self.model.history(st, role)
        touched = np.unique(pop.similar.idx[rows].ravel())
        touched = touched[touched >= 0]
        touched = touched[scores[touched] > 0]
        return touched[np.argsort(-scores[touched], kind="stable")][:k]

    def repurchase(self, st: CustomerState | None, role: str, k: int) -> list[str]:
        """The customer's own purchases, most recent first (the fallback generator)."""
        if st is None:
            return []
        seen: dict[str, None] = {}
        for h in reversed(st.history):
            if h.role == role and h.kind == "purchase" and h.weight > 0:
                seen.setdefault(h.item_id)
        return list(seen)[:k]

    def popular(self, k: int) -> np.ndarray:
        return self.by_popularity[:k]

    def exploration(self, seed: int, k: int) -> np.ndarray:
        n = len(self.by_popularity)
        if k < 1 or n == 0:
            return np.zeros(0, dtype=np.int64)
        return np.random.default_rng(seed).choice(n, size=min(k, n), replace=False)


RepurchaseSource = Callable[[str, float, int], Sequence[str]]


def propose(model: Scorer, gens: Generators, st: CustomerState | None,
            customer_id: str, role: str, context: Context | Mapping[str, object] | None,
            t: float, *, budget: Budget, seed: int, trending: Sequence[str] = (),
            bought: Sequence[str] | None = None) -> Proposal:
    """Every generator's proposals, merged and de-duplicated (removed items dropped).
    `bought`: the repurchase source's answer, asked beforehand (outside the catalog lock);
    None = the customer's own purchases."""
    items, _ = model.require()
    ctx = model.resolve_context(st, context)
    out = Proposal()

    def ids(rows: Any) -> list[str]:
        return [items.ids[int(r)] for r in rows if not items.removed[int(r)]]

    out.add(ids(gens.taste(st, role, ctx, t, budget.taste)), "taste")
    out.add(ids(gens.neighbours(st, role, budget.neighbours)), "neighbours")
    if bought is None:
        bought = gens.repurchase(st, role, budget.repurchase)
    out.add((i for i in bought if i in items.index), "repurchase")
    out.add((i for i in trending if i in items.index), "trending")
    out.add(ids(gens.popular(budget.popular)), "popular")
    out.add(ids(gens.exploration(seed, budget.exploration)), "exploration")
    return out
