"""Item 7: states survive restarts and are shared by several worker processes."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import numpy as np
import pytest

from preference_model import PreferenceModel, SQLiteStateStore
from tests.preference_model.world import IDS, LEATHER, VEGAN, at, event, make_model, share

_worker: PreferenceModel | None = None


def _init(model_dir: str, db: str) -> None:
    global _worker
    _worker = PreferenceModel.load(model_dir, SQLiteStateStore(db))


def _top(customer: str) -> list[str]:
    assert _worker is not None
    return [s.item_id for s in _worker.rank(customer, IDS, at=at(days=1), n_reasons=0)[:10]]


def _learn(customer: str, items: list[str], start: int) -> None:
    assert _worker is not None
    for n, item in enumerate(items):
        _worker.learn_one(event(customer, item, "click", minutes=start + n))


def _exists(customer: str) -> bool:
    assert _worker is not None
    return _worker.state(customer) is not None


@pytest.mark.slow
def test_a_click_in_one_worker_changes_what_another_recommends(tmp_path: Path) -> None:
    db, model_dir = str(tmp_path / "states.db"), str(tmp_path / "model")
    parent = make_model(SQLiteStateStore(db))
    parent.save(model_dir)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1, initializer=_init, initargs=(model_dir, db)) as pool:
        cold = pool.apply(_top, ("c1",))
        for n, item in enumerate(VEGAN[:5]):  # a click handled by this worker ...
            parent.learn_one(event("c1", item, "click", minutes=n))
        warm = pool.apply(_top, ("c1",))  # ... changes what the other one recommends
        assert warm != cold and share(warm, VEGAN) >= 0.8
        pool.apply(_learn, ("c1", LEATHER * 2, 10))  # and the other way round
        mine = [s.item_id for s in parent.rank("c1", IDS, at=at(days=1), n_reasons=0)[:10]]
        assert share(mine, LEATHER) >= 0.5
        # concurrent writers to one customer: optimistic concurrency loses no update
        job = pool.apply_async(_learn, ("c9", IDS[:15], 0))
        for n, item in enumerate(IDS[15:30]):
            parent.learn_one(event("c9", item, "click", minutes=100 + n))
        job.get(timeout=120)
        state = parent.state("c9")
        assert state is not None and state.n_signals == 30
        # erasure is seen everywhere
        assert pool.apply(_exists, ("c1",))
        parent.forget("c1")
        assert not pool.apply(_exists, ("c1",))


def test_saved_model_loads_identically(tmp_path: Path) -> None:
    db = str(tmp_path / "states.db")
    model = make_model(SQLiteStateStore(db))
    for n, item in enumerate(VEGAN[:3]):
        model.learn_one(event("c1", item, minutes=n))
    model.save(tmp_path / "m")
    loaded = PreferenceModel.load(tmp_path / "m", SQLiteStateStore(db))
    a = [(s.item_id, s.score, s.reasons) for s in model.rank("c1", IDS, at=at(minutes=5))]
    b = [(s.item_id, s.score, s.reasons) for s in loaded.rank("c1", IDS, at=at(minutes=5))]
    assert a == b
    np.testing.assert_array_equal(model.vectors, loaded.vectors)
