"""Per-customer state: what has been learned about one person (and whom they buy for).

A `CustomerState` is plain data with numpy vectors of a few dozen floats. It serialises to
compact JSON bytes (`to_bytes` / `from_bytes`) so any key-value or SQL store can keep it;
no pickle, no code in the payload. Times are POSIX seconds (UTC).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from preference_model.errors import StateCorruptError
from preference_model.repurchase import PurchaseLog

SCHEMA = 1


@dataclass
class AttrPref:
    """A preference about an attribute ("diet=vegan") or item.

    Stated: `value` in [-1, 1] as said, `confidence` 1.0, `hard` for constraints.
    Inferred: `value` is the learned logit weight, `evidence` the summed |event weights|.
    """

    value: float
    confidence: float
    source: str
    at: float
    hard: bool = False
    evidence: float = 0.0

    def to_json(self) -> list[Any]:
        return [self.value, self.confidence, self.source, self.at, self.hard, self.evidence]

    @classmethod
    def from_json(cls, raw: list[Any]) -> AttrPref:
        v, c, s, a, h, e = raw
        return cls(float(v), float(c), str(s), float(a), bool(h), float(e))


@dataclass
class HistoryEntry:
    """A recent item interaction, kept (bounded) for explanations and role corrections."""

    item_id: str
    weight: float
    kind: str
    role: str
    at: float
    source: str = ""

    def to_json(self) -> list[Any]:
        return [self.item_id, self.weight, self.kind, self.role, self.at, self.source]

    @classmethod
    def from_json(cls, raw: list[Any]) -> HistoryEntry:
        i, w, k, r, a, s = raw
        return cls(str(i), float(w), str(k), str(r), float(a), str(s))


def _vec(dim: int, fill: float = 0.0) -> np.ndarray:
    return np.full(dim, fill, dtype=np.float64)


@dataclass
class Taste:
    """One taste profile: the customer's own, or a recipient's ("child", "partner", ...).

    `long` is the deviation from the prior mean (population or cohort centroid) with a
    diagonal Gaussian posterior of precision `precision` (the Bayesian last layer);
    `short` is the session vector, decaying from `short_at`.
    """

    long: np.ndarray
    precision: np.ndarray
    short: np.ndarray
    short_at: float = 0.0
    long_at: float = 0.0
    stated: dict[str, AttrPref] = field(default_factory=dict)
    inferred: dict[str, AttrPref] = field(default_factory=dict)
    stated_items: dict[str, AttrPref] = field(default_factory=dict)
    context: dict[str, float] = field(default_factory=dict)
    suppressed: set[str] = field(default_factory=set)
    n_signals: int = 0

    @classmethod
    def fresh(cls, dim: int, prior_precision: np.ndarray) -> Taste:
        return cls(long=_vec(dim), precision=prior_precision.astype(np.float64).copy(),
                   short=_vec(dim))

    def copy(self) -> Taste:
        return Taste(
            long=self.long.copy(), precision=self.precision.copy(), short=self.short.copy(),
            short_at=self.short_at, long_at=self.long_at,
            stated={k: AttrPref(**vars(v)) for k, v in self.stated.items()},
            inferred={k: AttrPref(**vars(v)) for k, v in self.inferred.items()},
            stated_items={k: AttrPref(**vars(v)) for k, v in self.stated_items.items()},
            context=dict(self.context), suppressed=set(self.suppressed),
            n_signals=self.n_signals,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "long": self.long, "precision": self.precision, "short": self.short,
            "short_at": self.short_at, "long_at": self.long_at,
            "stated": {k: v.to_json() for k, v in self.stated.items()},
            "inferred": {k: v.to_json() for k, v in self.inferred.items()},
            "stated_items": {k: v.to_json() for k, v in self.stated_items.items()},
            "context": self.context, "suppressed": sorted(self.suppressed),
            "n_signals": self.n_signals,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Taste:
        return cls(
            long=np.asarray(raw["long"], dtype=np.float64),
            precision=np.asarray(raw["precision"], dtype=np.float64),
            short=np.asarray(raw["short"], dtype=np.float64),
            short_at=float(raw["short_at"]), long_at=float(raw["long_at"]),
            stated={k: AttrPref.from_json(v) for k, v in raw["stated"].items()},
            inferred={k: AttrPref.from_json(v) for k, v in raw["inferred"].items()},
            stated_items={k: AttrPref.from_json(v) for k, v in raw["stated_items"].items()},
            context={str(k): float(v) for k, v in raw["context"].items()},
            suppressed=set(raw["suppressed"]), n_signals=int(raw["n_signals"]),
        )


@dataclass
class CustomerState:
    """Everything learned about one customer; `version` is the store's version."""

    customer_id: str
    own: Taste
    recipients: dict[str, Taste] = field(default_factory=dict)
    cohort: int | None = None
    history: list[HistoryEntry] = field(default_factory=list)
    demographics: dict[str, AttrPref] = field(default_factory=dict)
    last_context: dict[str, str] = field(default_factory=dict)
    # Reserved for the chat: tone, verbosity, language... the model never reads it.
    style: dict[str, Any] = field(default_factory=dict)
    created_at: float = 0.0
    updated_at: float = 0.0
    version: int = 0
    # The latent space the vectors live in: the population's version id (a content hash of
    # the trained prior, or the content-only default's shape). None = written before states
    # were stamped. A state from another space is rebuilt, never scored (migrate.py).
    space: str | None = None
    # When the prior of `space` was trained (POSIX s; 0 = the untrained default): a worker
    # that meets a state from a newer prior knows to look for that prior.
    space_trained_at: float = 0.0
    # Purchases per role and item (repurchase.py): not in any latent space, so a rebuilt
    # state keeps them as they are.
    purchases: dict[str, dict[str, PurchaseLog]] = field(default_factory=dict)

    @classmethod
    def fresh(cls, customer_id: str, dim: int, prior_precision: np.ndarray,
              at: float = 0.0) -> CustomerState:
        return cls(customer_id=customer_id, own=Taste.fresh(dim, prior_precision),
                   created_at=at, updated_at=at)

    @property
    def dim(self) -> int:
        return int(self.own.long.shape[0])

    def taste(self, role: str) -> Taste | None:
        return self.own if role == "self" else self.recipients.get(role)

    @property
    def n_signals(self) -> int:
        return self.own.n_signals + sum(t.n_signals for t in self.recipients.values())

    def copy(self) -> CustomerState:
        return CustomerState(
            customer_id=self.customer_id, own=self.own.copy(),
            recipients={k: v.copy() for k, v in self.recipients.items()},
            cohort=self.cohort,
            history=[HistoryEntry(**vars(h)) for h in self.history],
            demographics={k: AttrPref(**vars(v)) for k, v in self.demographics.items()},
            last_context=dict(self.last_context), style=json.loads(json.dumps(self.style)),
            created_at=self.created_at, updated_at=self.updated_at, version=self.version,
            space=self.space, space_trained_at=self.space_trained_at,
            purchases=copy_purchases(self.purchases),
        )

    def to_bytes(self) -> bytes:
        payload = {
            "schema": SCHEMA, "customer_id": self.customer_id, "own": self.own.to_json(),
            "recipients": {k: v.to_json() for k, v in self.recipients.items()},
            "cohort": self.cohort, "history": [h.to_json() for h in self.history],
            "demographics": {k: v.to_json() for k, v in self.demographics.items()},
            "last_context": self.last_context, "style": self.style,
            "created_at": self.created_at, "updated_at": self.updated_at,
            # Optional in schema 1 (older states lack it), so older readers still decode.
            "space": {"version": self.space, "dim": self.dim,
                      "trained_at": self.space_trained_at},
            # Optional too: states written before repurchase have none.
            "purchases": {role: {i: lg.to_json() for i, lg in logs.items()}
                          for role, logs in self.purchases.items()},
        }
        for taste in (self.own, *self.recipients.values()):
            if not all(np.all(np.isfinite(v)) for v in (taste.long, taste.precision, taste.short)):
                # orjson would write NaN as null; refuse instead of storing a broken state
                raise StateCorruptError(f"state of {self.customer_id!r} has non-finite values")
        try:  # orjson: several times faster than json on the update path
            return orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY)
        except TypeError as exc:
            raise StateCorruptError(f"cannot encode customer state: {exc}") from exc

    @classmethod
    def from_bytes(cls, data: bytes, version: int = 0) -> CustomerState:
        try:
            raw = orjson.loads(data)
            if raw.get("schema") != SCHEMA:
                raise StateCorruptError(f"unsupported state schema {raw.get('schema')!r}")
            space = raw.get("space") or {}
            return cls(
                customer_id=str(raw["customer_id"]), own=Taste.from_json(raw["own"]),
                recipients={k: Taste.from_json(v) for k, v in raw["recipients"].items()},
                cohort=None if raw["cohort"] is None else int(raw["cohort"]),
                history=[HistoryEntry.from_json(h) for h in raw["history"]],
                demographics={k: AttrPref.from_json(v) for k, v in raw["demographics"].items()},
                last_context={str(k): str(v) for k, v in raw["last_context"].items()},
                style=dict(raw["style"]), created_at=float(raw["created_at"]),
                updated_at=float(raw["updated_at"]), version=version,
                space=None if space.get("version") is None else str(space["version"]),
                space_trained_at=float(space.get("trained_at") or 0.0),
                purchases={str(role): {str(i): PurchaseLog.from_json(v) for i, v in logs.items()}
                           for role, logs in (raw.get("purchases") or {}).items()},
            )
        except StateCorruptError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError, orjson.JSONDecodeError) as exc:
            raise StateCorruptError(f"cannot decode customer state: {exc!r}") from exc


def copy_purchases(purchases: dict[str, dict[str, PurchaseLog]]
                   ) -> dict[str, dict[str, PurchaseLog]]:
    return {role: {i: PurchaseLog(**vars(lg)) for i, lg in logs.items()}
            for role, logs in purchases.items()}
