"""Recommendations and the preference view (stated vs inferred, correctable)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool

from app.api.deps import PrincipalDep, RuntimeDep, widget_visitor
from app.api.routes.search import FilterParams
from app.decide import Person
from app.errors import DependencyUnavailable, Forbidden, InvalidInput, NotFound
from app.runtime import Runtime
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
from app.services.events import resolve_subjects
from app.services.identity import resolve
from preference_model import InvalidSignalError, PreferenceModelError, UnknownCustomerError

router = APIRouter(tags=["personalization"])


def _subject(request: Request, rt: Runtime, principal: Any, customer_id: str) -> tuple[str, Any]:
    """(profile id, consent flags) of the person, creating an anonymous visitor on first
    sight for the widget's own visitor; staff get 404 for someone unknown."""
    principal.require("widget", "marketer", "developer", "admin")
    visitor = widget_visitor(request, rt, principal)
    if visitor is not None and customer_id != visitor:
        raise Forbidden("a widget key may only read its own visitor's recommendations")
    prefs = rt.extras.get("prefs")
    if prefs is None:
        raise DependencyUnavailable("personalization is not enabled on this server")
    with rt.sessions() as db:
        if visitor is not None:
            resolve_subjects(db, {("visitor", visitor)})
            db.commit()
        profile = resolve(db, customer_id)
        return profile.id, prefs.consent(db, profile)


@router.get("/customers/{customer_id}/recommendations", response_model=RecommendationsOut,
            summary="Personal recommendations with reasons")
async def recommendations(
    request: Request, customer_id: str, rt: RuntimeDep, principal: PrincipalDep,
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
    pid, flags = await run_in_threadpool(_subject, request, rt, principal, customer_id)
    search = rt.extras["search"]
    index = search.require()
    prefs = rt.extras["prefs"]
    if not prefs.ready.is_set():
        raise DependencyUnavailable("the preference model is still loading",
                                    headers={"Retry-After": "2"})
    context = {k_: v for k_, v in {"device": device, "channel": channel,
                                   "local_time": local_time.isoformat() if local_time else None,
                                   "location": location,
                                   "weather": weather}.items() if v}
    if flags.personalization:
        note, personalized = None, True
    else:
        note = "not personalized: the customer has not consented to personalization"
        personalized = False
    # Exploration is stable within a session: the caller's, else the day (UTC).
    person = Person(pid, personalized=personalized, sensitive_ok=flags.sensitive and
                    personalized, role=role if personalized else "self",
                    session=session or datetime.now(UTC).strftime("%Y-%m-%d"))
    try:
        decision = await run_in_threadpool(prefs.decider.decide, person, context,
                                           "recommendations", params.filters, index, k=k)
    except (InvalidSignalError, ValueError) as exc:
        raise InvalidInput(str(exc)) from exc
    staff = is_staff(principal.role)  # a widget sees no cost, margin or stock count
    out = []
    for item_id in decision.items:
        score, uncertainty = decision.scores.get(item_id, (0.0, 0.0))
        reasons = decision.reasons.get(item_id, ()) if personalized else ()
        out.append(Recommendation(
            item_id=item_id, score=score, uncertainty=uncertainty,
            reasons=[ReasonOut(text=x.text, kind=x.kind, weight=x.weight) for x in reasons],
            item=item_view(index.get(item_id), staff)))
    return RecommendationsOut(customer_id=customer_id, personalized=personalized, note=note,
                              items=out, why_empty=decision.why_empty,
                              question=decision.question)


def _profile(rt: Runtime, pid: str, flags: Any) -> ProfileOut:
    prefs = rt.extras["prefs"]
    p = prefs.model.profile(pid)
    state = prefs.model.state(pid)

    def views(xs: Any) -> list[PreferenceOut]:
        return [PreferenceOut(**asdict(v)) for v in xs]

    from app.chat import style

    st = style.StyleProfile.from_dict(dict(state.style)) if state and state.style else None
    return ProfileOut(
        customer_id=pid, exists=p.exists, stated=views(p.stated), inferred=views(p.inferred),
        suppressed=list(p.suppressed),
        recipients={role: {"stated": [v.model_dump() for v in views(r.stated)],
                           "inferred": [v.model_dump() for v in views(r.inferred)],
                           "n_signals": r.n_signals} for role, r in p.recipients.items()},
        cohort=p.cohort, n_signals=p.n_signals, uncertainty=p.uncertainty,
        style=style.describe(st) if st else {}, consent=asdict(flags))


@router.get("/customers/{customer_id}/preferences", response_model=ProfileOut,
            summary="What the model knows: stated vs inferred, with confidence and source")
async def get_preferences(request: Request, customer_id: str, rt: RuntimeDep,
                          principal: PrincipalDep) -> ProfileOut:
    pid, flags = await run_in_threadpool(_subject, request, rt, principal, customer_id)
    if "prefs" not in rt.extras or not rt.extras["prefs"].ready.is_set():
        raise DependencyUnavailable("the preference model is still loading")
    return await run_in_threadpool(_profile, rt, pid, flags)


@router.patch("/customers/{customer_id}/preferences", response_model=ProfileOut,
              summary="Correct, state or delete preferences (obeyed from the next request)")
async def patch_preferences(request: Request, customer_id: str, body: PreferencesPatch,
                            rt: RuntimeDep, principal: PrincipalDep) -> ProfileOut:
    if principal.role == "marketer":
        raise Forbidden("marketers may read preferences but not change them")
    if not body.set and not body.delete:
        raise InvalidInput("give preferences to `set` or `delete`")
    pid, flags = await run_in_threadpool(_subject, request, rt, principal, customer_id)
    if not flags.personalization:
        raise Forbidden("the customer has not consented to personalization; nothing is "
                        "learned or stored about their preferences")
    prefs = rt.extras["prefs"]

    def apply() -> ProfileOut:
        model = prefs.model
        if model.state(pid) is None:  # a first statement creates the profile
            model.set_style(pid, {})
        try:
            for s in body.set:
                model.correct(pid, s.attribute, s.value, role=body.role, source="api")
            for attribute in body.delete:
                model.correct(pid, attribute, None, role=body.role, source="api")
        except UnknownCustomerError as exc:
            raise NotFound(f"nothing is known about role {body.role!r} of this customer"
                           ) from exc
        except (InvalidSignalError, PreferenceModelError) as exc:
            raise InvalidInput(str(exc)) from exc
        return _profile(rt, pid, flags)

    return await run_in_threadpool(apply)
