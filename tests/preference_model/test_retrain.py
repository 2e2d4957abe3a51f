"""Retraining keeps every customer (states from another latent space are rebuilt, never
crashed on) and no lock is held across state I/O (issue 11, items 1 and 6)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from preference_model import (
    Consent,
    Context,
    CustomerState,
    InMemoryStateStore,
    Interaction,
    PreferenceModel,
    PretrainConfig,
    Replay,
    Signal,
    SpaceMismatchError,
    pretrain,
)
from tests.preference_model.world import (
    IDS,
    LEATHER,
    VEGAN,
    at,
    event,
    make_model,
    share,
    top,
)


def _history() -> list[Interaction]:
    rng = np.random.default_rng(0)
    out = []
    for u in range(40):
        group = VEGAN if u % 2 else LEATHER
        for n in rng.choice(len(group), 5, replace=False):
            out.append(Interaction(f"p{u}", group[n], at=at(days=-3)))
    return out


def _retrained(store: InMemoryStateStore, dim: int = 8) -> PreferenceModel:
    model = make_model(store, dim=dim)
    pretrain(_history(), model, config=PretrainConfig(dim=dim, epochs=2, n_cohorts=3),
             progress=False)
    return model


def _old_customer(model: PreferenceModel) -> None:
    for n, item in enumerate(VEGAN[:6]):
        model.learn_one(event("c1", item, "purchase", minutes=n))
    model.learn_one(Signal("c1", "stated", attribute="color=green", source="chat", at=at(10)))
    model.learn_one(Signal("c1", "sentiment", attribute="style=modern", value=1.0, at=at(11)))
    model.learn_one(event("c1", LEATHER[0], "click", minutes=12))
    model.correct("c1", "material=leather", None, at=at(13))
    model.learn_one(event("c1", LEATHER[1], "purchase", minutes=14, role="child"))


def test_a_state_from_an_old_prior_is_rebuilt_not_crashed_on() -> None:
    store = InMemoryStateStore()
    old = make_model(store)  # the content-only default: 16 dimensions
    _old_customer(old)
    before = old.state("c1")
    assert before is not None and before.dim == 16 and before.space == old.space
    new = _retrained(store)  # another process after `tailor train preferences`: 8 dims
    assert new.space != old.space
    ranked = new.rank("c1", IDS, at=at(days=1))  # was: numpy "size 16 is different from 8"
    assert len(ranked) == len(IDS)
    assert share(top(new, "c1", at=at(days=1)), VEGAN) >= 0.5  # the history still counts
    st = new.state("c1")
    assert st is not None and st.dim == 8 and st.space == new.space
    assert st.version > before.version  # the rebuilt state was saved, once
    # Replayed: the same signals, the same history; carried: what is attribute-keyed.
    assert st.own.n_signals == before.own.n_signals - 2  # stated + sentiment not replayed
    assert [h.item_id for h in st.history] == [h.item_id for h in before.history]
    assert st.own.stated.keys() == {"color=green"}
    assert st.own.suppressed == {"material=leather"}
    assert "material=leather" not in st.own.inferred
    assert "style=modern" in st.own.inferred  # chat sentiment: no event records it
    assert "child" in st.recipients and st.recipients["child"].long.shape == (8,)
    assert st.cohort is not None
    # And the customer keeps learning in the new space.
    new.learn_one(event("c1", VEGAN[7], "purchase", minutes=30))
    assert new.state("c1").own.n_signals == st.own.n_signals + 1  # type: ignore[union-attr]
    # The old worker, still on its prior, meets the new state and rebuilds it back.
    assert len(old.rank("c1", IDS, at=at(days=1))) == len(IDS)


def test_legacy_and_undecodable_states_are_rebuilt() -> None:
    store = InMemoryStateStore()
    old = make_model(store)
    _old_customer(old)
    row = store.load("c1")
    assert row is not None
    import orjson

    raw = orjson.loads(row[1])
    del raw["space"]  # written before states were stamped
    store.save("c1", orjson.dumps(raw), expected_version=None)
    assert old.state("c1").space is None  # type: ignore[union-attr]  # default: in space
    new = _retrained(store)
    assert new.state("c1").dim == 8  # type: ignore[union-attr]
    store.save("c2", b"{not json", expected_version=None)
    assert new.rank("c2", IDS, at=at(days=1))  # not StateCorruptError
    assert new.state("c2").space == new.space  # type: ignore[union-attr]


def test_rebuild_replays_the_authoritative_history_source() -> None:
    store = InMemoryStateStore()
    old = make_model(store, history_size=3)  # the state keeps only its last 3 entries
    for n, item in enumerate(VEGAN[:8]):
        old.learn_one(event("c1", item, minutes=n))
    new = _retrained(store)
    calls: list[tuple[str, int]] = []

    def source(customer_id: str, limit: int) -> Replay:
        calls.append((customer_id, limit))
        return Replay([event(customer_id, item, minutes=n) for n, item in enumerate(VEGAN[:8])],
                      Consent())

    new.history_source = source
    st = new.state("c1")
    assert calls == [("c1", new.config.rebuild_max_events)]
    assert st is not None and st.own.n_signals == 8  # all 8 events, not the 3 it kept

    def broken(customer_id: str, limit: int) -> Replay:
        raise RuntimeError("database unreachable")

    store2 = InMemoryStateStore()
    old2 = make_model(store2)
    old2.learn_one(event("c9", VEGAN[0]))
    new2 = _retrained(store2)
    new2.history_source = broken
    assert new2.state("c9").own.n_signals == 1  # type: ignore[union-attr]  # own history


def test_a_new_prior_is_adopted_live_and_states_follow() -> None:
    store = InMemoryStateStore()
    live = make_model(store)
    _old_customer(live)
    live.rank("c1", IDS, at=at(days=1))  # cached in the old space
    live.adopt(_retrained(InMemoryStateStore()))
    assert len(live.rank("c1", IDS, at=at(days=1))) == len(IDS)
    assert live.state("c1").dim == 8  # type: ignore[union-attr]
    assert live.migrate("c1") and not live.migrate("nobody")


def test_a_state_in_the_wrong_space_is_a_typed_error_not_numpy() -> None:
    model = make_model()
    st = CustomerState.fresh("x", 5, np.ones(5))
    with pytest.raises(SpaceMismatchError, match="5 dimensions"):
        model._parts(st, "self", np.array([0, 1]), Context(), 0.0, Consent())


def test_saved_artifacts_are_versioned_and_replaced_atomically(tmp_path: Path) -> None:
    first = _retrained(InMemoryStateStore())
    first.save(tmp_path)
    assert PreferenceModel.artifact_version(tmp_path) == first.space
    second = _retrained(InMemoryStateStore(), dim=4)
    second.save(tmp_path)
    third = _retrained(InMemoryStateStore(), dim=6)
    third.save(tmp_path)
    assert PreferenceModel.artifact_version(tmp_path) == third.space
    loaded = PreferenceModel.load(tmp_path)
    assert loaded.space == third.space and loaded.population is not None
    assert loaded.population.trained_at == third.population.trained_at  # type: ignore[union-attr]
    # The previous arrays stay for a worker mid-read; older ones are gone.
    assert sorted(p.name for p in tmp_path.glob("population*.npz")) == sorted(
        [f"population-{second.space}.npz", f"population-{third.space}.npz"])
    assert PreferenceModel.artifact_version(tmp_path / "missing") is None


class SlowStore(InMemoryStateStore):
    """A real store whose save for one customer waits until released."""

    def __init__(self, slow: str) -> None:
        super().__init__()
        self.slow = slow
        self.saving = threading.Event()
        self.release = threading.Event()

    def save(self, customer_id: str, data: bytes, expected_version: int | None) -> int:
        if customer_id == self.slow:
            self.saving.set()
            self.release.wait(60)
        return super().save(customer_id, data, expected_version)


def test_a_slow_state_save_does_not_block_another_customers_rank() -> None:
    store = SlowStore("slow")
    model = make_model(store)
    model.learn_one(event("fast", VEGAN[0]))
    writer = threading.Thread(target=model.learn_one, args=(event("slow", LEATHER[0]),))
    ranked: list[int] = []
    reader = threading.Thread(target=lambda: ranked.append(len(model.rank("fast", IDS))))
    try:
        writer.start()
        assert store.saving.wait(60)
        reader.start()
        reader.join(30)  # a deadlock guard, not a timing: the save is still held
        assert not store.release.is_set() and ranked == [len(IDS)], \
            "rank waited for another customer's state save"
        model.learn_one(event("fast", VEGAN[1], minutes=1))  # writes too
    finally:
        store.release.set()
        writer.join(60)
    assert model.state("slow") is not None


def test_concurrent_writers_of_one_customer_keep_every_update() -> None:
    model = make_model()
    threads = [threading.Thread(target=lambda n=n: [
        model.learn_one(event("c", IDS[(n * 5 + k) % len(IDS)], "click", minutes=n * 5 + k))
        for k in range(5)]) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert model.state("c").own.n_signals == 30  # type: ignore[union-attr]
