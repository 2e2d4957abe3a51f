"""Customer propensities from purchase history: buy within 7 / 30 days, fade (churn: no
purchase within 90 days), trade up (buy at a higher unit price than usual within 30 days),
respond to a discount (buy something below its reference price within 30 days).

One small logistic model per target over RFM-style features of the history *before* a
cutoff, fitted on several past cutoffs (labels = what happened after each one), so it is a
time-split model by construction. `predict` returns probabilities with their drivers (the
features that pushed the score most, signed), which the API shows.

    feats = features(history, at, reference_prices)      # one customer, as of `at`
    model = PropensityModel.fit(histories, cutoffs, reference_prices)
    model.predict(feats) -> {"buy_30d": Propensity(p, drivers), ...}

Pure NumPy: no fastapi, no app, no database.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from statistics import fmean

import numpy as np

PRIOR_PATH = Path(__file__).parent / "weights" / "propensity_prior.json"
TARGETS = ("buy_7d", "buy_30d", "churn", "trade_up", "discount_response")
HORIZON_DAYS = {"buy_7d": 7, "buy_30d": 30, "churn": 90, "trade_up": 30,
                "discount_response": 30}
FEATURES = ("recency", "frequency", "monetary", "avg_order", "tenure", "orders_30d",
            "orders_90d", "overdue", "price_trend", "discount_share", "breadth")
FEATURE_TEXT = {
    "recency": "days since the last purchase", "frequency": "number of orders",
    "monetary": "total spent", "avg_order": "average order value",
    "tenure": "time since the first purchase", "orders_30d": "orders in the last 30 days",
    "orders_90d": "orders in the last 90 days",
    "overdue": "time since the last order vs. the usual gap",
    "price_trend": "recent unit prices vs. the usual", "discount_share":
    "share of purchases made below the reference price", "breadth": "distinct items bought"}
TRADE_UP_RATIO = 1.1
BELOW_REFERENCE = 0.97  # a unit price 3% under the item's reference counts as discounted


@dataclass(frozen=True)
class Purchase:
    at: datetime
    item_id: str
    quantity: float
    unit_price: float


@dataclass(frozen=True)
class Driver:
    feature: str
    text: str
    value: float          # the raw feature value
    contribution: float   # to the log-odds, signed


@dataclass(frozen=True)
class Propensity:
    p: float
    drivers: tuple[Driver, ...] = ()


def _orders(history: Sequence[Purchase]) -> list[tuple[datetime, float, float]]:
    """(time, value, mean unit price) per order; lines at the same time form one order."""
    by_time: dict[datetime, list[Purchase]] = {}
    for line in history:
        by_time.setdefault(line.at, []).append(line)
    out = []
    for at in sorted(by_time):
        lines = by_time[at]
        # statistics.fmean, not np.mean: this runs per order on every decision, and numpy's
        # call overhead on a few numbers dominated the propensity's cost.
        out.append((at, sum(x.quantity * x.unit_price for x in lines),
                    fmean(x.unit_price for x in lines)))
    return out


def features(history: Sequence[Purchase], at: datetime,
             reference: Mapping[str, float] | None = None) -> dict[str, float]:
    """Raw feature values from the purchases strictly before `at` (empty history: zeros
    with a large recency)."""
    past = [x for x in history if x.at < at]
    orders = _orders(past)
    if not orders:
        return {f: 0.0 for f in FEATURES} | {"recency": 365.0, "overdue": 10.0}
    days = [(at - o[0]).total_seconds() / 86400 for o in orders]
    recency, tenure = days[-1], days[0]
    gaps = np.diff([o[0].timestamp() / 86400 for o in orders])
    usual_gap = float(gaps.mean()) if len(gaps) else max(tenure, 30.0)
    spent = sum(o[1] for o in orders)
    prices = [o[2] for o in orders]
    ref = reference or {}
    below = [x.unit_price < BELOW_REFERENCE * ref[x.item_id] for x in past if x.item_id in ref]
    return {
        "recency": recency, "frequency": float(len(orders)), "monetary": spent,
        "avg_order": spent / len(orders), "tenure": tenure,
        "orders_30d": float(sum(d < 30 for d in days)),
        "orders_90d": float(sum(d < 90 for d in days)),
        "overdue": min(recency / max(usual_gap, 1.0), 10.0),
        "price_trend": math.log(max(prices[-1], 1e-6) / max(float(np.mean(prices)), 1e-6)),
        "discount_share": float(np.mean(below)) if below else 0.0,
        "breadth": float(len({x.item_id for x in past})),
    }


def labels(history: Sequence[Purchase], at: datetime,
           reference: Mapping[str, float] | None = None) -> dict[str, int]:
    """What happened after `at` (the targets), for fitting and evaluation."""
    def within(days: int) -> list[Purchase]:
        end = at + timedelta(days=days)
        return [x for x in history if at <= x.at < end]

    past = [x for x in history if x.at < at]
    usual = float(np.mean([x.unit_price for x in past])) if past else 0.0
    month = within(30)
    ref = reference or {}
    return {
        "buy_7d": int(bool(within(7))), "buy_30d": int(bool(month)),
        "churn": int(not within(90)),
        "trade_up": int(bool(month) and usual > 0 and float(np.mean(
            [x.unit_price for x in month])) > TRADE_UP_RATIO * usual),
        "discount_response": int(any(x.item_id in ref and
                                     x.unit_price < BELOW_REFERENCE * ref[x.item_id]
                                     for x in month)),
    }


def design(rows: Iterable[Mapping[str, float]]) -> np.ndarray:
    """Features -> model inputs: counts and money on a log scale (heavy tails)."""
    logged = {"recency", "frequency", "monetary", "avg_order", "tenure", "orders_30d",
              "orders_90d", "overdue", "breadth"}
    return np.array([[math.log1p(max(r[f], 0.0)) if f in logged else r[f] for f in FEATURES]
                     for r in rows], dtype=np.float64).reshape(-1, len(FEATURES))


@dataclass
class Logistic:
    """L2-regularized logistic regression on standardized inputs, fitted by Newton's method
    (a few iterations, exact on this size)."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    bias: float

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, l2: float = 1.0, iters: int = 25) -> Logistic:
        mean, scale = x.mean(0), x.std(0)
        scale[scale < 1e-9] = 1.0
        z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
        w = np.zeros(z.shape[1])
        w[-1] = math.log((y.mean() + 1e-3) / (1 - y.mean() + 1e-3))
        reg = np.full(z.shape[1], l2)
        reg[-1] = 0.0
        for _ in range(iters):
            p = 1 / (1 + np.exp(-(z @ w)))
            grad = z.T @ (p - y) + reg * w
            hess = (z * (p * (1 - p))[:, None]).T @ z + np.diag(reg) + 1e-9 * np.eye(len(w))
            step = np.linalg.solve(hess, grad)
            w -= step
            if float(np.abs(step).max()) < 1e-8:
                break
        return cls(mean, scale, w[:-1], float(w[-1]))

    def logits(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.scale) @ self.coef + self.bias

    def predict(self, x: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-np.clip(self.logits(x), -30, 30)))

    def contributions(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.scale) * self.coef

    def to_dict(self) -> dict[str, object]:
        return {"mean": self.mean.tolist(), "scale": self.scale.tolist(),
                "coef": self.coef.tolist(), "bias": self.bias}

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> Logistic:
        return cls(np.array(d["mean"]), np.array(d["scale"]), np.array(d["coef"]),
                   float(d["bias"]))  # type: ignore[arg-type]


