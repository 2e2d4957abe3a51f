"""NBA tests: a started app on SQLite and PostgreSQL with a small catalog with costs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support import ADMIN_KEY, auth, new_key

CATALOG = [
    {"id": "shoe-1", "title": "Trail shoe", "category": "Footwear > Running", "brand": "Acme",
     "price": 100.0, "cost": 60.0, "stock": 5},
    {"id": "shoe-2", "title": "Road shoe", "category": "Footwear > Running", "brand": "Acme",
     "price": 80.0, "cost": 30.0, "stock": 5},
    {"id": "sock-1", "title": "Running socks", "category": "Apparel > Socks", "brand": "Acme",
     "price": 10.0, "cost": 3.0, "stock": 50},
    {"id": "vit-1", "title": "Prenatal vitamins", "category": "Health > Vitamins",
     "brand": "Acme", "price": 20.0, "cost": 8.0, "stock": 9,
     "sensitive_topics": ["pregnancy"]},
    {"id": "nocost-1", "title": "Mystery box", "category": "Misc", "brand": "Acme",
     "price": 30.0},
]


@pytest.fixture
def shop(app_factory: Callable[..., Any], db_url: str) -> Any:
    client = app_factory(db_url)
    r = client.put("/v1/items", json=CATALOG, headers=auth(ADMIN_KEY))
    assert r.status_code == 200 and r.json()["accepted"] == len(CATALOG), r.text
    client.marketer = new_key(client, "marketer")  # type: ignore[attr-defined]
    client.developer = new_key(client, "developer")  # type: ignore[attr-defined]
    return client
