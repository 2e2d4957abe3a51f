"""The NBA layer as one worker holds it (`Runtime.nba`): the decision engine, propensities,
experiments and the webhook sender, built in `lifespan` by `build`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.nba.engine import ItemSource, NextBestAction
from app.nba.propensities import Propensities
from app.nba.scoring import logit

if TYPE_CHECKING:
    from app.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass
class NbaServices:
    engine: NextBestAction
    propensities: Propensities
    sender: Any | None = None  # app.nba.webhooks.Sender, when a poll interval is set
    ranker: Any | None = None  # app.nba.slots.Ranker: the decision path, when it runs
    journeys: Any | None = None  # app.nba.journeys.service.Journeys

    def close(self) -> None:
        if self.sender is not None:
            self.sender.stop()


def decision_path_items(rt: Runtime) -> ItemSource | None:
    """Item candidates from the one decision path (app/decide), when a preference model
    and an index run in this worker."""
    prefs, search = rt.prefs, rt.search
    if prefs is None or search is None:
        return None

    def items(pid: str, personalized: bool, sensitive_ok: bool, session: str, k: int
              ) -> list[tuple[str, float, tuple[str, ...]]]:
        from app.decide import Person

        if not prefs.ready.is_set():
            return []
        index = search.require()
        person = Person(pid, personalized=personalized,
                        sensitive_ok=sensitive_ok and personalized, session=session)
        decision = prefs.decider.decide(person, {}, "recommendations", None, index, k=k)
        return [(i, max(-2.0, min(2.0, logit(decision.scores.get(i, (0.5, 0.0))[0]))),
                 tuple(index.get(i).sensitive_topics)) for i in decision.items]

    return items


def decision_path_ranker(rt: Runtime) -> Any | None:
    """Slot candidates ranked by the one decision path (rules, preference model,
    diversity); None when no preference model runs in this worker."""
    prefs, search = rt.prefs, rt.search
    if prefs is None or search is None:
        return None

    def rank(pid: str, ids: list[str], session: str, k: int) -> list[str]:
        from app.decide import Person, Surface

        if not prefs.ready.is_set():
            return ids[:k]
        person = Person(pid, personalized=True, session=session)
        surface: Surface = "similar" if ids else "recommendations"
        decision = prefs.decider.decide(person, {}, surface, None, search.require(), k=k,
                                        relevant=ids or None)
        return list(decision.items)

    return rank


def build(rt: Runtime) -> NbaServices:
    from app.nba.webhooks import Sender

    props = Propensities()
    engine = NextBestAction(rt.settings, rt.sessions, props, decision_path_items(rt))
    nba = NbaServices(engine, props, ranker=decision_path_ranker(rt))
    if rt.settings.jobs_enabled:
        from app.nba.journeys.service import Journeys

        nba.journeys = Journeys(rt.sessions)
        nba.journeys.prime()
        rt.hooks.events.append(nba.journeys.on_events)
        rt.hooks.catalog.append(nba.journeys.on_catalog)
    if rt.settings.nba_webhook_poll_seconds > 0:
        nba.sender = Sender(rt.settings, rt.sessions)
        nba.sender.start()
    return nba
