"""learn_many: the batch path gives the same states as learn_one, one write per customer."""

from __future__ import annotations

import numpy as np
import pytest

from preference_model import Consent, InMemoryStateStore, InvalidSignalError, Signal
from tests.preference_model.world import HEALTH, LEATHER, VEGAN, event, make_model


class CountingStore(InMemoryStateStore):
    def __init__(self) -> None:
        super().__init__()
        self.saves = 0

    def save(self, customer_id: str, data: bytes, expected_version: int | None) -> int:
        self.saves += 1
        return super().save(customer_id, data, expected_version)


def batch() -> list[Signal]:
    out = []
    for n, item in enumerate(VEGAN[:4] + LEATHER[:3]):
        out.append(event("a", item, minutes=n))
        out.append(event("b", LEATHER[n % len(LEATHER)], "click", minutes=n))
    return out


def test_same_result_as_learn_one_with_one_write_per_customer() -> None:
    one, many_store = make_model(), CountingStore()
    many = make_model(many_store)
    for sig in batch():
        one.learn_one(sig)
    assert many.learn_many(batch()) == len(batch())
    assert many_store.saves == 2
    for cid in ("a", "b"):
        s1, s2 = one.state(cid), many.state(cid)
        assert s1 is not None and s2 is not None
        assert np.allclose(s1.own.long, s2.own.long) and s1.n_signals == s2.n_signals


def test_a_bad_signal_in_the_batch_changes_nothing() -> None:
    model = make_model()
    bad = [*batch(), Signal("c", "inferred", item_id=VEGAN[0], value=float("nan"),
                            event_type="click")]
    with pytest.raises(InvalidSignalError):
        model.learn_many(bad)
    assert model.state("a") is None and model.state("c") is None


def test_consent_per_customer_is_obeyed() -> None:
    model = make_model()
    sigs = [event("x", HEALTH[0]), event("y", HEALTH[0])]
    n = model.learn_many(sigs, lambda cid: Consent(sensitive=cid == "y"))
    assert n == 1 and model.state("x") is None and model.state("y") is not None
