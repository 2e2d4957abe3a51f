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

Online updates are closed-form numpy steps on the customer's own few hundred floats (see
learning.py). States live in a `StateStore` (optimistic concurrency, retried), cached per
process by (customer, version).

The class is a thin front over one room per job, each a mixin in its own module (each room
builds on the ones it calls, so a reader - and mypy - can follow every `self.` call):

    base.py          ModelBase       config, store, item universe, prior, argument checks
    access.py        StateAccess     state cache, load / rebuild, read-modify-write, retries
    repurchasing.py  Repurchasing    the repurchase term, "buy it again" candidates
    scoring.py       Scoring         the score's terms, predict_one, rank, propose, explain
    learning.py      Learning        learn_one, learn_many and the online updates
    control.py       ProfileControl  profile, correct, forget, style, questions
    artifacts.py     Artifacts       save / load, adopt a retrain, clone, pickling
"""

from __future__ import annotations

from preference_model.config import (  # re-exported: the public names live here too
    Population,
    PreferenceConfig,
    fingerprint,
)
from preference_model.model.artifacts import Artifacts
from preference_model.model.control import ProfileControl
from preference_model.model.learning import Learning

__all__ = ["Population", "PreferenceConfig", "PreferenceModel", "fingerprint"]


class PreferenceModel(Learning, ProfileControl, Artifacts):
    """The aggregate of everything learned about each customer. See module docstring."""
