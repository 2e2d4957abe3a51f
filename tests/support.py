"""Helpers shared by the service tests."""

from __future__ import annotations

from typing import Any

ADMIN_KEY = "tlr_adm_test-bootstrap-admin-key-000000"


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def new_key(client: Any, role: str) -> str:
    r = client.post("/v1/keys", json={"role": role, "name": f"test {role}"},
                    headers=auth(ADMIN_KEY))
    assert r.status_code == 201, r.text
    return str(r.json()["key"])


def sample_items(n: int = 5) -> list[dict[str, Any]]:
    cats = ["Footwear > Running", "Apparel > Women", "Home > Kitchen"]
    return [{"id": f"sku-{i}", "title": f"Item {i}", "category": cats[i % 3],
             "brand": "Acme", "price": 10.0 + i, "cost": 5.0, "stock": i % 4,
             "attributes": {"color": ["red" if i % 2 else "blue"],
                            "material": ["leather" if i % 2 else "cotton"]}}
            for i in range(n)]
