"""Errors raised by the preference model.

Every error the package raises on purpose derives from `PreferenceModelError`, so a
caller can catch the whole family at its boundary::

    PreferenceModelError
    ├── InvalidSignalError       a Signal (or argument) is malformed: wrong type, NaN,
    │                            unknown kind/role/event type, missing item and attribute
    │   └── UnknownItemError     the signal or a candidate names an item not in the catalog
    ├── UnknownCustomerError     an operation needs an existing customer state
    ├── ConsentRequiredError     a demographic signal arrived without the matching consent
    ├── NotReadyError            the learner has no item universe yet (call `set_items`)
    ├── StaleStateError          optimistic concurrency: the stored state changed since it
    │                            was read; reload and retry (the model does this itself)
    ├── StateCorruptError        stored bytes cannot be decoded into a customer state
    └── SpaceMismatchError       a customer state's vectors belong to another latent space
                                 (another trained prior / dimension); the model rebuilds
                                 such states before scoring, so this is a bug guard

A rejected signal never changes any state: validation happens before the first write.
"""

from __future__ import annotations


class PreferenceModelError(Exception):
    """Base class of every error raised by `preference_model`."""


class InvalidSignalError(PreferenceModelError, ValueError):
    """A signal or argument is malformed; the message names the field and the reason."""


class UnknownItemError(InvalidSignalError, KeyError):
    """An item id is not part of the item universe given to `set_items`."""

    def __init__(self, item_id: object) -> None:
        super().__init__(f"unknown item {item_id!r}: not in the catalog given to set_items")
        self.item_id = item_id

    def __str__(self) -> str:  # KeyError would otherwise add quotes around the message
        return str(self.args[0])


class UnknownCustomerError(PreferenceModelError, KeyError):
    """The customer has no stored state (and the operation needs one)."""

    def __init__(self, customer_id: object) -> None:
        super().__init__(f"unknown customer {customer_id!r}: no stored preference state")
        self.customer_id = customer_id

    def __str__(self) -> str:
        return str(self.args[0])


class ConsentRequiredError(PreferenceModelError):
    """The signal may only be used with a consent the caller did not pass."""


class NotReadyError(PreferenceModelError):
    """The learner cannot score or learn yet, e.g. no items were set."""


class StaleStateError(PreferenceModelError):
    """The stored state has a newer version than the one the write was based on."""


class StateCorruptError(PreferenceModelError):
    """Stored state bytes are not a valid customer state."""


class SpaceMismatchError(PreferenceModelError):
    """A customer state is not in the model's latent space (e.g. 384 vs 32 dimensions).

    Raised instead of numpy's shape error. The model migrates states from other spaces on
    load (`migrate.py`), so seeing this means a state skipped that path."""
