"""The check battery (River style) run against every learner configuration.

pickle round-trip, clone, seeded reproducibility, and bad signals that get a clear error
and corrupt nothing.
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from preference_model import (
    Consent,
    ConsentRequiredError,
    InMemoryStateStore,
    InvalidSignalError,
    NotReadyError,
    PreferenceModel,
    PreferenceModelError,
    PretrainConfig,
    Signal,
    SQLiteStateStore,
    UnknownItemError,
    pretrain,
)
from preference_model.pretrain import Interaction
from tests.preference_model.world import (
    ATTRS,
    CATS,
    EMB,
    IDS,
    KIDS,
    LEATHER,
    POPULARITY,
    TITLES,
    TOPICS,
    VEGAN,
    at,
    event,
    make_model,
)

Factory = Callable[[Path], PreferenceModel]


def _plain(tmp: Path) -> PreferenceModel:
    return make_model()


def _sqlite(tmp: Path) -> PreferenceModel:
    return make_model(SQLiteStateStore(tmp / "states.db"), dim=8, exploration=0.5)


def _pretrained(tmp: Path) -> PreferenceModel:
    model = make_model(seed=3)
    history = [Interaction(f"h{n % 6}", IDS[(n * 7) % len(IDS)], 1.0) for n in range(60)]
    pretrain(history, model, config=PretrainConfig(dim=6, epochs=2, n_cohorts=2),
             progress=False)
    return model


LEARNERS = {"plain": _plain, "sqlite-explore": _sqlite, "pretrained": _pretrained}


def _stream() -> list[Signal]:
    return [
        Signal("c1", "stated", attribute="diet=vegan", at=at(), source="chat"),
        event("c1", VEGAN[0], "click", minutes=1, context={"device": "mobile"}),
        event("c1", VEGAN[1], "purchase", minutes=2),
        event("c1", KIDS[0], "purchase", minutes=3, role="child"),
        Signal("c1", "sentiment", item_id=LEATHER[0], value=-0.6, at=at(minutes=4)),
        event("c2", LEATHER[1], "dismiss", minutes=5),
        event("c2", LEATHER[2], "rating", value=4.0, minutes=6),
    ]


def _feed(model: PreferenceModel) -> PreferenceModel:
    for sig in _stream():
        model.learn_one(sig)
    return model


def _ranking(model: PreferenceModel, customer: str = "c1",
             exploration: float | None = None) -> list[tuple[str, float, float]]:
    return [(s.item_id, s.score, s.uncertainty)
            for s in model.rank(customer, IDS, at=at(minutes=10), explain_top=None,
                                exploration=exploration)]


def _snapshot(model: PreferenceModel) -> dict[str, object]:
    assert model.items is not None
    rows = {c: model.store.load(c) for c in ("c1", "c2", "c3")}
    return {"rows": rows, "pop": model.items.raw_pop.copy().tolist(),
            "n": len(model.items), "V": model.vectors.copy().tolist()}


@pytest.fixture(params=sorted(LEARNERS))
def factory(request: pytest.FixtureRequest) -> Factory:
    return LEARNERS[request.param]


def test_learn_one_returns_none(factory: Factory, tmp_path: Path) -> None:
    model = factory(tmp_path)
    assert model.learn_one(_stream()[0]) is None  # type: ignore[func-returns-value]


def test_pickle_round_trip_gives_identical_predictions(factory: Factory, tmp_path: Path) -> None:
    model = _feed(factory(tmp_path))
    copy = pickle.loads(pickle.dumps(model))
    assert _ranking(copy) == _ranking(model)
    assert copy.explain("c1", VEGAN[2], at=at()) == model.explain("c1", VEGAN[2], at=at())
    more = event("c1", LEATHER[3], "click", minutes=20)
    if isinstance(model.store, InMemoryStateStore):  # independent copies learn alike
        model.learn_one(more)
        copy.learn_one(more)
        assert _ranking(copy) == _ranking(model)


def test_clone_is_unfitted_with_the_same_params(factory: Factory, tmp_path: Path) -> None:
    model = _feed(factory(tmp_path))
    clone = model.clone()
    assert clone is not model and clone.config == model.config
    assert clone.items is None and clone.store is not model.store
    with pytest.raises(NotReadyError):
        clone.rank("c1", IDS)
    with pytest.raises(NotReadyError):
        clone.learn_one(_stream()[0])
    clone.set_items(IDS, EMB, ATTRS, CATS, POPULARITY, titles=TITLES, sensitive_topics=TOPICS)
    assert clone.state("c1") is None
    reference = PreferenceModel(model.config)
    reference.set_items(IDS, EMB, ATTRS, CATS, POPULARITY, titles=TITLES,
                        sensitive_topics=TOPICS)
    assert _ranking(_feed(clone)) == _ranking(_feed(reference))


def test_same_seed_same_results(factory: Factory, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, b = _feed(factory(tmp_path / "a")), _feed(factory(tmp_path / "b"))
    for _ in range(3):  # includes the exploration draws when exploration is on
        assert _ranking(a) == _ranking(b)
        assert _ranking(a, "c2") == _ranking(b, "c2")
    assert a.next_question("c1", IDS, at=at()) == b.next_question("c1", IDS, at=at())


def _bad_signals() -> list[tuple[object, type[Exception], str]]:
    good = event("c1", VEGAN[3], "click", minutes=30)
    return [
        (replace(good, item_id="no-such-item"), UnknownItemError, "no-such-item"),
        (replace(good, value=math.nan), InvalidSignalError, "finite"),
        (replace(good, value=math.inf), InvalidSignalError, "finite"),
        (replace(good, value="0.5"), InvalidSignalError, "number"),  # type: ignore[arg-type]
        (replace(good, customer_id=42), InvalidSignalError, "customer_id"),  # type: ignore
        (replace(good, item_id=["i01"]), InvalidSignalError, "item_id"),  # type: ignore
        (replace(good, kind="liked"), InvalidSignalError, "kind"),  # type: ignore[arg-type]
        (replace(good, role="neighbour"), InvalidSignalError, "role"),
        (replace(good, event_type="teleport"), InvalidSignalError, "event_type"),
        (replace(good, context={"hour": "noon"}), InvalidSignalError, "hour"),
        (replace(good, context=["device"]), InvalidSignalError, "context"),  # type: ignore
        (replace(good, at=datetime(2026, 1, 1)), InvalidSignalError, "timezone"),
        (replace(good, at="yesterday"), InvalidSignalError, "timezone"),  # type: ignore
        (Signal("c1", "stated", attribute="vegan", at=at()), InvalidSignalError, "name=value"),
        (Signal("c1", "demographic", attribute="age_band=18-24", at=at()),
         ConsentRequiredError, "consent"),
        ({"customer_id": "c1", "kind": "inferred"}, InvalidSignalError, "Signal"),
        (None, InvalidSignalError, "Signal"),
    ]


@pytest.mark.parametrize("case", range(len(_bad_signals())))
def test_bad_signals_raise_clearly_and_corrupt_nothing(factory: Factory, tmp_path: Path,
                                                       case: int) -> None:
    model = _feed(factory(tmp_path))
    before, ranking = _snapshot(model), _ranking(model, exploration=0.0)
    bad, error, needle = _bad_signals()[case]
    with pytest.raises(error) as info:
        model.learn_one(bad)  # type: ignore[arg-type]
    assert isinstance(info.value, PreferenceModelError)
    assert needle.lower() in str(info.value).lower()
    assert _snapshot(model) == before
    assert _ranking(model, exploration=0.0) == ranking
    model.learn_one(event("c1", VEGAN[3], "click", minutes=30))  # still learns afterwards
    assert _ranking(model, exploration=0.0) != ranking


def test_bad_arguments_elsewhere(tmp_path: Path) -> None:
    model = _feed(_plain(tmp_path))
    with pytest.raises(InvalidSignalError):
        model.learn_one(_stream()[0], consent=True)  # type: ignore[arg-type]
    with pytest.raises(InvalidSignalError):
        model.rank("c1", "i01")
    with pytest.raises(InvalidSignalError):
        model.rank("c1", IDS, role="boss")
    with pytest.raises(InvalidSignalError):
        model.rank(7, IDS)  # type: ignore[arg-type]
    with pytest.raises(UnknownItemError):
        model.predict_one("c1", "nope")
    with pytest.raises(InvalidSignalError):
        model.set_items(IDS, EMB[:-1])
    with pytest.raises(InvalidSignalError):
        model.set_items(IDS, np.full_like(EMB, np.nan))
    with pytest.raises(InvalidSignalError):
        model.upsert_item("x", np.ones(3))
    assert len(model.items or []) == len(IDS)  # the failed calls changed nothing
    assert model.rank("c1", IDS, consent=Consent())  # still works
