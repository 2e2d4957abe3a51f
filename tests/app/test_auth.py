"""API keys: roles, 401 vs 403, hashing, revocation, bootstrap admin, rate limits."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
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


# -- visitor tokens -------------------------------------------------------------------------
def _aged_token(secret: str, visitor: str, key_id: int, age: float) -> str:
    """A token as the server would have issued it `age` seconds ago."""
    import time as _time

    from itsdangerous import TimestampSigner, URLSafeTimedSerializer

    from app.services.auth import VisitorTokens

    class Then(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(_time.time() - age)

    return URLSafeTimedSerializer(secret, salt=VisitorTokens.SALT, signer=Then).dumps(
        {"v": visitor, "k": key_id})


def _key_id(client: Any, key: str) -> int:
    keys = client.get("/v1/keys", headers=auth(ADMIN_KEY)).json()
    return int(next(k["id"] for k in keys if key.startswith(k["prefix"])))


def test_visitor_tokens_are_bound_to_their_widget_key_and_expire(client: Any) -> None:
    a, b = new_key(client, "widget"), new_key(client, "widget")
    s = client.post("/v1/widget/session", headers=auth(a)).json()
    own = {**auth(a), "X-Visitor-Token": s["visitor_token"]}
    prefs = f"/v1/customers/{s['visitor_id']}/preferences"
    assert client.get(prefs, headers=own).status_code != 403
    # Another site's widget key cannot use this visitor.
    r = client.get(prefs, headers={**auth(b), "X-Visitor-Token": s["visitor_token"]})
    assert r.status_code == 403 and "another widget key" in r.json()["error"]["message"]
    r = client.post("/v1/widget/session", json={"visitor_token": s["visitor_token"]},
                    headers=auth(b))
    assert r.status_code == 403
    # Expired (the default lifetime is 30 days).
    secret = client.app.state.runtime.secret
    old = _aged_token(secret, s["visitor_id"], _key_id(client, a), 31 * 86400)
    r = client.get(prefs, headers={**auth(a), "X-Visitor-Token": old})
    assert r.status_code == 403 and "expired" in r.json()["error"]["message"]
    # The unsigned-expiry format of earlier versions is refused.
    import hashlib
    import hmac

    legacy_sig = hmac.new(secret.encode(), s["visitor_id"].encode(),
                          hashlib.sha256).hexdigest()[:32]
    r = client.get(prefs, headers={**auth(a), "X-Visitor-Token": f"{s['visitor_id']}.{legacy_sig}"})
    assert r.status_code == 403 and "invalid visitor token" in r.json()["error"]["message"]


def test_visitor_tokens_rotate_past_half_their_life(client: Any) -> None:
    a = new_key(client, "widget")
    s = client.post("/v1/widget/session", headers=auth(a)).json()
    prefs = f"/v1/customers/{s['visitor_id']}/preferences"
    young = client.get(prefs, headers={**auth(a), "X-Visitor-Token": s["visitor_token"]})
    assert "x-visitor-token-refresh" not in young.headers
    aged = _aged_token(client.app.state.runtime.secret, s["visitor_id"], _key_id(client, a),
                       16 * 86400)
    r = client.get(prefs, headers={**auth(a), "X-Visitor-Token": aged})
    assert r.status_code != 403
    fresh = r.headers["x-visitor-token-refresh"]
    assert fresh != aged
    r = client.get(prefs, headers={**auth(a), "X-Visitor-Token": fresh})
    assert r.status_code != 403 and "x-visitor-token-refresh" not in r.headers
    # Resuming the session re-issues too, for the same visitor.
    again = client.post("/v1/widget/session", json={"visitor_token": aged},
                        headers=auth(a)).json()
    assert again["visitor_id"] == s["visitor_id"] and again["visitor_token"] != aged


def test_previous_secret_still_verifies_after_rotation(app_factory: Any,
                                                       sqlite_url: str) -> None:
    before = app_factory(sqlite_url, secret_key="old-secret-" + "x" * 20)
    widget = new_key(before, "widget")
    s = before.post("/v1/widget/session", headers=auth(widget)).json()
    prefs = f"/v1/customers/{s['visitor_id']}/preferences"
    rotated = app_factory(sqlite_url, secret_key="new-secret-" + "y" * 20,
                          secret_key_previous="old-secret-" + "x" * 20)
    r = rotated.get(prefs, headers={**auth(widget), "X-Visitor-Token": s["visitor_token"]})
    assert r.status_code != 403
    fresh = r.headers["x-visitor-token-refresh"]  # re-signed with the new secret at once
    unrotated = app_factory(sqlite_url, secret_key="new-secret-" + "y" * 20)
    assert unrotated.get(prefs, headers={**auth(widget), "X-Visitor-Token": fresh}
                         ).status_code != 403
    assert unrotated.get(prefs, headers={**auth(widget), "X-Visitor-Token": s["visitor_token"]}
                         ).status_code == 403


# -- client addresses and the public limit ----------------------------------------------------
def test_rotating_forwarded_for_does_not_bypass_the_public_limit(tmp_path: Path,
                                                                 sqlite_url: str) -> None:
    """A real `tailor serve`: the X-Forwarded-For of a peer that is not a configured proxy
    (here: anyone on localhost) does not give each request a new address."""
    import os
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {**os.environ, "TAILOR_DATABASE_URL": sqlite_url, "TAILOR_DATA_DIR": str(tmp_path),
           "TAILOR_SEARCH_ENABLED": "false", "TAILOR_CHAT_ENABLED": "false",
           "TAILOR_RATE_LIMIT_PUBLIC_PER_MINUTE": "5", "TAILOR_LOG_LEVEL": "WARNING"}
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
                            cwd=root, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            assert proc.poll() is None and time.time() < deadline, "server did not start"
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        codes = [httpx.get(f"{base}/v1/items",
                           headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code
                 for i in range(12)]
    finally:
        proc.terminate()
        proc.wait(15)
    assert codes[:5] == [200] * 5 and set(codes[5:]) == {429}, codes


def _proxied_client(tmp_path: Path, url: str, peer: str, **overrides: Any) -> Any:
    from fastapi.testclient import TestClient

    from app.main import create_app
    from tests.conftest import make_settings

    settings = make_settings(tmp_path, url, rate_limit_enabled=True,
                             rate_limit_public_per_minute=3, **overrides)
    return TestClient(create_app(settings), client=(peer, 50000))


def test_forwarded_for_is_believed_only_from_trusted_proxies(tmp_path: Path,
                                                            sqlite_url: str) -> None:
    proxy = _proxied_client(tmp_path, sqlite_url, "10.0.0.2", trusted_proxies=["10.0.0.0/8"])
    with proxy:
        # Behind our proxy, each real client has its own budget...
        codes = [proxy.get("/v1/items", headers={"X-Forwarded-For": f"203.0.113.{i}"}
                           ).status_code for i in range(6)]
        assert codes == [200] * 6
        # ...and what the client wrote to the left of our proxy's entry is not believed:
        # the right-most address our proxies did not add is the client.
        codes = [proxy.get("/v1/items", headers={
            "X-Forwarded-For": f"1.1.1.{i}, 203.0.113.99, 10.0.0.7"}).status_code
            for i in range(5)]
        assert codes == [200, 200, 200, 429, 429]
    stranger = _proxied_client(tmp_path, sqlite_url, "192.0.2.5",
                               trusted_proxies=["10.0.0.0/8"])
    with stranger:
        codes = [stranger.get("/v1/items", headers={"X-Forwarded-For": f"203.0.113.{i}"}
                              ).status_code for i in range(5)]
        assert codes == [200, 200, 200, 429, 429]


def test_client_ip_rules() -> None:
    from starlette.requests import Request

    from app.api.deps import client_ip

    def req(peer: str, *xff: str) -> Request:
        headers = [(b"x-forwarded-for", v.encode()) for v in xff]
        return Request({"type": "http", "client": (peer, 1), "headers": headers})

    nets = ("10.0.0.0/8", "fd00::/8")
    assert client_ip(req("10.0.0.1", "9.9.9.9")) == "10.0.0.1"  # nothing trusted by default
    assert client_ip(req("8.8.8.8", "9.9.9.9"), nets) == "8.8.8.8"
    assert client_ip(req("10.0.0.1", "9.9.9.9, 10.1.1.1"), nets) == "9.9.9.9"
    assert client_ip(req("10.0.0.1", "5.5.5.5", "9.9.9.9"), nets) == "9.9.9.9"
    assert client_ip(req("fd00::1", "2001:db8::1"), nets) == "2001:db8::1"
    assert client_ip(req("10.0.0.1", "not-an-ip"), nets) == "10.0.0.1"
    assert client_ip(req("10.0.0.1"), nets) == "10.0.0.1"
    from pydantic import ValidationError

    from app.settings import Settings

    with pytest.raises(ValidationError, match="not an IP address or CIDR"):
        Settings(trusted_proxies=["10.0.0.0/33"])


def test_limiter_without_redis_keeps_a_local_limit_and_warns_once(
        caplog: pytest.LogCaptureFixture) -> None:
    from app.errors import RateLimited
    from app.services.ratelimit import REDIS_ERRORS, RateLimiter

    with socket_closed_port() as port:
        limiter = RateLimiter(20, f"redis://127.0.0.1:{port}/0")
        before = REDIS_ERRORS._value.get()
        caplog.set_level("WARNING", logger="app.services.ratelimit")
        outcomes = []
        for _ in range(30):
            try:
                limiter.hit("ip:203.0.113.1")
                outcomes.append(200)
            except RateLimited:
                outcomes.append(429)
    assert outcomes == [200] * 20 + [429] * 10  # a limit per worker, not none
    warnings = [r for r in caplog.records if r.name == "app.services.ratelimit"]
    assert len(warnings) == 1 and "redis unavailable" in warnings[0].getMessage()
    assert REDIS_ERRORS._value.get() - before == 30


@contextlib.contextmanager
def socket_closed_port() -> Iterator[int]:
    """A localhost port nothing listens on (bound, not listening: connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield int(s.getsockname()[1])


def test_the_last_admin_key_cannot_be_revoked(client: Any) -> None:
    h = auth(ADMIN_KEY)
    mine = next(k for k in client.get("/v1/keys", headers=h).json() if k["role"] == "admin")
    r = client.delete(f"/v1/keys/{mine['id']}", headers=h)
    assert r.status_code == 409 and "last admin key" in r.json()["error"]["message"]
    other = client.post("/v1/keys", json={"role": "admin"}, headers=h).json()
    assert client.delete(f"/v1/keys/{mine['id']}", headers=h).status_code == 200
    # The bootstrap key is revoked now; the other admin key manages keys, and is the last.
    h2 = auth(other["key"])
    assert client.delete(f"/v1/keys/{other['id']}", headers=h2).status_code == 409
    assert client.delete(f"/v1/keys/{mine['id']}", headers=h2).status_code == 200  # idempotent


def test_the_key_cache_forgets_a_revoked_key_after_its_ttl(client: Any) -> None:
    import time

    from app.errors import Unauthorized
    from app.services.auth import KeyCache

    rt = client.app.state.runtime
    dev = client.post("/v1/keys", json={"role": "developer"}, headers=auth(ADMIN_KEY)).json()
    cache = KeyCache(ttl=0.3)
    with rt.sessions() as db:
        assert cache.authenticate(db, dev["key"]).key_id == dev["id"]
        with pytest.raises(Unauthorized):
            cache.authenticate(db, "tlr_dev_" + "y" * 32)  # unknown: cached as unknown
    client.delete(f"/v1/keys/{dev['id']}", headers=auth(ADMIN_KEY))
    with rt.sessions() as db:
        assert cache.authenticate(db, dev["key"]).key_id == dev["id"]  # still cached
        time.sleep(0.4)
        with pytest.raises(Unauthorized):
            cache.authenticate(db, dev["key"])
