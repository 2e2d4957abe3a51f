"""Buy it again on a real retail log: Tailor vs own most-bought vs popularity vs item-kNN.

    HF_HUB_OFFLINE=1 .venv/bin/python -m benchmarks.recsys_retail            # tune + test
    .venv/bin/python -m benchmarks.recsys_retail --data PATH --epochs 10 --out var/r.json

Data: UCI Online Retail, 2010-12-01..2011-07-31 (../shared/data/online_retail_dev). The
protocol of its README: keep lines with a customer and a positive quantity; train on lines
before 2011-06-01; test customers = those who bought before and after; targets = the
distinct items each bought after; HR@10, Recall@10, NDCG@10 over the full catalog (items
bought before are *not* masked: buying again is the point).

Tuning never sees the test period: the repurchase knobs (weight, overdue) are chosen on a
validation window carved from the training period (train < 2011-05-01, targets = May), then
the model is refitted on everything before June and the test period is scored once.

Items have no category or embedding in this log: the category is the last word of the
description ("... LUNCH BAG" -> "bag"), the content vector a hashed bag of its words.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import sys
import time
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

from preference_model import (  # noqa: E402
    InMemoryStateStore,
    Interaction,
    PreferenceConfig,
    PreferenceModel,
    PretrainConfig,
    pretrain,
)

K = 10
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "online_retail_dev" / "online_retail_dev.csv.gz"
VALID_START = datetime(2011, 5, 1, tzinfo=UTC)
TEST_START = datetime(2011, 6, 1, tzinfo=UTC)
GRID_WEIGHT = (8.0, 16.0, 32.0, 64.0, 128.0)
GRID_HORIZON = (0.0, 30.0, 60.0)


@dataclass(frozen=True)
class Line:
    customer: str
    item: str
    at: datetime
    qty: float


def load(path: Path) -> tuple[list[Line], dict[str, str]]:
    lines, titles = [], {}
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            qty = float(row["Quantity"])
            if not row["CustomerID"] or qty <= 0 or row["InvoiceNo"].startswith("C"):
                continue
            item = row["StockCode"].strip().upper()
            titles.setdefault(item, (row["Description"] or item).strip())
            lines.append(Line(f"c{row['CustomerID'].split('.')[0]}", item,
                              datetime.fromisoformat(row["InvoiceDate"]).astimezone(UTC), qty))
    lines.sort(key=lambda ln: ln.at)
    return lines, titles


def catalog(titles: dict[str, str], dim: int = 256
            ) -> tuple[list[str], np.ndarray, list[str], list[str]]:
    ids = sorted(titles)
    content = np.zeros((len(ids), dim))
    cats = []
    for n, item in enumerate(ids):
        words = [w for w in titles[item].lower().replace(",", " ").split() if w.isalpha()]
        for w in words:
            content[n, zlib.crc32(w.encode()) % dim] += 1.0
        content[n, zlib.crc32(item.encode()) % dim] += 0.5  # distinct items stay distinct
        content[n] /= np.linalg.norm(content[n])
        cats.append(words[-1] if words else "")
    return ids, content, cats, [titles[i] for i in ids]


def split(lines: list[Line], start: datetime, end: datetime | None
          ) -> tuple[list[Line], dict[str, set[str]]]:
    train = [ln for ln in lines if ln.at < start]
    seen = {ln.customer for ln in train}
    truth: dict[str, set[str]] = defaultdict(set)
    for ln in lines:
        if ln.at >= start and (end is None or ln.at < end) and ln.customer in seen:
            truth[ln.customer].add(ln.item)
    return train, dict(truth)


def metrics(ranked: dict[str, list[str]], truth: dict[str, set[str]]) -> dict[str, float]:
    hr, rec, ndcg = [], [], []
    disc = 1 / np.log2(np.arange(2, K + 2))
    for c, items in truth.items():
        top = ranked.get(c, [])[:K]
        rel = np.array([i in items for i in top] + [False] * (K - len(top)), dtype=float)
        hr.append(float(rel.any()))
        rec.append(rel.sum() / len(items))
        ndcg.append(float((rel * disc).sum() / disc[: min(len(items), K)].sum()))
    return {"HR@10": float(np.mean(hr)), "Recall@10": float(np.mean(rec)),
            "NDCG@10": float(np.mean(ndcg))}


def popularity(train: list[Line]) -> list[str]:
    buyers: dict[str, set[str]] = defaultdict(set)
    for ln in train:
        buyers[ln.item].add(ln.customer)
    return sorted(buyers, key=lambda i: (-len(buyers[i]), i))


def most_bought(train: list[Line], customers: set[str], fill: list[str] | None
                ) -> dict[str, list[str]]:
    """The customer's own items by number of orders (ties: the latest first)."""
    orders: dict[str, Counter[str]] = defaultdict(Counter)
    last: dict[tuple[str, str], datetime] = {}
    seen_orders: set[tuple[str, str, datetime]] = set()
    for ln in train:
        if ln.customer in customers and (ln.customer, ln.item, ln.at) not in seen_orders:
            seen_orders.add((ln.customer, ln.item, ln.at))
            orders[ln.customer][ln.item] += 1
            last[ln.customer, ln.item] = ln.at
    out = {}
    for c in customers:
        own = sorted(orders[c], key=lambda i: (-orders[c][i], -last[c, i].timestamp(), i))[:K]
        if fill is not None:
            own += [i for i in fill[: 2 * K] if i not in own][: K - len(own)]
        out[c] = own
    return out


