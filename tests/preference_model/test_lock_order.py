"""The catalog lock is not re-entrant and prefers writers: a read taken inside a read hangs
for good once a catalog write waits between the two. No public call may nest them."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from tests.preference_model.world import DIM, IDS, at, event, make_model


def test_a_repurchase_source_that_reads_the_model_runs_outside_the_lock() -> None:
    model = make_model()
    model.learn_one(event("c1", IDS[0]))
    writer_done: list[bool] = []

    def source(customer_id: str, t: float, k: int) -> Sequence[str]:
        # A catalog write arriving now must not wait for this call's own proposal...
        writer = threading.Thread(target=model.upsert_item,
                                  args=("new-item", np.ones(DIM)), daemon=True)
        writer.start()
        writer.join(timeout=60)  # a bound so a regression fails instead of hanging
        writer_done.append(not writer.is_alive())
        if not writer_done[-1]:
            return []
        # ... and the service's source reads the model (its own lock) from here.
        return [d.item_id for d in model.repurchase_candidates(customer_id, k,
                                                               due_only=False)]

    proposal = model.propose("c1", at=at(minutes=5), repurchase=source)
    assert writer_done == [True]
    assert IDS[0] in proposal.sources and "repurchase" in proposal.sources[IDS[0]]
    assert "new-item" in model.items.index  # type: ignore[union-attr]
