"""Chat under load and LLM outages, over real HTTP against a real server.

Starts `tailor serve --demo` (uvicorn, one worker, SQLite, the demo store, the embedded
SmolLM2) as a subprocess and measures:

1. **load**: V concurrent widget visitors x T turns each (SSE streams, the widget key):
   errors, time to first words (first `token` event, LLM or template) p50/p95/p99, the
   share of LLM and template replies, total time, and the server's CPU still busy
   5-10 s after the last reply (from /proc/<pid>/stat) with its thread count;
2. **dead LLM**: TAILOR_LLM_BASE_URL at a closed port, and at a socket that accepts and
   never answers: the cost of each of N sequential turns, before and after the circuit
   breaker opens.

    python -m benchmarks.chat_load                          # this checkout
    python -m benchmarks.chat_load --baseline-ref f6a3348   # also the old code, same run
    python -m benchmarks.chat_load --quick                  # 10 visitors, dev loop
    python -m benchmarks.chat_load --paced --skip-dead      # + a row with human pacing

The load row is a burst: all visitors open the widget in the same instant and send their
next message the moment a reply ends (the worst case). `--paced` adds a row where they
arrive over 5 s and take 2-6 s to read and type between turns, as people do.

`--baseline-ref` exports that commit with `git archive` into a temporary directory and
runs the same phases against it first, so both are measured on the same machine state.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
MESSAGES = [
    "I need a warm sweater under $100",
    "something vegan for breakfast",
    "a gift for my daughter, she is 7",
    "no leather please, I want running shoes",
    "show me linen shirts",
    "candles for a cosy evening",
    "dog toys that last",
    "a water bottle for hiking",
    "cheaper please",
    "the first one looks great",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


# -- the server under test ---------------------------------------------------------------


class Server:
    """`python -m app.cli serve --demo` from ``code``; with several workers the CPU and thread
    counts are summed over the server's process tree (uvicorn's supervisor and workers)."""

    def __init__(self, code: Path, env: dict[str, str], label: str, workers: int = 1) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="tailor-load-"))
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        full = {**os.environ, "PYTHONPATH": str(code), "HF_HUB_OFFLINE": "1",
                "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
                "TAILOR_DATA_DIR": str(self.tmp / "var"), "TAILOR_LOG_LEVEL": "WARNING",
                **env}
        self.log = (self.tmp / "server.log").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--demo", "--port", str(self.port),
             "--workers", str(workers)],
            cwd=code, env=full, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{label}: server exited; see {self.tmp / 'server.log'}")
            try:
                if httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            self.stop()
            raise RuntimeError(f"{label}: server not ready in 600 s")
        keys = json.loads((self.tmp / "var" / "demo_keys.json").read_text())
        self.widget = keys["widget"]

    def _tree(self) -> list[psutil.Process]:
        root = psutil.Process(self.proc.pid)
        return [root, *root.children(recursive=True)]

    def cpu_seconds(self) -> float:
        total = 0.0
        for p in self._tree():
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except psutil.Error:
                pass  # a process that just ended
        return total

    def threads(self) -> int:
        total = 0
        for p in self._tree():
            with contextlib.suppress(psutil.Error):
                total += p.num_threads()
        return total

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


# -- one visitor's turns -------------------------------------------------------------------


@dataclass
class Turn:
    status: int
    first_words: float | None  # seconds from POST to the first token event
    total: float
    degraded: bool | None
    error: str | None


async def session(client: httpx.AsyncClient, server: Server) -> dict[str, str]:
    r = await client.post(f"{server.base}/v1/widget/session",
                          headers={"Authorization": f"Bearer {server.widget}"})
    r.raise_for_status()
    return {"Authorization": f"Bearer {server.widget}",
            "X-Visitor-Token": r.json()["visitor_token"]}


async def one_turn(client: httpx.AsyncClient, server: Server, headers: dict[str, str],
                   message: str, session_id: str | None) -> tuple[Turn, str | None]:
    body: dict[str, Any] = {"message": message}
    if session_id:
        body["session_id"] = session_id
    t0 = time.perf_counter()
    first: float | None = None
    degraded: bool | None = None
    error: str | None = None
    sid = session_id
    try:
        async with client.stream("POST", f"{server.base}/v1/chat", json=body,
                                 headers=headers) as r:
            if r.status_code != 200:
                await r.aread()
                return Turn(r.status_code, None, time.perf_counter() - t0, None,
                            r.text[:200]), sid
            name = None
            async for line in r.aiter_lines():
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    data = json.loads(line[6:])
                    if name == "session":
                        sid = data["session_id"]
                    elif name == "token" and first is None:
                        first = time.perf_counter() - t0
                    elif name == "done":
                        degraded = bool(data["degraded"])
                    elif name == "error":
                        error = data.get("message", "error")
    except httpx.HTTPError as exc:
        return Turn(0, first, time.perf_counter() - t0, None, repr(exc)), sid
    if degraded is None and error is None:
        error = "stream ended without done"
    return Turn(200, first, time.perf_counter() - t0, degraded, error), sid


async def visitor(client: httpx.AsyncClient, server: Server, n: int, turns: int,
                  pacing: Pacing | None = None) -> list[Turn]:
    rng = random.Random(n)
    if pacing:
        await asyncio.sleep(rng.uniform(0, pacing.ramp))
    headers = await session(client, server)
    out: list[Turn] = []
    sid = None
    for t in range(turns):
        if pacing and t:
            await asyncio.sleep(rng.uniform(*pacing.think))  # reading the reply, typing
        result, sid = await one_turn(client, server, headers,
                                     MESSAGES[(n + t) % len(MESSAGES)], sid)
        out.append(result)
    return out


@dataclass(frozen=True)
class Pacing:
    """Human pacing: visitors arrive over `ramp` seconds and wait `think` (min, max)
    seconds between a reply and their next message. None: everyone at once, no pause."""

    ramp: float
    think: tuple[float, float]


async def crowd(server: Server, visitors: int, turns: int, pacing: Pacing | None = None
                ) -> tuple[list[Turn], float]:
    limits = httpx.Limits(max_connections=visitors + 10, max_keepalive_connections=visitors)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        t0 = time.perf_counter()
        results = await asyncio.gather(*(visitor(client, server, n, turns, pacing)
                                         for n in range(visitors)))
        return [t for r in results for t in r], time.perf_counter() - t0


async def sequential(server: Server, turns: int) -> list[Turn]:
    async with httpx.AsyncClient(timeout=120) as client:
        headers = await session(client, server)
        out, sid = [], None
        for t in range(turns):
            result, sid = await one_turn(client, server, headers, MESSAGES[t % 3], sid)
            out.append(result)
        return out


# -- phases ----------------------------------------------------------------------------------


@dataclass
class LoadResult:
    label: str
    turns: list[Turn]
    wall: float
    cpu_per_turn: float  # server CPU seconds during the crowd / turns
    cpu_after: float  # cores busy on average 5-10 s after the last reply
    threads_after: int
    threads_idle: int
    llm_outcomes: str = ""  # the server's own tailor_llm_* counters (new code only)


def load_phase(code: Path, label: str, visitors: int, turns: int, env: dict[str, str],
               workers: int = 1, pacing: Pacing | None = None) -> LoadResult:
    server = Server(code, env, label, workers)
    try:
        for _ in range(4 * workers):  # warm-up: every worker has loaded and cached its models
            asyncio.run(sequential(server, 1))
        time.sleep(2)
        idle_threads = server.threads()
        c0 = server.cpu_seconds()
        results, wall = asyncio.run(crowd(server, visitors, turns, pacing))
        per_turn = (server.cpu_seconds() - c0) / max(1, len(results))
        metrics = httpx.get(f"{server.base}/metrics", timeout=10).text
        outcomes = ", ".join(
            line.split("{", 1)[-1].replace('reason="', "").replace('"}', "").replace(
                "tailor_llm_replies_total ", "llm ")
            for line in metrics.splitlines()
            if line.startswith(("tailor_llm_degraded_total{", "tailor_llm_replies_total "))
            and not line.endswith(" 0.0"))
        time.sleep(5)
        c5, t5 = server.cpu_seconds(), time.monotonic()
        threads = server.threads()
        time.sleep(5)
        cpu_after = (server.cpu_seconds() - c5) / (time.monotonic() - t5)
        return LoadResult(label, results, wall, per_turn, cpu_after, threads, idle_threads,
                          outcomes)
    finally:
        server.stop()


class Blackhole:
    """A TCP port that accepts connections (the kernel completes the handshake) and never
    answers a byte: an LLM server that hangs."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(512)
        self.held: list[socket.socket] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"

    def _accept(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
                self.held.append(conn)
            except (TimeoutError, OSError):
                continue

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        for conn in self.held:
            conn.close()
        self.sock.close()


def dead_phase(code: Path, label: str, url: str, turns: int,
               env: dict[str, str] | None = None) -> list[Turn]:
    env = env or {"TAILOR_LLM_BACKEND": "openai", "TAILOR_LLM_BASE_URL": url}
    server = Server(code, env, label)
    try:
        return asyncio.run(sequential(server, turns))
    finally:
        server.stop()


# -- report ----------------------------------------------------------------------------------


def load_row(r: LoadResult) -> str:
    ok = [t for t in r.turns if t.status == 200 and t.error is None]
    errors = len(r.turns) - len(ok)
    firsts = [t.first_words for t in ok if t.first_words is not None]
    llm = sum(1 for t in ok if t.degraded is False)
    tmpl = sum(1 for t in ok if t.degraded)
    by_llm = [t.first_words for t in ok if t.first_words is not None and t.degraded is False]
    by_tmpl = [t.first_words for t in ok if t.first_words is not None and t.degraded]
    return (f"| {r.label} | {len(r.turns)} | {errors} | {llm} | {tmpl} | "
            f"{pct(firsts, 0.5) * 1000:.0f} | {pct(firsts, 0.95) * 1000:.0f} | "
            f"{pct(firsts, 0.99) * 1000:.0f} | {pct(by_llm, 0.95) * 1000:.0f} / "
            f"{pct(by_tmpl, 0.95) * 1000:.0f} | {pct([t.total for t in ok], 0.95):.1f} | "
            f"{r.wall:.1f} | {r.cpu_per_turn * 1000:.0f} | {r.cpu_after:.2f} | "
            f"{r.threads_idle} -> {r.threads_after} |")


def dead_row(label: str, kind: str, turns: list[Turn], failures: int) -> str:
    costs = [t.total * 1000 for t in turns]
    before, after = costs[:failures], costs[failures:]
    errors = sum(1 for t in turns if t.status != 200 or t.error)
    return (f"| {label} | {kind} | {len(turns)} | {errors} | "
            f"{statistics.median(before):.0f} | "
            f"{statistics.median(after) if after else float('nan'):.0f} | "
            f"{max(after) if after else float('nan'):.0f} |")


def export(ref: str) -> Path:
    out = Path(tempfile.mkdtemp(prefix="tailor-baseline-"))
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--visitors", type=int, default=50)
    ap.add_argument("--turns", type=int, default=3)
    ap.add_argument("--dead-turns", type=int, default=10)
    ap.add_argument("--baseline-ref", help="git ref of the old code to measure first")
    ap.add_argument("--skip-dead", action="store_true")
    ap.add_argument("--paced", action="store_true",
                    help="also a row with human pacing: arrivals over 5 s, 2-6 s between "
                         "a reply and the next message (the burst row always runs)")
    ap.add_argument("--workers", type=int, default=1,
                    help="uvicorn worker processes for the load phase (the dead-LLM phase "
                         "always uses one)")
    ap.add_argument("--quick", action="store_true", help="10 visitors, 5 dead turns")
    ap.add_argument("--env", action="append", default=[], metavar="TAILOR_X=V",
                    help="extra server setting for the new code (repeatable)")
    args = ap.parse_args()
    extra = dict(item.split("=", 1) for item in args.env)
    if args.quick:
        args.visitors, args.dead_turns = 10, 5
    failures = 3  # TAILOR_LLM_BREAKER_FAILURES default: turns that pay before it opens

    codes = [("new", ROOT)]
    if args.baseline_ref:
        codes.insert(0, (f"old ({args.baseline_ref})", export(args.baseline_ref)))
    loads: list[LoadResult] = []
    dead: list[str] = []
    for label, code in codes:
        print(f"{label}: {args.visitors} visitors x {args.turns} turns ...", file=sys.stderr)
        env = extra if code == ROOT else {}
        loads.append(load_phase(code, label, args.visitors, args.turns, env, args.workers))
        if args.paced:
            print(f"{label}: the same, paced ...", file=sys.stderr)
            loads.append(load_phase(code, f"{label}, paced", args.visitors, args.turns, env,
                                    args.workers, Pacing(5.0, (2.0, 6.0))))
        if args.skip_dead:
            continue
        # Reference: the same turns with an instant LLM (a mock): what a turn costs anyway.
        print(f"{label}: reference turns (instant mock LLM) ...", file=sys.stderr)
        dead.append(dead_row(label, "reference: instant mock", dead_phase(
            code, label, "", args.dead_turns, {"TAILOR_LLM_BACKEND": "mock"}), failures))
        closed = f"http://127.0.0.1:{free_port()}/v1"
        # The old code waits 8 s per turn on a silent backend: fewer turns show it.
        n = args.dead_turns if label == "new" else min(args.dead_turns, 5)
        print(f"{label}: dead LLM (closed port, silent socket) ...", file=sys.stderr)
        dead.append(dead_row(label, "closed port", dead_phase(code, label, closed, n),
                             failures))
        hole = Blackhole()
        try:
            dead.append(dead_row(label, "never answers", dead_phase(code, label, hole.url, n),
                                 failures))
        finally:
            hole.close()
    for _, code in codes:
        if code != ROOT:
            shutil.rmtree(code, ignore_errors=True)

    load1, load5, load15 = os.getloadavg()
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} CPUs, "
          f"{platform.python_implementation()} {platform.python_version()}; "
          f"load average at the end {load1:.2f} {load5:.2f} {load15:.2f}\n")
    print("| code | turns | errors | LLM replies | template replies | first words p50 (ms) "
          "| p95 (ms) | p99 (ms) | p95 LLM / template (ms) | turn p95 (s) | total (s) "
          "| server CPU per turn (ms) | CPU busy 5-10 s after (cores) "
          "| server threads idle -> 5 s after |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in loads:
        print(load_row(r))
    for r in loads:
        if r.llm_outcomes:
            print(f"\n{r.label}: server counters after the load: {r.llm_outcomes}")
    if dead:
        print(f"\nDead LLM, one visitor, sequential turns (cost = POST to `done`; the first "
              f"{failures} turns are before the breaker can open):\n")
        print("| code | LLM backend | turns | errors | cost per turn before (ms, median) "
              "| after (ms, median) | after (ms, max) |")
        print("|---|---|---:|---:|---:|---:|---:|")
        for row in dead:
            print(row)


if __name__ == "__main__":
    main()
