"""MovieLens-100K: popularity bias and demographic fairness of the top-10 lists.

    HF_HUB_OFFLINE=1 nice -n 19 .venv/bin/python -m benchmarks.recsys_bias \\
        --threads 2 --out var/recsys_bias.json
    # smoke run (1 epoch each, ~1 minute): --quick --threads 1
    # before the model takes demographics: --no-demographics

Protocol: RecBole's general protocol, exactly the split `benchmarks/recsys.py` produces
(ratings < 3 dropped, random 8:1:1 per user, seed 2020). Every model ranks the whole catalog
for every user with test items; the padding item 0 and the user's train+valid items are
masked, as in `recsys.full_ranking_metrics`. Each model's top 10 per user is computed once
and every number below is derived from those lists by the same code, so all models are
judged alike. Models: RecBole's Pop, ItemKNN and BPR (trained in this run on this split),
popularity by true training counts (RecBole's Pop counts an item once per batch), and
Tailor's PreferenceModel without and with demographic features.

Popularity bias (popularity = number of training interactions of an item):
- coverage@10: share of catalog items (RecBole's item vocabulary minus padding) that are in
  at least one user's top 10.
- long-tail share: share of recommended slots filled by long-tail items. Following
  Abdollahpouri et al. (2019, "Managing popularity bias in recommender systems with
  personalized re-ranking"), the short head is the top 20% of catalog items by training
  popularity (ties broken by item id) and the long tail is the other 80%. With a fixed list
  length this equals their APLT (average percentage of long-tail items).
- ARP: average recommendation popularity, the mean training count of recommended items.
- Gini: Gini index of how often each catalog item is recommended (0 = every item equally
  often, 1 = one item fills every slot); never-recommended items count as 0.
- NDCG@10 and Hit@10 for context, RecBole's definitions.
A reference row gives coverage, long-tail share, ARP and Gini of the held-out test items
themselves ("what users actually chose"; not 10 per user).

Fairness: per-user NDCG@10 and Hit@10 averaged per group, by gender (M/F) and by age at
the time of the data set in bins <25, 25-34, 35-44, 45+ (from `ml-100k.user`). Gap = max -
min of the group means; ratio = min / max. "Tailor + demographics" pretrains on
interactions carrying the user's gender, age bin and occupation, learns them as
`demographic` signals, and ranks with `Consent(demographic=True)`; "Tailor" is the plain
`recsys.fit_ours` model.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

import benchmarks.recsys as R  # noqa: E402
from preference_model import (  # noqa: E402
    Consent,
    InMemoryStateStore,
    Interaction,
    PreferenceConfig,
    PreferenceModel,
    PretrainConfig,
    Signal,
    pretrain,
)

K = R.K
AT = datetime(1998, 6, 1, tzinfo=UTC)  # the ranking time `recsys.our_scores` uses
HEAD_SHARE = 0.2
AGE_BINS: tuple[tuple[int, str], ...] = ((25, "<25"), (35, "25-34"), (45, "35-44"),
                                         (10**3, "45+"))  # (upper bound exclusive, label)
GENDERS = ("M", "F")
ScoreFn = Callable[[int], np.ndarray]
Items = tuple[list[str], np.ndarray, list[dict[str, list[str]]], list[str], list[str]]


def age_bin(age: int) -> str:
    return next(label for upper, label in AGE_BINS if age < upper)


def read_users() -> dict[str, dict[str, str]]:
    """Raw user token -> {"gender", "age" (bin label), "occupation"} from ml-100k.user."""
    out: dict[str, dict[str, str]] = {}
    path = R._data_dir() / "ml-100k" / "ml-100k.user"
    with open(path, encoding="utf-8") as fh:
        header = [h.split(":")[0] for h in next(fh).rstrip("\n").split("\t")]
        for line in fh:
            row = dict(zip(header, line.rstrip("\n").split("\t"), strict=True))
            out[row["user_id"]] = {"gender": row["gender"], "age": age_bin(int(row["age"])),
                                   "occupation": row["occupation"]}
    return out


def model_demographics(demo: dict[str, str]) -> dict[str, str]:
    # Signal attributes are lower-cased by the model; feed pretraining the same spelling so
    # the offsets it learns and the signals in the state name the same value.
    return {k: v.lower() for k, v in demo.items()}


def demographics_supported() -> bool:
    try:
        Interaction("u", "m", demographics={"gender": "f"})  # type: ignore[call-arg]
    except TypeError:
        return False
    return True


# -------------------------------------------------------------------------- Tailor
def fit_ours_demographics(split: R.Split, items: Items, cfg: PretrainConfig,
                          users: dict[str, dict[str, str]]) -> tuple[PreferenceModel, float]:
    """`recsys.fit_ours` with demographics on every interaction and in every state."""
    ids, content, attrs, cats, titles = items
    model = PreferenceModel(PreferenceConfig(dim=cfg.dim, seed=0), InMemoryStateStore())
    model.set_items(ids, content, attrs, cats, titles=titles)
    demo = {tok: model_demographics(d) for tok, d in users.items()}
    history = [Interaction(f"u{split.user_tokens[u]}", ids[i],  # type: ignore[call-arg]
                           demographics=demo[split.user_tokens[u]]) for u, i in split.train]
    start = time.perf_counter()
    pretrain(history, model, config=cfg, seed_states=True, progress=True)
    # seed_states does not store demographics: they enter each state as consented signals.
    consent = Consent(demographic=True)
    for tok in sorted({split.user_tokens[u] for u in split.train[:, 0]}):
        for name, value in demo[tok].items():
            model.learn_one(Signal(f"u{tok}", "demographic", attribute=f"{name}={value}",
                                   at=AT), consent=consent)
    return model, time.perf_counter() - start


def tailor_scores(model: PreferenceModel, split: R.Split, ids: list[str],
                  consent: Consent | None = None, novelty: float = 0.0) -> ScoreFn:
    """`recsys.our_scores` with a consent (demographics are ignored without one) and a
    novelty discount (it changes the order, not the probabilities: score by rank)."""
    index = model.items.index  # type: ignore[union-attr]

    def scores(u: int) -> np.ndarray:
        ranked = model.rank(f"u{split.user_tokens[u]}", ids, at=AT, n_reasons=0,
                            consent=consent, novelty=novelty)
        out = np.empty(len(ids))
        for position, s in enumerate(ranked):
            out[index[s.item_id]] = -position
        return out

    return scores


# ---------------------------------------------------------------- shared evaluation
@dataclass
class Eval:
    """Everything every model is judged against, built once from the split."""

    users: np.ndarray  # internal ids of users with test items, ascending
    truth: list[set[int]]  # test items per user in `users`
    seen: list[list[int]]  # train+valid items per user (masked)
    counts: np.ndarray  # training interactions per item id (id 0 = padding)
    tail: np.ndarray  # bool per item id: long tail (padding excluded)
    n_catalog: int
    groups: dict[str, list[str]]  # "gender"/"age" -> group label per user in `users`


def build_eval(split: R.Split, people: dict[str, dict[str, str]]) -> Eval:
    truth: dict[int, set[int]] = defaultdict(set)
    for u, i in split.test:
        truth[int(u)].add(int(i))
    seen: dict[int, list[int]] = defaultdict(list)
    for arr in (split.train, split.valid):
        for u, i in arr:
            seen[int(u)].append(int(i))
    users = np.array(sorted(truth))
    counts = np.bincount(split.train[:, 1], minlength=split.n_items)
    catalog = np.arange(1, split.n_items)
    # Most popular first; a stable sort on ascending ids breaks ties by item id.
    by_pop = catalog[np.argsort(-counts[catalog], kind="stable")]
    n_head = round(HEAD_SHARE * len(catalog))
    tail = np.zeros(split.n_items, dtype=bool)
    tail[by_pop[n_head:]] = True
    tokens = [split.user_tokens[u] for u in users]
    groups = {attr: [people[t][attr] for t in tokens] for attr in ("gender", "age")}
    return Eval(users, [truth[u] for u in users], [seen[u] for u in users], counts, tail,
                len(catalog), groups)


def top_lists(scores_fn: ScoreFn, ev: Eval) -> np.ndarray:
    """(n_users, K) best-first item ids, masked exactly as `full_ranking_metrics`."""
    out = np.empty((len(ev.users), K), dtype=np.int64)
    for n, u in enumerate(ev.users):
        s = scores_fn(int(u)).astype(np.float64)
        s[0] = -np.inf  # RecBole's padding item
        s[ev.seen[n]] = -np.inf
        top = np.argpartition(-s, K)[:K]
        out[n] = top[np.argsort(-s[top], kind="stable")]
    return out


def per_user_accuracy(tops: np.ndarray, ev: Eval) -> dict[str, np.ndarray]:
    discount = 1 / np.log2(np.arange(2, K + 2))
    ndcg, hit, recall = [], [], []
    for top, items in zip(tops, ev.truth, strict=True):
        rel = np.array([int(i) in items for i in top], dtype=float)
        ndcg.append(float((rel * discount).sum()) / float(discount[:min(len(items), K)].sum()))
        hit.append(float(rel.any()))
        recall.append(rel.sum() / len(items))
    return {"NDCG@10": np.array(ndcg), "Hit@10": np.array(hit),
            "Recall@10": np.array(recall)}


def gini(freq: np.ndarray) -> float:
    """Gini index of non-negative frequencies (0 = uniform, -> 1 = concentrated)."""
    x = np.sort(freq.astype(np.float64))
    n, total = len(x), x.sum()
    if total == 0:
        return 0.0
    return float(((2 * np.arange(1, n + 1) - n - 1) * x).sum() / (n * total))


def bias_stats(items: np.ndarray, ev: Eval) -> dict[str, float]:
    """Popularity-bias stats of a flat array of recommended (or chosen) item ids."""
    freq = np.bincount(items, minlength=len(ev.counts))[1:]  # catalog only
    return {"coverage@10": float((freq > 0).sum() / ev.n_catalog),
            "long-tail share": float(ev.tail[items].mean()),
            "ARP": float(ev.counts[items].mean()),
            "Gini": gini(freq)}


def group_stats(values: np.ndarray, labels: list[str], order: Sequence[str],
                ) -> dict[str, Any]:
    """Mean, standard error and size per group, plus gap (max - min) and min/max ratio."""
    arr = np.asarray(labels)
    groups = {}
    for g in order:
        v = values[arr == g]
        se = float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else float("nan")
        groups[g] = {"mean": float(v.mean()), "se": se, "n": int(len(v))}
    means = [groups[g]["mean"] for g in order]
    hi, lo = max(means), min(means)
    return {"groups": groups, "gap": hi - lo, "ratio": lo / hi if hi else float("nan")}


def evaluate(tops: np.ndarray, ev: Eval) -> dict[str, Any]:
    acc = per_user_accuracy(tops, ev)
    orders = {"gender": GENDERS, "age": [label for _, label in AGE_BINS]}
    return {
        "bias": bias_stats(tops.ravel(), ev),
        "accuracy": {k: float(v.mean()) for k, v in acc.items()},
        "fairness": {attr: {m: group_stats(acc[m], ev.groups[attr], orders[attr])
                            for m in ("NDCG@10", "Hit@10")} for attr in orders},
    }


# -------------------------------------------------------------------------- tables
def md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |",
             "|---|" + "---:|" * (len(header) - 1)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def bias_table(results: dict[str, Any], reference: dict[str, float]) -> str:
    header = ["model", "coverage@10", "long-tail share", "ARP", "Gini", "NDCG@10", "Hit@10"]
    rows = []
    for name, r in results.items():
        b, a = r["bias"], r["accuracy"]
        rows.append([name, f"{b['coverage@10']:.3f}", f"{b['long-tail share']:.3f}",
                     f"{b['ARP']:.1f}", f"{b['Gini']:.3f}", f"{a['NDCG@10']:.4f}",
                     f"{a['Hit@10']:.3f}"])
    rows.append(["test items (what users chose)", f"{reference['coverage@10']:.3f}",
                 f"{reference['long-tail share']:.3f}", f"{reference['ARP']:.1f}",
                 f"{reference['Gini']:.3f}", "-", "-"])
    return md_table(header, rows)


def fairness_table(results: dict[str, Any], attr: str) -> str:
    first = next(iter(results.values()))["fairness"][attr]["NDCG@10"]["groups"]
    header = ["model"]
    for metric in ("NDCG@10", "Hit@10"):
        header += [f"{metric} {g} (n={v['n']})" for g, v in first.items()]
        header += [f"{metric} gap", f"{metric} min/max"]
    rows = []
    for name, r in results.items():
        row = [name]
        for metric, fmt in (("NDCG@10", ".4f"), ("Hit@10", ".3f")):
            f = r["fairness"][attr][metric]
            row += [format(v["mean"], fmt) for v in f["groups"].values()]
            row += [format(f["gap"], fmt), f"{f['ratio']:.3f}"]
        rows.append(row)
    return md_table(header, rows)


def max_se(results: dict[str, Any], attr: str) -> float:
    return max(g["se"] for r in results.values()
               for g in r["fairness"][attr]["NDCG@10"]["groups"].values())


def machine() -> dict[str, Any]:
    import torch

    return {"cores": os.cpu_count(), "python": platform.python_version(),
            "torch": torch.__version__, "torch threads": torch.get_num_threads(),
            "platform": platform.platform(), "load average": os.getloadavg(),
            "date": datetime.now(UTC).strftime("%Y-%m-%d")}


# ---------------------------------------------------------------------------- main
def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Full run (~3 min on 2 idle cores): HF_HUB_OFFLINE=1 .venv/bin/python "
               "benchmarks/recsys_bias.py --out var/recsys_bias.json. Protocol and "
               "definitions (long tail, coverage, ARP, Gini, age bins): module docstring.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--epochs", type=int, default=40,
                        help="pretraining epochs of our model (recsys.py's default)")
    parser.add_argument("--bpr-epochs", type=int, default=None,
                        help="max epochs of RecBole's learned models (BPR, LightGCN, ...); "
                             "None = RecBole's 300 with early stopping. Pop and ItemKNN "
                             "always use RecBole's default, as in recsys.py")
    parser.add_argument("--models", default="Pop,ItemKNN,BPR",
                        help="comma-separated RecBole models to train on the split")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: our model 1 epoch, RecBole's learned models 1 epoch")
    parser.add_argument("--no-demographics", action="store_true",
                        help="skip 'Tailor + demographics' (for a model without the "
                             "Interaction.demographics field)")
    parser.add_argument("--novelty", default="0.5,1,2",
                        type=lambda v: [float(x) for x in v.split(",") if x.strip()],
                        help="comma-separated novelty discounts to evaluate on the same "
                             "Tailor model ('' = none): the coverage / accuracy trade-off")
    parser.add_argument("--out", default=None, help="write all results as JSON here")
    parser.add_argument("--dim", type=int, default=64, help="our model's embedding size")
    # Our model's remaining pretraining settings, recsys.py's defaults.
    parser.add_argument("--negatives", type=int, default=8, help="sampled negatives")
    parser.add_argument("--lr", type=float, default=5e-3, help="Adam learning rate")
    parser.add_argument("--l2", type=float, default=1e-4, help="embedding L2")
    parser.add_argument("--loss", default="bce", choices=["bce", "bpr", "softmax"],
                        help="pretraining loss")
    args = parser.parse_args()
    if args.quick:
        args.epochs, args.bpr_epochs = 1, 1
    if not args.no_demographics and not demographics_supported():
        parser.error("this preference_model's Interaction has no `demographics` field; "
                     "rerun with --no-demographics")
    return args


def run_baselines(args: argparse.Namespace, ev_of: Callable[[R.Split], Eval],
                  ) -> tuple[R.Split, Eval, dict[str, Any]]:
    """Train each RecBole model on the (identical) split and evaluate its top 10."""
    names = [n for n in args.models.split(",") if n]
    results: dict[str, Any] = {}
    split: R.Split | None = None
    ev: Eval | None = None
    with tempfile.TemporaryDirectory() as tmp:
        for name in names or ["Pop"]:  # one RecBole run at least, for the split
            epochs = None if name in ("Pop", "ItemKNN") else args.bpr_epochs
            run = R.fit_recbole(name, epochs, Path(tmp))
            scores, this_split, secs = run.scores, run.split, run.seconds
            if split is not None:
                assert np.array_equal(split.test, this_split.test), "splits differ"
            split = this_split
            if ev is None:
                ev = ev_of(split)
            if names:
                results[f"{name} (RecBole)"] = evaluate(
                    top_lists(lambda u, s=scores: s[u].copy(), ev), ev) | {"seconds": secs}
                print(name, results[f"{name} (RecBole)"]["accuracy"], f"{secs:.0f}s",
                      flush=True)
    assert split is not None and ev is not None
    results["Popularity (train counts)"] = evaluate(top_lists(R.pop_scores(split), ev), ev)
    return split, ev, results


def run_tailor(args: argparse.Namespace, split: R.Split, ev: Eval,
               people: dict[str, dict[str, str]]) -> dict[str, Any]:
    cfg = PretrainConfig(dim=args.dim, epochs=args.epochs, negatives=args.negatives,
                         lr=args.lr, l2=args.l2, loss=args.loss, seed=0, batch_size=1024)
    items: Items = R.movie_items(split)
    ids = items[0]
    results: dict[str, Any] = {}
    model, secs = R.fit_ours(split, *items, cfg)
    results["Tailor"] = evaluate(top_lists(tailor_scores(model, split, ids), ev), ev)
    results["Tailor"]["seconds"] = secs
    print("Tailor", results["Tailor"]["accuracy"], f"{secs:.0f}s", flush=True)
    for beta in args.novelty:
        name = f"Tailor, novelty {beta:g}"
        results[name] = evaluate(top_lists(tailor_scores(model, split, ids, novelty=beta), ev),
                                 ev)
        print(name, results[name]["accuracy"], results[name]["bias"], flush=True)
    if not args.no_demographics:
        model, secs = fit_ours_demographics(split, items, cfg, people)
        scorer = tailor_scores(model, split, ids, Consent(demographic=True))
        name = "Tailor + demographics"
        results[name] = evaluate(top_lists(scorer, ev), ev) | {"seconds": secs}
        print(name, results[name]["accuracy"], f"{secs:.0f}s", flush=True)
    return results


def report(ev: Eval, results: dict[str, Any],
           reference: dict[str, float], info: dict[str, Any]) -> str:
    command = "HF_HUB_OFFLINE=1 .venv/bin/python " + shlex.join(sys.argv)
    head_share = ev.counts[~ev.tail][1:].sum() / ev.counts.sum()  # [1:] drops padding
    parts = [
        f"Command: `{command}`",
        f"Machine: {info['cores']} cores, Python {info['python']}, torch {info['torch']} "
        f"({info['torch threads']} threads), load average "
        f"{', '.join(f'{x:.2f}' for x in info['load average'])}, {info['date']}.",
        f"{len(ev.users)} test users, catalog {ev.n_catalog} items; short head = top "
        f"{HEAD_SHARE:.0%} of items by training count ({int((~ev.tail[1:]).sum())} items, "
        f"{head_share:.1%} of training interactions), long tail = the rest.",
        "", "### Popularity bias of the top 10", "",
        bias_table(results, reference), "",
        "### NDCG@10 / Hit@10 by gender", "",
        fairness_table(results, "gender"), "",
        f"Per-group standard error of NDCG@10 is at most {max_se(results, 'gender'):.4f}.",
        "",
        "### NDCG@10 / Hit@10 by age (<25, 25-34, 35-44, 45+)", "",
        fairness_table(results, "age"), "",
        f"Per-group standard error of NDCG@10 is at most {max_se(results, 'age'):.4f}.",
    ]
    return "\n".join(parts)


def main() -> None:
    args = parse_args()
    import torch

    torch.set_num_threads(args.threads)
    R._recbole_shims()
    warnings.filterwarnings("ignore", category=FutureWarning)
    people = read_users()
    split, ev, results = run_baselines(args, lambda s: build_eval(s, people))
    results |= run_tailor(args, split, ev, people)
    reference = bias_stats(np.array([i for items in ev.truth for i in items]), ev)
    info = machine()
    print()
    print(report(ev, results, reference, info))
    if args.out:
        out = {"config": vars(args), "machine": info, "command": sys.argv,
               "test items": reference, "models": results}
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
