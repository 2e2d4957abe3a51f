"""Journeys on the durable job engine: triggers from events and the catalog, durable waits,
stop conditions, each step once, the monitor; a worker killed with SIGKILL mid-journey."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text

from tests.nba.helpers import ADMIN, consents, events

ROOT = Path(__file__).resolve().parents[2]
JOURNEY = {"id": "cart", "name": "Cart rescue", "trigger": {"kind": "cart_abandonment"},
           "steps": [{"wait_seconds": 1, "channel": "email", "message": "Still thinking?"},
                     {"wait_seconds": 2, "channel": "push", "message": "Free shipping"}],
           "stop_on": ["purchase"]}


def wait_for(cond: Any, what: str, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def jshop(app_factory: Any, db_url: str) -> Any:
    from tests.nba.conftest import CATALOG

    client = app_factory(db_url, nba_quiet_start=0, nba_quiet_end=0)
    assert client.put("/v1/items", json=CATALOG, headers=ADMIN).status_code == 200
    return client


def runs(client: Any, jid: str = "cart") -> dict[str, dict[str, Any]]:
    r = client.get(f"/v1/journeys/{jid}/runs", headers=ADMIN)
    assert r.status_code == 200, r.text
    return {run["customer_id"]: run for run in r.json()["runs"]}


def pid(client: Any, who: str) -> str:
    return str(client.get(f"/v1/customers/{who}", headers=ADMIN).json()["id"])


def test_cart_journey_steps_once_and_stops_on_purchase(jshop: Any) -> None:
    from app.nba.tables import JourneyStepRow, TouchRow

    assert jshop.post("/v1/journeys", json=JOURNEY, headers=ADMIN).status_code == 201
    assert jshop.post("/v1/journeys", json=JOURNEY, headers=ADMIN).status_code == 409
    bad = JOURNEY | {"id": "bad", "steps": [{"channel": "email", "message": "x",
                                             "offer_id": "ghost"}]}
    r = jshop.post("/v1/journeys", json=bad, headers=ADMIN)
    assert r.status_code == 422 and "ghost" in r.text
    for who in ("ja", "jb", "jc"):
        events(jshop, who, {"type": "view", "item_id": "shoe-1"})
        consents(jshop, who, marketing=True)
    for who in ("ja", "jb", "jc"):
        events(jshop, who, {"type": "add_to_cart", "item_id": "shoe-1"})
    events(jshop, "jb", {"type": "purchase", "item_id": "shoe-1"})  # before step 1
    ids = {who: pid(jshop, who) for who in ("ja", "jb", "jc")}
    wait_for(lambda: runs(jshop).get(ids["jc"], {}).get("step", 0) >= 1, "jc's first step")
    events(jshop, "jc", {"type": "purchase", "item_id": "shoe-1"})  # between the steps
    wait_for(lambda: all(r["state"] != "running" for r in runs(jshop).values())
             and len(runs(jshop)) == 3, "every run to end")
    state = runs(jshop)
    assert state[ids["ja"]]["state"] == "done" and state[ids["ja"]]["step"] == 2
    assert state[ids["ja"]]["detail"] == "step 1 sent; step 2 sent"
    assert state[ids["jb"]]["state"] == "stopped" and "before step 1" in state[ids["jb"]][
        "detail"]
    assert state[ids["jc"]]["state"] == "stopped" and "before step 2" in state[ids["jc"]][
        "detail"]
    # A second cart while the first run lives starts nothing new.
    rt = jshop.app.state.runtime
    with rt.sessions() as db:
        steps = db.execute(select(JourneyStepRow.profile_id, func.count()).group_by(
            JourneyStepRow.profile_id)).tuples().all()
        touches = db.scalar(select(func.count()).select_from(TouchRow).where(
            TouchRow.action.like("journey:cart:%")))
    assert dict(steps) == {ids["ja"]: 2, ids["jc"]: 1}
    assert touches == 3
    page = jshop.get("/v1/journeys/cart/page")
    assert page.status_code == 200 and '"cart"' in page.text


def test_journey_honours_consent_and_price_drop_trigger(jshop: Any) -> None:
    from tests.nba.conftest import CATALOG

    spec = {"id": "drop", "name": "Price drop", "trigger": {"kind": "price_drop"},
            "steps": [{"channel": "email", "message": "It is cheaper now"}]}
    assert jshop.post("/v1/journeys", json=spec, headers=ADMIN).status_code == 201
    events(jshop, "pd1", {"type": "view", "item_id": "shoe-2"})  # no marketing consent
    events(jshop, "pd2", {"type": "view", "item_id": "sock-1"})  # another item
    cheaper = [dict(i, price=70.0) if i["id"] == "shoe-2" else i for i in CATALOG]
    assert jshop.put("/v1/items", json=cheaper, headers=ADMIN).status_code == 200
    p1 = pid(jshop, "pd1")
    wait_for(lambda: runs(jshop, "drop").get(p1, {}).get("state") == "done", "the run")
    state = runs(jshop, "drop")
    assert list(state) == [p1]  # only the person interested in the item that dropped
    assert "skipped: no marketing consent" in state[p1]["detail"]


def _worker(url: str, tmp_path: Path, executor: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TAILOR_DATABASE_URL": url, "TAILOR_DATA_DIR": str(tmp_path / "var"),
           "TAILOR_SEARCH_ENABLED": "false", "PYTHONPATH": str(ROOT),
           "TAILOR_LOG_JSON": "false", "TAILOR_NBA_QUIET_START": "0",
           "TAILOR_NBA_QUIET_END": "0"}
    log = open(tmp_path / f"{executor}-{time.monotonic_ns()}.log", "wb")  # noqa: SIM115
    return subprocess.Popen([sys.executable, "-m", "app.cli", "worker", "--executor-id",
                             executor, "--queue", "journeys"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


@pytest.mark.slow
def test_killed_worker_resumes_journeys_without_lost_or_double_steps(
        app_factory: Any, db_url: str, tmp_path: Path) -> None:
    """The API only enqueues; a worker runs the journeys, is killed -9 during the timers,
    and a new worker with its id finishes them: every step exactly once."""
    from tests.nba.conftest import CATALOG

    client = app_factory(db_url, jobs_in_process=False, nba_quiet_start=0, nba_quiet_end=0)
    assert client.put("/v1/items", json=CATALOG, headers=ADMIN).status_code == 200
    spec = JOURNEY | {"steps": [
        {"wait_seconds": 2, "channel": "web", "message": "one"},
        {"wait_seconds": 4, "channel": "web", "message": "two"},
        {"wait_seconds": 2, "channel": "web", "message": "three"}]}
    assert client.post("/v1/journeys", json=spec, headers=ADMIN).status_code == 201
    n = 30
    first = _worker(db_url, tmp_path, "jw1")
    try:
        for i in range(n):
            events(client, f"k{i}", {"type": "add_to_cart", "item_id": "shoe-1"})
        engine = create_engine(db_url)

        def count(sql: str) -> int:
            with engine.connect() as conn:
                return int(conn.execute(text(sql)).scalar() or 0)

        wait_for(lambda: count("SELECT count(*) FROM nba_journey_steps") >= n // 2,
                 "some first steps")
        first.send_signal(signal.SIGKILL)  # mid-run: runs between their steps
        first.wait(30)
        done_at_kill = count("SELECT count(*) FROM nba_journey_steps")
        assert done_at_kill < 3 * n
        second = _worker(db_url, tmp_path, "jw1")
        try:
            wait_for(lambda: count("SELECT count(*) FROM nba_journey_runs WHERE state = "
                                   "'done'") == n, "every run to finish", timeout=300)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(30)
        assert count("SELECT count(*) FROM nba_journey_steps") == 3 * n
        assert count("SELECT count(DISTINCT run_id || ':' || step) FROM nba_journey_steps"
                     ) == 3 * n
        assert count("SELECT count(*) FROM nba_touches WHERE action LIKE 'journey:%'"
                     ) == 3 * n
        engine.dispose()
    finally:
        if first.poll() is None:
            first.kill()
