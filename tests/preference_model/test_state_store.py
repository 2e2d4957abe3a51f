"""Item 7 (storage side): state serialisation and the versioned stores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from preference_model import (
    CustomerState,
    InMemoryStateStore,
    SQLiteStateStore,
    StaleStateError,
    StateCorruptError,
    StateStore,
)
from tests.preference_model.world import VEGAN, event, make_model


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> StateStore:
    if request.param == "memory":
        return InMemoryStateStore()
    return SQLiteStateStore(tmp_path / "states.db")


def test_state_bytes_round_trip() -> None:
    model = make_model()
    model.learn_one(event("c1", VEGAN[0], "click", context={"device": "mobile"}))
    state = model.state("c1")
    assert state is not None
    state.style["tone"] = "casual"
    again = CustomerState.from_bytes(state.to_bytes(), state.version)
    assert again.to_bytes() == state.to_bytes()
    np.testing.assert_array_equal(again.own.long, state.own.long)
    assert again.last_context == {"device": "mobile"}


def test_corrupt_bytes_raise() -> None:
    with pytest.raises(StateCorruptError):
        CustomerState.from_bytes(b"not json")
    with pytest.raises(StateCorruptError):
        CustomerState.from_bytes(b'{"schema": 99}')
    with pytest.raises(StateCorruptError):
        CustomerState.from_bytes(b'{"schema": 1, "customer_id": "x"}')


def test_store_protocol_and_optimistic_concurrency(store: StateStore) -> None:
    assert isinstance(store, StateStore)
    assert store.load("c") is None and store.version("c") is None
    v1 = store.save("c", b"one", expected_version=0)
    assert store.load("c") == (v1, b"one") and store.version("c") == v1
    with pytest.raises(StaleStateError):
        store.save("c", b"lost update", expected_version=0)
    v2 = store.save("c", b"two", expected_version=v1)
    assert v2 > v1
    with pytest.raises(StaleStateError):
        store.save("c", b"stale", expected_version=v1)
    assert store.load("c") == (v2, b"two")
    v3 = store.save("c", b"forced", expected_version=None)
    assert v3 > v2
    assert store.delete("c") is True and store.delete("c") is False
    assert store.load("c") is None
    # a re-created state never reuses a version a cache may hold
    assert store.save("c", b"new", expected_version=0) not in {v1, v2, v3}


def test_sqlite_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "states.db"
    model = make_model(SQLiteStateStore(path))
    model.learn_one(event("c1", VEGAN[0]))
    before = model.predict_one("c1", VEGAN[1])
    restarted = make_model(SQLiteStateStore(path))  # a new process after a restart
    assert restarted.predict_one("c1", VEGAN[1]) == before
