"""What the learner returns: scored items with reasons, profiles, clarifying probes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

ReasonKind = Literal[
    "stated", "inferred", "history", "taste", "session", "cohort", "context", "popularity",
    "recipient", "demographic", "repurchase",
]


@dataclass(frozen=True)
class Reason:
    """One contributing signal in plain words; `weight` is its share of the logit."""

    text: str
    weight: float
    kind: ReasonKind


@dataclass(frozen=True)
class Scored:
    """A ranked item. `score` is the posterior-mean probability of a positive response;
    the order may differ from `score` when exploration is on (Thompson sample)."""

    item_id: str
    score: float
    uncertainty: float
    reasons: tuple[Reason, ...] = ()


@dataclass(frozen=True)
class PreferenceView:
    """One preference in a profile: stated or inferred, with confidence, source and time."""

    attribute: str | None
    item_id: str | None
    value: float
    confidence: float
    source: str
    at: datetime
    kind: Literal["stated", "inferred", "demographic"]
    hard: bool = False


@dataclass(frozen=True)
class Profile:
    """What the model knows about a customer, as the customer may see and edit it."""

    customer_id: str
    stated: tuple[PreferenceView, ...] = ()
    inferred: tuple[PreferenceView, ...] = ()
    demographic: tuple[PreferenceView, ...] = ()
    recipients: dict[str, Profile] = field(default_factory=dict)
    suppressed: tuple[str, ...] = ()
    cohort: int | None = None
    n_signals: int = 0
    uncertainty: float = 1.0
    updated_at: datetime | None = None
    exists: bool = True


@dataclass(frozen=True)
class Probe:
    """The most informative thing the chat could ask next.

    kind "attribute": ask about `attribute`; "item": show/ask about `item_id`;
    "role": ask whether `item_id` was bought for the customer or someone else.
    """

    kind: Literal["attribute", "item", "role"]
    question: str
    expected_information_gain: float
    attribute: str | None = None
    item_id: str | None = None
