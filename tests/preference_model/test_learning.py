"""Items 1, 2 and 9: learning from typed signals, roles, context, drift."""

from __future__ import annotations

import numpy as np
import pytest

from preference_model import InvalidSignalError, Signal, UnknownItemError
from tests.preference_model.world import (
    EMB,
    IDS,
    KIDS,
    LEATHER,
    POPULARITY,
    VEGAN,
    at,
    event,
    make_model,
    share,
    top,
)


def test_inferred_events_move_the_ranking_and_stronger_events_move_it_more() -> None:
    model = make_model()
    cold = top(model, "c1")
    for n, item in enumerate(VEGAN[:5]):
        model.learn_one(event("c1", item, "purchase", minutes=n))
    assert share(top(model, "c1", at=at(minutes=10)), VEGAN) >= 0.8 > share(cold, VEGAN)
    gains = {}
    for etype in ("view", "click", "purchase"):
        m = make_model()
        before = m.predict_one("x", VEGAN[1], at=at())
        m.learn_one(event("x", VEGAN[0], etype))
        gains[etype] = m.predict_one("x", VEGAN[1], at=at()) - before
    assert 0 < gains["view"] < gains["click"] < gains["purchase"]


def test_negative_events_push_down() -> None:
    model = make_model()
    before = model.predict_one("c1", LEATHER[1], at=at())
    model.learn_one(event("c1", LEATHER[0], "dismiss"))
    model.learn_one(event("c1", LEATHER[2], "rating", value=1, minutes=1))
    assert model.predict_one("c1", LEATHER[1], at=at(minutes=2)) < before


def test_stated_dislike_beats_inferred_liking() -> None:
    model = make_model()
    for n, item in enumerate(LEATHER * 2):
        model.learn_one(event("c1", item, "purchase", minutes=n))
    assert share(top(model, "c1", at=at(minutes=30)), LEATHER) >= 0.8
    model.learn_one(Signal("c1", "stated", attribute="material=leather", value=-1.0,
                           at=at(minutes=31), source="chat: I've gone off leather"))
    assert share(top(model, "c1", at=at(minutes=32)), LEATHER) == 0.0


def test_stated_constraint_is_hard() -> None:
    model = make_model()
    model.learn_one(Signal("c1", "stated", attribute="diet=vegan", value=1.0,
                           event_type="constraint", at=at()))
    assert share(top(model, "c1", at=at(minutes=1)), VEGAN) == 1.0


def test_stated_item_dislike() -> None:
    model = make_model()
    model.learn_one(Signal("c1", "stated", item_id=IDS[0], value=-1.0, at=at()))
    ranked = [s.item_id for s in model.rank("c1", IDS, at=at())]
    assert ranked.index(IDS[0]) >= len(IDS) - 5


def test_sentiment_about_items_and_attributes() -> None:
    model = make_model()
    before = model.predict_one("c1", LEATHER[1], at=at())
    model.learn_one(Signal("c1", "sentiment", item_id=LEATHER[0], value=-0.9, at=at(),
                           source="that leather one is ugly"))
    model.learn_one(Signal("c1", "sentiment", attribute="material=leather", value=-0.8,
                           at=at(minutes=1)))
    assert model.predict_one("c1", LEATHER[1], at=at(minutes=2)) < before
    inferred = {p.attribute: p for p in model.profile("c1").inferred}
    assert inferred["material=leather"].value < 0


def test_purchases_for_a_child_build_a_recipient_profile_not_the_own_one() -> None:
    model = make_model()
    for n, item in enumerate(VEGAN[:4]):
        model.learn_one(event("jane", item, minutes=n))
    own_before = [(s.item_id, s.score) for s in model.rank("jane", IDS, at=at(minutes=60))]
    for n, item in enumerate(KIDS[:6]):
        model.learn_one(event("jane", item, minutes=10 + n, role="child"))
    own_after = [(s.item_id, s.score) for s in model.rank("jane", IDS, at=at(minutes=60))]
    assert own_after == own_before
    assert share(top(model, "jane", role="child", at=at(minutes=60)), KIDS) >= 0.8
    profile = model.profile("jane")
    assert "child" in profile.recipients
    assert all("age=" not in (p.attribute or "") for p in profile.inferred)
    # and the chat can ask "is this for you?" before an off-profile purchase is learned
    probe = model.role_check("jane", KIDS[7], at=at(minutes=61), min_signals=3)
    assert probe is not None and probe.kind == "role" and "for you" in probe.question
    assert model.role_check("jane", VEGAN[5], at=at(minutes=61), min_signals=3) is None


def test_session_vector_decays_within_a_session() -> None:
    model = make_model(attr_lr=0.0)
    base = model.predict_one("c1", LEATHER[1], at=at())
    model.learn_one(event("c1", LEATHER[0], "click"))
    now = model.predict_one("c1", LEATHER[1], at=at(minutes=1))
    later = model.predict_one("c1", LEATHER[1], at=at(minutes=240))
    assert now > later > base
    state = model.state("c1")
    assert state is not None and np.linalg.norm(state.own.short) > 0


