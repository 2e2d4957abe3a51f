"""Adaptation speed: after a customer's taste shifts, how many signals until the model's
top 10 follows? (Issue 4: "a customer whose taste shifts gets relevant results again
quickly".)

    python -m benchmarks.adaptation

A 1,000-item catalog in 20 categories (384-d content vectors: a category direction plus
noise). 50 simulated customers each buy 30 items of category A over three weeks, then switch
to category B and buy one B item per hour. After each B purchase we record the share of B in
the top 10 (items already bought excluded) and HR@10 of the customer's next B purchase. The
"retrained daily" peer keeps the state frozen for the rest of the day (what a nightly batch
recommender shows), so it cannot move within the day.
"""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime, timedelta

import numpy as np

from preference_model import PreferenceConfig, PreferenceModel, Signal  # noqa: E402

N_CAT, PER_CAT, DIM, CUSTOMERS, AFTER = 20, 50, 384, 50, 12
T0 = datetime(2026, 10, 1, tzinfo=UTC)


def main() -> None:
    rng = np.random.default_rng(0)
    centroids = rng.standard_normal((N_CAT, DIM))
    emb = np.repeat(centroids, PER_CAT, axis=0) + 1.2 * rng.standard_normal((N_CAT * PER_CAT, DIM))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    ids = [f"i{n}" for n in range(len(emb))]
    cats = [f"C{n // PER_CAT}" for n in range(len(emb))]
    model = PreferenceModel(PreferenceConfig(exploration=0.0))
    model.set_items(ids, emb, None, cats)

    share = np.zeros((CUSTOMERS, AFTER + 1))
    hit = np.zeros((CUSTOMERS, AFTER))
    for c in range(CUSTOMERS):
        a, b = rng.choice(N_CAT, 2, replace=False)
        cid = f"c{c}"
        a_items = [ids[a * PER_CAT + int(i)] for i in rng.choice(PER_CAT, 30, replace=False)]
        b_items = [ids[b * PER_CAT + int(i)] for i in rng.choice(PER_CAT, AFTER + 1,
                                                                   replace=False)]
        model.learn_many([Signal(cid, "inferred", item_id=i, event_type="purchase",
                                 at=T0 + timedelta(hours=17 * n)) for n, i in enumerate(a_items)])
        bought = set(a_items)
        shift = T0 + timedelta(days=22)
        for step in range(AFTER + 1):
            at = shift + timedelta(hours=step, minutes=30)
            ranked = [s.item_id for s in model.rank(cid, ids, at=at, n_reasons=0)
                      if s.item_id not in bought][:10]
            share[c, step] = sum(cats[ids.index(i)] == f"C{b}" for i in ranked) / 10
            if step < AFTER:
                hit[c, step] = b_items[step] in ranked
                model.learn_one(Signal(cid, "inferred", item_id=b_items[step],
                                       event_type="purchase", at=shift + timedelta(hours=step)))
                bought.add(b_items[step])

    mean_share = share.mean(0)
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores; command: python "
          f"benchmarks/adaptation.py; {CUSTOMERS} customers\n")
    print("| B purchases after the shift | 0 | 1 | 2 | 3 | 5 | 8 | 12 |\n|---|" + "---|" * 7)
    cols = [0, 1, 2, 3, 5, 8, 12]
    print("| online: share of new taste in top 10 | "
          + " | ".join(f"{mean_share[k]:.2f}" for k in cols) + " |")
    print("| retrained daily (frozen within the day) | "
          + " | ".join(f"{mean_share[0]:.2f}" for _ in cols) + " |")
    hr = hit.mean(0)
    print("| online: HR@10 of the next B purchase | - | "
          + " | ".join(f"{hr[k - 1]:.2f}" for k in cols[1:]) + " |")
    for target in (0.5, 0.8):
        reached = [int(np.argmax(row >= target)) if (row >= target).any() else None
                   for row in share]
        done = [r for r in reached if r is not None]
        med = float(np.median(done)) if done else float("nan")
        print(f"\nsignals until >= {int(target * 100)}% of the top 10 is the new taste: median "
              f"{med:.0f} ({len(done)}/{CUSTOMERS} customers got there within {AFTER})")


if __name__ == "__main__":
    main()
