"""Buy it again: learned repeat rates and intervals, the "due" term in rank, overrides,
reasons, persistence (preference_model/repurchase.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from preference_model import (
    InMemoryStateStore,
    Interaction,
    InvalidSignalError,
    PreferenceConfig,
    PreferenceModel,
    PretrainConfig,
    Signal,
    pretrain,
)
from preference_model.migrate import rebuild
from preference_model.repurchase import PurchaseLog, fit_repeat_stats, record
from preference_model.state import CustomerState

T0 = datetime(2011, 1, 3, 10, 0, tzinfo=UTC)  # a replayed, historical log
DIM = 8


def _day(days: float) -> datetime:
    return T0 + timedelta(days=days)


def _catalog() -> tuple[list[str], np.ndarray, list[dict[str, list[str]]], list[str]]:
    rng = np.random.default_rng(3)
    ids, cats, attrs = [], [], []
    for cat, n in (("coffee", 4), ("sofa", 4), ("decor", 12)):
        for k in range(n):
            ids.append(f"{cat}-{k}")
            cats.append(cat)
            attrs.append({"kind": [cat]})
    content = rng.standard_normal((len(ids), DIM))
    for n, cat in enumerate(cats):  # items of a category share a direction
        content[n] += 2.0 * np.eye(DIM)[("coffee", "sofa", "decor").index(cat)]
    content /= np.linalg.norm(content, axis=1, keepdims=True)
    return ids, content, attrs, cats


def _history() -> list[Interaction]:
    """60 customers: coffee every ~21 days, a sofa once, decor now and then."""
    rng = np.random.default_rng(5)
    out = []
    for c in range(60):
        cid = f"h{c}"
        start = float(rng.uniform(0, 20))
        for n in range(6):
            out.append(Interaction(cid, f"coffee-{c % 4}", 2.0, _day(start + 21 * n),
                                   event_type="purchase"))
        out.append(Interaction(cid, f"sofa-{c % 4}", 1.0, _day(start + 5),
                               event_type="purchase"))
        for n in range(3):
            out.append(Interaction(cid, f"decor-{int(rng.integers(12))}", 1.0,
                                   _day(start + 30 * n + 3), event_type="purchase"))
    return out


def _model(**config: object) -> PreferenceModel:
    model = PreferenceModel(PreferenceConfig(dim=DIM, **config),  # type: ignore[arg-type]
                            InMemoryStateStore())
    ids, content, attrs, cats = _catalog()
    model.set_items(ids, content, attrs, cats, titles=[i.replace("-", " ") for i in ids])
    return model


@pytest.fixture(scope="module")
def trained() -> PreferenceModel:
    model = _model()
    pretrain(_history(), model, config=PretrainConfig(dim=DIM, epochs=3, n_cohorts=2,
                                                      validation_fraction=0.0, similar=False),
             progress=False)
    return model


def _fresh(trained: PreferenceModel, **config: object) -> PreferenceModel:
    """The trained prior in a new model (own store, own config) - as a worker loads it."""
    model = PreferenceModel(replace(trained.config, **config), InMemoryStateStore())  # type: ignore[arg-type]
    model.adopt(trained)
    # adopt takes the trained config; the shop's own settings go on top (as the service does)
    model.config = replace(trained.config, **config)  # type: ignore[arg-type]
    return model


def _buy(model: PreferenceModel, customer: str, item: str, day: float,
         qty: float = 1.0) -> None:
    model.learn_one(Signal(customer, "inferred", item_id=item, event_type="purchase",
                           value=qty, at=_day(day)))


def _coffee_customer(model: PreferenceModel, customer: str = "c1") -> None:
    for day in (100, 121, 142):
        _buy(model, customer, "coffee-0", day)
    _buy(model, customer, "sofa-0", 142)


def _position(model: PreferenceModel, customer: str, item: str, day: float) -> int:
    ids = model.items.ids  # type: ignore[union-attr]
    ranked = [s.item_id for s in model.rank(customer, ids, at=_day(day), n_reasons=0)]
    return ranked.index(item)


def test_learned_rates_tell_consumables_from_sofas(trained: PreferenceModel) -> None:
    stats = trained.population.repeat  # type: ignore[union-attr]
    assert stats is not None
    assert stats.categories["coffee"].rate > 0.9
    assert stats.categories["sofa"].rate < 0.1
    assert 18 < stats.categories["coffee"].interval_days < 24
    assert stats.items["coffee-0"].rate > 0.9


def test_consumable_comes_back_near_its_interval_not_right_after(
        trained: PreferenceModel) -> None:
    model = _fresh(trained)
    _coffee_customer(model)
    assert _position(model, "c1", "coffee-0", 142.1) >= 10  # just bought: not again yet
    assert _position(model, "c1", "coffee-0", 163) == 0  # three weeks on: due, first
    due = model.repurchase_candidates("c1", at=_day(163))
    assert [d.item_id for d in due] == ["coffee-0"]
    assert 18 < due[0].interval_days < 24 and due[0].n == 3
    assert model.repurchase_candidates("c1", at=_day(143)) == []


def test_sofa_is_not_recommended_again(trained: PreferenceModel) -> None:
    model = _fresh(trained)
    _coffee_customer(model)
    n = len(model.items.ids)  # type: ignore[union-attr]
    for day in (143, 163, 250):
        assert _position(model, "c1", "sofa-0", day) >= n - 4  # at the bottom
    every = model.repurchase_candidates("c1", at=_day(163), due_only=False)
    sofa = next(d for d in every if d.item_id == "sofa-0")
    assert sofa.term == -model.config.repurchase_never_penalty


def test_without_repurchase_the_just_bought_sofa_would_rank_high(
        trained: PreferenceModel) -> None:
    """The regression the term fixes: taste alone pushes what was just bought."""
    model = _fresh(trained, repurchase_weight=0.0, repurchase_never_penalty=0.0)
    _coffee_customer(model)
    assert _position(model, "c1", "sofa-0", 143) < 8


def test_overrides_by_item_category_and_attribute(trained: PreferenceModel) -> None:
    model = _fresh(trained, repurchase_overrides={"sofa": "repeat"})
    _coffee_customer(model)
    _buy(model, "c1", "sofa-0", 100)  # two sofa orders, six weeks apart
    assert "sofa-0" in [d.item_id for d in model.repurchase_candidates("c1", at=_day(190))]

    model = _fresh(trained, repurchase_overrides={"coffee-0": "never"})
    _coffee_customer(model)
    assert model.repurchase_candidates("c1", at=_day(163)) == []
    assert _position(model, "c1", "coffee-0", 163) >= 10

    model = _fresh(trained, repurchase_overrides={"kind=coffee": 0.0, "coffee": "repeat"})
    _coffee_customer(model)  # the attribute is more specific than the category
    assert model.repurchase_candidates("c1", at=_day(163)) == []

    for bad in ({"sofa": "sometimes"}, {"sofa": 1.5}, {"": "never"}, {"sofa": True}):
        with pytest.raises(InvalidSignalError):
            PreferenceModel(PreferenceConfig(repurchase_overrides=bad))


def test_reasons_say_the_interval_and_agree_with_the_score(trained: PreferenceModel) -> None:
    model = _fresh(trained)
    _coffee_customer(model)
    reasons = model.explain("c1", "coffee-0", at=_day(163))
    rep = [r for r in reasons if r.kind == "repurchase"]
    assert rep and rep[0].weight > 0
    assert rep[0].text == "you usually re-order this every 3 weeks (you bought it 3 times)"
    early = [r for r in model.explain("c1", "coffee-0", at=_day(143)) if r.kind == "repurchase"]
    assert early and early[0].weight < 0 and "not due again yet" in early[0].text
    sofa = [r for r in model.explain("c1", "sofa-0", at=_day(163)) if r.kind == "repurchase"]
    assert sofa and sofa[0].weight < 0 and sofa[0].text == "you already bought this"


def test_now_defaults_to_the_events_time_not_the_wall_clock(trained: PreferenceModel) -> None:
    model = _fresh(trained)
    _coffee_customer(model)
    _buy(model, "c2", "decor-1", 163)  # the shop's log goes on to day 163
    ids = model.items.ids  # type: ignore[union-attr]
    implicit = [s.item_id for s in model.rank("c1", ids, n_reasons=0)]
    explicit = [s.item_id for s in model.rank("c1", ids, at=_day(163), n_reasons=0)]
    assert implicit[0] == explicit[0] == "coffee-0"


def test_quantity_and_order_lines() -> None:
    logs: dict[str, PurchaseLog] = {}
    t = _day(0).timestamp()
    record(logs, "x", t, 2, merge_s=12 * 3600, cap=2)
    record(logs, "x", t + 600, 3, merge_s=12 * 3600, cap=2)  # same order: one occasion
    assert logs["x"].n == 1 and logs["x"].qty == 5
    record(logs, "x", t - 10 * 86400, 1, merge_s=12 * 3600, cap=2)  # a backfilled order
    assert logs["x"].n == 2 and logs["x"].first_at == t - 10 * 86400 and logs["x"].last_qty == 5
    record(logs, "y", t, 1, merge_s=0, cap=2)
    record(logs, "z", t + 1, 1, merge_s=0, cap=2)  # over the cap: the oldest goes
    assert set(logs) == {"y", "z"} or set(logs) == {"x", "z"}


def test_stocking_up_pushes_the_next_order_later(trained: PreferenceModel) -> None:
    small, big = _fresh(trained), _fresh(trained)
    for model, last in ((small, 1.0), (big, 4.0)):
        for day, qty in ((100, 1.0), (121, 1.0), (142, last)):
            _buy(model, "c1", "coffee-0", day, qty)
    d_small = small.repurchase_candidates("c1", at=_day(160), due_only=False)[0]
    d_big = big.repurchase_candidates("c1", at=_day(160), due_only=False)[0]
    assert d_big.interval_days > d_small.interval_days
    assert d_big.term < d_small.term


def test_save_load_and_state_round_trip_keep_what_is_needed(trained: PreferenceModel,
                                                             tmp_path: Path) -> None:
    model = _fresh(trained, repurchase_overrides={"decor": "never"})
    _coffee_customer(model)
    model.save(tmp_path / "prior")
    loaded = PreferenceModel.load(tmp_path / "prior", model.store)
    assert loaded.population.repeat == model.population.repeat  # type: ignore[union-attr]
    assert loaded.config.repurchase_overrides == {"decor": "never"}
    assert loaded.event_clock == model.event_clock > 0
    assert [d.item_id for d in loaded.repurchase_candidates("c1", at=_day(163))] == ["coffee-0"]
    st = model.state("c1")
    assert st is not None
    back = CustomerState.from_bytes(st.to_bytes())
    assert back.purchases["self"]["coffee-0"] == st.purchases["self"]["coffee-0"]
    # A rebuild into a new latent space keeps the purchase logs as they were.
    with model._catalog.gen_rlock():
        new = rebuild(model, st, "c1", None)
    assert new.purchases == st.purchases
    # States written before repurchase decode with no purchases.
    raw = st.to_bytes().replace(b'"purchases"', b'"ignored_x"')
    assert CustomerState.from_bytes(raw).purchases == {}


def test_no_purchases_means_no_term() -> None:
    """Ratings and clicks (MovieLens) are not repeat purchases: the term stays out."""
    model = _model()
    pretrain([Interaction(f"u{u}", f"decor-{(u + k) % 12}", 1.0, _day(k))
              for u in range(20) for k in range(4)], model,
             config=PretrainConfig(dim=DIM, epochs=1, n_cohorts=1, validation_fraction=0.0,
                                   similar=False), seed_states=True, progress=False)
    assert model.population.repeat is None  # type: ignore[union-attr]
    model.learn_one(Signal("u1", "inferred", item_id="decor-3", event_type="click",
                           at=_day(5)))
    rows = np.arange(len(model.items.ids))  # type: ignore[union-attr]
    st = model.state("u1")
    from preference_model.signals import Consent, Context
    parts = model._parts(st, "self", rows, Context(), _day(6).timestamp(), Consent())
    assert "repurchase" not in parts


def test_fit_repeat_stats_shrinks_rare_items_to_their_category() -> None:
    t = _day(0).timestamp()
    buys = [(f"c{c}", "mug-1", t + 86400 * 14 * n, 1.0) for c in range(20) for n in range(3)]
    buys.append(("z", "mug-2", t, 1.0))  # one buyer, once
    stats = fit_repeat_stats(buys, {"mug-1": "mug", "mug-2": "mug"})
    assert stats.items["mug-2"].rate > 0.5  # borrowed from "mug", not 0 from one buyer
    assert 13 < stats.items["mug-2"].interval_days < 15


def test_what_the_customer_said_beats_the_habit(trained: PreferenceModel) -> None:
    model = _fresh(trained)
    _coffee_customer(model)
    model.correct("c1", "kind=coffee", None, at=_day(150))  # "stop assuming coffee"
    assert model.repurchase_candidates("c1", at=_day(163)) == []
    assert _position(model, "c1", "coffee-0", 163) > 0
    other = _fresh(trained)
    _coffee_customer(other, "c2")
    other.learn_one(Signal("c2", "stated", item_id="coffee-0", value=-1.0, at=_day(150)))
    assert other.repurchase_candidates("c2", at=_day(163)) == []


def test_the_term_speaks_softly_until_repeat_rates_are_learned(trained: PreferenceModel) -> None:
    """Before training, every item's repeat rate is a guess (30%, every 30 days): a sofa
    bought five weeks ago must not top an untrained shop's list by the trained weight."""
    untrained, learned = _model(), _fresh(trained)
    assert untrained.population.repeat is None
    for model in (untrained, learned):
        _buy(model, "c1", "sofa-0", 100)
        _buy(model, "c1", "coffee-0", 100)
    soft = {d.item_id: d.term for d in untrained.repurchase_candidates("c1", at=_day(135))}
    cfg = untrained.config
    assert soft and max(soft.values()) <= cfg.repurchase_untrained_weight * np.log(2) + 1e-9
    assert cfg.repurchase_untrained_weight < cfg.repurchase_weight
    loud = {d.item_id: d.term for d in learned.repurchase_candidates("c1", at=_day(121))}
    assert loud["coffee-0"] > cfg.repurchase_untrained_weight  # learned: trusted
