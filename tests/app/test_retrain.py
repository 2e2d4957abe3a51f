"""Retraining on a live shop (issue 11, item 1): events -> `tailor train preferences` ->
every existing customer keeps being served and keeps learning, without a restart, after a
restart, and across two worker processes; on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.app.test_personalization import ROOT, _server, _wait_ready, catalog, share
from tests.support import ADMIN_KEY, auth, new_key

N = 18  # customers with a history before the retrain
OPTS: dict[str, Any] = {"search_enabled": True, "chat_enabled": False, "exploration": 0.0,
                        "preference_reload_seconds": 0}


def _history(u: int) -> list[str]:
    return [f"c{u % 3}-{(u + i) % 10}" for i in range(4)]


def _post(c: Any, h: dict[str, str], who: str, items: list[str], tag: str) -> None:
    batch = [{"event_id": f"{tag}-{who}-{i}", "type": "purchase", "customer_id": who,
              "item_id": item} for i, item in enumerate(items)]
    r = c.post("/v1/events", json={"events": batch}, headers=h)
    assert r.status_code == 200 and r.json()["accepted"] == len(items), r.text


def _served(c: Any, h: dict[str, str], who: str) -> dict[str, Any]:
    """Every read a customer's state takes part in answers 200 (never 4xx/5xx)."""
    r = c.get(f"/v1/customers/{who}/recommendations", params={"k": 10}, headers=h)
    assert r.status_code == 200, r.text
    recs = dict(r.json())
    assert recs["personalized"] and len(recs["items"]) == 10
    view = c.get(f"/v1/customers/{who}/preferences", headers=h)
    assert view.status_code == 200, view.text
    assert view.json()["exists"]
    s = c.get("/v1/search", params={"q": "shoe", "customer_id": who, "k": 5}, headers=h)
    assert s.status_code == 200 and s.json()["personalized"], s.text
    return recs


def _shop(app_factory: Any, url: str) -> tuple[Any, dict[str, str]]:
    c = app_factory(url, **OPTS)
    h = auth(new_key(c, "developer"))
    assert c.put("/v1/items", json=catalog(), headers=h).status_code == 200
    c.app.state.runtime.search.wait_ready()
    for u in range(N):
        _post(c, h, f"H-{u}", _history(u), "hist")
    # Stated and corrected preferences are attribute-keyed: they must survive a retrain.
    r = c.patch("/v1/customers/H-0/preferences", headers=h, json={
        "set": [{"attribute": "material=linen", "value": 1}], "delete": ["material=mesh"]})
    assert r.status_code == 200, r.text
    return c, h


def _train(c: Any, dim: int = 8) -> dict[str, Any]:
    from app.services.training import train_population

    rt = c.app.state.runtime
    return train_population(rt.settings, rt.sessions, events_file=None, out=None, epochs=2,
                            dim=dim, cohorts=3, threads=1)


def _keeps_learning(c: Any, h: dict[str, str], who: str, tag: str) -> None:
    before = _served(c, h, who)
    _post(c, h, who, [f"c2-{i}" for i in range(5)], tag)
    after = _served(c, h, who)
    assert share(after, "c2-") > share(before, "c2-"), (before, after)


def test_retrain_live_then_restart_keeps_every_customer(app_factory: Any, db_url: str) -> None:
    c, h = _shop(app_factory, db_url)
    prefs = c.app.state.runtime.prefs
    old_space = prefs.model.space
    assert prefs.model.state(_pid(c, h, "H-1")).dim == 384  # the untrained default space
    _train(c)
    # No restart: the next requests notice the new prior, which is swapped in meanwhile;
    # every request before, during and after the swap is served.
    deadline = time.monotonic() + 120
    while prefs.model.space == old_space:
        assert time.monotonic() < deadline, "the new prior was never picked up"
        _served(c, h, "H-1")
        time.sleep(0.05)
    assert prefs.model.population.pretrained and len(prefs.model.population.prior_mean) == 8
    for u in range(N):
        _served(c, h, f"H-{u}")
    st = prefs.model.state(_pid(c, h, "H-2"))
    assert st.space == prefs.model.space and st.dim == 8
    assert st.own.n_signals == 4 and len(st.history) == 4  # rebuilt from the events table
    view = c.get("/v1/customers/H-0/preferences", headers=h).json()
    assert {p["attribute"] for p in view["stated"]} == {"material=linen"}
    assert "material=mesh" in view["suppressed"]
    _keeps_learning(c, h, "H-1", "live")
    # The background pass brings every stored state to the new prior.
    _wait(lambda: not prefs.migration_running)
    from sqlalchemy import select

    from app.db.models import CustomerState as Row
    from preference_model import CustomerState

    with c.app.state.runtime.sessions() as db:
        rows = db.execute(select(Row.version, Row.data)).all()
    assert len(rows) == N and all(
        CustomerState.from_bytes(data, v).space == prefs.model.space for v, data in rows)

    # Restart on the same database and data directory: everyone is still served.
    again = app_factory(db_url, **OPTS)
    again.app.state.runtime.search.wait_ready()
    assert again.app.state.runtime.prefs.model.space == prefs.model.space
    for u in range(N):
        _served(again, h, f"H-{u}")
    _keeps_learning(again, h, "H-4", "restart")