def item_knn(train: list[Line], customers: set[str], ids: list[str], n_neighbours: int = 100
             ) -> dict[str, list[str]]:
    """Cosine item-to-item on who-bought-what (binary), summed over the customer's items."""
    index = {i: n for n, i in enumerate(ids)}
    users = sorted({ln.customer for ln in train})
    u_index = {u: n for n, u in enumerate(users)}
    X = np.zeros((len(users), len(ids)), dtype=np.float32)
    for ln in train:
        X[u_index[ln.customer], index[ln.item]] = 1.0
    norms = np.sqrt(X.sum(0)) + 1e-9
    S = (X.T @ X) / norms[:, None] / norms[None, :]
    np.fill_diagonal(S, 0.0)
    keep = np.argpartition(-S, n_neighbours, axis=1)[:, n_neighbours:]
    np.put_along_axis(S, keep, 0.0, axis=1)
    out = {}
    for c in customers:
        s = X[u_index[c]] @ S
        top = np.argsort(-s, kind="stable")[:K]
        out[c] = [ids[j] for j in top]
    return out


def fit_tailor(train: list[Line], ids: list[str], content: np.ndarray, cats: list[str],
               titles: list[str], args: argparse.Namespace) -> tuple[PreferenceModel, float]:
    model = PreferenceModel(PreferenceConfig(dim=args.dim, seed=0), InMemoryStateStore())
    model.set_items(ids, content, None, cats, titles=titles)
    history = [Interaction(ln.customer, ln.item, ln.qty, ln.at, event_type="purchase")
               for ln in train]
    start = time.perf_counter()
    pretrain(history, model, config=PretrainConfig(dim=args.dim, epochs=args.epochs,
                                                   threads=args.threads, seed=0),
             seed_states=True, progress=False)
    return model, time.perf_counter() - start


def tailor_lists(model: PreferenceModel, customers: set[str], ids: list[str], at: datetime,
                 **knobs: float) -> dict[str, list[str]]:
    model.config = replace(model.config, **knobs)  # read at call time: no refit needed
    return {c: [s.item_id for s in model.rank(c, ids, at=at, n_reasons=0, exploration=0.0)[:K]]
            for c in sorted(customers)}