def test_context_habits_are_learned_and_used() -> None:
    model = make_model()
    evening = {"local_time": "2026-11-02T20:00:00+00:00"}
    morning = {"local_time": "2026-11-03T08:00:00+00:00"}
    for n, item in enumerate(KIDS[:5] * 3):
        model.learn_one(event("c1", item, "click", minutes=n, context=evening))
    p_eve = model.predict_one("c1", KIDS[6], evening, at=at(days=1))
    p_morn = model.predict_one("c1", KIDS[6], morning, at=at(days=1))
    assert p_eve > p_morn
    reasons = model.explain("c1", KIDS[6], evening, at=at(days=1), n_reasons=6)
    assert any(r.kind == "context" and "in the evening" in r.text for r in reasons)


def test_external_popularity_is_catalog_wide() -> None:
    model = make_model()
    item = LEATHER[3]
    before = model.predict_one("anyone", item, at=at())
    model.learn_one(Signal("*", "external", item_id=item, value=500.0, at=at()))
    assert model.predict_one("anyone", item, at=at()) > before
    assert model.state("*") is None


def test_drift_taste_shift_recovers_quickly() -> None:
    """Six weeks of vegan food, then the customer switches to leather shoes."""
    model = make_model()
    for n in range(40):
        model.learn_one(event("c1", VEGAN[n % len(VEGAN)], "purchase", days=n))
    assert share(top(model, "c1", at=at(days=40)), VEGAN) >= 0.8
    needed = None
    for n in range(12):
        model.learn_one(event("c1", LEATHER[n % len(LEATHER)], "click", days=45, minutes=n))
        if share(top(model, "c1", at=at(days=45, minutes=n + 1)), LEATHER) >= 0.5:
            needed = n + 1
            break
    assert needed is not None and needed <= 6, needed
    # the shift continues for a few days; a week later (session gone) the long-term
    # profile has been revised, not just the session
    for n in range(6):
        model.learn_one(event("c1", LEATHER[n], "purchase", days=46 + n / 2))
    assert share(top(model, "c1", at=at(days=55)), LEATHER) >= 0.8
    inferred = {p.attribute: p.value for p in model.profile("c1").inferred}
    assert inferred["material=leather"] > inferred["diet=vegan"]


def _after_shift(model_kw: dict[str, float]) -> tuple[float, float]:
    """Six weeks of vegan purchases, then two leather purchases three hours apart (no
    session carry-over): leather's share of the top 10, and how much the long-term taste
    still favours vegan food."""
    model = make_model(**model_kw)
    for n in range(40):
        model.learn_one(event("c1", VEGAN[n % len(VEGAN)], "purchase", days=n))
    for n in range(2):
        model.learn_one(event("c1", LEATHER[n], "purchase", days=42 + n / 8))
    state = model.state("c1")
    assert state is not None and model.items is not None
    rows = [model.items.index[i] for i in VEGAN]
    return (share(top(model, "c1", at=at(days=42.3)), LEATHER),
            float(np.mean(model.vectors[rows] @ state.own.long)))


def test_adaptive_forgetting_follows_a_taste_shift_faster() -> None:
    share_on, vegan_on = _after_shift({})
    share_off, vegan_off = _after_shift({"surprise_forget": 0.0})
    assert share_on > share_off and vegan_on < 0.95 * vegan_off


def test_adaptive_forgetting_leaves_new_and_broad_customers_alone() -> None:
    on, off = make_model(), make_model(surprise_forget=0.0)
    for model in (on, off):
        for n in range(8):  # a new customer; then one who likes vegan food and leather alike
            model.learn_one(event("new", (VEGAN if n % 2 else LEATHER)[n], days=n / 4))
    a, b = on.state("new"), off.state("new")
    assert a is not None and b is not None
    np.testing.assert_allclose(a.own.long, b.own.long)
    np.testing.assert_allclose(a.own.precision, b.own.precision)


def test_catalog_changes() -> None:
    model = make_model()
    vec = EMB[VEGAN[0] == np.array(IDS)][0]
    model.upsert_item("new1", vec, {"diet": ["vegan"]}, "Food", title="new vegan snack")
    for n, item in enumerate(VEGAN[:5]):
        model.learn_one(event("c1", item, minutes=n))
    assert model.predict_one("c1", "new1", at=at(minutes=9)) > model.predict_one(
        "c1", LEATHER[0], at=at(minutes=9))
    model.remove_item(LEATHER[0])
    with pytest.raises(UnknownItemError):
        model.learn_one(event("c1", LEATHER[0]))
    with pytest.raises(UnknownItemError):
        model.rank("c1", [LEATHER[0]])
    assert [s.item_id for s in model.rank("c1", [LEATHER[0], "new1"], skip_unknown=True)] \
        == ["new1"]


def test_novelty_discounts_popular_items_in_the_order_only() -> None:
    model = make_model()
    pop = dict(zip(IDS, POPULARITY, strict=True))
    plain = model.rank("stranger", IDS, at=at())
    novel = model.rank("stranger", IDS, at=at(), novelty=2.0)
    mean_pop = lambda ranked: float(np.mean([pop[s.item_id] for s in ranked[:10]]))  # noqa: E731
    assert mean_pop(novel) < mean_pop(plain)
    # Probabilities are the model's, whatever the order.
    assert {s.item_id: s.score for s in plain} == {s.item_id: s.score for s in novel}
    assert [s.item_id for s in make_model(novelty=2.0).rank("stranger", IDS, at=at())] == [
        s.item_id for s in novel]
    with pytest.raises(InvalidSignalError):
        model.rank("stranger", IDS, at=at(), novelty=float("nan"))