def test_restart_after_training_rebuilds_old_states_on_first_use(app_factory: Any,
                                                                  sqlite_url: str) -> None:
    """The issue's exact story: states from the default (384-d) space, a 32-d prior, a
    restart; the first request of each old customer is served from a rebuilt state."""
    c, h = _shop(app_factory, sqlite_url)
    _train(c, dim=32)
    again = app_factory(sqlite_url, **{**OPTS, "preference_reload_seconds": 3600})
    again.app.state.runtime.search.wait_ready()
    model = again.app.state.runtime.prefs.model
    assert len(model.population.prior_mean) == 32
    for u in range(N):
        _served(again, h, f"H-{u}")
        assert model.state(_pid(again, h, f"H-{u}")).dim == 32
    _keeps_learning(again, h, "H-7", "after")


def test_train_preferences_on_a_live_two_worker_server(tmp_path: Path) -> None:
    """`tailor train preferences` while two worker processes serve one shop (one database,
    one data directory): both pick the new prior up without a restart, every old customer
    is served by both, and what one learns the other recommends."""
    url = f"sqlite:///{tmp_path / 'tailor.db'}"
    data_dir = tmp_path / "var"
    extra = {"TAILOR_PREFERENCE_RELOAD_SECONDS": "0"}
    h = auth(ADMIN_KEY)
    a, base_a = _server(url, data_dir, extra=extra)
    b: subprocess.Popen[bytes] | None = None
    try:
        _wait_ready(base_a, a)
        assert httpx.put(f"{base_a}/v1/items", json=catalog(), headers=h,
                         timeout=60).status_code == 200
        b, base_b = _server(url, data_dir, extra=extra)
        _wait_ready(base_b, b)
        for base in (base_a, base_b):  # both have the catalog (b through the outbox)
            _wait(lambda base=base: httpx.get(f"{base}/v1/items/c2-0/similar", timeout=10
                                              ).status_code == 200)
        with httpx.Client(base_url=base_a, timeout=30) as one, \
                httpx.Client(base_url=base_b, timeout=30) as two:
            for u in range(N):
                _post(one, h, f"H-{u}", _history(u), "hist")
            env = {**os.environ, "TAILOR_DATABASE_URL": url, "TAILOR_DATA_DIR": str(data_dir)}
            out = subprocess.run([sys.executable, "-m", "app.cli", "train", "preferences",
                                  "--epochs", "2", "--dim", "8", "--cohorts", "3",
                                  "--threads", "1"], cwd=ROOT, env=env, capture_output=True,
                                 text=True, timeout=600)
            assert out.returncode == 0, out.stderr
            # Both workers swap priors while answering; every answer is a 200.
            for _round in range(3):
                for u in range(N):
                    _served(one if u % 2 else two, h, f"H-{u}")
                    _served(two if u % 2 else one, h, f"H-{u}")
            before = _served(two, h, "H-4")
            _post(one, h, "H-4", [f"c2-{i}" for i in range(5)], "two")
            after = _served(two, h, "H-4")
            assert share(after, "c2-") > share(before, "c2-"), (before, after)
    finally:
        for proc in (a, b):
            if proc is not None:
                proc.terminate()
                proc.wait(15)
    from sqlalchemy import create_engine, select

    from app.db.models import CustomerState as Row
    from preference_model import CustomerState, PreferenceModel

    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(Row.version, Row.data)).all()
    engine.dispose()
    new = PreferenceModel.artifact_version(data_dir / "preferences")
    # Every state was rebuilt into the new prior's space and saved; none went back.
    assert new and len(rows) == N
    assert all(CustomerState.from_bytes(d, v).space == new for v, d in rows)


def _pid(c: Any, h: dict[str, str], who: str) -> str:
    return str(c.get(f"/v1/customers/{who}", headers=h).json()["id"])


def _wait(cond: Any, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            pytest.fail("condition not reached")
        time.sleep(0.1)


def test_training_on_the_shops_events_learns_how_items_are_rebought(app_factory: Any,
                                                                     db_url: str) -> None:
    """The stored events carry a weight, not the quantity: training must still see every
    purchase occasion, or `tailor train preferences` learns no repeat rates (buy it again)."""
    from datetime import UTC, datetime, timedelta

    from preference_model import PreferenceModel

    c, h = _shop(app_factory, db_url)
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    batch = [{"event_id": f"re-{who}-{week}", "type": "purchase", "customer_id": who,
              "item_id": "c0-1", "value": 2,
              "occurred_at": (start + timedelta(weeks=3 * week)).isoformat()}
             for who in ("R-1", "R-2", "R-3") for week in range(3)]
    r = c.post("/v1/events", json={"events": batch}, headers=h)
    assert r.status_code == 200 and r.json()["accepted"] == len(batch), r.text

    model = PreferenceModel.load(_train(c)["out"])
    stats = model.population.repeat
    assert stats is not None and "c0-1" in stats.items, "no repeat statistics were learned"
    c01 = stats.items["c0-1"]
    assert c01.buyers >= 3 and c01.rate > stats.overall.rate
    assert 14 <= c01.interval_days <= 28  # re-ordered every three weeks
