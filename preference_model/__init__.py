"""Preference model: the online, neural aggregate of what is known about each customer.

Front door::

    model = PreferenceModel(PreferenceConfig(), store=SQLiteStateStore("var/states.db"))
    model.set_items(ids, embeddings, attributes, categories, popularity)
    pretrain(history, model)                       # cold-start population + cohorts
    model.learn_one(Signal("c1", "inferred", item_id="sku1", event_type="click"))
    model.rank("c1", candidates, {"local_time": "2026-11-23T19:05:00+01:00"})
    model.profile("c1"); model.correct("c1", "material=leather", None); model.forget("c1")
    model.next_question("c1", candidates)
"""

from preference_model.config import SENSITIVE_TOPICS, PreferenceConfig
from preference_model.errors import (
    ConsentRequiredError,
    InvalidSignalError,
    NotReadyError,
    PreferenceModelError,
    SpaceMismatchError,
    StaleStateError,
    StateCorruptError,
    UnknownCustomerError,
    UnknownItemError,
)
from preference_model.migrate import HistorySource, Replay
from preference_model.model import PreferenceModel
from preference_model.network import NetConfig, PreferenceNet
from preference_model.pretrain import Interaction, PretrainConfig, PretrainReport, pretrain
from preference_model.results import PreferenceView, Probe, Profile, Reason, Scored
from preference_model.signals import (
    DEFAULT_EVENT_WEIGHTS,
    KINDS,
    ROLES,
    Consent,
    Context,
    EventWeights,
    Signal,
    SignalKind,
)
from preference_model.state import CustomerState
from preference_model.store import InMemoryStateStore, SQLiteStateStore, StateStore

__all__ = [
    "DEFAULT_EVENT_WEIGHTS",
    "KINDS",
    "ROLES",
    "SENSITIVE_TOPICS",
    "Consent",
    "ConsentRequiredError",
    "Context",
    "CustomerState",
    "EventWeights",
    "HistorySource",
    "InMemoryStateStore",
    "Interaction",
    "InvalidSignalError",
    "NetConfig",
    "NotReadyError",
    "PreferenceConfig",
    "PreferenceModel",
    "PreferenceModelError",
    "PreferenceNet",
    "PreferenceView",
    "PretrainConfig",
    "PretrainReport",
    "Probe",
    "Profile",
    "Reason",
    "Replay",
    "SQLiteStateStore",
    "Scored",
    "Signal",
    "SignalKind",
    "SpaceMismatchError",
    "StaleStateError",
    "StateCorruptError",
    "StateStore",
    "UnknownCustomerError",
    "UnknownItemError",
    "pretrain",
]