def table(rows: dict[str, dict[str, float]], base: str) -> str:
    out = [f"| method | HR@10 | Recall@10 | NDCG@10 | HR vs {base} | Recall vs {base} |",
           "|---|---|---|---|---|---|"]
    b = rows[base]
    for name, m in rows.items():
        out.append(f"| {name} | {m['HR@10']:.4f} | {m['Recall@10']:.4f} | {m['NDCG@10']:.4f} "
                   f"| {m['HR@10'] / b['HR@10'] - 1:+.1%} "
                   f"| {m['Recall@10'] / b['Recall@10'] - 1:+.1%} |")
    return "\n".join(out)


def evaluate(lines: list[Line], titles: dict[str, str], start: datetime, end: datetime | None,
             args: argparse.Namespace, knobs: dict[str, float] | None
             ) -> tuple[dict[str, dict[str, float]], dict[str, Any]]:
    train, truth = split(lines, start, end)
    ids, content, cats, names = catalog({i: titles[i] for i in {ln.item for ln in train}})
    customers = set(truth)
    print(f"train lines {len(train)}, customers scored {len(customers)}, items {len(ids)}",
          flush=True)
    model, fit_s = fit_tailor(train, ids, content, cats, names, args)
    print(f"pretrained in {fit_s:.0f} s", flush=True)
    pop = popularity(train)
    rows: dict[str, dict[str, float]] = {
        "own most-bought": metrics(most_bought(train, customers, None), truth),
        "own most-bought + popular": metrics(most_bought(train, customers, pop), truth),
        "popularity": metrics({c: pop[:K] for c in customers}, truth),
        "item-kNN": metrics(item_knn(train, customers, ids), truth),
        "Tailor, no repurchase term": metrics(tailor_lists(
            model, customers, ids, start, repurchase_weight=0.0,
            repurchase_never_penalty=0.0), truth),
    }
    info: dict[str, Any] = {"fit_s": fit_s, "customers": len(customers)}
    if knobs is None:  # validation: choose the knobs
        grid = {}
        for w in GRID_WEIGHT:
            for h in GRID_HORIZON:
                m = metrics(tailor_lists(model, customers, ids, start, repurchase_weight=w,
                                         repurchase_horizon_days=h,
                                         repurchase_never_penalty=4.0), truth)
                grid[f"w={w} horizon={h}"] = m
                print(f"  valid w={w} horizon={h}: {m}", flush=True)
        best = max(grid, key=lambda k: (grid[k]["Recall@10"] + grid[k]["HR@10"]))
        w_s, h_s = best.split()
        knobs = {"repurchase_weight": float(w_s[2:]),
                 "repurchase_horizon_days": float(h_s[8:])}
        info["grid"] = grid
    rows["Tailor (repurchase blended)"] = metrics(
        tailor_lists(model, customers, ids, start, **knobs), truth)
    info["knobs"] = knobs
    return rows, info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--dim", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--weight", type=float, default=None,
                        help="skip the validation run: use this repurchase weight")
    parser.add_argument("--horizon", type=float, default=0.0)
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    args = parser.parse_args()
    if not args.data.exists():
        sys.exit(f"retail data not found at {args.data}: pass --data (see "
                 "../shared/data/README.md, online_retail_dev)")
    lines, titles = load(args.data)
    result: dict[str, Any] = {}
    knobs: dict[str, float] | None = None
    if args.weight is None:
        print("== validation: train < 2011-05-01, targets = May 2011", flush=True)
        rows, info = evaluate(lines, titles, VALID_START, TEST_START, args, None)
        knobs = info["knobs"]
        print(table(rows, "own most-bought"), f"\nchosen: {knobs}", flush=True)
        result["validation"] = {"rows": rows, **info}
    else:
        knobs = {"repurchase_weight": args.weight, "repurchase_horizon_days": args.horizon}
    print("== test: train < 2011-06-01, targets = June-July 2011 (scored once)", flush=True)
    rows, info = evaluate(lines, titles, TEST_START, None, args, knobs)
    print(table(rows, "own most-bought"), flush=True)
    result["test"] = {"rows": rows, **info}
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
