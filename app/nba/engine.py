"""`NextBestAction.decide`: candidates -> scores (EV) -> business rules -> choice -> stored
decision with everything needed to explain it (`explain.py`).

Item candidates come from the one decision path (`app/decide/`, injected as `items`); when
no preference model runs, the person's own recent interest (cart, views, purchases) stands
in, labelled as such."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db import versions as cache_versions
from app.db.base import commit_no_wait
from app.db.models import ItemRow, Profile
from app.nba import clock, experiments, offers, pricing, webhooks
from app.nba.actions import Action, item_actions, offer_actions
from app.nba.cache import Snapshot, VersionedMap
from app.nba.facts import CustomerFacts, People, load_person
from app.nba.offer_spec import OfferSpec
from app.nba.policy import RULES, RuleContext, conflicts
from app.nba.propensities import Propensities, segment_facts
from app.nba.scoring import OUTBOUND, Costs, Score, score
from app.nba.tables import DecisionRow, OfferRow, TouchRow
from app.settings import Settings

# (pid, personalized, sensitive_ok, session, k) -> [(item id, affinity log-odds, topics)]
ItemSource = Callable[[str, bool, bool, str, int], list[tuple[str, float, tuple[str, ...]]]]


class NextBestAction:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session],
                 propensities: Propensities, items: ItemSource | None = None) -> None:
        self.settings = settings
        self.sessions = sessions
        self.propensities = propensities
        self.items = items
        self.offers = Snapshot(offers.active, "offers")
        self.experiments = Snapshot(experiments.running_for_nba, "experiments")
        self.people = People(settings.default_consent_personalization)
        self.economics = VersionedMap(offers.economics, "catalog")

    def _facts(self, db: Session, customer: str, now: datetime
               ) -> tuple[CustomerFacts, dict[str, int]]:
        """The person's facts and the cache versions read first (for the snapshots)."""
        versions = cache_versions.read(db)
        return load_person(db, self.people.get(db, customer, versions), now), versions

    def decide(self, customer: str, channels: Sequence[str], *, k: int = 1,
               session: str | None = None, now: datetime | None = None,
               deliver: bool = False, include_items: bool = True,
               context: dict[str, Any] | None = None) -> dict[str, Any]:
        now = now or datetime.now(UTC)
        s = self.settings
        t0 = time.perf_counter()
        with self.sessions() as db:
            facts, versions = self._facts(db, customer, now)
            props, feats = self.propensities.predict(facts, now)
            p = {t: v.p for t, v in props.items()}
            offer_rows = {r.id: (r, spec) for r, spec in self.offers.get(db, versions)}
            session_key = session or now.astimezone(clock.zone(
                facts.timezone, s.nba_default_timezone)).strftime("%Y-%m-%d")
            actions = offer_actions([(r.status, spec) for r, spec in offer_rows.values()],
                                    channels)
            if include_items:
                actions += item_actions(self._items(db, facts, session_key), channels)
            econ = self.economics.get(db, sorted({i for a in actions for i in a.items}),
                                      versions)
            dynamic = any(spec.dynamic for _, spec in offer_rows.values())
            previous = self._session_prices(db, facts.pid, session_key) if dynamic else {}
            actions = [self._price(a, offer_rows, econ, p, feats, previous) for a in actions]
            tz = clock.zone(facts.timezone, s.nba_default_timezone)
            ctx = RuleContext(s, facts, now, tz, segment_facts(facts, feats, props),
                              offer_rows)
            touches_7d = sum(t.channel in OUTBOUND and t.at >= now - timedelta(days=7)
                             for t in facts.touches)
            t1 = time.perf_counter()
            rows, rules_log = self._evaluate(actions, ctx, offer_rows, econ, p, feats,
                                             touches_7d)
            arms, suppress = self._experiments(db, facts.pid, versions, now)
            if suppress is None:
                chosen = self._choose(rows, k)
            else:  # a holdout or a "no action" arm: decided, recorded, nothing chosen
                chosen = []
                for r in rows:
                    if r["status"] == "eligible":
                        r.update(status="not_chosen", reason=suppress)
            rules_log.append({"rule": "anti_conflict", "removed": sum(
                r["removed_by"] == "anti_conflict" for r in rows)})
            t2 = time.perf_counter()
            record = DecisionRow(
                id=uuid.uuid4().hex, profile_id=facts.pid, session=session_key,
                channel=",".join(channels),
                chosen={"actions": [r["action"] for r in rows if r["status"] == "chosen"]},
                candidates=rows, rules=rules_log, at=now,
                context={"session": session_key, "timezone": tz.key,
                         "local_time": now.astimezone(tz).isoformat(),
                         "propensities": {t: {"p": round(v.p, 4), "drivers": [
                             {"feature": d.feature, "text": d.text,
                              "contribution": round(d.contribution, 3)}
                             for d in v.drivers]} for t, v in props.items()},
                         "deliver": deliver, "experiments": arms, **(context or {})})
            db.add(record)
            if deliver:
                for a in chosen:
                    db.add(TouchRow(profile_id=facts.pid, channel=a["channel"],
                                    action=a["key"], offer_id=a.get("offer_id"),
                                    decision_id=record.id, at=now))
                    if a["channel"] in OUTBOUND:
                        webhooks.enqueue(db, facts.pid, a["channel"], {
                            "decision_id": record.id, "customer_id": facts.pid,
                            "channel": a["channel"], "action": a["key"],
                            "offer_id": a.get("offer_id"), "items": a["items"],
                            "discount": a["discount"], "message": a["message"]})
            if deliver and chosen:
                db.commit()  # touches and webhooks: on disk before anything is sent
            else:
                commit_no_wait(db)  # see docs/nba.md "Storing decisions"
            from app.nba.explain import view

            out = view(record)
            # Where the time went (facts + propensities + candidates; scoring, rules and
            # choice; storing the decision): returned, not stored.
            out["timing_ms"] = {"load": round(1000 * (t1 - t0), 3),
                                "score_rules": round(1000 * (t2 - t1), 3),
                                "store": round(1000 * (time.perf_counter() - t2), 3)}
            return out

    def check(self, customer: str, key: str, channel: str, offer_id: str | None,
              now: datetime) -> dict[str, Any]:
        """The contact rules for one given message (a journey step): {"ok": True}, or the
        rule that blocks it with its reason (and `retry_at` for quiet hours)."""
        s = self.settings
        with self.sessions() as db:
            facts, versions = self._facts(db, customer, now)
            props, feats = self.propensities.predict(facts, now)
            offer_rows = {r.id: (r, spec) for r, spec in self.offers.get(db, versions)}
        if offer_id is not None and offer_id not in offer_rows:
            return {"ok": False, "rule": "eligibility", "reason": f"offer {offer_id} is not "
                    "active"}
        spec = offer_rows[offer_id][1] if offer_id else None
        action = Action(key, "offer" if spec else "content", channel, offer_id,
                        spec.kind if spec else "content", tuple(spec.item_ids()) if spec
                        else (), spec.percent() if spec else 0.0)
        tz = clock.zone(facts.timezone, s.nba_default_timezone)
        ctx = RuleContext(s, facts, now, tz, segment_facts(facts, feats, props), offer_rows)
        for name, rule in RULES:
            why = rule(action, ctx)
            if why is not None:
                out: dict[str, Any] = {"ok": False, "rule": name, "reason": why}
                if name == "quiet_hours":
                    out["retry_at"] = clock.quiet_until(now, tz, s.nba_quiet_start,
                                                        s.nba_quiet_end).isoformat()
                return out
        return {"ok": True}

    def _experiments(self, db: Session, pid: str, versions: dict[str, int], now: datetime
                     ) -> tuple[list[dict[str, str]], str | None]:
        """Exposes the person to every running NBA experiment; the reason to act on no
        action when they are held out."""
        arms, suppress = [], None
        for exp_id, spec in self.experiments.get(db, versions):
            arm, _first = experiments.expose(db, exp_id, db.get_one(Profile, pid), now)
            arms.append({"experiment": exp_id, "arm": arm})
            payload = next((a.payload for a in spec.arms if a.name == arm), {})
            if arm == experiments.HOLDOUT or payload.get("policy") == "none":
                suppress = f"experiment {exp_id}: arm {arm} gets no action"
        return arms, suppress

    def _items(self, db: Session, facts: CustomerFacts, session: str
               ) -> list[tuple[str, float, tuple[str, ...]]]:
        personalized = facts.granted("personalization")
        if self.items is not None:
            return self.items(facts.pid, personalized, facts.granted("sensitive"), session, 5)
        # No preference model: the person's own recent interest, strongest first.
        ids = list(dict.fromkeys([*facts.carted[:3], *facts.viewed[:3],
                                  *sorted(facts.bought())[:3]]))[:5]
        topics = dict(db.execute(select(ItemRow.id, ItemRow.sensitive_topics)
                                 .where(ItemRow.id.in_(ids))).tuples().all())
        return [(i, 0.5 if i in facts.carted else 0.0, tuple(topics[i] or ()))
                for i in ids if i in topics]

    @staticmethod
    def _session_prices(db: Session, pid: str, session: str) -> dict[str, float]:
        """Discounts already shown to this person in this session: kept stable."""
        out: dict[str, float] = {}
        for row in db.scalars(select(DecisionRow).where(
                DecisionRow.profile_id == pid, DecisionRow.session == session)
                .order_by(DecisionRow.at)):
            for cand in row.candidates:
                pr = cand.get("pricing") or {}
                if pr.get("dynamic") and cand.get("offer_id"):
                    out[cand["offer_id"]] = float(cand["discount"])
        return out

    def _price(self, a: Action, offer_rows: dict[str, tuple[OfferRow, OfferSpec]],
               econ: dict[str, offers.Economics], p: dict[str, float],
               feats: dict[str, float], previous: dict[str, float]) -> Action:
        if a.offer_id is None:
            return a
        spec = offer_rows[a.offer_id][1]
        if spec.dynamic is None:
            return a
        if a.offer_id in previous:
            return a.with_discount(previous[a.offer_id], {
                "dynamic": True, "rule": "kept from earlier in this session",
                "chosen_percent": round(100 * previous[a.offer_id], 2)})
        items = [econ[i] for i in a.items if i in econ]
        d, why = pricing.choose(spec.dynamic, items, spec.margin_floor, p,
                                self.settings.nba_default_margin, feats["avg_order"] or 30.0)
        return a.with_discount(d, {"dynamic": True, **why})

    def _evaluate(self, actions: list[Action], ctx: RuleContext,
                  offer_rows: dict[str, tuple[OfferRow, OfferSpec]],
                  econ: dict[str, offers.Economics], p: dict[str, float],
                  feats: dict[str, float], touches_7d: int
                  ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        s = self.settings
        removed_by: dict[str, int] = {name: 0 for name, _ in RULES}
        rows = []
        for a in actions:
            spec = offer_rows[a.offer_id][1] if a.offer_id else None
            costs = Costs(s.nba_default_margin, s.nba_fatigue_cost, s.nba_channel_cost,
                          spec.shipping_cost if spec else 0.0,
                          spec.point_value if spec else 0.01,
                          (spec.value or 0.0) if spec and spec.kind == "loyalty_points"
                          else 0.0)
            sc: Score = score(a, p, econ, feats["avg_order"] or 30.0, touches_7d, costs)
            row: dict[str, Any] = {
                "action": a.key, "key": a.key, "kind": a.kind, "channel": a.channel,
                "offer_id": a.offer_id, "offer_kind": a.offer_kind, "items": list(a.items),
                "discount": round(a.discount, 4), "pricing": a.pricing,
                "group": a.group, "stackable": a.stackable, "message": a.message,
                "score": sc.as_dict(), "status": "eligible", "removed_by": None,
                "reason": None}
            for name, rule in RULES:
                why = rule(a, ctx)
                if why is not None:
                    row.update(status="removed", removed_by=name, reason=why)
                    removed_by[name] += 1
                    break
            rows.append(row)
        rows.sort(key=lambda r: (r["status"] != "eligible", -r["score"]["ev"], r["key"],
                                 r["channel"]))
        for n, r in enumerate(rows):
            r["rank"] = n + 1
        log = [{"rule": name, "removed": count} for name, count in removed_by.items()]
        return rows, log

    @staticmethod
    def _choose(rows: list[dict[str, Any]], k: int) -> list[dict[str, Any]]:
        chosen: list[Action] = []
        out: list[dict[str, Any]] = []
        for r in rows:
            if r["status"] != "eligible" or len(out) >= k:
                continue
            if r["score"]["ev"] <= 0:
                r.update(status="not_chosen", reason="expected value not above zero")
                continue
            a = Action(r["key"], r["kind"], r["channel"], r["offer_id"], r["offer_kind"],
                       tuple(r["items"]), r["discount"], group=r["group"],
                       stackable=r["stackable"])
            why = conflicts(a, chosen)
            if why is not None:
                r.update(status="removed", removed_by="anti_conflict", reason=why)
                continue
            r["status"] = "chosen"
            chosen.append(a)
            out.append(r)
        return out
