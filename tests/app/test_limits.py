"""Bodies refused as they stream, keys checked before a body is read, and unexpected errors
answered as a JSON 500 with the request id on a connection that stays usable."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from tests.conftest import ROOT, make_settings
from tests.support import ADMIN_KEY, auth, new_key

MB = 1_000_000


# -- the body guard at the ASGI level: an endless body must end in 401/413 -------------------
class EndlessBody:
    """An ASGI receive that, for the app, might never run out (it does end at `cap`, so a
    server that buffers bodies fails the test instead of exhausting the machine's memory);
    counts how often the app asked for more."""

    def __init__(self, cap: int, chunk: int = 64_000) -> None:
        self.chunk, self.calls, self.left = chunk, 0, cap

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        self.left -= self.chunk
        return {"type": "http.request", "body": b"x" * self.chunk, "more_body": self.left > 0}


def _call(client: Any, method: str, path: str, headers: dict[str, str],
          receive: EndlessBody) -> tuple[int, dict[str, Any]]:
    raw = [(k.lower().encode(), v.encode()) for k, v in
           {**headers, "content-type": "application/json", "transfer-encoding": "chunked"}
           .items()]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
             "root_path": "", "query_string": b"", "headers": raw,
             "client": ("127.0.0.1", 1234), "server": ("127.0.0.1", 80)}
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def run() -> None:
        await client.app(scope, receive, send)

    client.portal.call(run)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, json.loads(body)


def test_a_write_without_a_key_is_refused_before_its_body_is_read(
        app_factory: Any, sqlite_url: str) -> None:
    client = app_factory(sqlite_url)
    for method, path in [("PUT", "/v1/items"), ("POST", "/v1/events"),
                         ("POST", "/v1/identify"), ("POST", "/v1/items/import")]:
        for headers in ({}, auth("tlr_adm_not-a-key-we-know-000000")):
            body = EndlessBody(cap=4 * MB)
            status, out = _call(client, method, path, headers, body)
            assert status == 401, (method, path, out)
            assert out["error"]["code"] == "unauthorized" and out["error"]["request_id"]
            assert body.calls == 0


def test_an_endless_body_gets_413_as_soon_as_it_passes_the_route_limit(
        app_factory: Any, sqlite_url: str) -> None:
    client = app_factory(sqlite_url)
    widget = new_key(client, "widget")
    token = client.post("/v1/widget/session", headers=auth(widget)).json()["visitor_token"]
    limits = [("POST", "/v1/chat", {**auth(widget), "X-Visitor-Token": token}, 64_000),
              ("POST", "/v1/events", {**auth(widget), "X-Visitor-Token": token}, 2 * MB),
              ("PUT", "/v1/items", auth(ADMIN_KEY), 50 * MB + 64_000),
              ("POST", "/v1/identify", auth(ADMIN_KEY), 2 * MB)]
    for method, path, headers, limit in limits:
        body = EndlessBody(cap=limit + 10 * MB)
        status, out = _call(client, method, path, headers, body)
        assert status == 413, (path, out)
        assert out["error"]["code"] == "payload_too_large" and str(limit) in out["error"]["message"]
        # Counted as it arrived: reading stopped with the chunk that crossed the limit.
        assert body.calls == limit // body.chunk + 1


def test_a_declared_length_over_the_limit_is_refused_at_once(client: Any) -> None:
    r = client.post("/v1/chat", content=b"{}", headers={
        **auth(ADMIN_KEY), "content-type": "application/json", "content-length": "70000"})
    assert r.status_code == 413 and "64000" in r.json()["error"]["message"]
    # Without a key a small body is still answered by the key check, with the error shape.
    r = client.put("/v1/items", json=[], headers={})
    assert r.status_code == 401 and r.json()["error"]["request_id"]
    # A write without a body is left to routing: a wrong method stays a 405.
    assert client.patch("/v1/items").status_code == 405


# -- memory of a real server under a 50 MB chunked upload -------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/{pid}/status")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = _free_port()
    env = {**os.environ, "TAILOR_DATABASE_URL": f"sqlite:///{tmp_path / 'tailor.db'}",
           "TAILOR_DATA_DIR": str(tmp_path / "var"), "TAILOR_BOOTSTRAP_ADMIN_KEY": ADMIN_KEY,
           "TAILOR_RATE_LIMIT_ENABLED": "false", "TAILOR_CHAT_ENABLED": "false",
           "TAILOR_SEARCH_ENABLED": "false", "TAILOR_PERSONALIZATION_ENABLED": "false",
           "TAILOR_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            assert proc.poll() is None, "server exited"
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        yield proc, base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _chunks(total: int, size: int = 256 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield b"[" + b" " * (size - 1) if sent == 0 else b" " * size
        sent += size


def test_a_50mb_chunked_upload_costs_the_server_no_memory(
        server: tuple[subprocess.Popen[bytes], str]) -> None:
    proc, base = server
    with httpx.Client(base_url=base, timeout=120) as http:
        http.get("/readyz")  # warm the first request path before measuring
        http.put("/v1/items", content=b"[]", headers=auth("tlr_adm_warm-up-not-a-key-0000"))
        rss = _status_kb(proc.pid, "VmRSS")
        # Reset the peak (VmHWM) so it measures only what the uploads cost.
        Path(f"/proc/{proc.pid}/clear_refs").write_text("5")
        r = http.put("/v1/items", content=_chunks(50 * MB),
                     headers={"content-type": "application/json"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
        r = http.post("/v1/events", content=_chunks(50 * MB),
                      headers={**auth(ADMIN_KEY), "content-type": "application/json"})
        assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
        # The connection survived both refusals.
        assert http.get("/healthz").status_code == 200
    growth_mb = (_status_kb(proc.pid, "VmHWM") - rss) / 1000
    assert growth_mb < 20, f"server peak memory grew {growth_mb:.0f} MB"


# -- the 500: JSON, with the request id, on a connection that stays open ---------------------
@pytest.fixture
def live_app(tmp_path: Path, sqlite_url: str) -> Iterator[tuple[str, int]]:
    from app.main import create_app

    app = create_app(make_settings(tmp_path, sqlite_url))

    def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/test/boom", boom, methods=["GET"])
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None,
                                        access_log=False))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 60
    while not srv.started and thread.is_alive() and time.time() < deadline:
        time.sleep(0.05)
    assert srv.started
    yield "127.0.0.1", port
    srv.should_exit = True
    thread.join(timeout=30)


def _read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "connection closed before a response"
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    while len(body) < int(headers["content-length"]):
        chunk = sock.recv(65536)
        assert chunk, "connection closed mid-body"
        body += chunk
    return int(lines[0].split()[1]), headers, body


def test_an_unexpected_error_is_a_json_500_with_the_request_id_and_keeps_the_connection(
        live_app: tuple[str, int]) -> None:
    with socket.create_connection(live_app, timeout=30) as sock:
        for path, expected in [("/test/boom", 500), ("/healthz", 200), ("/test/boom", 500)]:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
            status, headers, body = _read_response(sock)
            assert status == expected
            assert headers.get("connection", "keep-alive") != "close"
            if status == 500:
                err = json.loads(body)["error"]
                assert err["code"] == "internal_error"
                assert err["request_id"] == headers["x-request-id"]
