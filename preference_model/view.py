"""What explanations (explain.py) and questions (active.py) read from the model.

A narrow, structural view instead of the `PreferenceModel` class, so those modules need
not import the model (model/, which imports them): the import graph stays one-way."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from preference_model.config import Population, PreferenceConfig
    from preference_model.items import ItemTable
    from preference_model.repurchase import Due, PurchaseLog
    from preference_model.state import CustomerState, HistoryEntry


class ModelView(Protocol):
    config: PreferenceConfig
    items: ItemTable | None
    population: Population | None

    def history(self, st: CustomerState, role: str, *, positive: bool = False,
                last: int | None = None) -> tuple[list[HistoryEntry], np.ndarray]: ...

    def due(self, item_id: str, row: int, log: PurchaseLog, now: float) -> Due: ...

    def is_sensitive_key(self, key: str) -> bool: ...
