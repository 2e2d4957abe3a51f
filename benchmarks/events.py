"""Durable event ingest through the HTTP API vs the raw database insert rate.

    python -m benchmarks.events                 # SQLite and PostgreSQL, 1 and 2 workers
    python -m benchmarks.events --quick         # SQLite, fewer seconds

Each configuration starts `tailor serve` in a subprocess on a fresh database (model learning
off: the ingest path alone; then on: every event also updates its person's model), warms up,
then (1) posts 1,000-event batches from concurrent keep-alive clients for a fixed time and
counts accepted events per second, and (2) measures the latency of 100-event batches.
The ceiling is measured in the same run: the same rows inserted straight into the database
with the service's own insert statement, one transaction per 1,000 rows, no HTTP.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
ADMIN = "tlr_adm_benchmark-admin-key-0000000000"
PG_SERVER = "postgresql+psycopg://root@127.0.0.1:5432"
N_ITEMS, N_VISITORS = 200, 2000
TYPES = ["view", "click", "impression", "add_to_cart", "dwell", "purchase", "dismiss"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fresh_database(kind: str, tmp: Path) -> tuple[str, Any]:
    if kind == "sqlite":
        return f"sqlite:///{tmp / 'bench.db'}", None
    from sqlalchemy import create_engine, text

    name = f"tailor_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(f"{PG_SERVER}/test", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return f"{PG_SERVER}/{name}", drop


def make_event(i: int, run: str) -> dict[str, Any]:
    t = TYPES[i % len(TYPES)]
    ev: dict[str, Any] = {"event_id": f"{run}-{i}", "type": t,
                          "visitor_id": f"bv-{i % N_VISITORS}", "item_id": f"bi-{i % N_ITEMS}",
                          "context": {"device": "mobile", "channel": "web"}}
    if t == "dwell":
        ev["value"] = 7.5
    return ev


def bodies(run: str, n_batches: int, size: int, start: int = 0) -> list[bytes]:
    return [orjson.dumps({"events": [make_event(start + b * size + j, run)
                                     for j in range(size)]}) for b in range(n_batches)]


class Server:
    def __init__(self, url: str, workers: int, tmp: Path, learning: bool) -> None:
        self.port = free_port()
        env = {**os.environ, "TAILOR_DATABASE_URL": url, "TAILOR_DATA_DIR": str(tmp / "var"),
               "TAILOR_BOOTSTRAP_ADMIN_KEY": ADMIN, "TAILOR_RATE_LIMIT_ENABLED": "false",
               "TAILOR_LOG_LEVEL": "WARNING", "TAILOR_CHAT_ENABLED": "false",
               "TAILOR_PERSONALIZATION_ENABLED": str(learning).lower()}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(self.port),
             "--workers", str(workers)], cwd=ROOT, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if httpx.get(f"{self.base}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


async def blast(base: str, payloads: list[bytes], concurrency: int, seconds: float
                ) -> tuple[int, float]:
    """Post pre-serialized batches as fast as the server takes them, for `seconds`."""
    headers = {"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json"}
    accepted = 0
    queue = list(reversed(payloads))
    stop_at = time.perf_counter() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal accepted
        while queue and time.perf_counter() < stop_at:
            r = await client.post(f"{base}/v1/events", content=queue.pop(), headers=headers)
            r.raise_for_status()
            accepted += r.json()["accepted"]

    t0 = time.perf_counter()
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(
            max_connections=concurrency)) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return accepted, time.perf_counter() - t0


async def latencies(base: str, payloads: list[bytes], concurrency: int) -> list[float]:
    headers = {"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json"}
    out: list[float] = []
    queue = list(payloads)

    async def worker(client: httpx.AsyncClient) -> None:
        while queue:
            body = queue.pop()
            t = time.perf_counter()
            r = await client.post(f"{base}/v1/events", content=body, headers=headers)
            out.append(time.perf_counter() - t)
            r.raise_for_status()

    async with httpx.AsyncClient(timeout=60) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return out


def seed(base: str) -> None:
    h = {"Authorization": f"Bearer {ADMIN}"}
    items = [{"id": f"bi-{i}", "title": f"Bench item {i}", "category": "Bench > Things",
              "price": 10 + i % 50, "stock": 5} for i in range(N_ITEMS)]
    httpx.put(f"{base}/v1/items", json=items, headers=h, timeout=60).raise_for_status()
    # First sight of a visitor creates a profile; do it before timing, as in a live shop.
    warm = [orjson.dumps({"events": [{"event_id": f"warm-{v}", "type": "view",
                                      "visitor_id": f"bv-{v}", "item_id": "bi-0"}
                                     for v in range(s, s + 500)]})
            for s in range(0, N_VISITORS, 500)]
    for body in warm:
        httpx.post(f"{base}/v1/events", content=body, timeout=60,
                   headers={**h, "Content-Type": "application/json"}).raise_for_status()


def raw_ceiling(url: str, n: int = 50_000) -> float:
    """The service's own INSERT ... ON CONFLICT DO NOTHING RETURNING, 1,000 rows/commit."""
    from app.db.base import make_engine, make_session_factory
    from app.db.migrate import upgrade
    from app.db.models import Event
    from app.db.upsert import insert_ignore_returning

    upgrade(url)
    sessions = make_session_factory(make_engine(url))
    now = datetime.now(UTC)
    run = uuid.uuid4().hex[:6]
    rows = [{"idempotency_key": f"raw-{run}-{i}", "type": "click", "profile_id": "p_raw",
             "item_id": f"bi-{i % N_ITEMS}", "value": None, "weight": 0.5, "role": "self",
             "session_id": None, "context": {"device": "mobile", "channel": "web"},
             "occurred_at": now, "received_at": now} for i in range(n)]
    t0 = time.perf_counter()
    with sessions() as db:
        for start in range(0, n, 1000):
            insert_ignore_returning(db, Event, rows[start:start + 1000], ["idempotency_key"],
                                    Event.idempotency_key)
            db.commit()
    return n / (time.perf_counter() - t0)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def run_config(db: str, workers: int, seconds: float, concurrency: int,
               learning: bool = False) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        url, drop = fresh_database(db, tmp)
        try:
            server = Server(url, workers, tmp, learning)
            try:
                seed(server.base)
                run = uuid.uuid4().hex[:6]
                n_batches = int(seconds * 20) + 20  # more than the server can take
                payloads = bodies(run, n_batches, 1000)
                accepted, elapsed = asyncio.run(blast(server.base, payloads, concurrency,
                                                      seconds))
                lat = asyncio.run(latencies(server.base,
                                            bodies(run + "l", 200, 100, 10_000_000), 2))
            finally:
                server.stop()
            ceiling = raw_ceiling(url)
        finally:
            if drop:
                drop()
    return {"db": db, "workers": workers, "learning": learning, "events_per_s": accepted / elapsed,
            "p50_ms": statistics.median(lat) * 1000, "p95_ms": pct(lat, 0.95) * 1000,
            "p99_ms": pct(lat, 0.99) * 1000, "ceiling": ceiling}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="SQLite only, 5 s per run")
    ap.add_argument("--seconds", type=float, default=15.0, help="sustained phase length")
    ap.add_argument("--concurrency", type=int, default=4, help="client connections")
    args = ap.parse_args()
    dbs = ["sqlite"] if args.quick else ["sqlite", "postgresql"]
    seconds = 5.0 if args.quick else args.seconds
    results = [run_config(db, w, seconds, args.concurrency) for db in dbs for w in (1, 2)]
    if not args.quick:
        # The same ingest while the preference model learns every event of every person.
        results += [run_config(db, 2, seconds, args.concurrency, learning=True) for db in dbs]
    head = ("| database | workers | model learning | events/s (HTTP, durable) | 100-event "
            "batch p50 / p95 / p99 ms | raw insert ceiling events/s | HTTP / ceiling |")
    lines = [head, "|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['db']} | {r['workers']} | {'on' if r['learning'] else 'off'} | "
                     f"{r['events_per_s']:,.0f} | "
                     f"{r['p50_ms']:.1f} / {r['p95_ms']:.1f} / {r['p99_ms']:.1f} | "
                     f"{r['ceiling']:,.0f} | {r['events_per_s'] / r['ceiling']:.2f} |")
    print(f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; command: python -m benchmarks.events"
          f"{' --quick' if args.quick else ''}\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
