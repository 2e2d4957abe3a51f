"""`PreferenceModel`: the online learner (River-style `learn_one` / `predict_one` / `rank`).

Score of item i for a customer taste in context c (all terms are logits):

    z_i = b + b_i + w_pop * pop_i                      population prior + popularity
        + <m + C_c + k + l + s * decay, v_i>           v_i = W e_i + q_i (network.py)
        + sum_a pref_a [a in attrs(i)]                 stated beats inferred, per attribute
        - penalty [hard constraint violated]           "no leather", "vegan only"
        + ctx[c, category(i)]                          the customer's context habits
        + stated item like/dislike
        + alpha * sum_h w_h * B[h, i]                  "chosen with what you chose" (EASE,
                                                       similar.py) over the recent history
        + <sum_d D_d, v_i>                             demographic offsets, with consent only
        + repurchase_i                                 "due again" / "never twice" for what
                                                       the customer bought (repurchase.py)

with m the population mean customer vector, C_c the pretrained context interactions,
k the cohort offset (nearest class of customers), l the long-term vector (diagonal
Gaussian posterior: the Bayesian last layer giving uncertainty and Thompson sampling)
and s the session vector that decays within minutes. p = sigmoid(z).

Online updates are closed-form numpy steps on the customer's own few hundred floats: a
Laplace/Newton step for l (step size 1/precision, so certain customers move less) with
precision that slowly forgets (drift), SGD for the session vector, attribute and context
weights. States live in a `StateStore` (optimistic concurrency, retried), cached per
process by (customer, version).
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from preference_model.candidates import Budget, Generators, Proposal, RepurchaseSource, propose
from preference_model.config import (  # re-exported: the public names live here too
    Population,
    PreferenceConfig,
    fingerprint,
)
from preference_model.errors import (
    ConsentRequiredError,
    InvalidSignalError,
    NotReadyError,
    SpaceMismatchError,
    StaleStateError,
    StateCorruptError,
    UnknownCustomerError,
)
from preference_model.explain import Explainer
from preference_model.items import ItemTable
from preference_model.locks import SharedLock
from preference_model.migrate import HistorySource, fetch_replay, rebuild
from preference_model.repurchase import (
    Due,
    PurchaseLog,
    RepeatParams,
    RepeatStats,
    due,
    overridden_rate,
    parse_overrides,
    record,
)
from preference_model.results import PreferenceView, Probe, Profile, Reason, Scored
from preference_model.signals import (
    CONSTRAINT_EVENT,
    ROLES,
    Consent,
    Context,
    EventWeights,
    Signal,
    parse_attribute,
)
from preference_model.similar import ItemNeighbors, recency_weighted
from preference_model.state import AttrPref, CustomerState, HistoryEntry, Taste
from preference_model.store import InMemoryStateStore, StateStore

DAY = 86_400.0
log = logging.getLogger(__name__)
_T = TypeVar("_T")


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _entropy(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return -(p * math.log(p) + (1 - p) * math.log(1 - p))


class PreferenceModel:
    """The aggregate of everything learned about each customer. See module docstring."""

    def __init__(self, config: PreferenceConfig | None = None,
                 store: StateStore | None = None) -> None:
        self.config = config or PreferenceConfig()
        self.store: StateStore = store if store is not None else InMemoryStateStore()
        self.items: ItemTable | None = None
        self.population: Population | None = None
        self._V = np.zeros((0, 0))
        self._generators: Generators | None = None  # built on first use per item table
        self._cache: OrderedDict[str, tuple[int, CustomerState]] = OrderedDict()
        self._rng = np.random.default_rng(self.config.seed)
        # (the raw mapping, parsed): checked here, re-parsed when the config is replaced
        self._overrides = (self.config.repurchase_overrides,
                           parse_overrides(self.config.repurchase_overrides))
        # The newest event time learned (POSIX s): "now" for the repurchase term when a
        # read gives no time, so a replay of an old log is judged at its own time.
        self.event_clock = 0.0
        self._init_locks()
        # Where a state from another space is rebuilt from (the service's events table);
        # None = the state's own bounded history.
        self.history_source: HistorySource | None = None
        # Called when a stored state comes from a prior newer than ours (another worker
        # has picked up a retrain): the service looks for the new artifact at once.
        self.on_newer_space: Callable[[], None] | None = None

    def _init_locks(self) -> None:
        # Readers (scoring, learning) share the catalog; catalog changes and prior swaps are
        # exclusive. The LRU cache has its own short lock. No lock is held across store I/O.
        self._catalog = SharedLock()
        self._cache_lock = threading.Lock()

    # ----------------------------------------------------------------- item universe
    def set_items(
        self,
        item_ids: Sequence[str],
        content_embeddings: np.ndarray,
        attributes: Sequence[Mapping[str, Sequence[str]]] | None = None,
        categories: Sequence[str] | None = None,
        popularity: Sequence[float] | np.ndarray | None = None,
        *,
        titles: Sequence[str] | None = None,
        sensitive_topics: Sequence[Sequence[str]] | None = None,
    ) -> None:
        """Replace the catalog. Learned item factors are kept for ids seen before."""
        table = ItemTable(item_ids, content_embeddings, attributes, categories, popularity,
                          titles, sensitive_topics)
        with self._catalog.write():
            old_items, old_pop = self.items, self.population
            dim = self.config.dim or table.dim
            if old_pop is not None and old_pop.W.shape[1] == table.dim:
                dim = old_pop.W.shape[0]
                q = np.zeros((len(table), dim))
                b = np.full(len(table), float(old_pop.item_bias.mean()) if len(old_pop.item_bias)
                            else 0.0)
                assert old_items is not None
                old_to_new = np.full(len(old_items), -1, dtype=np.int64)
                for item, i in table.index.items():
                    j = old_items.index.get(item)
                    if j is not None:
                        q[i], b[i] = old_pop.q[j], old_pop.item_bias[j]
                        old_to_new[j] = i
                similar = None if old_pop.similar is None else \
                    old_pop.similar.remap(old_to_new, len(table))
                pop = replace(old_pop, q=q, item_bias=b, similar=similar)
            else:  # a new content space: start from the content-only default
                pop = self._default_population(len(table), table.dim, dim)
            self.items, self.population = table, pop
            self._refresh_vectors()

    def _default_population(self, n: int, content_dim: int, dim: int) -> Population:
        if dim == content_dim:
            W = np.eye(dim)
        else:  # a random orthogonal-ish projection keeps content similarity roughly
            rng = np.random.default_rng(self.config.seed)
            W = rng.standard_normal((dim, content_dim)) / math.sqrt(content_dim)
        return Population(
            W=W, q=np.zeros((n, dim)), item_bias=np.zeros(n), bias=self.config.bias,
            w_pop=self.config.pop_weight, prior_mean=np.zeros(dim),
            prior_precision=np.full(dim, self.config.prior_precision),
            version=f"content-{content_dim}x{dim}-seed{self.config.seed}",
        )

    def _refresh_vectors(self) -> None:
        items, pop = self._require()
        self._V = items.content @ pop.W.T + pop.q

    def upsert_item(
        self,
        item_id: str,
        content_embedding: np.ndarray,
        attributes: Mapping[str, Sequence[str]] | None = None,
        category: str = "",
        *,
        title: str = "",
        sensitive_topics: Sequence[str] = (),
        popularity: float | None = None,
    ) -> None:
        """Add or update one item; a new item starts with no learned factors."""
        if not isinstance(item_id, str) or not item_id:
            raise InvalidSignalError(f"item_id must be a non-empty string, got {item_id!r}")
        with self._catalog.write():
            items, pop = self._require()
            n_before = len(items)
            i = items.upsert(item_id, content_embedding, attributes or {}, category, title,
                             sensitive_topics, popularity)
            if i >= n_before:
                pop.q = np.vstack([pop.q, np.zeros((1, pop.q.shape[1]))])
                pop.item_bias = np.append(pop.item_bias, float(pop.item_bias.mean()))
                if pop.similar is not None:
                    pop.similar.grow(len(items))
            self._refresh_vectors()

    def remove_item(self, item_id: str) -> None:
        """Stop scoring an item; signals about it then raise UnknownItemError."""
        with self._catalog.write():
            items, _ = self._require()
            items.remove(item_id)

    def _require(self) -> tuple[ItemTable, Population]:
        if self.items is None or self.population is None:
            raise NotReadyError("no items yet: call set_items(...) (or load a saved model)")
        return self.items, self.population

    # ------------------------------------------------------------------ state access
    @property
    def space(self) -> str:
        """The version id of the current latent space (stamped on every saved state)."""
        _, pop = self._require()
        return pop.version

    def _stamp(self, st: CustomerState) -> None:
        _, pop = self._require()
        st.space, st.space_trained_at = pop.version, pop.trained_at

    def _in_space(self, st: CustomerState) -> bool:
        """Whether a state's vectors belong to the current latent space."""
        pop = self.population
        if pop is None:
            return False
        shape = pop.prior_mean.shape
        if any(t.long.shape != shape for t in (st.own, *st.recipients.values())):
            return False
        if st.space is None:  # written before states were stamped: by the default prior
            return not pop.pretrained
        return st.space == pop.version

    def _cached(self, customer_id: str, version: int) -> CustomerState | None:
        with self._cache_lock:
            hit = self._cache.get(customer_id)
            if hit is None or hit[0] != version:
                return None
            self._cache.move_to_end(customer_id)
            return hit[1]

    def _remember(self, customer_id: str, state: CustomerState) -> None:
        with self._cache_lock:
            self._cache[customer_id] = (state.version, state)
            self._cache.move_to_end(customer_id)
            while len(self._cache) > self.config.cache_size:
                self._cache.popitem(last=False)

    def invalidate(self, customer_id: str | None = None) -> None:
        """Drop the cached state of one customer, or of everyone (None): the next use
        reads the store (after another process wrote it, or the store was swapped)."""
        with self._cache_lock:
            if customer_id is None:
                self._cache.clear()
            else:
                self._cache.pop(customer_id, None)

    def _load(self, customer_id: str, *, persist: bool = True,
              remember: bool = True) -> CustomerState | None:
        """The customer's state in the current space, or None. Store I/O happens outside
        every lock. A state from another space (a retrained prior) or one that cannot be
        decoded is rebuilt (migrate.py) and, if `persist`, written back under its version
        (optimistic: if someone wrote meanwhile, read again)."""
        for _attempt in range(4):
            version = self.store.version(customer_id)
            if version is None:
                self.invalidate(customer_id)
                return None
            cached = self._cached(customer_id, version)
            if cached is not None and self._in_space(cached):
                return cached
            row = self.store.load(customer_id)
            if row is None:
                self.invalidate(customer_id)
                return None
            try:
                old: CustomerState | None = CustomerState.from_bytes(row[1], row[0])
            except StateCorruptError:
                # Nothing of it is usable: rebuild from the history source alone.
                log.warning("an undecodable customer state is rebuilt from its history")
                old = None
            state = old if old is not None and self._in_space(old) else \
                self._migrate(customer_id, old, row[0], persist=persist)
            if state is None:
                continue  # written meanwhile: read it again
            if remember:
                self._remember(customer_id, state)
            return state
        # Under a storm of concurrent writes, serve a rebuilt copy without saving it.
        return self._migrate(customer_id, None, 0, persist=False)

    def _migrate(self, customer_id: str, old: CustomerState | None, version: int, *,
                 persist: bool) -> CustomerState | None:
        """Rebuild `old` (stored at `version`) in the current space; None if the stored
        state changed before the rebuilt one could be saved."""
        newer = old is not None and self.population is not None and \
            old.space_trained_at > self.population.trained_at
        if newer and self.on_newer_space is not None:
            self.on_newer_space()  # another worker runs a newer prior: go and find it
        replay = fetch_replay(self, customer_id)  # the service's database: outside locks
        with self._catalog.read():
            state = rebuild(self, old, customer_id, replay)
        state.version = version
        if not persist or newer:
            # Unsaved, it keeps the stored version: the next write saves it (or, for a
            # state from a newer prior, a worker that has that prior rebuilds it).
            return state
        try:
            state.version = self.store.save(customer_id, state.to_bytes(),
                                            expected_version=version or 0)
        except StaleStateError:
            return None
        except Exception as exc:  # a read must not fail because the write-back did
            log.warning("rebuilt customer state not saved (%s); serving it unsaved",
                        type(exc).__name__)
        return state

    def _read(self, customer_id: str, fn: Callable[[CustomerState | None], _T]) -> _T:
        """`fn(state)` under the catalog read lock, the state loaded (and rebuilt if need
        be) before taking it. A prior swapped in between the two means: load again."""
        for _attempt in range(3):
            st = self._load(customer_id)
            with self._catalog.read():
                self._require()
                if st is None or self._in_space(st):
                    return fn(st)
        with self._catalog.read():  # the prior keeps changing under us: population view
            return fn(None)

    def _update(self, customer_id: str, mutate: Callable[[CustomerState], None],
                at: float) -> CustomerState:
        """Read-modify-write with optimistic concurrency: the mutation runs on a copy under
        the catalog read lock; the save, and the back-off after a lost race, run outside
        every lock, so one customer's slow write never holds up another's request."""
        for attempt in range(self.config.max_retries):
            current = self._load(customer_id, persist=False)
            with self._catalog.read():
                _, pop = self._require()
                if current is None:
                    state = CustomerState.fresh(customer_id, len(pop.prior_mean),
                                                pop.prior_precision, at)
                    expected = 0
                elif not self._in_space(current):
                    continue  # a new prior arrived since the load: load (and rebuild) again
                else:
                    state, expected = current.copy(), current.version
                mutate(state)
                self._stamp(state)
                data = state.to_bytes()
            try:
                state.version = self.store.save(customer_id, data, expected_version=expected)
            except StaleStateError:
                self.invalidate(customer_id)
                # Two writers that retry in lock-step collide forever: back off for a random,
                # growing moment so one of them wins (capped: ~50 ms in the worst case).
                time.sleep(random.uniform(0, 0.001 * 2 ** min(attempt, 5)))
                continue
            self._remember(customer_id, state)
            return state
        raise StaleStateError(f"could not update {customer_id!r}: too many concurrent writes")

    def state(self, customer_id: str) -> CustomerState | None:
        """A copy of the stored state (None for a customer never seen)."""
        st = self._load(customer_id)
        return None if st is None else st.copy()

    def migrate(self, customer_id: str) -> bool:
        """Bring one stored state into the current space (the background pass after a
        retrain; requests do it lazily). True if it exists. Does not fill the cache."""
        return self._load(customer_id, remember=False) is not None

    # ------------------------------------------------------------------- learning
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
        with self._catalog.read():
            items, _ = self._require()
            row = items.row(signal.item_id) if signal.item_id is not None else None
            sensitive = self._is_sensitive(row, signal.attribute)
        if signal.kind == "external":
            with self._catalog.write():
                items, _ = self._require()
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
            items, _ = self._require()
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
        with self._catalog.read():
            items, _ = self._require()
            for sig in signals:
                row = items.row(sig.item_id) if sig.item_id is not None else None
                c = consent_of(sig.customer_id)
                if sig.kind == "external":
                    external.append(sig)
                    continue
                if sig.kind == "demographic" and not c.demographic:
                    continue
                if (sig.kind in ("inferred", "sentiment") and not c.sensitive
                        and self._is_sensitive(row, sig.attribute)):
                    continue
                batches.setdefault(sig.customer_id, []).append(
                    (sig, Context.from_mapping(sig.context), sig.at.timestamp(), c))
        if external:
            with self._catalog.write():
                items, _ = self._require()
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
                items, _ = self._require()
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

    @staticmethod
    def _consent(consent: Consent | None) -> Consent:
        if consent is None:
            return Consent()
        if not isinstance(consent, Consent):
            raise InvalidSignalError(f"consent must be a Consent, got {type(consent).__name__}")
        return consent

    def _is_sensitive(self, row: int | None, attribute: str | None) -> bool:
        items, _ = self._require()
        if row is not None and items.sensitive[row]:
            return True
        if attribute is not None:
            name, value = parse_attribute(attribute)
            return self.is_sensitive_key(f"{name}={value}")
        return False

    def is_sensitive_key(self, key: str) -> bool:
        """Whether an attribute key ("name=value") touches a sensitive topic."""
        name, _, value = key.partition("=")
        topics = self.config.sensitive_topics
        return name in topics or value in topics

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
        p = float(_sigmoid(np.array(z)))
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

    def history(self, st: CustomerState, role: str, *, positive: bool = False,
                 last: int | None = None) -> tuple[list[HistoryEntry], np.ndarray]:
        """The history entries of `role` whose items are still in the catalog (only the
        positive ones if asked; `last` looks at the newest entries only), and their rows."""
        items = self.items
        assert items is not None
        recent = st.history if last is None else st.history[-last:]
        hist = [h for h in recent if h.role == role and h.item_id in items.index
                and (h.weight > 0 or not positive)]
        rows = np.fromiter((items.index[h.item_id] for h in hist), dtype=np.int64,
                           count=len(hist))
        return hist, rows

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
            g = a * float(_sigmoid(np.array(z[1 + j] - z[0])))
            diff = v - self._V[neg]
            taste.long += cfg.pair_lr * g * diff / taste.precision
            taste.short += cfg.pair_lr * cfg.session_lr * g * diff
            step = cfg.pair_lr * cfg.attr_lr * g / math.sqrt(items.n_attr[neg])
            for key in items.attr_keys(neg):
                pref = taste.inferred.get(key)
                if pref is not None and key not in keys_i:
                    pref.value -= step

    def _session_decay(self, taste: Taste, t: float) -> float:
        if not taste.short_at:
            return 1.0
        half = self.config.session_halflife_min * 60.0
        return float(0.5 ** (max(0.0, t - taste.short_at) / half))

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

    # ---------------------------------------------------------------- repurchase
    def record_purchase(self, st: CustomerState, role: str, item_id: str, at: float,
                        quantity: float) -> None:
        """Count a purchase in the state's logs (the learner does this for every purchase
        event; `pretrain` for the history it seeds)."""
        cfg = self.config
        record(st.purchases.setdefault(role, {}), item_id, at, quantity,
               merge_s=cfg.repurchase_merge_hours * 3600.0, cap=cfg.repurchase_max_items)
        self.event_clock = max(self.event_clock, min(at, time.time()))

    def _repurchase_now(self, st: CustomerState | None, at: datetime | None) -> float:
        """The time the repurchase term is judged at: `at` if given; else the newest event
        time seen (this process's learning, the trained history, the customer's own),
        capped by the wall clock; the wall clock when no event was ever seen."""
        if at is not None:
            return at.timestamp()
        wall = time.time()
        newest = max(self.event_clock, st.updated_at if st is not None else 0.0)
        return min(wall, newest) if newest > 0 else wall

    def due(self, item_id: str, row: int, log: PurchaseLog, now: float) -> Due:
        """How due a repeat purchase of the item is at `now` (the repurchase term's input,
        and the words explain.py says about it)."""
        items, pop = self._require()
        cfg = self.config
        stats = pop.repeat or RepeatStats.default()
        category = items.categories[row]
        prior = stats.prior(item_id, category)
        rate = overridden_rate(prior.rate, self._parsed_overrides(),
                               [item_id, *items.attr_keys(row), category])
        weight = cfg.repurchase_weight if pop.repeat is not None \
            else cfg.repurchase_untrained_weight
        params = RepeatParams(weight, cfg.repurchase_never_penalty,
                              cfg.repurchase_never_below, cfg.repurchase_shrink,
                              overdue=cfg.repurchase_overdue,
                              horizon_days=cfg.repurchase_horizon_days)
        return due(item_id, log, prior, rate, now, params)

    def _parsed_overrides(self) -> dict[str, float]:
        raw, parsed = self._overrides
        if raw is not self.config.repurchase_overrides:  # the service swapped the config
            raw = self.config.repurchase_overrides
            parsed = parse_overrides(raw)
            self._overrides = (raw, parsed)
        return parsed

    def _repurchase_term(self, st: CustomerState, role: str, rows: np.ndarray,
                         now: float) -> np.ndarray | None:
        """The repurchase logit of `rows` (0 for what the customer never bought)."""
        logs = st.purchases.get(role)
        if not logs:
            return None
        items, _ = self._require()
        bought = {items.index[i]: (i, lg) for i, lg in logs.items() if i in items.index}
        if not bought:
            return None
        hit = np.nonzero(np.isin(rows, np.fromiter(bought, dtype=np.int64)))[0]
        if not len(hit):
            return None
        out = np.zeros(len(rows))
        taste = st.taste(role)
        for j in hit:
            item_id, lg = bought[int(rows[j])]
            term = self.due(item_id, int(rows[j]), lg, now).term
            out[j] = 0.0 if term > 0 and self._repurchase_blocked(taste, int(rows[j])) else term
        return out

    def _repurchase_blocked(self, taste: Taste | None, row: int) -> bool:
        """A habit never outranks what the customer said: no "due again" push for an item
        they disliked, or with an attribute they disliked or deleted from their profile."""
        if taste is None:
            return False
        items, _ = self._require()
        liked = taste.stated_items.get(items.ids[row])
        if liked is not None and liked.value < 0:
            return True
        for key in items.attr_keys(row):
            stated = taste.stated.get(key)
            if key in taste.suppressed or (stated is not None and stated.value < 0):
                return True
        return False

    def repurchase_candidates(self, customer_id: str, k: int = 20, *, role: str = "self",
                              at: datetime | None = None, due_only: bool = True,
                              ) -> list[Due]:
        """The customer's "buy it again" items, most due first, with why (`Due`): what a
        candidate generator feeds to `rank`. `due_only` keeps those with a positive term
        (due or overdue); False lists every bought item still in the catalog."""
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise InvalidSignalError(f"k must be a non-negative integer, got {k!r}")
        self._args(customer_id, role, None, at)

        def run(st: CustomerState | None) -> list[Due]:
            items, _ = self._require()
            if st is None:
                return []
            now = self._repurchase_now(st, at)
            out = [self.due(i, items.index[i], lg, now)
                   for i, lg in st.purchases.get(role, {}).items()
                   if i in items.index and not items.removed[items.index[i]]]
            taste = st.taste(role)
            out = [d for d in out if not due_only or (
                d.term > 0 and not self._repurchase_blocked(taste, items.index[d.item_id]))]
            out.sort(key=lambda d: (-d.term, d.item_id))
            return out[:k]

        return self._read(customer_id, run)

    # ------------------------------------------------------------------- scoring
    def _parts(self, st: CustomerState | None, role: str, rows: np.ndarray, ctx: Context,
               t: float, consent: Consent, now: float | None = None) -> dict[str, np.ndarray]:
        """Every additive logit term for the given rows (used by rank and explain);
        `now` is the repurchase term's time (default `t`)."""
        items, pop = self._require()
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
            sim = self._similar_scores(st, role, pop.similar)
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

    def _similar_scores(self, st: CustomerState, role: str,
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
        _, pop = self._require()
        taste = st.taste(role) if st is not None else None
        precision = pop.prior_precision if taste is None else taste.precision
        return (self._V[rows] ** 2) @ (1.0 / precision)

    def _args(self, customer_id: str, role: str, consent: Consent | None,
              at: datetime | None) -> tuple[float, Consent]:
        """Check a read's arguments before any I/O; (time, consent)."""
        if not isinstance(customer_id, str) or not customer_id:
            raise InvalidSignalError(f"customer_id must be a non-empty string, got "
                                     f"{customer_id!r}")
        if role not in ROLES:
            raise InvalidSignalError(f"role {role!r} is not one of {sorted(ROLES)}")
        if at is not None and (not isinstance(at, datetime) or at.tzinfo is None):
            raise InvalidSignalError("at must be a timezone-aware datetime")
        return (at or datetime.now(UTC)).timestamp(), self._consent(consent)

    @staticmethod
    def _context(st: CustomerState | None,
                 context: Context | Mapping[str, object] | None) -> Context:
        if context is None and st is not None and st.last_context:
            context = st.last_context
        return Context.from_mapping(context)

    def predict_one(self, customer_id: str, item_id: str,
                    context: Context | Mapping[str, object] | None = None, *,
                    role: str = "self", consent: Consent | None = None,
                    at: datetime | None = None) -> float:
        """Probability that the customer responds positively to the item (posterior mean)."""
        t, granted = self._args(customer_id, role, consent, at)

        def run(st: CustomerState | None) -> float:
            items, _ = self._require()
            row = items.row(item_id)
            parts = self._parts(st, role, np.array([row]), self._context(st, context), t,
                                granted, self._repurchase_now(st, at))
            return float(_sigmoid(np.sum(list(parts.values()), axis=0))[0])

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
            items, pop = self._require()
            rows = items.rows(wanted, skip_unknown=skip_unknown)
            if len(rows) == 0:
                return []
            ctx, consent = self._context(st, context), granted
            now = self._repurchase_now(st, at)
            parts = self._parts(st, role, rows, ctx, t, consent, now)
            z = np.sum(list(parts.values()), axis=0)
            p = _sigmoid(z)
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

        def run(st: CustomerState | None) -> Proposal:
            gens = getattr(self, "_generators", None)
            if gens is None or not gens.fresh(self):
                gens = self._generators = Generators(self)
            return propose(self, gens, st, customer_id, role, context, t,
                           budget=budget or Budget(), seed=seed, trending=trending,
                           repurchase=repurchase)

        return self._read(customer_id, run)

    def explain(self, customer_id: str, item_id: str,
                context: Context | Mapping[str, object] | None = None, *,
                role: str = "self", consent: Consent | None = None,
                at: datetime | None = None, n_reasons: int = 3) -> list[Reason]:
        """The top contributing signals for one item, in plain words."""
        t, granted = self._args(customer_id, role, consent, at)

        def run(st: CustomerState | None) -> list[Reason]:
            items, _ = self._require()
            row = items.row(item_id)
            ctx = self._context(st, context)
            now = self._repurchase_now(st, at)
            parts = self._parts(st, role, np.array([row]), ctx, t, granted, now)
            return Explainer(self, st, role, ctx, t, now).reasons(
                row, {k: float(v[0]) for k, v in parts.items()}, n_reasons)

        return self._read(customer_id, run)

    # --------------------------------------------------------- profile and control
    def profile(self, customer_id: str) -> Profile:
        """Stated vs inferred preferences with confidence, source and time."""
        return self._read(customer_id, lambda st: self._profile(customer_id, st))

    def _profile(self, customer_id: str, st: CustomerState | None) -> Profile:
        _, pop = self._require()
        if st is None:
            return Profile(customer_id=customer_id, exists=False)
        recipients = {role: self._taste_profile(customer_id, taste, pop)
                      for role, taste in st.recipients.items()}
        base = self._taste_profile(customer_id, st.own, pop)
        demo = tuple(PreferenceView(k, None, p.value, p.confidence, p.source,
                                    _dt(p.at), "demographic")
                     for k, p in sorted(st.demographics.items()))
        return replace(base, demographic=demo, recipients=recipients, cohort=st.cohort,
                       n_signals=st.n_signals, updated_at=_dt(st.updated_at))

    def _taste_profile(self, customer_id: str, taste: Taste, pop: Population) -> Profile:
        stated = [PreferenceView(k, None, p.value, p.confidence, p.source, _dt(p.at), "stated",
                                 p.hard) for k, p in taste.stated.items()]
        stated += [PreferenceView(None, k, p.value, p.confidence, p.source, _dt(p.at),
                                  "stated", p.hard) for k, p in taste.stated_items.items()]
        inferred = [
            PreferenceView(k, None, float(np.tanh(p.value)), p.confidence, p.source, _dt(p.at),
                           "inferred")
            for k, p in sorted(taste.inferred.items(), key=lambda kv: -abs(kv[1].value))
            if k not in taste.stated and k not in taste.suppressed and abs(p.value) > 0.05
        ]
        ratio = float(np.mean(np.sqrt(pop.prior_precision / taste.precision)))
        return Profile(customer_id=customer_id, stated=tuple(stated), inferred=tuple(inferred),
                       suppressed=tuple(sorted(taste.suppressed)), n_signals=taste.n_signals,
                       uncertainty=ratio)

    def correct(self, customer_id: str, attribute: str, value: float | None, *,
                role: str = "self", source: str = "correction",
                at: datetime | None = None) -> None:
        """Override (value in [-1, 1]) or delete (None) a preference; obeyed from the next
        request on. Deleting also stops it being inferred again and removes its direction
        from the customer's latent vectors."""
        name, val = parse_attribute(attribute)
        key = f"{name}={val}"
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                                  or not math.isfinite(value) or not -1 <= value <= 1):
            raise InvalidSignalError(f"correction value must be None or in [-1, 1], got {value!r}")
        if role not in ROLES:
            raise InvalidSignalError(f"role {role!r} is not one of {sorted(ROLES)}")
        t = (at or datetime.now(UTC)).timestamp()
        self._require()
        if self._load(customer_id) is None:
            raise UnknownCustomerError(customer_id)

        def mutate(st: CustomerState) -> None:
            taste = st.taste(role)
            if taste is None:
                raise UnknownCustomerError(f"{customer_id}/{role}")
            taste.inferred.pop(key, None)
            if value is None:
                taste.stated.pop(key, None)
                taste.suppressed.add(key)
                # In the space the mutation runs in (under the lock): the prior may change.
                direction = self._attribute_direction(key)
                if direction is not None:
                    taste.long -= (taste.long @ direction) * direction
                    taste.short -= (taste.short @ direction) * direction
            else:
                taste.suppressed.discard(key)
                taste.stated[key] = AttrPref(float(value), 1.0, source, t)
            st.updated_at = max(st.updated_at, t)

        self._update(customer_id, mutate, t)

    def _attribute_direction(self, key: str) -> np.ndarray | None:
        """Unit vector from the average item to the average item with this attribute."""
        items, _ = self._require()
        j = items.attr_vocab.get(key)
        if j is None:
            return None
        live = ~items.removed
        has = (items.attr_idx == j).any(1) & live
        if not has.any() or has.sum() == live.sum():
            return None
        d = self._V[has].mean(0) - self._V[live].mean(0)
        norm = float(np.linalg.norm(d))
        return d / norm if norm > 1e-9 else None

    def forget(self, customer_id: str) -> bool:
        """Erase everything about a customer (store and cache). True if there was a state."""
        self.invalidate(customer_id)
        gone = self.store.delete(customer_id)
        self.invalidate(customer_id)  # a request may have cached it during the delete
        return gone

    def set_style(self, customer_id: str, style: Mapping[str, Any]) -> None:
        """Store the chat's conversational-style slot (opaque JSON-able mapping)."""
        try:
            blob = json.loads(json.dumps(dict(style), allow_nan=False))
        except (TypeError, ValueError) as exc:
            raise InvalidSignalError(f"style must be JSON-serialisable: {exc}") from None
        t = datetime.now(UTC).timestamp()
        self._update(customer_id, lambda st: st.style.update(blob), t)

    # ------------------------------------------------------------- active learning
    def next_question(self, customer_id: str, candidates: Sequence[str],
                      context: Context | Mapping[str, object] | None = None, *,
                      consent: Consent | None = None, at: datetime | None = None,
                      ) -> Probe | None:
        """The clarifying question (attribute) or probe item with the highest expected
        information gain (nats) about how to order `candidates`; None if nothing to ask."""
        from preference_model.active import best_probe

        t, granted = self._args(customer_id, "self", consent, at)
        wanted = list(candidates)

        def run(st: CustomerState | None) -> Probe | None:
            items, _ = self._require()
            rows = items.rows(wanted, skip_unknown=True)
            if len(rows) == 0:
                return None
            z = self._logits(st, "self", rows, self._context(st, context), t, granted)
            var = self._variance(st, "self", rows)
            return best_probe(self, st, rows, z, var, granted)

        return self._read(customer_id, run)

    def role_check(self, customer_id: str, item_id: str,
                   context: Context | Mapping[str, object] | None = None, *,
                   margin: float = 1.5, min_signals: int = 5,
                   at: datetime | None = None) -> Probe | None:
        """Suggest asking "is this for you?" when the customer's own profile rates an item
        `margin` (logit) below the median of what they chose before - call it before
        learning a purchase, then send the signal with the answer's role.
        """
        t, consent = self._args(customer_id, "self", None, at)

        def run(st: CustomerState | None) -> Probe | None:
            items, _ = self._require()
            row = items.row(item_id)
            if st is None or st.own.n_signals < min_signals:
                return None
            _, liked = self.history(st, "self", positive=True)
            if not len(liked):
                return None
            rows = np.array([row, *liked])
            parts = self._parts(st, "self", rows, self._context(st, context), t, consent)
            personal = np.sum([v for k, v in parts.items()
                               if k not in ("popularity", "population")], axis=0)
            if personal[0] >= float(np.median(personal[1:])) - margin:
                return None
            p = float(_sigmoid(np.sum([v[0] for v in parts.values()])))
            return Probe(kind="role", item_id=item_id, expected_information_gain=_entropy(p),
                         question=f"Is {items.titles[row]} for you, or for someone else?")

        return self._read(customer_id, run)

    # ------------------------------------------------------------ River protocol
    def clone(self) -> PreferenceModel:
        """A fresh, unfitted learner with the same config (no items, no customers)."""
        return type(self)(self.config, InMemoryStateStore())

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for name in ("_catalog", "_cache_lock"):
            del state[name]
        state["history_source"] = state["on_newer_space"] = None  # the service's wiring
        state["_generators"] = None  # a FAISS index: rebuilt on first use
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._init_locks()

    # ------------------------------------------------------------ retraining, live
    def adopt(self, other: PreferenceModel) -> None:
        """Swap in another model's prior, item table and config at once (a retrain picked
        up by a running worker). Requests in flight finish on the old prior; stored states
        move to the new space lazily on first use (or via `migrate`)."""
        other_items, other_pop = other._require()
        with self._catalog.write():
            self.config = other.config
            self.event_clock = max(self.event_clock, other.event_clock)
            self.items, self.population, self._V = other_items, other_pop, other._V
        with self._cache_lock:
            self._cache.clear()

    # ----------------------------------------------------------------- artefacts
    def save(self, path: str | Path) -> None:
        """Write the population model and item universe (not customer states) to `path`
        (a directory), so every API worker can `load` the same weights.

        Safe to do under running workers: the arrays go to a file named after the prior's
        version and `meta.json`, which names that file, is replaced last, atomically; a
        worker reading meanwhile sees the old artifact or the new one, never a mix."""
        with self._catalog.read():
            items, pop = self._require()
            version = pop.version or fingerprint(pop)
            arrays, meta = self._artifact(items, pop)
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        meta_path = out / "meta.json"
        try:
            previous = json.loads(meta_path.read_text()).get("arrays", "population.npz")
        except (OSError, ValueError):
            previous = None
        name = f"population-{version}.npz"
        tmp = out / f".{name}.{os.getpid()}.tmp"
        with tmp.open("wb") as fh:
            np.savez(fh, **arrays)  # type: ignore[arg-type]
        os.replace(tmp, out / name)
        meta.update({"arrays": name, "version": version, "trained_at": pop.trained_at})
        tmp = out / f".meta.json.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(meta))
        os.replace(tmp, meta_path)
        # Keep the previous arrays (a worker may be reading them right now); drop older ones.
        for old in out.glob("population*.npz"):
            if old.name not in (name, previous):
                old.unlink(missing_ok=True)

    def _artifact(self, items: ItemTable, pop: Population
                  ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        live = [i for i in range(len(items)) if not items.removed[i]]
        arrays = {
            "content": items.content[live], "W": pop.W, "q": pop.q[live],
            "item_bias": pop.item_bias[live], "prior_mean": pop.prior_mean,
            "prior_precision": pop.prior_precision, "raw_pop": items.raw_pop[live],
        }
        if pop.cohorts is not None:
            arrays["cohorts"] = pop.cohorts
        if pop.similar is not None:
            to_live = np.full(len(items), -1, dtype=np.int64)
            to_live[live] = np.arange(len(live))
            sim = pop.similar.remap(to_live, len(live))
            arrays["similar_idx"], arrays["similar_w"] = sim.idx, sim.w
        for i, (_f, vec) in enumerate(sorted(pop.context.items())):
            arrays[f"ctx_{i}"] = vec
        cfg = asdict(self.config)
        cfg["event_weights"] = dict(self.config.event_weights.weights)
        cfg["sensitive_topics"] = sorted(self.config.sensitive_topics)
        cfg["repurchase_overrides"] = dict(self.config.repurchase_overrides)
        meta = {
            "format": 1, "config": cfg, "bias": pop.bias, "w_pop": pop.w_pop,
            "pretrained": pop.pretrained, "context_features": sorted(pop.context),
            "similar_weight": None if pop.similar is None else pop.similar.weight,
            "ids": [items.ids[i] for i in live], "attributes": [items.attrs[i] for i in live],
            "categories": [items.categories[i] for i in live],
            "titles": [items.titles[i] for i in live],
            "sensitive_topics": [items.topics[i] for i in live],
            "repeat": None if pop.repeat is None else pop.repeat.to_json(),
            "event_clock": self.event_clock,
        }
        return arrays, meta

    @classmethod
    def load(cls, path: str | Path, store: StateStore | None = None) -> PreferenceModel:
        src = Path(path)
        try:
            meta = json.loads((src / "meta.json").read_text())
            with np.load(src / meta.get("arrays", "population.npz")) as npz:
                arrays = {k: npz[k] for k in npz.files}
        except (OSError, ValueError, KeyError) as exc:
            raise NotReadyError(f"cannot load a preference model from {src}: {exc}") from exc
        cfg = dict(meta["config"])
        cfg["event_weights"] = EventWeights(cfg["event_weights"])
        cfg["sensitive_topics"] = frozenset(cfg["sensitive_topics"])
        model = cls(PreferenceConfig(**cfg), store)
        model.items = ItemTable(meta["ids"], arrays["content"], meta["attributes"],
                                meta["categories"], arrays["raw_pop"], meta["titles"],
                                meta["sensitive_topics"])
        model.population = Population(
            W=arrays["W"], q=arrays["q"], item_bias=arrays["item_bias"], bias=meta["bias"],
            w_pop=meta["w_pop"], prior_mean=arrays["prior_mean"],
            prior_precision=arrays["prior_precision"],
            cohorts=arrays.get("cohorts"),
            context={f: arrays[f"ctx_{i}"] for i, f in enumerate(meta["context_features"])},
            pretrained=meta["pretrained"], trained_at=float(meta.get("trained_at") or 0.0),
        )
        # Artifacts from before versioning get the same id in every worker (content hash).
        model.population.version = meta.get("version") or fingerprint(model.population)
        if meta.get("repeat"):
            model.population.repeat = RepeatStats.from_json(meta["repeat"])
        model.event_clock = float(meta.get("event_clock") or 0.0)
        if "similar_idx" in arrays:
            model.population.similar = ItemNeighbors(
                arrays["similar_idx"], arrays["similar_w"], float(meta["similar_weight"]))
        model._refresh_vectors()
        return model

    @staticmethod
    def artifact_version(path: str | Path) -> str | None:
        """The version of the prior saved in `path` (cheap: reads meta.json), or None."""
        try:
            meta = json.loads((Path(path) / "meta.json").read_text())
        except (OSError, ValueError):
            return None
        version = meta.get("version") if isinstance(meta, dict) else None
        return str(version) if version else None


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)
