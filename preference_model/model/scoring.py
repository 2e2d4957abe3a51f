"""Scoring: every additive logit term of the score (the formula is in
`preference_model.model`), and the reads built on it: `predict_one`, `rank` (with
exploration and reasons), `propose` (the candidate generators) and `explain`."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime

import numpy as np

from preference_model.candidates import Budget, Generators, Proposal, RepurchaseSource, propose
from preference_model.errors import InvalidSignalError, SpaceMismatchError
from preference_model.explain import Explainer
from preference_model.model.base import DAY, sigmoid
from preference_model.model.repurchasing import Repurchasing
from preference_model.results import Reason, Scored
from preference_model.signals import Consent, Context
from preference_model.similar import ItemNeighbors, recency_weighted
from preference_model.state import CustomerState, Taste


class Scoring(Repurchasing):
    """The score and the reads built on it (see module)."""

    def _parts(self, st: CustomerState | None, role: str, rows: np.ndarray, ctx: Context,
               t: float, consent: Consent, now: float | None = None) -> dict[str, np.ndarray]:
        """Every additive logit term for the given rows (used by rank and explain);
        `now` is the repurchase term's time (default `t`)."""
        items, pop = self.require()
        cfg = self.config
        V = self._V[rows]
        feats = ctx.features()
        ctx_vec = pop.prior_mean.copy()
        for f in feats:
            if f in pop.context:
                ctx_vec += pop.context[f]
        zeros = np.zeros(len(rows))
        parts = {
            "popularity": pop.bias + pop.item_bias[rows] + pop.w_pop * items.pop[rows],
            "population": V @ ctx_vec,
        }
        taste = st.taste(role) if st is not None else None
        if st is None or taste is None:
            return parts
        if taste.long.shape != ctx_vec.shape:  # never numpy's shape error to the caller
            raise SpaceMismatchError(f"customer state has {taste.long.shape[0]} dimensions, "
                                     f"the model {ctx_vec.shape[0]}")
        personal: dict[str, np.ndarray] = {}
        if consent.demographic and st.demographics and role == "self":
            demo = np.zeros_like(ctx_vec)
            for key in st.demographics:
                vec = pop.context.get(f"demo:{key}")
                if vec is not None:
                    demo += vec
            if demo.any():
                personal["demographic"] = V @ demo
        if pop.similar is not None:
            sim = self.similar_scores(st, role, pop.similar)
            if sim is not None:
                personal["similar"] = sim[rows]
        if role == "self" and st.cohort is not None and pop.cohorts is not None:
            personal["cohort"] = V @ (pop.cohorts[st.cohort] - pop.prior_mean)
        personal["taste"] = V @ taste.long
        decay = self._session_decay(taste, t)
        personal["session"] = V @ (taste.short * decay) if decay > 1e-3 else zeros
        pref = np.zeros(len(items.attr_vocab) + 1)
        vocab = items.attr_vocab
        for key, p in taste.inferred.items():
            j = vocab.get(key)
            if j is not None and key not in taste.stated and key not in taste.suppressed:
                pref[j] = p.value
        hard = zeros
        for key, p in taste.stated.items():
            j = vocab.get(key)
            if p.hard:
                has = (items.attr_idx[rows] == j).any(1) if j is not None else zeros.astype(bool)
                bad = ~has if p.value > 0 else has
                hard = hard - cfg.constraint_penalty * bad
            elif j is not None:
                pref[j] = cfg.stated_weight * p.value
        personal["attributes"] = pref[items.attr_idx[rows]].sum(1)
        if taste.context and feats:
            cw = np.zeros(len(items.cat_vocab))
            for f in feats:
                for cat, j in items.cat_vocab.items():
                    w = taste.context.get(f"{f}|{cat}")
                    if w:
                        cw[j] += w
            personal["context"] = cw[items.cat_idx[rows]]
        if taste.stated_items:
            liked = np.array([self._stated_item_weight(taste, items.ids[r]) for r in rows])
            personal["stated_items"] = liked
        repurchase = self._repurchase_term(st, role, rows, t if now is None else now)
        if repurchase is not None:
            personal["repurchase"] = repurchase
        if not consent.sensitive:
            mask = items.sensitive[rows]
            if mask.any():
                for k in personal:
                    personal[k] = np.where(mask, 0.0, personal[k])
        parts.update(personal)
        parts["constraints"] = hard
        return parts

    def factor_query(self, st: CustomerState | None, role: str, ctx: Context,
                     t: float) -> np.ndarray:
        """The customer's vector in the score's factor term: what `<., v_i>` is taken with
        in `_parts` (population, context, cohort, taste, session, in that order), summed;
        the taste generator searches the items with it (candidates.py)."""
        _, pop = self.require()
        q = pop.prior_mean.copy()
        for f in ctx.features():
            if f in pop.context:
                q += pop.context[f]
        taste = st.taste(role) if st is not None else None
        if st is None or taste is None or taste.long.shape != q.shape:
            return q
        if role == "self" and st.cohort is not None and pop.cohorts is not None:
            q += pop.cohorts[st.cohort] - pop.prior_mean
        q += taste.long
        decay = self._session_decay(taste, t)
        if decay > 1e-3:
            q += taste.short * decay
        return q

    def similar_scores(self, st: CustomerState, role: str,
                       similar: ItemNeighbors) -> np.ndarray | None:
        """The item-to-item term over this taste's history: older entries count less
        (half-life `long_memory_days`, relative to the newest) so a shifted taste wins."""
        hist, rows = self.history(st, role)
        if not hist:
            return None
        at = np.fromiter((h.at for h in hist), dtype=np.float64, count=len(hist))
        w = np.fromiter((h.weight for h in hist), dtype=np.float64, count=len(hist))
        w = recency_weighted(w, at, self.config.long_memory_days * DAY)
        return similar.weight * similar.scores(rows, w)

    def _stated_item_weight(self, taste: Taste, item_id: str) -> float:
        p = taste.stated_items.get(item_id)
        if p is None:
            return 0.0
        if p.value < 0:
            return self.config.constraint_penalty * p.value if p.hard else \
                self.config.stated_weight * p.value
        return 0.5 * self.config.stated_weight * p.value

    def _logits(self, st: CustomerState | None, role: str, rows: np.ndarray, ctx: Context,
                t: float, consent: Consent) -> np.ndarray:
        parts = self._parts(st, role, rows, ctx, t, consent)
        return np.sum(list(parts.values()), axis=0)

    def _variance(self, st: CustomerState | None, role: str, rows: np.ndarray) -> np.ndarray:
        _, pop = self.require()
        taste = st.taste(role) if st is not None else None
        precision = pop.prior_precision if taste is None else taste.precision
        return (self._V[rows] ** 2) @ (1.0 / precision)

    def predict_one(self, customer_id: str, item_id: str,
                    context: Context | Mapping[str, object] | None = None, *,
                    role: str = "self", consent: Consent | None = None,
                    at: datetime | None = None) -> float:
        """Probability that the customer responds positively to the item (posterior mean)."""
        t, granted = self._args(customer_id, role, consent, at)

        def run(st: CustomerState | None) -> float:
            items, _ = self.require()
            row = items.row(item_id)
            parts = self._parts(st, role, np.array([row]), self.resolve_context(st, context), t,
                                granted, self._repurchase_now(st, at))
            return float(sigmoid(np.sum(list(parts.values()), axis=0))[0])

        return self._read(customer_id, run)

    def rank(self, customer_id: str, candidates: Sequence[str],
             context: Context | Mapping[str, object] | None = None, *,
             role: str = "self", consent: Consent | None = None,
             exploration: float | None = None, at: datetime | None = None,
             n_reasons: int = 3, explain_top: int | None = 10,
             skip_unknown: bool = False, novelty: float | None = None,
             seed: int | None = None) -> list[Scored]:
        """Candidates ordered best first, with probability, uncertainty and reasons.

        `exploration` (default: config) scales a Thompson sample of the customer vector;
        `explain_top` limits reasons to the first N results (None = all) to keep it fast;
        `novelty` (default: config) discounts popular items in the order only;
        `seed` fixes the exploration sample (the same request twice gives the same order).
        Unknown candidates raise UnknownItemError unless `skip_unknown`.
        """
        if isinstance(candidates, str):
            raise InvalidSignalError("candidates must be a sequence of item ids, not a string")
        t, granted = self._args(customer_id, role, consent, at)
        scale = self.config.exploration if exploration is None else float(exploration)
        discount = self.config.novelty if novelty is None else float(novelty)
        if not math.isfinite(discount) or not math.isfinite(scale):
            raise InvalidSignalError("exploration and novelty must be finite numbers")
        wanted = list(candidates)

        def run(st: CustomerState | None) -> list[Scored]:
            items, pop = self.require()
            rows = items.rows(wanted, skip_unknown=skip_unknown)
            if len(rows) == 0:
                return []
            ctx, consent = self.resolve_context(st, context), granted
            now = self._repurchase_now(st, at)
            parts = self._parts(st, role, rows, ctx, t, consent, now)
            z = np.sum(list(parts.values()), axis=0)
            p = sigmoid(z)
            var = self._variance(st, role, rows)
            std = p * (1 - p) * np.sqrt(var)
            key = z - discount * items.pop[rows] if discount else z
            if scale > 0:
                taste = st.taste(role) if st is not None else None
                precision = pop.prior_precision if taste is None else taste.precision
                rng = self._rng if seed is None else np.random.default_rng(seed)
                eps = rng.standard_normal(len(precision)) / np.sqrt(precision)
                if not consent.sensitive and st is not None:
                    key = z + np.where(items.sensitive[rows], 0.0, self._V[rows] @ eps) * scale
                else:
                    key = z + (self._V[rows] @ eps) * scale
            order = np.argsort(-key, kind="stable")
            explainer = Explainer(self, st, role, ctx, t, now) if n_reasons > 0 else None
            out = []
            for n, j in enumerate(order):
                reasons: tuple[Reason, ...] = ()
                if explainer is not None and (explain_top is None or n < explain_top):
                    reasons = tuple(explainer.reasons(
                        int(rows[j]), {k: float(v[j]) for k, v in parts.items()}, n_reasons))
                out.append(Scored(items.ids[rows[j]], float(p[j]), float(std[j]), reasons))
            return out

        return self._read(customer_id, run)

    def propose(self, customer_id: str, context: Context | Mapping[str, object] | None = None,
                *, role: str = "self", at: datetime | None = None, seed: int = 0,
                budget: Budget | None = None, trending: Sequence[str] = (),
                repurchase: RepurchaseSource | None = None) -> Proposal:
        """First stage: candidates from every generator (candidates.py), with provenance."""
        t, _ = self._args(customer_id, role, None, at)
        budget = budget or Budget()
        # Asked before the catalog lock is taken: the source may read this model (the
        # service's calls `repurchase_candidates`, which takes the lock itself), and a read
        # nested in a read deadlocks as soon as a catalog write is waiting between the two.
        bought = None if repurchase is None else \
            list(repurchase(customer_id, t, budget.repurchase))

        def run(st: CustomerState | None) -> Proposal:
            gens = getattr(self, "_generators", None)
            if gens is None or not gens.fresh(self):
                gens = self._generators = Generators(self)
            return propose(self, gens, st, customer_id, role, context, t, budget=budget,
                           seed=seed, trending=trending, bought=bought)

        return self._read(customer_id, run)

    def explain(self, customer_id: str, item_id: str,
                context: Context | Mapping[str, object] | None = None, *,
                role: str = "self", consent: Consent | None = None,
                at: datetime | None = None, n_reasons: int = 3) -> list[Reason]:
        """The top contributing signals for one item, in plain words."""
        t, granted = self._args(customer_id, role, consent, at)

        def run(st: CustomerState | None) -> list[Reason]:
            items, _ = self.require()
            row = items.row(item_id)
            ctx = self.resolve_context(st, context)
            now = self._repurchase_now(st, at)
            parts = self._parts(st, role, np.array([row]), ctx, t, granted, now)
            return Explainer(self, st, role, ctx, t, now).reasons(
                row, {k: float(v[0]) for k, v in parts.items()}, n_reasons)

        return self._read(customer_id, run)
