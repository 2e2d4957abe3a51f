"""The model's foundation: configuration, the state store, the item universe (items, the
population prior, the item factor vectors) and the checks every read shares.

Every other room of `PreferenceModel` builds on `ModelBase`; nothing here reads or writes a
customer state. Locks: readers (scoring, learning) share the catalog lock; catalog changes
and prior swaps take it exclusively (`readerwriterlock`'s writer-preferring `RWLockWrite`)."""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
from readerwriterlock.rwlock import RWLockWrite

from preference_model.candidates import Generators
from preference_model.config import Population, PreferenceConfig
from preference_model.errors import InvalidSignalError, NotReadyError
from preference_model.items import ItemTable
from preference_model.migrate import HistorySource
from preference_model.repurchase import parse_overrides
from preference_model.signals import ROLES, Consent, Context, parse_attribute
from preference_model.state import CustomerState, HistoryEntry, Taste
from preference_model.store import InMemoryStateStore, StateStore

DAY = 86_400.0


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function, written with tanh so large |z| never overflows."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


class ModelBase:
    """The catalog, the prior and the argument checks shared by every room (see module)."""

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
        # exclusive, and a waiting writer stops new readers (writer preference), so a stream
        # of requests cannot starve a catalog update. Not re-entrant: taken once, at a public
        # entry point, never around store I/O. The LRU cache has its own short lock.
        self._catalog = RWLockWrite()
        self._cache_lock = threading.Lock()

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
        with self._catalog.gen_wlock():
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
            self.refresh_vectors()

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

    @property
    def vectors(self) -> np.ndarray:
        """The items' factor vectors v_i = W e_i + q_i, one row per item-table row. Read
        only: a new array replaces it whenever the catalog or the prior changes, so
        `model.vectors is table` tells whether structures built on `table` are current."""
        return self._V

    def refresh_vectors(self) -> None:
        """Recompute `vectors` after the prior's W or q changed in place (pretraining, a
        benchmark that sets the factors by hand)."""
        items, pop = self.require()
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
        with self._catalog.gen_wlock():
            items, pop = self.require()
            n_before = len(items)
            i = items.upsert(item_id, content_embedding, attributes or {}, category, title,
                             sensitive_topics, popularity)
            if i >= n_before:
                pop.q = np.vstack([pop.q, np.zeros((1, pop.q.shape[1]))])
                pop.item_bias = np.append(pop.item_bias, float(pop.item_bias.mean()))
                if pop.similar is not None:
                    pop.similar.grow(len(items))
            self.refresh_vectors()

    def remove_item(self, item_id: str) -> None:
        """Stop scoring an item; signals about it then raise UnknownItemError."""
        with self._catalog.gen_wlock():
            items, _ = self.require()
            items.remove(item_id)

    def require(self) -> tuple[ItemTable, Population]:
        """The item table and the population prior; NotReadyError before `set_items`."""
        if self.items is None or self.population is None:
            raise NotReadyError("no items yet: call set_items(...) (or load a saved model)")
        return self.items, self.population

    @property
    def space(self) -> str:
        """The version id of the current latent space (stamped on every saved state)."""
        _, pop = self.require()
        return pop.version

    def stamp(self, st: CustomerState) -> None:
        """Mark a state as written in the current latent space (migrate.py reads it)."""
        _, pop = self.require()
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

    @staticmethod
    def _consent(consent: Consent | None) -> Consent:
        if consent is None:
            return Consent()
        if not isinstance(consent, Consent):
            raise InvalidSignalError(f"consent must be a Consent, got {type(consent).__name__}")
        return consent

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
    def resolve_context(st: CustomerState | None,
                        context: Context | Mapping[str, object] | None) -> Context:
        """The request's context, or the customer's last one when the request gives none."""
        if context is None and st is not None and st.last_context:
            context = st.last_context
        return Context.from_mapping(context)

    def is_sensitive(self, row: int | None, attribute: str | None) -> bool:
        """Whether an item (by row) or an attribute touches a sensitive topic: signals about
        it are learned only with `Consent(sensitive=True)`."""
        items, _ = self.require()
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

    def _session_decay(self, taste: Taste, t: float) -> float:
        """How much of the session vector is left at `t` (half-life in minutes)."""
        if not taste.short_at:
            return 1.0
        half = self.config.session_halflife_min * 60.0
        return float(0.5 ** (max(0.0, t - taste.short_at) / half))
