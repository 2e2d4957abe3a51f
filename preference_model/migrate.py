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
from typing import TYPE_CHECKING

from preference_model.errors import PreferenceModelError
from preference_model.signals import RATING_EVENT, Consent, Context, Signal
from preference_model.state import (
    AttrPref,
    CustomerState,
    HistoryEntry,
    Taste,
    copy_purchases,
)

if TYPE_CHECKING:
    from preference_model.model import PreferenceModel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Replay:
    """A customer's interaction history as signals (oldest first) and the consent to
    learn it under, as the service's history source returns it."""

    signals: Sequence[Signal]
    consent: Consent = field(default_factory=Consent)


# (customer id, at most n signals, the newest) -> their history, or None if unknown
HistorySource = Callable[[str, int], "Replay | None"]


def _is_event(model: PreferenceModel, kind: str) -> bool:
    return kind == RATING_EVENT or kind in model.config.event_weights.weights


def fetch_replay(model: PreferenceModel, customer_id: str) -> Replay | None:
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


def rebuild(model: PreferenceModel, old: CustomerState | None, customer_id: str,
            replay: Replay | None) -> CustomerState:
    """The customer's state in the model's current space (call under the catalog read
    lock; `replay` is fetched beforehand, outside any lock, with `fetch_replay`)."""
    items, pop = model._require()
    dim = len(pop.prior_mean)
    at = old.created_at if old is not None else 0.0
    new = CustomerState.fresh(customer_id, dim, pop.prior_precision, at)
    model._stamp(new)
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


def _replay_signal(model: PreferenceModel, st: CustomerState, sig: Signal,
                   consent: Consent) -> int:
    sig.validate(model.config.event_weights)
    if sig.kind in ("external", "demographic"):
        return 0  # popularity is not personal; demographics were carried over
    items = model.items
    assert items is not None
    row = None
    if sig.item_id is not None:
        row = items.index.get(sig.item_id)
        if row is None or items.removed[row]:
            return 0
    if (sig.kind in ("inferred", "sentiment") and not consent.sensitive
            and model._is_sensitive(row, sig.attribute)):
        return 0
    model._apply(st, sig, row, Context.from_mapping(sig.context), sig.at.timestamp(), consent)
    return 1


def _replay_entry(model: PreferenceModel, st: CustomerState, h: HistoryEntry) -> int:
    """One entry of the old state's own history, with the weight it was learned at."""
    items, pop = model._require()
    row = items.index.get(h.item_id)
    if row is None or items.removed[row] or not h.weight:
        return 0
    taste = st.own if h.role == "self" else st.recipients.setdefault(
        h.role, Taste.fresh(len(pop.prior_mean), pop.prior_precision))
    taste.n_signals += 1
    st.updated_at = max(st.updated_at, h.at)
    model._learn_item(st, taste, h.role, row, h.weight, Context(), h.at, h.source or h.kind,
                      Consent(sensitive=True))
    st.history.append(HistoryEntry(**vars(h)))
    del st.history[: -model.config.history_size]
    if h.role == "self":
        model._assign_cohort(st)
    return 1
