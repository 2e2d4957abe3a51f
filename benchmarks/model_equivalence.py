"""Behaviour check for refactors of the preference model: the same inputs at a fixed clock,
everything the public API returns dumped as JSON. Run it on two trees and diff the files:

    PYTHONPATH=$PWD python -m benchmarks.model_equivalence /tmp/a.json   # in tree A
    PYTHONPATH=$PWD python -m benchmarks.model_equivalence /tmp/b.json   # in tree B
    diff /tmp/a.json /tmp/b.json    # only `after_correct`'s updated_at (wall clock) differs

Covers learn_one / learn_many, propose, rank (scores, uncertainty, reasons, exploration),
predict_one, explain, profile, repurchase_candidates, next_question, correct, and the
rebuild of every state after a prior change (migrate.py's replay through the learner).
"""

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.candidates import build
from preference_model import Consent, Signal


def main() -> None:
    rng = np.random.default_rng(1)
    model, centroids, style = build(3000, rng)
    ids = list(model.require()[0].ids)
    t0 = datetime(2026, 11, 1, 12, tzinfo=UTC)
    out: dict[str, Any] = {}
    for c in range(30):
        cid = f"u{c}"
        rows = rng.choice(len(ids), 12, replace=False)
        sigs = []
        for j, r in enumerate(rows):
            ev = ["purchase", "click", "view", "dismiss", "add_to_cart"][j % 5]
            sigs.append(Signal(customer_id=cid, kind="inferred", item_id=ids[r], event_type=ev,
                               at=t0 + timedelta(hours=c, minutes=7 * j)))
        if c % 2:
            for s in sigs:
                model.learn_one(s, consent=Consent(sensitive=True))
        else:
            model.learn_many(sigs)
        model.learn_one(Signal(customer_id=cid, kind="stated", attribute="color=red", value=0.8,
                               at=t0 + timedelta(hours=c, minutes=90)))
        at = t0 + timedelta(hours=c, minutes=95)
        prop = model.propose(cid, at=at, seed=c)
        ranked = model.rank(cid, prop.ids, exploration=0.2, seed=c, at=at)
        out[cid] = {
            "prop": prop.ids[:50],
            "src": {k: sorted(v) for k, v in list(prop.sources.items())[:50]},
            "rank": [(s.item_id, round(s.score, 12), round(s.uncertainty, 12),
                      [(r.kind, r.text) for r in s.reasons]) for s in ranked[:20]],
            "p": round(model.predict_one(cid, ids[0], at=at), 12),
            "explain": [(r.kind, r.text) for r in model.explain(cid, ids[5], at=at)],
            "profile": str(model.profile(cid))[:2000],
            "rebuy": [str(d) for d in model.repurchase_candidates(cid, at=at, due_only=False)],
        }
        q = model.next_question(cid, prop.ids[:30], at=at)
        out[cid]["q"] = str(q)
    model.correct("u3", "color=red", None)
    out["after_correct"] = str(model.profile("u3"))[:2000]
    # A new latent space: every stored state is rebuilt on its next use (migrate.py).
    _, pop = model.require()
    pop.version, pop.trained_at = "v2", 1.0
    out["rebuilt"] = [str(model.profile(f"u{c}"))[:500] for c in range(0, 30, 7)]
    out["rank_after"] = [(s.item_id, round(s.score, 12)) for s in model.rank(
        "u4", ids[:200], at=t0 + timedelta(days=3), exploration=0.0)[:20]]
    Path(sys.argv[1]).write_text(json.dumps(out, indent=1, default=str))
    print("ok", len(out))


if __name__ == "__main__":
    main()
