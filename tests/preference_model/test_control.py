"""Item 6 (explanations, profile, correction, erasure) and consent handling."""

from __future__ import annotations

import pytest

from preference_model import (
    Consent,
    ConsentRequiredError,
    InvalidSignalError,
    Signal,
    UnknownCustomerError,
)
from tests.preference_model.world import (
    HEALTH,
    IDS,
    LEATHER,
    VEGAN,
    at,
    event,
    make_model,
    share,
    top,
)


def test_reasons_in_plain_words() -> None:
    model = make_model()
    model.learn_one(Signal("c1", "stated", attribute="diet=vegan", at=at(), source="chat"))
    model.learn_one(event("c1", VEGAN[0], "purchase", days=1))
    ranked = model.rank("c1", IDS, at=at(days=8))
    first = ranked[0]
    assert first.item_id in VEGAN
    texts = [r.text for r in first.reasons]
    assert "because you said you're vegan" in texts
    assert any(t.startswith("similar to") and "which you bought last week" in t
               for s in ranked[:5] for t in (r.text for r in s.reasons))
    assert all(len(s.reasons) <= 3 for s in ranked)
    assert all(s.reasons for s in ranked[:10]) and not any(s.reasons for s in ranked[10:])
    weights = [abs(r.weight) for r in ranked[0].reasons]
    assert weights == sorted(weights, reverse=True)
    # reasons for every item on request, and the same words from explain()
    full = model.rank("c1", IDS, at=at(days=8), explain_top=None)
    assert sum(bool(s.reasons) for s in full) > len(IDS) // 2
    assert model.explain("c1", first.item_id, at=at(days=8)) == list(first.reasons)
    assert model.rank("c1", IDS, at=at(days=8), n_reasons=0)[0].reasons == ()


def test_constraint_reason_and_new_customer_reasons() -> None:
    model = make_model()
    model.learn_one(Signal("c1", "stated", attribute="material=leather", value=-1.0,
                           event_type="constraint", at=at()))
    reasons = model.explain("c1", LEATHER[0], at=at())
    assert reasons[0].text == "because you asked for no leather" and reasons[0].weight < 0
    cold = model.explain("nobody", LEATHER[0], at=at())
    assert all(r.kind == "popularity" for r in cold)


def test_profile_separates_stated_from_inferred() -> None:
    model = make_model()
    model.learn_one(Signal("c1", "stated", attribute="diet=vegan", at=at(), source="chat"))
    model.learn_one(Signal("c1", "stated", item_id=LEATHER[0], value=-1.0, at=at(),
                           source="preference centre"))
    for n in range(4):
        model.learn_one(event("c1", LEATHER[n + 1], "click", minutes=n + 1))
    profile = model.profile("c1")
    assert profile.exists and profile.n_signals == 6
    stated = {(p.attribute, p.item_id): p for p in profile.stated}
    assert stated[("diet=vegan", None)].source == "chat"
    assert stated[("diet=vegan", None)].confidence == 1.0
    assert stated[(None, LEATHER[0])].value == -1.0
    assert stated[("diet=vegan", None)].at == at()
    inferred = {p.attribute: p for p in profile.inferred}
    leather = inferred["material=leather"]
    assert leather.kind == "inferred" and 0 < leather.confidence < 1 and leather.value > 0
    assert leather.source == "inferred" and leather.at == at(minutes=4)
    assert 0 < profile.uncertainty <= 1
    assert not model.profile("ghost").exists


def test_correction_is_obeyed_on_the_next_request() -> None:
    model = make_model()
    for n, item in enumerate(LEATHER * 2):
        model.learn_one(event("c1", item, "purchase", days=n / 4))
    assert share(top(model, "c1", at=at(days=10)), LEATHER) >= 0.8
    # "I don't actually like leather, stop assuming that"
    model.correct("c1", "material=leather", None, at=at(days=10))
    after = top(model, "c1", at=at(days=10))
    assert share(after, LEATHER) <= 0.3
    profile = model.profile("c1")
    assert "material=leather" not in {p.attribute for p in profile.inferred}
    assert "material=leather" in profile.suppressed
    model.learn_one(event("c1", LEATHER[0], "click", days=10.1))  # not re-inferred
    assert "material=leather" not in {p.attribute for p in model.profile("c1").inferred}
    # an explicit correction to a value becomes a stated preference
    model.correct("c1", "diet=vegan", 1.0, at=at(days=11))
    assert share(top(model, "c1", at=at(days=11)), VEGAN) >= 0.8
    stated = {p.attribute: p for p in model.profile("c1").stated}
    assert stated["diet=vegan"].source == "correction"
    with pytest.raises(UnknownCustomerError):
        model.correct("ghost", "diet=vegan", None)
    with pytest.raises(InvalidSignalError):
        model.correct("c1", "diet=vegan", 7.0)


def test_erasure_removes_the_state() -> None:
    model = make_model()
    fresh = [(s.item_id, s.score) for s in model.rank("c2", IDS, at=at())]
    for n, item in enumerate(VEGAN[:5]):
        model.learn_one(event("c1", item, minutes=n))
    assert model.forget("c1") is True
    assert model.state("c1") is None and not model.profile("c1").exists
    assert [(s.item_id, s.score) for s in model.rank("c1", IDS, at=at())] == fresh
    assert model.forget("c1") is False


def test_sensitive_topics_need_consent() -> None:
    model = make_model()
    for n, item in enumerate(HEALTH):
        model.learn_one(event("c1", item, "purchase", minutes=n))
    assert model.state("c1") is None  # nothing was inferred, not even a state
    model.learn_one(Signal("c1", "sentiment", attribute="topic=pregnancy", value=1.0, at=at()))
    assert model.state("c1") is None
    for n, item in enumerate(HEALTH):
        model.learn_one(event("c2", item, "purchase", minutes=n),
                        consent=Consent(sensitive=True))
    assert "topic=health" in {p.attribute for p in model.profile("c2").inferred}
    # without consent at ranking time, sensitive items get no personal boost or reasons
    with_consent = model.predict_one("c2", HEALTH[0], at=at(), consent=Consent(sensitive=True))
    without = model.predict_one("c2", HEALTH[0], at=at())
    assert without == model.predict_one("stranger", HEALTH[0], at=at()) < with_consent
    assert all(r.kind == "popularity" for r in model.explain("c2", HEALTH[0], at=at()))


def test_demographic_signals_need_consent() -> None:
    model = make_model()
    sig = Signal("c1", "demographic", attribute="age_band=25-34", at=at(), source="signup")
    with pytest.raises(ConsentRequiredError):
        model.learn_one(sig)
    assert model.state("c1") is None
    model.learn_one(sig, consent=Consent(demographic=True))
    demo = model.profile("c1").demographic
    assert [p.attribute for p in demo] == ["age_band=25-34"]
    with pytest.raises(InvalidSignalError):
        model.learn_one(sig, consent={"demographic": True})  # type: ignore[arg-type]


def test_style_slot_and_last_context() -> None:
    model = make_model()
    model.set_style("c1", {"tone": "casual", "emoji": False})
    model.learn_one(Signal("c1", "context", context={"device": "mobile"}, at=at()))
    state = model.state("c1")
    assert state is not None
    assert state.style == {"tone": "casual", "emoji": False}
    assert state.last_context == {"device": "mobile"}
    with pytest.raises(InvalidSignalError):
        model.set_style("c1", {"bad": object()})
