"""Learning: `learn_one` / `learn_many` and the closed-form online updates behind them.

A Laplace/Newton step for the long-term vector (step size 1/precision, so certain customers
move less) with precision that slowly forgets (drift), SGD for the session vector and the
attribute and context weights, adaptive forgetting when the taste shifts, a pairwise step
against the model's current favourites, and cohort assignment."""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Sequence

import numpy as np

from preference_model.errors import ConsentRequiredError, InvalidSignalError
from preference_model.model.base import DAY, sigmoid
from preference_model.model.scoring import Scoring
from preference_model.signals import CONSTRAINT_EVENT, Consent, Context, Signal, parse_attribute
from preference_model.state import AttrPref, CustomerState, HistoryEntry, Taste


class Learning(Scoring):
    """The online updates (see module)."""

    def learn_one(self, signal: Signal, *, consent: Consent | None = None) -> None:
        """Learn from one signal. Validates first: a rejected signal changes nothing.

        Inferred and sentiment signals about sensitive items or attributes are dropped
        (not learned) unless `consent.sensitive`; demographic ones raise
        `ConsentRequiredError` without `consent.demographic`.
        """
        if not isinstance(signal, Signal):
            raise InvalidSignalError(f"learn_one expects a Signal, got {type(signal).__name__}")
        consent = self._consent(consent)
        signal.validate(self.config.event_weights)
        with self._catalog.gen_rlock():
            items, _ = self.require()
            row = items.row(signal.item_id) if signal.item_id is not None else None
            sensitive = self.is_sensitive(row, signal.attribute)
        if signal.kind == "external":
            with self._catalog.gen_wlock():
                items, _ = self.require()
                assert signal.item_id is not None
                items.add_popularity(items.row(signal.item_id), float(signal.value))
            return
        if signal.kind == "demographic" and not consent.demographic:
            raise ConsentRequiredError(
                "demographic signals are used only with the customer's consent for that "
                "purpose: pass consent=Consent(demographic=True)"
            )
        if signal.kind in ("inferred", "sentiment") and not consent.sensitive and sensitive:
            return  # never inferred into the profile without consent
        t = signal.at.timestamp()
        ctx = Context.from_mapping(signal.context)

        def mutate(st: CustomerState) -> None:
            # Rows are resolved under the lock the mutation runs in: the catalog may have
            # changed since the check above.
            items, _ = self.require()
            row = items.row(signal.item_id) if signal.item_id is not None else None
            self._apply(st, signal, row, ctx, t, consent)

        self._update(signal.customer_id, mutate, t)

    def learn_many(self, signals: Sequence[Signal],
                   consent: Callable[[str], Consent] | Consent | None = None) -> int:
        """Learn a batch with one state write per customer (the return channel's bulk path).

        Every signal is validated first: a bad one raises and nothing is learned. Then each
        customer's signals are applied in order, with the same consent rules as
        `learn_one`. `consent` is one Consent for all or a function of the customer id.
        Returns the number of signals learned (sensitive ones without consent are not)."""
        signals = list(signals)
        for sig in signals:
            if not isinstance(sig, Signal):
                raise InvalidSignalError(f"learn_many expects Signals, got {type(sig).__name__}")
            sig.validate(self.config.event_weights)

        def consent_of(customer_id: str) -> Consent:
            c = consent(customer_id) if callable(consent) else consent
            return self._consent(c)

        learned = 0
        external: list[Signal] = []
        batches: dict[str, list[tuple[Signal, Context, float, Consent]]] = {}
        with self._catalog.gen_rlock():
            items, _ = self.require()
            for sig in signals:
                row = items.row(sig.item_id) if sig.item_id is not None else None
                c = consent_of(sig.customer_id)
                if sig.kind == "external":
                    external.append(sig)
                    continue
                if sig.kind == "demographic" and not c.demographic:
                    continue
                if (sig.kind in ("inferred", "sentiment") and not c.sensitive
                        and self.is_sensitive(row, sig.attribute)):
                    continue
                batches.setdefault(sig.customer_id, []).append(
                    (sig, Context.from_mapping(sig.context), sig.at.timestamp(), c))
        if external:
            with self._catalog.gen_wlock():
                items, _ = self.require()
                for sig in external:
                    if sig.item_id in items.index:
                        items.add_popularity(items.index[sig.item_id], float(sig.value))
                        learned += 1
        for customer_id, entries in batches.items():
            t = max(e[2] for e in entries)
            applied = [0]

            def mutate(st: CustomerState,
                       entries: list[tuple[Signal, Context, float, Consent]] = entries,
                       applied: list[int] = applied) -> None:
                items, _ = self.require()
                applied[0] = 0
                for sig, ctx, ts, c in entries:
                    row = None if sig.item_id is None else items.index.get(sig.item_id)
                    if sig.item_id is not None and (row is None or items.removed[row]):
                        continue  # removed from the catalog since the batch was checked
                    self._apply(st, sig, row, ctx, ts, c)
                    applied[0] += 1

            self._update(customer_id, mutate, t)
            learned += applied[0]
        return learned

    def learn_into(self, st: CustomerState, sig: Signal, consent: Consent) -> bool:
        """Learn one validated signal into a state in memory, no store I/O: the replay step
        of a rebuild (migrate.py). Call under the catalog read lock. False when it is not
        learned: its item left the catalog, or it is sensitive and `consent` says no."""
        items, _ = self.require()
        row = None
        if sig.item_id is not None:
            row = items.index.get(sig.item_id)
            if row is None or items.removed[row]:
                return False
        if (sig.kind in ("inferred", "sentiment") and not consent.sensitive
                and self.is_sensitive(row, sig.attribute)):
            return False
        self._apply(st, sig, row, Context.from_mapping(sig.context), sig.at.timestamp(), consent)
        return True

    def relearn_entry(self, st: CustomerState, h: HistoryEntry) -> bool:
        """Learn one entry of an older state's history again, with the weight it was learned
        at (a rebuild without a history source, migrate.py); in memory, under the catalog
        read lock. False when its item left the catalog or it carries no weight."""
        items, pop = self.require()
        row = items.index.get(h.item_id)
        if row is None or items.removed[row] or not h.weight:
            return False
        taste = st.own if h.role == "self" else st.recipients.setdefault(
            h.role, Taste.fresh(len(pop.prior_mean), pop.prior_precision))
        taste.n_signals += 1
        st.updated_at = max(st.updated_at, h.at)
        self._learn_item(st, taste, h.role, row, h.weight, Context(), h.at, h.source or h.kind,
                         Consent(sensitive=True))
        st.history.append(HistoryEntry(**vars(h)))
        del st.history[: -self.config.history_size]
        if h.role == "self":
            self._assign_cohort(st)
        return True

    def _apply(self, st: CustomerState, sig: Signal, row: int | None, ctx: Context, t: float,
               consent: Consent) -> None:
        pop = self.population
        assert pop is not None
        st.updated_at = max(st.updated_at, t)
        if sig.context:  # remembered for rank(context=None); time-of-day is not stable
            st.last_context = {str(k): str(v) for k, v in sig.context.items()
                               if k not in ("local_time", "hour", "weekday")}
        key = None
        if sig.attribute is not None:
            a_name, a_value = parse_attribute(sig.attribute)
            key = f"{a_name}={a_value}"
        kind = sig.kind
        source = sig.source or kind
        if kind == "context":
            if key is not None:
                c_name, _, c_value = key.partition("=")
                st.last_context[c_name] = c_value
            return
        if kind == "demographic":
            assert key is not None
            d_name = key.partition("=")[0]
            for old in [k for k in st.demographics if k.partition("=")[0] == d_name]:
                del st.demographics[old]
            st.demographics[key] = AttrPref(1.0, 1.0, source, t)
            return
        if sig.role == "self":
            taste = st.own
        else:
            taste = st.recipients.setdefault(
                sig.role, Taste.fresh(len(pop.prior_mean), pop.prior_precision))
        taste.n_signals += 1
        value = float(sig.value)
        if kind == "stated" and key is not None:
            if value == 0.0:
                taste.stated.pop(key, None)
            else:
                taste.stated[key] = AttrPref(value, 1.0, source, t,
                                             hard=sig.event_type == CONSTRAINT_EVENT)
            taste.suppressed.discard(key)
            return
        if kind == "sentiment" and key is not None:
            if key in taste.suppressed:
                return
            pref = taste.inferred.get(key) or AttrPref(0.0, 0.0, source, t)
            pref.value += self.config.attr_lr * value * self.config.stated_weight / 2
            pref.evidence += abs(value)
            pref.confidence = pref.evidence / (pref.evidence + 3.0)
            pref.source, pref.at = source, t
            taste.inferred[key] = pref
            return
        assert row is not None
        items = self.items
        assert items is not None
        if kind == "stated":
            weight = value
            item_id = items.ids[row]
            if value == 0.0:
                taste.stated_items.pop(item_id, None)
            else:
                taste.stated_items[item_id] = AttrPref(value, 1.0, source, t,
                                                       hard=sig.event_type == CONSTRAINT_EVENT)
        elif kind == "sentiment":
            weight = value * self.config.sentiment_scale
        else:
            weight = self.config.event_weights.weight(sig.event_type, value)
        self._learn_item(st, taste, sig.role, row, weight, ctx, t, source, consent)
        st.history.append(HistoryEntry(items.ids[row], weight, sig.event_type or kind,
                                       sig.role, t, source))
        if kind == "inferred" and sig.event_type == "purchase" and value > 0:
            self.record_purchase(st, sig.role, items.ids[row], t, value)
        del st.history[: -self.config.history_size]
        if sig.role == "self":
            self._assign_cohort(st)

    def _learn_item(self, st: CustomerState, taste: Taste, role: str, row: int, weight: float,
                    ctx: Context, t: float, source: str, consent: Consent) -> None:
        cfg, pop, items = self.config, self.population, self.items
        assert pop is not None and items is not None
        if t < taste.long_at:  # a late, backfilled event counts less
            weight *= 0.5 ** ((taste.long_at - t) / (cfg.recency_halflife_days * DAY))
        if weight == 0.0:
            return
        # Drift: evidence fades back towards the prior, so old certainty does not freeze
        # the customer; the session vector decays within minutes.
        if taste.long_at and t > taste.long_at:
            dt = t - taste.long_at
            fade = math.exp(-dt / (cfg.long_memory_days * DAY))
            taste.precision = pop.prior_precision + (taste.precision - pop.prior_precision) * fade
            keep = math.exp(-dt / (cfg.taste_memory_days * DAY))
            taste.long *= keep
            for pref in taste.inferred.values():
                pref.value *= keep
        taste.short *= self._session_decay(taste, t)
        taste.long_at = max(taste.long_at, t)
        taste.short_at = max(taste.short_at, t)
        z = float(self._logits(st, role, np.array([row]), ctx, t, consent)[0])
        p = float(sigmoid(np.array(z)))
        y = 1.0 if weight > 0 else 0.0
        a = abs(weight)
        g = a * (p - y)
        v = self._V[row]
        if y > 0 and cfg.surprise_forget > 0:
            self._shift_check(st, taste, role, v, a)
        taste.precision = np.minimum(taste.precision + a * max(p * (1 - p), 0.05) * v * v,
                                     cfg.max_precision)
        taste.long -= g * v / taste.precision
        taste.short -= cfg.session_lr * g * v
        step = cfg.attr_lr * g / math.sqrt(items.n_attr[row])
        for key in items.attr_keys(row):
            if key in taste.suppressed or (self.is_sensitive_key(key) and not consent.sensitive):
                continue
            pref = taste.inferred.get(key) or AttrPref(0.0, 0.0, source, t)
            pref.value = (pref.value - step) * (1.0 - cfg.attr_decay)
            pref.evidence += a
            pref.confidence = pref.evidence / (pref.evidence + 3.0)
            pref.source, pref.at = source, t
            taste.inferred[key] = pref
        if weight > 0 and cfg.online_negatives > 0:
            self._pairwise(st, taste, role, row, a, ctx, t, consent)
        category = items.categories[row]
        if category:
            for feat in ctx.features():
                k = f"{feat}|{category}"
                taste.context[k] = float(np.clip(taste.context.get(k, 0.0) - cfg.context_lr * g,
                                                 -2.0, 2.0))

    def _shift_check(self, st: CustomerState, taste: Taste, role: str, v: np.ndarray,
                     a: float) -> None:
        """Adaptive forgetting. A positive event for an item the customer's long-term taste
        scores far below what it scores their recent choices is evidence the taste moved:
        forget part of that taste and its certainty, so the new direction takes over in a
        few events instead of having to outweigh the whole history. A new customer (no
        history) or a broad one (new choices score like old ones) is not affected."""
        cfg = self.config
        assert self.population is not None
        _, rows = self.history(st, role, positive=True, last=cfg.shift_window)
        if len(rows) < cfg.shift_min_history:
            return
        typical = float(np.mean(self._V[rows] @ taste.long))
        deficit = typical - float(v @ taste.long)
        if deficit <= cfg.shift_margin:
            return
        forget = cfg.surprise_forget * min(a, 1.0) * min(1.0, deficit / cfg.shift_margin - 1.0)
        prior = self.population.prior_precision
        taste.precision = prior + (taste.precision - prior) * (1.0 - forget)
        taste.long *= 1.0 - forget

    def _pairwise(self, st: CustomerState, taste: Taste, role: str, row: int, a: float,
                  ctx: Context, t: float, consent: Consent) -> None:
        """Revise the taste against what the model currently prefers over the chosen item.

        A positive event alone can only add interest; when a customer's taste shifts, the
        old favourites must also come down. The hardest of a small sample of items act as
        negatives in a BPR step. The sample is seeded by (customer, time, count), so a
        retried or replayed update is identical.
        """
        cfg, items = self.config, self.items
        assert items is not None
        seed = zlib.crc32(f"{st.customer_id}|{role}|{t}|{taste.n_signals}".encode())
        rng = np.random.default_rng(seed)
        pool = rng.integers(0, len(items), size=16)
        pool = pool[(pool != row) & ~items.removed[pool]]
        if len(pool) == 0:
            return
        rows = np.concatenate([[row], pool])
        z = self._logits(st, role, rows, ctx, t, consent)
        order = np.argsort(-z[1:], kind="stable")[: cfg.online_negatives]
        v = self._V[row]
        keys_i = set(items.attr_keys(row))
        for j in order:
            neg = int(pool[j])
            g = a * float(sigmoid(np.array(z[1 + j] - z[0])))
            diff = v - self._V[neg]
            taste.long += cfg.pair_lr * g * diff / taste.precision
            taste.short += cfg.pair_lr * cfg.session_lr * g * diff
            step = cfg.pair_lr * cfg.attr_lr * g / math.sqrt(items.n_attr[neg])
            for key in items.attr_keys(neg):
                pref = taste.inferred.get(key)
                if pref is not None and key not in keys_i:
                    pref.value -= step

    def _assign_cohort(self, st: CustomerState) -> None:
        """Move to the most likely cohort once a few signals are in (then keep refining)."""
        pop = self.population
        cfg = self.config
        if pop is None or pop.cohorts is None or not (
            cfg.cohort_after <= st.own.n_signals <= cfg.cohort_until
        ):
            return
        hist, rows = self.history(st, "self")
        if not hist:
            return
        w = np.array([h.weight for h in hist])
        z = (pop.bias + pop.item_bias[rows])[None, :] + pop.cohorts @ self._V[rows].T
        sign = np.where(w > 0, 1.0, -1.0)
        loglik = (np.abs(w)[None, :] * -np.logaddexp(0.0, -sign[None, :] * z)).sum(1)
        st.cohort = int(np.argmax(loglik))
