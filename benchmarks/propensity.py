"""Propensities on a real retail log, time-split, vs. an RFM baseline in the same run.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/propensity.py [--data PATH] [--out FILE]
                                                               [--write-prior]

Data: UCI Online Retail 2010-12-01..2011-07-31 (../shared/data/online_retail_dev): lines
with a customer, a positive quantity and a positive price; an order = one customer's lines
at one timestamp. Test cutoff 2011-05-01: features from everything before it, labels from
what each customer (with a purchase before it) did after it. Training cutoffs every 14 days
from 2011-01-03, each used only for targets whose label window closed before the test
cutoff (no test-period information reaches training).

Baseline: classic RFM, quintile scores for recency, frequency and monetary (125 cells); its
probability is the cell's training rate (Laplace-smoothed) — calibrated by construction.
Metrics: AUC, Brier score, ECE (10 equal-width bins).
`--write-prior` refits on every cutoff whose labels are observed by the end of the log and
saves preference_model/weights/propensity_prior.json (the service's cold-start model).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from preference_model.propensity import (  # noqa: E402
    HORIZON_DAYS,
    PRIOR_PATH,
    TARGETS,
    PropensityModel,
    Purchase,
    reference_prices,
)

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "online_retail_dev" / "online_retail_dev.csv.gz"
TEST_CUTOFF = datetime(2011, 5, 1, tzinfo=UTC)
FIRST_CUTOFF = datetime(2011, 1, 3, tzinfo=UTC)


def load(path: Path) -> dict[str, list[Purchase]]:
    """Customer -> purchases in time order (lines with a customer, qty > 0, price > 0)."""
    out: dict[str, list[Purchase]] = defaultdict(list)
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            qty, price = float(row["Quantity"]), float(row["UnitPrice"])
            if (not row["CustomerID"] or qty <= 0 or price <= 0
                    or row["InvoiceNo"].startswith("C")):
                continue
            out[f"c{row['CustomerID'].split('.')[0]}"].append(Purchase(
                datetime.fromisoformat(row["InvoiceDate"]).astimezone(UTC),
                row["StockCode"].strip().upper(), qty, price))
    for lines in out.values():
        lines.sort(key=lambda x: x.at)
    return dict(out)


def before(histories: dict[str, list[Purchase]], at: datetime) -> dict[str, list[Purchase]]:
    return {c: [x for x in h if x.at < at] for c, h in histories.items()}


def auc(y: np.ndarray, p: np.ndarray) -> float:
    """Mann-Whitney U with average ranks for ties."""
    order = np.argsort(p, kind="mergesort")
    ranks = np.empty(len(p))
    sp = p[order]
    i = 0
    while i < len(sp):
        j = i
        while j + 1 < len(sp) and sp[j + 1] == sp[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    pos = y == 1
    n1, n0 = int(pos.sum()), int((~pos).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def ece(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    idx = np.minimum((p * bins).astype(int), bins - 1)
    return float(sum(abs(y[idx == b].mean() - p[idx == b].mean()) * (idx == b).mean()
                     for b in range(bins) if (idx == b).any()))


class RFM:
    """Quintile R, F, M scores (cut points from the training population); p = the cell's
    training rate, Laplace-smoothed towards the overall rate."""

    def __init__(self, feats: list[dict[str, float]], ys: np.ndarray) -> None:
        cols = self._cols(feats)
        self.cuts = [np.quantile(c, [0.2, 0.4, 0.6, 0.8]) for c in cols]
        cells = self._cells(cols)
        self.base = float(ys.mean())
        self.rate: dict[tuple[int, ...], float] = {}
        sums: dict[tuple[int, ...], list[float]] = defaultdict(lambda: [0.0, 0.0])
        for cell, y in zip(cells, ys, strict=True):
            sums[cell][0] += y
            sums[cell][1] += 1
        for cell, (s, n) in sums.items():
            self.rate[cell] = (s + 2 * self.base) / (n + 2)

    @staticmethod
    def _cols(feats: list[dict[str, float]]) -> list[np.ndarray]:
        return [np.array([-f["recency"] for f in feats]),  # recent = high score
                np.array([f["frequency"] for f in feats]),
                np.array([f["monetary"] for f in feats])]

    def _cells(self, cols: list[np.ndarray]) -> list[tuple[int, ...]]:
        scores = [np.searchsorted(cut, c, side="right") for cut, c in zip(self.cuts, cols,
                                                                          strict=True)]
        return [tuple(int(s[i]) for s in scores) for i in range(len(cols[0]))]

    def predict(self, feats: list[dict[str, float]]) -> np.ndarray:
        return np.array([self.rate.get(c, self.base) for c in self._cells(self._cols(feats))])


def training_rows(histories: dict[str, list[Purchase]], cutoffs: list[datetime],
                  ref: dict[str, float]) -> list[tuple[datetime, dict[str, float],
                                                       dict[str, int]]]:
    rows = []
    for c in cutoffs:
        _, feats, labs = PropensityModel.examples(histories, c, ref)
        rows += [(c, f, lab) for f, lab in zip(feats, labs, strict=True)]
    return rows


def run(data: Path) -> dict[str, object]:
    t0 = time.perf_counter()
    histories = load(data)
    last = max(x.at for h in histories.values() for x in h)
    # Reference prices from the training period only.
    ref = reference_prices(x for h in histories.values() for x in h if x.at < TEST_CUTOFF)
    train_hist = before(histories, TEST_CUTOFF)
    cutoffs = []
    c = FIRST_CUTOFF
    while c < TEST_CUTOFF:
        cutoffs.append(c)
        c += timedelta(days=14)
    # Labels of training cutoffs must lie before the test cutoff: fit on the truncated log.
    model = PropensityModel.fit(train_hist, cutoffs, ref, last_event=TEST_CUTOFF)
    rows = training_rows(train_hist, cutoffs, ref)
    _, test_feats, test_labs = PropensityModel.examples(histories, TEST_CUTOFF, ref)
    results: dict[str, object] = {}
    for target in TARGETS:
        horizon = timedelta(days=HORIZON_DAYS[target])
        if TEST_CUTOFF + horizon > last + timedelta(days=1):
            results[target] = {"skipped": "label window passes the end of the log"}
            continue
        usable = [(f, lab[target]) for cc, f, lab in rows if cc + horizon <= TEST_CUTOFF]
        rfm = RFM([f for f, _ in usable], np.array([y for _, y in usable], dtype=float))
        y = np.array([lab[target] for lab in test_labs], dtype=float)
        ours = model.predict_many(test_feats, target)
        base = rfm.predict(test_feats)
        results[target] = {
            "n_test": len(y), "positive_rate": round(float(y.mean()), 4),
            "n_train": model.n_train.get(target, 0),
            "tailor": {"auc": round(auc(y, ours), 4),
                       "brier": round(float(((ours - y) ** 2).mean()), 4),
                       "ece": round(ece(y, ours), 4)},
            "rfm": {"auc": round(auc(y, base), 4),
                    "brier": round(float(((base - y) ** 2).mean()), 4),
                    "ece": round(ece(y, base), 4)}}
    results["seconds"] = round(time.perf_counter() - t0, 1)
    results["customers"] = len(histories)
    return results


def write_prior(data: Path) -> None:
    histories = load(data)
    last = max(x.at for h in histories.values() for x in h)
    ref = reference_prices(x for h in histories.values() for x in h)
    cutoffs = []
    c = FIRST_CUTOFF
    while c < last:
        cutoffs.append(c)
        c += timedelta(days=14)
    PropensityModel.fit(histories, cutoffs, ref, last_event=last).save(PRIOR_PATH)
    print(f"wrote {PRIOR_PATH}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--write-prior", action="store_true")
    args = ap.parse_args()
    if not args.data.exists():
        sys.exit(f"no data at {args.data} (../shared/data/online_retail_dev); see --data")
    if args.write_prior:
        write_prior(args.data)
        return
    results = run(args.data)
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
