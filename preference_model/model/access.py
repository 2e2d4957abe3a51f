"""Customer state access: the per-process cache, loading (and rebuilding a state from
another latent space, migrate.py), and read-modify-write with optimistic concurrency.

The one retry policy for stale state lives here: `_load` reads again when a rebuilt state
lost its write-back, `_read` loads again when a prior was swapped in between, `_update`
retries a lost write with a random, growing back-off (`config.max_retries` attempts)."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from preference_model.errors import StaleStateError, StateCorruptError
from preference_model.migrate import fetch_replay, rebuild
from preference_model.model.base import ModelBase
from preference_model.signals import Consent, Signal
from preference_model.state import CustomerState, HistoryEntry

log = logging.getLogger("preference_model.model")
_T = TypeVar("_T")


class StateAccess(ModelBase):
    """Loads, caches and saves customer states (see module)."""

    # A state from another latent space is rebuilt by replaying its evidence through the
    # learner (migrate.py): learning.py provides these two steps.
    def learn_into(self, st: CustomerState, sig: Signal, consent: Consent) -> bool:
        raise NotImplementedError

    def relearn_entry(self, st: CustomerState, h: HistoryEntry) -> bool:
        raise NotImplementedError

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
        with self._catalog.gen_rlock():
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
            with self._catalog.gen_rlock():
                self.require()
                if st is None or self._in_space(st):
                    return fn(st)
        with self._catalog.gen_rlock():  # the prior keeps changing under us: population view
            return fn(None)

    def _update(self, customer_id: str, mutate: Callable[[CustomerState], None],
                at: float) -> CustomerState:
        """Read-modify-write with optimistic concurrency: the mutation runs on a copy under
        the catalog read lock; the save, and the back-off after a lost race, run outside
        every lock, so one customer's slow write never holds up another's request."""
        for attempt in range(self.config.max_retries):
            current = self._load(customer_id, persist=False)
            with self._catalog.gen_rlock():
                _, pop = self.require()
                if current is None:
                    state = CustomerState.fresh(customer_id, len(pop.prior_mean),
                                                pop.prior_precision, at)
                    expected = 0
                elif not self._in_space(current):
                    continue  # a new prior arrived since the load: load (and rebuild) again
                else:
                    state, expected = current.copy(), current.version
                mutate(state)
                self.stamp(state)
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
