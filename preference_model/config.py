"""What a `PreferenceModel` is configured with and shares across customers.

`PreferenceConfig` holds the online learner's hyper-parameters; `Population` the weights
every customer shares (fitted by `pretrain`, or a content-only default). Kept apart from
the model (model/) so the parts that read them (explain.py, active.py, through `view.ModelView`)
need not import the model.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from preference_model.repurchase import RepeatStats
from preference_model.signals import EventWeights
from preference_model.similar import ItemNeighbors

# Topics never learned or used without the customer's "sensitive" consent. The service passes
# the catalog schema's list in (`PreferenceConfig(sensitive_topics=retrieval.SENSITIVE_TOPICS)`,
# app/services/personalization.py). This default serves the library used on its own: it may
# not import retrieval (one-way imports; retrieval pulls pydantic, faiss and an encoder), and
# an empty default would learn "health=..." without consent. So it is a pinned copy,
# checked equal by tests/preference_model/test_preference_model_boundaries.py.
SENSITIVE_TOPICS: frozenset[str] = frozenset({
    "health", "pregnancy", "religion", "sexuality", "financial_hardship", "politics",
    "ethnicity", "disability", "mental_health", "addiction",
})

@dataclass(frozen=True)
class PreferenceConfig:
    """Hyper-parameters of the online learner (the population weights live elsewhere)."""

    dim: int | None = None  # latent size; None = the content embedding size
    seed: int = 0
    exploration: float = 0.0  # Thompson sampling scale in rank(); 0 = greedy
    # Popularity discount in rank()'s order (not in the probabilities): the ranking key
    # loses `novelty` x the item's standardized log-popularity; more of the catalog and of
    # its long tail gets shown, at some accuracy (BENCHMARKS.md: the trade-off measured).
    novelty: float = 0.0
    prior_precision: float = 1.0
    max_precision: float = 200.0  # caps certainty so a customer can always move (drift)
    long_memory_days: float = 30.0  # evidence older than this fades back to the prior
    session_halflife_min: float = 30.0
    recency_halflife_days: float = 7.0  # late-arriving (backfilled) events weigh less
    session_lr: float = 0.6
    pair_lr: float = 0.5  # pairwise (BPR-style) step against the model's own favourites
    online_negatives: int = 2  # hard negatives per positive event, from a sample of 16
    taste_memory_days: float = 120.0  # unrefreshed inferred tastes fade back to the prior
    attr_lr: float = 0.5
    attr_decay: float = 0.02
    context_lr: float = 0.1
    sentiment_scale: float = 0.8
    stated_weight: float = 3.0
    constraint_penalty: float = 8.0
    pop_weight: float = 0.3
    bias: float = -1.0
    # Taste shifts (see _shift_check): a positive event the long-term taste scores more than
    # `shift_margin` below the customer's last `shift_window` choices forgets up to
    # `surprise_forget` of that taste and its certainty (0 = never).
    surprise_forget: float = 0.5
    shift_margin: float = 2.0
    shift_window: int = 50
    shift_min_history: int = 5
    cohort_after: int = 3
    cohort_until: int = 30
    history_size: int = 200  # also the item-to-item term's memory (200 beats 50 by 0.04 NDCG)
    cache_size: int = 10_000
    max_retries: int = 16
    # A state from another latent space (a retrained prior) is rebuilt by replaying at most
    # this many of the customer's newest interactions (migrate.py).
    rebuild_max_events: int = 1000
    # Buy it again (repurchase.py): the weight of the "due again" term, the demotion of a
    # bought item that is (learned or overridden) never bought twice, and the shop's
    # overrides {"item id" | "attr=value" | "category": "repeat" | "never" | rate in [0, 1]}.
    # Weight and horizon were chosen on a validation month of the retail log (BENCHMARKS.md):
    # the larger the weight, the closer the list comes to "what is due first, then discovery",
    # and HR/Recall rose up to 128. That trust needs repeat rates learned from the shop's own
    # purchases (`pretrain`); before any training the defaults are guesses (every item 30%
    # repeat, every 30 days), so the term then speaks softly (`repurchase_untrained_weight`):
    # a sofa bought a month ago must not top an untrained shop's recommendations.
    repurchase_weight: float = 128.0
    repurchase_untrained_weight: float = 3.0
    repurchase_never_penalty: float = 4.0
    repurchase_never_below: float = 0.03  # a learned rate below this counts as "never"
    repurchase_shrink: float = 2.0  # pseudo-occasions of the item's rate per customer
    repurchase_overdue: float = 3.0  # intervals overdue for the push to halve
    # Due within this many days counts as due now. 0 for on-site "now" (coffee bought
    # yesterday is not due); a shop whose list serves a month (a monthly email) sets ~30,
    # as the retail benchmark does, its targets spanning two months.
    repurchase_horizon_days: float = 0.0
    repurchase_merge_hours: float = 12.0  # purchases this close are one order
    repurchase_max_items: int = 500  # purchase logs kept per customer and role
    repurchase_overrides: Mapping[str, object] = field(default_factory=dict)
    event_weights: EventWeights = field(default_factory=EventWeights)
    sensitive_topics: frozenset[str] = SENSITIVE_TOPICS


@dataclass
class Population:
    """Weights shared by all customers: fitted by `pretrain`, or a content-only default."""

    W: np.ndarray  # (dim, content_dim)
    q: np.ndarray  # (n_items, dim) learned item factors, row-aligned with the ItemTable
    item_bias: np.ndarray  # (n_items,)
    bias: float
    w_pop: float
    prior_mean: np.ndarray  # (dim,)
    prior_precision: np.ndarray  # (dim,)
    cohorts: np.ndarray | None = None  # (K, dim) k-means centroids of customer vectors
    context: dict[str, np.ndarray] = field(default_factory=dict)
    pretrained: bool = False
    # "customers who chose X also chose this" (fitted by pretrain; None = not fitted)
    similar: ItemNeighbors | None = None
    # Names the latent space every customer state is stamped with (see migrate.py): a
    # content hash of the trained prior, or the default's shape.
    version: str = ""
    trained_at: float = 0.0  # POSIX seconds of the training run; 0 = not trained
    # Learned repeat rates / intervals per item and category (None = not fitted: defaults).
    repeat: RepeatStats | None = None


def fingerprint(pop: Population) -> str:
    """Content hash of what defines the latent space (projection, factors, prior)."""
    h = hashlib.sha256()
    for arr in (pop.W, pop.q, pop.prior_mean, pop.prior_precision,
                pop.cohorts if pop.cohorts is not None else np.zeros(0)):
        h.update(np.ascontiguousarray(arr, dtype=np.float64).tobytes())
    return f"trained-{h.hexdigest()[:16]}"


