"""Recommendations throughput at 1, 4 and 16 concurrent clients, before and after the
preference model stopped holding its process-wide lock across state I/O (issue 11, item 6).

    python -m benchmarks.recs_concurrency                  # before = the commit before it
    python -m benchmarks.recs_concurrency --before f6a3348 --seconds 20 --customers 300

Both variants run in this one invocation on the same machine: the code of `--before` is
checked out into a temporary `git worktree`, the code of this checkout is the "after".
Each runs `tailor serve --workers 2 --demo` (the demo store's 406 items, SQLite in a fresh
data directory) with a few hundred customers' events posted (8 each, learned inline).
Both servers run side by side and every measurement alternates between them (`--rounds`
times), so changes in the load of a shared machine hit both alike: for each concurrency
level, clients request `GET /v1/customers/{id}/recommendations?k=10` for random
customers, `--seconds` in all per variant and level.
The "+ events" rows add one client that posts 5-event batches meanwhile: the writes that
the old lock made every reader wait for. Printed: requests/s, p50/p95 latency, non-200
answers, and the mean 1-minute load average at the start of the measurements (other
processes share the CPUs).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
ADMIN = "tlr_adm_benchmark-admin-key-0000000000"
HEADERS = {"Authorization": f"Bearer {ADMIN}"}
LEVELS = (1, 4, 16)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def default_before() -> str:
    """The parent of the commit that introduced the catalog read/write lock."""
    out = subprocess.run(["git", "log", "--diff-filter=A", "--format=%H", "--",
                          "preference_model/locks.py"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.split()
    if not out:
        raise SystemExit("cannot find the lock change in git history: pass --before")
    return f"{out[-1]}^"


class Server:
    def __init__(self, code: Path, data_dir: Path, workers: int,
                 database_url: str | None = None) -> None:
        self.port = free_port()
        env = {**os.environ, "PYTHONPATH": str(code),
               "TAILOR_DATA_DIR": str(data_dir), "TAILOR_BOOTSTRAP_ADMIN_KEY": ADMIN,
               "TAILOR_RATE_LIMIT_ENABLED": "false", "TAILOR_LOG_LEVEL": "WARNING",
               "TAILOR_CHAT_ENABLED": "false", "HF_HUB_OFFLINE": "1"}
        if database_url:
            env["TAILOR_DATABASE_URL"] = database_url
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--demo", "--port", str(self.port),
             "--workers", str(workers)], cwd=code, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{self.port}"

    def wait(self, probe: str, timeout: float = 600) -> None:
        """Until 20 answers in a row are 200 (each worker has the catalog and the model)."""
        deadline, streak = time.time() + timeout, 0
        while streak < 20:
            if time.time() > deadline or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError("server did not become ready")
            try:
                ok = httpx.get(f"{self.base}{probe}", headers=HEADERS, timeout=10
                               ).status_code == 200
            except httpx.HTTPError:
                ok = False
            streak = streak + 1 if ok else 0
            if not ok:
                time.sleep(0.5)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def catalog_ids() -> dict[str, list[str]]:
    by_cat: dict[str, list[str]] = {}
    with (ROOT / "app" / "demo" / "catalog.jsonl").open() as fh:
        for line in fh:
            item = json.loads(line)
            by_cat.setdefault(item.get("category", ""), []).append(item["id"])
    return by_cat


def seed(base: str, customers: int) -> list[str]:
    """Each customer has 8 events around one category (as a returning shopper would)."""
    by_cat = catalog_ids()
    cats = sorted(by_cat)
    rng = random.Random(7)
    ids = [f"bench-{n}" for n in range(customers)]
    types = ["view", "click", "add_to_cart", "purchase"]
    batch: list[dict[str, Any]] = []
    with httpx.Client(base_url=base, headers=HEADERS, timeout=120) as http:
        for n, who in enumerate(ids):
            pool = by_cat[cats[n % len(cats)]]
            for i in range(8):
                batch.append({"event_id": f"seed-{who}-{i}", "type": types[i % 4],
                              "customer_id": who, "item_id": rng.choice(pool)})
            if len(batch) >= 40:  # below learn_inline_max: learned before the answer
                http.post("/v1/events", json={"events": batch}).raise_for_status()
                batch = []
        if batch:
            http.post("/v1/events", json={"events": batch}).raise_for_status()
    return ids


async def measure(base: str, customers: list[str], concurrency: int, seconds: float,
                  writer: bool) -> dict[str, Any]:
    rng = random.Random(concurrency)
    lat: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + seconds
    all_items = [i for ids in catalog_ids().values() for i in ids]

    async def reader(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while time.perf_counter() < stop_at:
            who = rng.choice(customers)
            t = time.perf_counter()
            r = await client.get(f"/v1/customers/{who}/recommendations", params={"k": 10})
            lat.append(time.perf_counter() - t)
            errors += r.status_code != 200

    async def events(client: httpx.AsyncClient) -> None:
        n = 0
        while time.perf_counter() < stop_at:
            who = rng.choice(customers)
            batch = [{"event_id": f"live-{concurrency}-{time.time_ns()}-{n}-{i}",
                      "type": "click", "customer_id": who, "item_id": rng.choice(all_items)}
                     for i in range(5)]
            n += 1
            await client.post("/v1/events", json={"events": batch})

    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, headers=HEADERS, timeout=120, limits=httpx.Limits(
            max_connections=concurrency + 1)) as client:
        jobs = [reader(client) for _ in range(concurrency)]
        if writer:
            jobs.append(events(client))
        await asyncio.gather(*jobs)
    elapsed = time.perf_counter() - t0
    return {"n": len(lat), "elapsed": elapsed, "lat": lat, "errors": errors, "load": load}


def fresh_postgres(base_url: str, name: str) -> str:
    """A new, empty database `name` on the server of `base_url` (dropped first if left over)."""
    import sqlalchemy as sa

    engine = sa.create_engine(base_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return str(sa.engine.make_url(base_url).set(database=name).render_as_string(
        hide_password=False))


def start(name: str, code: Path, args: argparse.Namespace) -> tuple[Server, list[str], Path]:
    data_dir = Path(tempfile.mkdtemp(prefix=f"recs-{name}-"))
    url = fresh_postgres(args.postgres, f"tailor_recs_{name}") if args.postgres else None
    server = Server(code, data_dir, args.workers, url)
    server.wait("/readyz")
    customers = seed(server.base, args.customers)
    server.wait(f"/v1/customers/{customers[0]}/recommendations?k=10")
    asyncio.run(measure(server.base, customers, 4, min(5.0, args.seconds), False))  # warm
    return server, customers, data_dir


def compare(servers: dict[str, tuple[Server, list[str], Path]], args: argparse.Namespace
            ) -> dict[tuple[str, int, bool], dict[str, Any]]:
    """Both servers run side by side (the idle one costs nothing); each measurement
    alternates before/after `--rounds` times, so a change in the machine's load (other
    engineers' jobs) hits both variants alike. Results are the sums over the rounds."""
    out: dict[tuple[str, int, bool], dict[str, Any]] = {}
    for writer in (False, True):
        for level in LEVELS:
            for _round in range(args.rounds):
                for name, (server, customers, _) in servers.items():
                    r = asyncio.run(measure(server.base, customers, level,
                                            args.seconds / args.rounds, writer))
                    acc = out.setdefault((name, level, writer), {
                        "n": 0, "elapsed": 0.0, "lat": [], "errors": 0, "loads": []})
                    acc["n"] += r["n"]
                    acc["elapsed"] += r["elapsed"]
                    acc["lat"] += r["lat"]
                    acc["errors"] += r["errors"]
                    acc["loads"].append(r["load"])
            for name in servers:
                acc = out[(name, level, writer)]
                lat = sorted(acc["lat"])
                acc.update(rps=acc["n"] / acc["elapsed"], p50=lat[len(lat) // 2] * 1000,
                           p95=lat[int(0.95 * (len(lat) - 1))] * 1000,
                           load=sum(acc["loads"]) / len(acc["loads"]))
                print(f"  {name:<6} clients={level:<3} events={'yes' if writer else 'no ':<3} "
                      f"{acc['rps']:7.1f} req/s  p50 {acc['p50']:6.1f} ms  p95 "
                      f"{acc['p95']:7.1f} ms  errors {acc['errors']}  load {acc['load']:.1f}",
                      flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", default=None, help="git ref of the baseline code")
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--customers", type=int, default=300)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3, help="before/after alternations")
    ap.add_argument("--postgres", metavar="URL", default=None,
                    help="run both servers on PostgreSQL: a SQLAlchemy URL of a database on "
                         "the server (e.g. postgresql+psycopg://postgres@127.0.0.1/test); "
                         "each variant gets its own fresh database beside it")
    args = ap.parse_args()
    ref = args.before or default_before()
    sha = subprocess.run(["git", "rev-parse", "--short", ref], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.strip()
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout.strip()
    base_tree = Path(tempfile.mkdtemp(prefix="recs-before-")) / "code"
    subprocess.run(["git", "worktree", "add", "--detach", str(base_tree), sha], cwd=ROOT,
                   check=True, capture_output=True)
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}; {args.workers} workers, "
          f"{'PostgreSQL' if args.postgres else 'SQLite'}, demo store, "
          f"{args.customers} customers x 8 events, {args.seconds:.0f} s per level")
    print(f"before = {sha} (temporary worktree), after = {head} (this checkout)")
    servers: dict[str, tuple[Server, list[str], Path]] = {}
    try:
        servers["before"] = start("before", base_tree, args)
        servers["after"] = start("after", ROOT, args)
        results = compare(servers, args)
    finally:
        for server, _, data_dir in servers.values():
            server.stop()
            shutil.rmtree(data_dir, ignore_errors=True)
        subprocess.run(["git", "worktree", "remove", "--force", str(base_tree)], cwd=ROOT,
                       capture_output=True)
    before = {(lv, w): r for (n, lv, w), r in results.items() if n == "before"}
    after = {(lv, w): r for (n, lv, w), r in results.items() if n == "after"}
    print("\n| clients | with events | before req/s (p50/p95 ms, load) | "
          "after req/s (p50/p95 ms, load) | speed-up |")
    print("|---|---|---|---|---|")
    for writer in (False, True):
        for level in LEVELS:
            b, a = before[(level, writer)], after[(level, writer)]
            print(f"| {level} | {'yes' if writer else 'no'} | {b['rps']:.1f} ({b['p50']:.0f}/"
                  f"{b['p95']:.0f}, {b['load']:.1f}) | {a['rps']:.1f} ({a['p50']:.0f}/"
                  f"{a['p95']:.0f}, {a['load']:.1f}) | {a['rps'] / max(b['rps'], 1e-9):.2f}x |")
    bad = sum(r["errors"] for r in (*before.values(), *after.values()))
    print(f"\nnon-200 answers: {bad}")


if __name__ == "__main__":
    main()
