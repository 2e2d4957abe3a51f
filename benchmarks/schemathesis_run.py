"""Property-based contract run: schemathesis against the real app, as staff and as the widget.

    python -m benchmarks.schemathesis_run                    # 400 examples per operation
    python -m benchmarks.schemathesis_run --examples 20      # the short CI pass

Starts `tailor serve` in a subprocess on a fresh SQLite database (search index, preference
model and the chat pipeline with the mock LLM all on, rate limits off so that generated
requests are not all 429s), seeds a small catalog and demo-like keys, then runs
`schemathesis run` against /openapi.json twice: with an admin key, and with a widget key
plus its visitor token. Every check is on; the admin run leaves out key revocation (it would
revoke its own key). Prints, per identity, the operations and test
cases run, the server errors (5xx; the target is 0) and the other check failures by check.
The baseline in the same run is the server-error count itself: each 5xx is listed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
ADMIN = "tlr_adm_schemathesis-admin-key-000000"
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _port()
    env = {**os.environ, "TAILOR_DATA_DIR": str(data_dir),
           "TAILOR_DATABASE_URL": f"sqlite:///{data_dir / 'tailor.db'}",
           "TAILOR_BOOTSTRAP_ADMIN_KEY": ADMIN, "TAILOR_RATE_LIMIT_ENABLED": "false",
           "TAILOR_LLM_BACKEND": "mock", "TAILOR_LOG_LEVEL": "ERROR",
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    data_dir.mkdir(parents=True, exist_ok=True)
    log = (data_dir / "server.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 300
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited; see {data_dir / 'server.log'}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.terminate()
    raise RuntimeError("server not ready")


def seed_catalog(base: str, n: int = 200) -> None:
    """Items to find. Laid anew before each identity's run: the admin run deletes items,
    and an emptied catalog makes search and chat answer 503 (correctly, but schemathesis
    counts every 5xx as a server error)."""
    items = [{"id": f"sku-{i}", "title": f"Item {i}", "category": "Apparel > Women",
              "brand": "Acme", "price": 10.0 + i, "stock": 5,
              "attributes": {"color": ["red"], "material": ["cotton"]}} for i in range(n)]
    httpx.put(f"{base}/v1/items", json=items, headers={"Authorization": f"Bearer {ADMIN}"},
              timeout=300).raise_for_status()
    deadline = time.time() + 120  # until the search index has caught up
    while time.time() < deadline:
        if httpx.get(f"{base}/v1/search", params={"q": "item"}, timeout=30).status_code == 200:
            return
        time.sleep(0.5)


def seed(base: str) -> dict[str, dict[str, str]]:
    """A catalog and a customer to find, and the headers of each identity."""
    admin = {"Authorization": f"Bearer {ADMIN}"}
    seed_catalog(base)
    with httpx.Client(base_url=base, headers=admin, timeout=60) as c:
        c.post("/v1/identify", json={"customer_id": "C-1", "email": "c1@example.com"}
               ).raise_for_status()
        widget = c.post("/v1/keys", json={"role": "widget", "name": "st"}).json()["key"]
        token = c.post("/v1/widget/session", headers={"Authorization": f"Bearer {widget}"}
                       ).json()["visitor_token"]
    return {"admin": admin,
            "widget": {"Authorization": f"Bearer {widget}", "X-Visitor-Token": token}}


# The admin run must not revoke the key it runs with (key 1, the bootstrap key): after that
# every request would only test the 401 path. The widget run keeps it (a 403 to test).
EXCLUDED = {"admin": ["/v1/keys/{key_id}"], "widget": []}


# Generous: the coverage phase sends the largest catalog upsert the schema allows (10,000
# items, 3.6 MB), which takes over a minute on a busy 2-core machine.
def run_schemathesis(base: str, headers: dict[str, str], examples: int, out: Path,
                     seed_: int, exclude_paths: list[str] | None = None,
                     workers: int = 2) -> dict[str, Any]:
    report = out / "report.json"
    cmd = [str(SCHEMATHESIS), "run", f"{base}/openapi.json", "--checks", "all",
           "--max-examples", str(examples), "--seed", str(seed_), "--workers", str(workers),
           "--request-timeout", "300", "--continue-on-failure", "--no-color",
           "--suppress-health-check", "all", "--report", "json",
           "--report-json-path", str(report)]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    for path in exclude_paths or ():
        cmd += ["--exclude-path", path]
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=out, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    (out / "stdout.txt").write_text(proc.stdout + proc.stderr)
    return summarize(json.loads(report.read_text()), elapsed, out)


def summarize(report: dict[str, Any], elapsed: float, out: Path) -> dict[str, Any]:
    """Cases, 5xx and other failures (by kind, with the operations) from schemathesis' JSON
    run report."""
    server_errors: list[str] = []
    other: dict[str, int] = {}
    for f in report.get("failures") or []:
        if f.get("type") == "ServerError" or "server error" in str(f.get("title")).lower():
            server_errors += [f"{op} ({f.get('title')})" for op in f.get("operations", [])]
        else:
            other[f"{f.get('title')} [{f.get('code')}]"] = int(f.get("count", 1))
            (out / "other-failures.txt").open("a").write(
                f"{f.get('title')}: {', '.join(f.get('operations', []))}\n")
    return {"operations": report["operations"]["tested"],
            "cases": report["test_cases"]["generated"],
            "server_errors": len(server_errors), "server_error_list": server_errors,
            "other_failures": other, "errors": len(report.get("errors") or []),
            "seconds": round(elapsed, 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--examples", type=int, default=400, help="max examples per operation")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--reports", type=Path, help="keep schemathesis' reports here")
    ap.add_argument("--only", choices=sorted(EXCLUDED), help="run one identity")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="tailor-st-") as tmp:
        proc, base = start_server(Path(tmp))
        try:
            identities = seed(base)
            results = {}
            for name, headers in identities.items():
                if args.only and name != args.only:
                    continue
                seed_catalog(base)
                out = (args.reports or Path(tmp)) / name
                out.mkdir(parents=True, exist_ok=True)
                results[name] = run_schemathesis(base, headers, args.examples, out, args.seed,
                                                 EXCLUDED[name])
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    print(f"machine: {platform.node()} {os.cpu_count()} cores, python "
          f"{platform.python_version()}; examples/operation {args.examples}, seed {args.seed}")
    print(f"{'identity':<8} {'ops':>4} {'cases':>7} {'5xx':>4} {'errors':>6} {'secs':>6}  "
          "other check failures (operations affected)")
    for name, r in results.items():
        print(f"{name:<8} {r['operations']!s:>4} {r['cases']!s:>7} {r['server_errors']:>4} "
              f"{r['errors']:>6} {r['seconds']:>6}  {r['other_failures'] or '-'}")
        for line in r["server_error_list"]:
            print(f"    5xx {line}")
    total = sum(r["server_errors"] + r["errors"] for r in results.values())
    sys.exit(1 if total else 0)


if __name__ == "__main__":
    main()
