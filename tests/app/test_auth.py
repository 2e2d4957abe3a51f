"""API keys: roles, 401 vs 403, hashing, revocation, bootstrap admin, rate limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.support import ADMIN_KEY, auth, new_key


def test_401_for_missing_unknown_and_revoked_keys(client: Any) -> None:
    r = client.get("/v1/keys")
    assert r.status_code == 401 and "missing API key" in r.json()["error"]["message"]
    assert r.headers["www-authenticate"].startswith("Bearer")
    r = client.get("/v1/keys", headers=auth("tlr_adm_" + "x" * 32))
    assert r.status_code == 401 and "unknown or revoked" in r.json()["error"]["message"]
    dev = client.post("/v1/keys", json={"role": "developer"}, headers=auth(ADMIN_KEY)).json()
    assert client.get("/v1/customers/x", headers={"X-API-Key": dev["key"]}).status_code == 404
    client.delete(f"/v1/keys/{dev['id']}", headers=auth(ADMIN_KEY))
    assert client.get("/v1/customers/x", headers=auth(dev["key"])).status_code == 401


@pytest.mark.parametrize(("role", "method", "path", "allowed"), [
    ("widget", "get", "/v1/keys", False),
    ("developer", "get", "/v1/keys", False),
    ("marketer", "get", "/v1/keys", False),
    ("admin", "get", "/v1/keys", True),
    ("widget", "put", "/v1/items", False),
    ("marketer", "put", "/v1/items", False),
    ("developer", "put", "/v1/items", True),
    ("widget", "post", "/v1/identify", False),
    ("marketer", "post", "/v1/events", False),
])
def test_roles_get_403_with_a_precise_message(client: Any, role: str, method: str, path: str,
                                              allowed: bool) -> None:
    key = ADMIN_KEY if role == "admin" else new_key(client, role)
    body: Any = [] if path == "/v1/items" else {"events": []} if path == "/v1/events" else {}
    r = getattr(client, method)(path, headers=auth(key),
                                **({} if method == "get" else {"json": body}))
    if allowed:
        assert r.status_code != 403
    else:
        assert r.status_code == 403, r.text
        assert f"your key has role {role}" in r.json()["error"]["message"]


def test_keys_are_stored_hashed(client: Any) -> None:
    key = new_key(client, "developer")
    engine = create_engine(client.app.state.settings.resolved_database_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT prefix, key_hash FROM api_keys")).all()
    engine.dispose()
    assert all(key not in " ".join(r) and ADMIN_KEY not in " ".join(r) for r in rows)
    listed = client.get("/v1/keys", headers=auth(ADMIN_KEY)).json()
    assert all(k["key"] is None for k in listed)
    assert {k["role"] for k in listed} == {"admin", "developer"}


def test_bad_key_requests(client: Any) -> None:
    h = auth(ADMIN_KEY)
    assert client.post("/v1/keys", json={"role": "superuser"}, headers=h).status_code == 422
    assert client.delete("/v1/keys/424242", headers=h).status_code == 404


def test_rate_limit_429_with_retry_after(app_factory: Any, sqlite_url: str) -> None:
    client = app_factory(sqlite_url, rate_limit_enabled=True, rate_limit_public_per_minute=5)
    codes = [client.get("/v1/items").status_code for _ in range(7)]
    assert codes[:5] == [200] * 5 and codes[5:] == [429, 429]
    r = client.get("/v1/items")
    assert 1 <= int(r.headers["retry-after"]) <= 60
    assert "rate limit" in r.json()["error"]["message"]
    # Staff keys are not limited by the public budget.
    assert client.get("/v1/keys", headers=auth(ADMIN_KEY)).status_code == 200


def test_rate_limit_shared_through_redis(app_factory: Any, sqlite_url: str,
                                         tmp_path: Path) -> None:
    import redis

    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/0").ping()
    except Exception as exc:
        if __import__("os").environ.get("CI"):
            raise
        pytest.skip(f"redis not running: {exc}")
    a = app_factory(sqlite_url, rate_limit_enabled=True, rate_limit_public_per_minute=4,
                    redis_url="redis://127.0.0.1:6379/0")
    b = app_factory(sqlite_url, rate_limit_enabled=True, rate_limit_public_per_minute=4,
                    redis_url="redis://127.0.0.1:6379/0")
    widget = new_key(a, "widget")
    # Two "workers" share one budget for the same key and client.
    h = auth(widget)
    codes = [(a if i % 2 else b).post("/v1/widget/session", headers=h).status_code
             for i in range(6)]
    assert codes.count(429) == 2


def test_bootstrap_admin_key_is_idempotent(app_factory: Any, sqlite_url: str) -> None:
    app_factory(sqlite_url)
    again = app_factory(sqlite_url)  # a restart must not fail or duplicate the key
    listed = again.get("/v1/keys", headers=auth(ADMIN_KEY)).json()
    assert [k["role"] for k in listed] == ["admin"]
