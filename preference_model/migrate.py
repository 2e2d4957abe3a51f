"""Customer states across retraining: rebuild a state that lives in another latent space.

Each population (the trained prior, or the content-only default) defines a latent space,
named by `Population.version`; every stored state is stamped with the space it was
written in (`CustomerState.space`). A retrain (`tailor train preferences`) makes a new
space, often of another dimension, where old vectors mean nothing. Two trained spaces
share no basis, so the vectors cannot be projected faithfully; what can be carried is the
evidence. `rebuild` makes the state the customer would have if the new prior had been in
place all along:

- a fresh state in the current space (prior mean and precision), `created_at` kept;
- carried as they are (attribute- or item-keyed, space-free): stated preferences and
  constraints, stated item likes, suppressed attributes (corrections), demographics, the
  chat's style slot, the last context;
- replayed in time order through the same update as `learn_one`: the customer's history,
  from `Replay` (the service's events table, authoritative and complete) when the model
  has a history source, else the state's own bounded history; the chat's item sentiments
  and statements, which no event records, are replayed from the old state's history;
- inferred attribute weights the replay did not produce (attribute sentiment from the
  chat) are carried over;
- with nothing to replay, the learned space-free parts (inferred attributes, context
  habits, signal counts) are carried and the vectors start from the prior.

A bad entry (item no longer in the catalog, malformed event) is skipped, never raised:
rebuilding must not fail a request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from preference_model.errors import PreferenceModelError
from preference_model.signals import RATING_EVENT, Consent, Signal
from preference_model.state import (
    AttrPref,
    CustomerState,
    HistoryEntry,
    Taste,
    copy_purchases,
)

if TYPE_CHECKING:
    from preference_model.config import Population, PreferenceConfig
    from preference_model.items import ItemTable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Replay:
    """A customer's interaction history as signals (oldest first) and the consent to
    learn it under, as the service's history source returns it."""

    signals: Sequence[Signal]
    consent: Consent = field(default_factory=Consent)


# (customer id, at most n signals, the newest) -> their history, or None if unknown
HistorySource = Callable[[str, int], "Replay | None"]


class Relearner(Protocol):
    """What a rebuild reads and calls on the model (`PreferenceModel` has it): a narrow
    view, so this module does not import the model that calls it."""

    config: PreferenceConfig
    items: ItemTable | None
    history_source: HistorySource | None

    def require(self) -> tuple[ItemTable, Population]: ...

    def stamp(self, st: CustomerState) -> None: ...

    def learn_into(self, st: CustomerState, sig: Signal, consent: Consent) -> bool: ...

    def relearn_entry(self, st: CustomerState, h: HistoryEntry) -> bool: ...


def _is_event(model: Relearner, kind: str) -> bool:
    return kind == RATING_EVENT or kind in model.config.event_weights.weights


def fetch_replay(model: Relearner, customer_id: str) -> Replay | None:
    """The customer's history from the model's source (I/O: call outside any lock)."""
    source = model.history_source
    if source is None:
        return None
    try:
        return source(customer_id, model.config.rebuild_max_events)
    except Exception as exc:  # the source is the service's database: any failure -> fallback
        log.warning("history source failed (%s); rebuilding from the stored history",
                    type(exc).__name__)
        return None


def rebuild(model: Relearner, old: CustomerState | None, customer_id: str,
            replay: Replay | None) -> CustomerState:
    """The customer's state in the model's current space (call under the catalog read
    lock; `replay` is fetched beforehand, outside any lock, with `fetch_replay`)."""
    items, pop = model.require()
    dim = len(pop.prior_mean)
    at = old.created_at if old is not None else 0.0
    new = CustomerState.fresh(customer_id, dim, pop.prior_precision, at)
    model.stamp(new)
    if old is not None:
        new.demographics = {k: AttrPref(**vars(v)) for k, v in old.demographics.items()}
        new.style = dict(old.style)
        new.last_context = dict(old.last_context)
        new.updated_at = old.updated_at
        for role, taste in [("self", old.own), *old.recipients.items()]:
            target = new.own if role == "self" else new.recipients.setdefault(
                role, Taste.fresh(dim, pop.prior_precision))
            target.stated = {k: AttrPref(**vars(v)) for k, v in taste.stated.items()}
            target.stated_items = {k: AttrPref(**vars(v)) for k, v in taste.stated_items.items()}
            target.suppressed = set(taste.suppressed)

    # What to replay, oldest first: (time, order, signal or old history entry)
    steps: list[tuple[float, int, Signal | HistoryEntry]] = []
    old_history = old.history if old is not None else []
    if replay is not None:
        steps += [(s.at.timestamp(), n, s) for n, s in enumerate(replay.signals)]
        chat_only = [h for h in old_history if not _is_event(model, h.kind)]
    else:
        chat_only = list(old_history)
    steps += [(h.at, len(steps) + n, h) for n, h in enumerate(chat_only)]
    steps.sort(key=lambda s: (s[0], s[1]))
    consent = replay.consent if replay is not None else Consent(sensitive=True)

    replayed = 0
    for _t, _n, step in steps:
        try:
            if isinstance(step, Signal):
                replayed += _replay_signal(model, new, step, consent)
            else:
                replayed += _replay_entry(model, new, step)
        except PreferenceModelError:
            continue  # e.g. a malformed stored event: skip it, keep the rest
    if old is not None:
        for role, taste in [("self", old.own), *old.recipients.items()]:
            target = new.own if role == "self" else new.recipients.setdefault(
                role, Taste.fresh(dim, pop.prior_precision))
            for key, pref in taste.inferred.items():
                if key not in target.inferred and key not in target.suppressed:
                    target.inferred[key] = AttrPref(**vars(pref))
            if not replayed:
                target.context = dict(taste.context)
                target.n_signals = taste.n_signals
        if not replayed:
            new.history = [h for h in old_history if h.item_id in items.index]
        # Purchase logs live in no latent space and may reach further back than the
        # replay: keep them as they were (the replay's own counting is discarded).
        new.purchases = copy_purchases(old.purchases)
    return new


def _replay_signal(model: Relearner, st: CustomerState, sig: Signal,
                   consent: Consent) -> int:
    sig.validate(model.config.event_weights)
    if sig.kind in ("external", "demographic"):
        return 0  # popularity is not personal; demographics were carried over
    return int(model.learn_into(st, sig, consent))


def _replay_entry(model: Relearner, st: CustomerState, h: HistoryEntry) -> int:
    """One entry of the old state's own history, with the weight it was learned at."""
    return int(model.relearn_entry(st, h))
