"""Active learning: which question or probe item would teach the model the most.

Both kinds are scored in nats of expected information gain so they compare:
- an item probe: the mutual information between the customer's response and their
  latent vector under the Gaussian posterior, 0.5 * log(1 + p(1-p) * v' S v);
- an attribute question: the entropy of the predicted answer, discounted by what is
  already known (confidence) and by how well the answer splits the candidates
  (4 f (1 - f): an attribute every candidate shares decides nothing).
Attributes the customer already stated (any value of that name), suppressed ones and,
without consent, sensitive ones are never asked about.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from preference_model.results import Probe
from preference_model.signals import Consent

if TYPE_CHECKING:
    from preference_model.state import CustomerState
    from preference_model.view import ModelView


def _entropy(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return -(p * math.log(p) + (1 - p) * math.log(1 - p))


def best_probe(model: ModelView, state: CustomerState | None, rows: np.ndarray,
               z: np.ndarray, var: np.ndarray, consent: Consent) -> Probe | None:
    items = model.items
    assert items is not None
    best: Probe | None = None
    p = 0.5 * (1.0 + np.tanh(0.5 * z))
    item_gain = 0.5 * np.log1p(p * (1 - p) * var)
    if not consent.sensitive:
        item_gain = np.where(items.sensitive[rows], -1.0, item_gain)
    j = int(np.argmax(item_gain))
    if item_gain[j] > 0:
        row = int(rows[j])
        best = Probe(kind="item", item_id=items.ids[row],
                     question=f"What do you think of {items.titles[row]}?",
                     expected_information_gain=float(item_gain[j]))
    taste = state.own if state is not None else None
    n = len(rows)
    pad = len(items.attr_vocab)
    counts = np.bincount(items.attr_idx[rows].ravel(), minlength=pad + 1)[:pad]
    inv = {j: k for k, j in items.attr_vocab.items()}
    # once the customer has said something about "diet", asking about another diet value
    # would be asking again
    answered = {k.partition("=")[0] for k in taste.stated} if taste is not None else set()
    for jj in np.nonzero((counts > 0) & (counts < n))[0]:
        key = inv[int(jj)]
        if taste is not None and (key in taste.suppressed
                                  or key.partition("=")[0] in answered):
            continue
        if not consent.sensitive and model.is_sensitive_key(key):
            continue
        f = counts[jj] / n
        pref = taste.inferred.get(key) if taste is not None else None
        w, conf = (pref.value, pref.confidence) if pref is not None else (0.0, 0.0)
        gain = 4 * f * (1 - f) * _entropy(1 / (1 + math.exp(-w))) * (1 - conf)
        if best is None or gain > best.expected_information_gain:
            name, _, val = key.partition("=")
            best = Probe(kind="attribute", attribute=key,
                         question=f"Do you like {val} ({name.replace('_', ' ')})?",
                         expected_information_gain=float(gain))
    return best
