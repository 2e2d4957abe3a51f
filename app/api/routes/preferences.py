"""Recommendations and the preference view (stated vs inferred, correctable).

`SubjectDep` resolves the person once (widget visitor check, profile, consent); library
errors reach the caller through app/api/errors.py. Plain `def` routes: FastAPI runs them on
the thread pool, off the event loop."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from app.api.deps import (
    PrefsDep,
    PrincipalDep,
    RuntimeDep,
    SubjectDep,
    get_prefs,
    get_search,
    require,
)
from app.api.routes.search import FilterParams
from app.decide import Person
from app.errors import Forbidden, InvalidInput, NotFound
from app.schemas.catalog import is_staff, item_view
from app.schemas.preferences import (
    PreferenceOut,
    PreferencesPatch,
    ProfileOut,
    ReasonOut,
    Recommendation,
    RecommendationsOut,
)
from app.schemas.types import LocalTime
from app.services.personalization import Personalization
from app.services.subjects import Subject
from preference_model import UnknownCustomerError

router = APIRouter(tags=["personalization"])


@router.get("/customers/{customer_id}/recommendations", response_model=RecommendationsOut,
            summary="Personal recommendations with reasons")
def recommendations(
    person: SubjectDep, principal: PrincipalDep, rt: RuntimeDep,
    params: Annotated[FilterParams, Depends()],
    k: Annotated[int, Query(ge=1, le=100)] = 10,
    role: Annotated[str, Query(pattern="^(self|child|partner|gift|other)$",
                               description="Recommend for a recipient profile")] = "self",
    device: Annotated[str | None, Query(pattern="^(desktop|mobile|tablet|tv|other)$")] = None,
    channel: Annotated[str | None, Query(max_length=20)] = None,
    local_time: Annotated[LocalTime | None, Query(
        description="The customer's local wall-clock time (ISO 8601, ideally with offset).",
        examples=["2026-11-23T19:05:00+01:00"])] = None,
    location: Annotated[str | None, Query(max_length=80)] = None,
    weather: Annotated[str | None, Query(max_length=40)] = None,
    session: Annotated[str | None, Query(max_length=128, description="The shopper's session: "
                                         "the same request in one session gives the same "
                                         "list (default: the day)")] = None,
) -> RecommendationsOut:
    """Ranks in-stock catalog items (optionally a category or filter) for the person in
    this context, through the one decision path (app/decide): candidates from the whole
    catalog, the shop's rules, the preference model, diversity. Anonymous visitors get the
    population prior; without consent to personalization the list is the clearly labelled
    popular-items fallback. An empty list says why (`why_empty`)."""
    prefs = get_prefs(rt)
    index = get_search(rt).require()
    prefs.require_ready()
    context = {k_: v for k_, v in {"device": device, "channel": channel,
                                   "local_time": local_time.isoformat() if local_time else None,
                                   "location": location,
                                   "weather": weather}.items() if v}
    personalized = person.consent.personalization
    note = None if personalized else \
        "not personalized: the customer has not consented to personalization"
    # Exploration is stable within a session: the caller's, else the day (UTC).
    who = Person(person.profile_id, personalized=personalized,
                 sensitive_ok=person.consent.sensitive and personalized,
                 role=role if personalized else "self",
                 session=session or datetime.now(UTC).strftime("%Y-%m-%d"))
    decision = prefs.decider.decide(who, context, "recommendations", params.filters, index, k=k)
    staff = is_staff(principal.role)  # a widget sees no cost, margin or stock count
    out = []
    for item_id in decision.items:
        score, uncertainty = decision.scores.get(item_id, (0.0, 0.0))
        reasons = decision.reasons.get(item_id, ()) if personalized else ()
        out.append(Recommendation(
            item_id=item_id, score=score, uncertainty=uncertainty,
            reasons=[ReasonOut(text=x.text, kind=x.kind, weight=x.weight) for x in reasons],
            item=item_view(index.get(item_id), staff)))
    return RecommendationsOut(customer_id=person.customer_id, personalized=personalized,
                              note=note, items=out, why_empty=decision.why_empty,
                              question=decision.question)


def _profile(prefs: Personalization, person: Subject) -> ProfileOut:
    p = prefs.model.profile(person.profile_id)

    def views(xs: Any) -> list[PreferenceOut]:
        return [PreferenceOut(**asdict(v)) for v in xs]

    return ProfileOut(
        customer_id=person.customer_id, exists=p.exists, stated=views(p.stated),
        inferred=views(p.inferred), suppressed=list(p.suppressed),
        recipients={role: {"stated": [v.model_dump() for v in views(r.stated)],
                           "inferred": [v.model_dump() for v in views(r.inferred)],
                           "n_signals": r.n_signals} for role, r in p.recipients.items()},
        cohort=p.cohort, n_signals=p.n_signals, uncertainty=p.uncertainty,
        style=prefs.describe_style(person.profile_id), consent=asdict(person.consent))


@router.get("/customers/{customer_id}/preferences", response_model=ProfileOut,
            summary="What the model knows: stated vs inferred, with confidence and source")
def get_preferences(person: SubjectDep, prefs: PrefsDep) -> ProfileOut:
    prefs.require_ready()
    return _profile(prefs, person)


@router.patch("/customers/{customer_id}/preferences", response_model=ProfileOut,
              summary="Correct, state or delete preferences (obeyed from the next request)",
              dependencies=[require("widget", "developer", "admin")])  # marketers only read
def patch_preferences(body: PreferencesPatch, person: SubjectDep, rt: RuntimeDep
                      ) -> ProfileOut:
    prefs = get_prefs(rt)
    if not body.set and not body.delete:
        raise InvalidInput("give preferences to `set` or `delete`")
    if not person.consent.personalization:
        raise Forbidden("the customer has not consented to personalization; nothing is "
                        "learned or stored about their preferences")
    model, pid = prefs.model, person.profile_id
    if model.state(pid) is None:  # a first statement creates the profile
        model.set_style(pid, {})
    try:
        for s in body.set:
            model.correct(pid, s.attribute, s.value, role=body.role, source="api")
        for attribute in body.delete:
            model.correct(pid, attribute, None, role=body.role, source="api")
    except UnknownCustomerError as exc:  # the message names the role, not the library's id
        raise NotFound(f"nothing is known about role {body.role!r} of this customer") from exc
    return _profile(prefs, person)
