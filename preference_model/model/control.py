"""Profile control: what the customer (or staff) sees and steers - the profile, corrections,
erasure, the chat's style slot - and the questions worth asking (active learning)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import numpy as np

from preference_model.config import Population
from preference_model.errors import InvalidSignalError, UnknownCustomerError
from preference_model.model.base import sigmoid
from preference_model.model.scoring import Scoring
from preference_model.results import PreferenceView, Probe, Profile
from preference_model.signals import ROLES, Consent, Context, parse_attribute
from preference_model.state import AttrPref, CustomerState, Taste


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _entropy(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return -(p * math.log(p) + (1 - p) * math.log(1 - p))


class ProfileControl(Scoring):
    """Profile, corrections, erasure and clarifying questions (see module)."""

    def profile(self, customer_id: str) -> Profile:
        """Stated vs inferred preferences with confidence, source and time."""
        return self._read(customer_id, lambda st: self._profile(customer_id, st))

    def _profile(self, customer_id: str, st: CustomerState | None) -> Profile:
        _, pop = self.require()
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
        self.require()
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
        items, _ = self.require()
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
            items, _ = self.require()
            rows = items.rows(wanted, skip_unknown=True)
            if len(rows) == 0:
                return None
            z = self._logits(st, "self", rows, self.resolve_context(st, context), t, granted)
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
            items, _ = self.require()
            row = items.row(item_id)
            if st is None or st.own.n_signals < min_signals:
                return None
            _, liked = self.history(st, "self", positive=True)
            if not len(liked):
                return None
            rows = np.array([row, *liked])
            parts = self._parts(st, "self", rows, self.resolve_context(st, context), t, consent)
            personal = np.sum([v for k, v in parts.items()
                               if k not in ("popularity", "population")], axis=0)
            if personal[0] >= float(np.median(personal[1:])) - margin:
                return None
            p = float(sigmoid(np.sum([v[0] for v in parts.values()])))
            return Probe(kind="role", item_id=item_id, expected_information_gain=_entropy(p),
                         question=f"Is {items.titles[row]} for you, or for someone else?")

        return self._read(customer_id, run)