@dataclass
class PropensityModel:
    models: dict[str, Logistic] = field(default_factory=dict)
    n_train: dict[str, int] = field(default_factory=dict)

    @staticmethod
    def examples(histories: Mapping[str, Sequence[Purchase]], cutoff: datetime,
                 reference: Mapping[str, float] | None = None
                 ) -> tuple[list[str], list[dict[str, float]], list[dict[str, int]]]:
        """Customers with a purchase before `cutoff`: their features and labels."""
        ids, feats, labs = [], [], []
        for cid, history in histories.items():
            if not any(x.at < cutoff for x in history):
                continue
            ids.append(cid)
            feats.append(features(history, cutoff, reference))
            labs.append(labels(history, cutoff, reference))
        return ids, feats, labs

    @classmethod
    def fit(cls, histories: Mapping[str, Sequence[Purchase]], cutoffs: Sequence[datetime],
            reference: Mapping[str, float] | None = None, *, last_event: datetime,
            l2: float = 1.0) -> PropensityModel:
        """One model per target from every cutoff whose label window ended by
        `last_event` (a label must be fully observed to be true)."""
        out = cls()
        rows: list[tuple[datetime, dict[str, float], dict[str, int]]] = []
        for cutoff in cutoffs:
            _, feats, labs = cls.examples(histories, cutoff, reference)
            rows += [(cutoff, f, lab) for f, lab in zip(feats, labs, strict=True)]
        for target in TARGETS:
            horizon = timedelta(days=HORIZON_DAYS[target])
            usable = [(f, lab[target]) for c, f, lab in rows if c + horizon <= last_event]
            ys = np.array([y for _, y in usable], dtype=np.float64)
            if len(usable) < 20 or ys.min() == ys.max():
                continue  # too little to learn from: the prior (or nothing) answers
            out.models[target] = Logistic.fit(design(f for f, _ in usable), ys, l2)
            out.n_train[target] = len(usable)
        return out

    def predict(self, feats: Mapping[str, float], top: int = 3) -> dict[str, Propensity]:
        x = design([feats])
        out = {}
        for target, model in self.models.items():
            contrib = model.contributions(x)[0]
            order = np.argsort(-np.abs(contrib))[:top]
            out[target] = Propensity(float(model.predict(x)[0]), tuple(
                Driver(FEATURES[j], FEATURE_TEXT[FEATURES[j]], float(feats[FEATURES[j]]),
                       float(contrib[j])) for j in order))
        return out

    def predict_many(self, feats: Sequence[Mapping[str, float]], target: str) -> np.ndarray:
        return self.models[target].predict(design(feats))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps({"features": list(FEATURES), "n_train": self.n_train,
                                    "models": {t: m.to_dict() for t, m in
                                               self.models.items()}}, indent=1))

    @classmethod
    def load(cls, path: Path = PRIOR_PATH) -> PropensityModel:
        data = json.loads(path.read_text())
        if list(data["features"]) != list(FEATURES):
            raise ValueError(f"{path}: fitted on other features; refit it")
        return cls({t: Logistic.from_dict(m) for t, m in data["models"].items()},
                   dict(data.get("n_train", {})))


def reference_prices(lines: Iterable[Purchase]) -> dict[str, float]:
    """An item's reference (list) price: the most common unit price it sold at."""
    counts: dict[str, dict[float, int]] = {}
    for x in lines:
        c = counts.setdefault(x.item_id, {})
        c[x.unit_price] = c.get(x.unit_price, 0) + 1
    return {i: max(c.items(), key=lambda kv: (kv[1], kv[0]))[0] for i, c in counts.items()}
