"""Recommendations and the preference view through the API, consent, corrections, erasure,
and two real server processes sharing customer state."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import ADMIN_KEY, auth, new_key

ROOT = Path(__file__).resolve().parents[2]


def catalog() -> list[dict[str, Any]]:
    kinds = [("Footwear > Running", "running shoe", "mesh"),
             ("Home > Kitchen", "kitchen knife", "steel"),
             ("Apparel > Women", "linen dress", "linen")]
    items = []
    for c, (cat, noun, material) in enumerate(kinds):
        for i in range(10):
            items.append({"id": f"c{c}-{i}", "title": f"{noun.title()} model {i}",
                          "category": cat, "brand": f"Brand{c}", "price": 20 + i, "stock": 5,
                          "attributes": {"material": [material],
                                         "color": ["red" if i % 2 else "blue"]}})
    return items


@pytest.fixture
def client(app_factory: Any, db_url: str) -> Any:
    c = app_factory(db_url, search_enabled=True, chat_enabled=False, exploration=0.0)
    c.dev = new_key(c, "developer")  # type: ignore[attr-defined]
    assert c.put("/v1/items", json=catalog(), headers=auth(c.dev)).status_code == 200
    c.app.state.runtime.search.wait_ready()
    return c


def recs(c: Any, who: str, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    r = c.get(f"/v1/customers/{who}/recommendations", params={"k": 10, **params},
              headers=headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


def events(c: Any, who: str, items: list[str], type_: str = "purchase",
           prefix: str = "e") -> None:
    batch = [{"event_id": f"{prefix}-{who}-{i}", "type": type_, "customer_id": who,
              "item_id": item} for i, item in enumerate(items)]
    r = c.post("/v1/events", json={"events": batch}, headers=auth(c.dev))
    assert r.status_code == 200, r.text


def share(result: dict[str, Any], prefix: str) -> float:
    ids = [i["item_id"] for i in result["items"]]
    return sum(i.startswith(prefix) for i in ids) / len(ids)


def test_events_change_recommendations_with_reasons(client: Any) -> None:
    c, h = client, auth(client.dev)
    c.post("/v1/identify", headers=h, json={"customer_id": "C-1"})
    before = recs(c, "C-1", h)
    events(c, "C-1", [f"c2-{i}" for i in range(5)])
    after = recs(c, "C-1", h)
    assert after["personalized"] and share(after, "c2-") > share(before, "c2-")
    assert share(after, "c2-") >= 0.5
    top = after["items"][0]
    assert top["reasons"] and all(r["text"] for r in top["reasons"])
    assert 0 <= top["score"] <= 1 and top["uncertainty"] >= 0


def test_category_filter_context_and_bad_parameters(client: Any) -> None:
    c, h = client, auth(client.dev)
    c.post("/v1/identify", headers=h, json={"customer_id": "C-2"})
    r = recs(c, "C-2", h, category="Home", device="mobile",
             local_time="2026-11-23T19:05:00+01:00")
    assert {i["item_id"][:2] for i in r["items"]} == {"c1"}
    for params in [{"k": 0}, {"k": 101}, {"device": "toaster"}, {"min_price": -1},
                   {"require": "x", "exclude": "x"}, {"role": "boss"}]:
        bad = c.get("/v1/customers/C-2/recommendations", params=params, headers=h)
        assert bad.status_code == 422, (params, bad.text)
    assert c.get("/v1/customers/nobody/recommendations", headers=h).status_code == 404


def test_no_consent_means_a_labelled_non_personal_list(client: Any) -> None:
    c, h = client, auth(client.dev)
    c.post("/v1/identify", headers=h, json={"customer_id": "C-3"})
    c.put("/v1/customers/C-3/consents", headers=h, json={"personalization": False})
    events(c, "C-3", [f"c2-{i}" for i in range(5)])
    r = recs(c, "C-3", h)
    assert not r["personalized"] and "consent" in r["note"]
    assert all(not i["reasons"] for i in r["items"])
    prefs = c.get("/v1/customers/C-3/preferences", headers=h).json()
    assert not prefs["exists"] and prefs["n_signals"] == 0  # nothing was learned
    assert prefs["customer_id"] == "C-3"  # the shop's id, never the internal profile id
    assert c.patch("/v1/customers/C-3/preferences", headers=h,
                   json={"set": [{"attribute": "color=red", "value": 1}]}).status_code == 403


def test_anonymous_visitor_gets_recommendations_via_widget(client: Any) -> None:
    c = client
    widget = new_key(c, "widget")
    s = c.post("/v1/widget/session", headers=auth(widget)).json()
    wh = {**auth(widget), "X-Visitor-Token": s["visitor_token"]}
    r = recs(c, s["visitor_id"], wh)
    assert len(r["items"]) == 10
    assert c.get("/v1/customers/someone-else/recommendations", headers=wh).status_code == 403


def test_preference_view_stated_vs_inferred_and_corrections(client: Any) -> None:
    c, h = client, auth(client.dev)
    c.post("/v1/identify", headers=h, json={"customer_id": "C-4"})
    events(c, "C-4", [f"c0-{i}" for i in range(6)], prefix="p")
    view = c.get("/v1/customers/C-4/preferences", headers=h).json()
    assert view["exists"] and view["n_signals"] >= 6
    inferred = {p["attribute"] for p in view["inferred"]}
    assert "material=mesh" in inferred
    p = next(p for p in view["inferred"] if p["attribute"] == "material=mesh")
    assert p["kind"] == "inferred" and p["confidence"] > 0 and p["source"] and p["at"]
    # State a preference, delete the inferred one: obeyed from the next request on.
    r = c.patch("/v1/customers/C-4/preferences", headers=h, json={
        "set": [{"attribute": "material=linen", "value": 1}], "delete": ["material=mesh"]})
    assert r.status_code == 200, r.text
    view = r.json()
    assert {p["attribute"] for p in view["stated"]} == {"material=linen"}
    assert "material=mesh" in view["suppressed"]
    assert "material=mesh" not in {p["attribute"] for p in view["inferred"]}
    after = recs(c, "C-4", h)
    assert share(after, "c2-") > share(after, "c0-")
    for body in [{}, {"set": [{"attribute": "nonsense", "value": 1}]},
                 {"set": [{"attribute": "color=red", "value": 7}]}, {"colour": 1}]:
        assert c.patch("/v1/customers/C-4/preferences", headers=h,
                       json=body).status_code == 422, body


def test_purchases_for_a_child_shape_a_recipient_profile(client: Any) -> None:
    c, h = client, auth(client.dev)
    c.post("/v1/identify", headers=h, json={"customer_id": "C-5"})
    events(c, "C-5", [f"c0-{i}" for i in range(5)], prefix="self")
    batch = [{"event_id": f"kid-{i}", "type": "purchase", "customer_id": "C-5",
              "item_id": f"c1-{i}", "role": "child"} for i in range(5)]
    c.post("/v1/events", json={"events": batch}, headers=h)
    own = recs(c, "C-5", h)
    kid = recs(c, "C-5", h, role="child")
    assert share(own, "c0-") > share(own, "c1-")
    assert share(kid, "c1-") > share(own, "c1-")
    view = c.get("/v1/customers/C-5/preferences", headers=h).json()
    assert "child" in view["recipients"]


def test_erasure_removes_the_model_state(client: Any) -> None:
    c, h = client, auth(client.dev)
    c.post("/v1/identify", headers=h, json={"customer_id": "C-6"})
    events(c, "C-6", [f"c2-{i}" for i in range(3)])
    pid = c.get("/v1/customers/C-6", headers=h).json()["id"]
    prefs = c.app.state.runtime.prefs
    assert prefs.model.state(pid) is not None
    assert c.delete("/v1/customers/C-6", headers=h).status_code == 200
    assert prefs.model.state(pid) is None


def test_search_is_reranked_for_a_consenting_customer(client: Any) -> None:
    c, h = client, auth(client.dev)
    c.post("/v1/identify", headers=h, json={"customer_id": "C-7"})
    events(c, "C-7", ["c0-1", "c0-3", "c0-5"])  # red running shoes
    r = c.get("/v1/search", params={"q": "running shoe", "k": 4, "customer_id": "C-7"},
              headers=h).json()
    assert r["personalized"]
    assert {h["item_id"] for h in r["hits"][:2]} <= {"c0-1", "c0-3", "c0-5", "c0-7", "c0-9"}


# -- two worker processes ---------------------------------------------------------------------
def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server(url: str, data_dir: Path, *, workers: int = 1,
            extra: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], str]:
    port = _port()
    env = {**os.environ, "TAILOR_DATABASE_URL": url, "TAILOR_DATA_DIR": str(data_dir),
           "TAILOR_BOOTSTRAP_ADMIN_KEY": ADMIN_KEY, "TAILOR_RATE_LIMIT_ENABLED": "false",
           "TAILOR_CHAT_ENABLED": "false", "TAILOR_EXPLORATION": "0",
           "TAILOR_LOG_LEVEL": "WARNING", **(extra or {})}
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port),
                             "--workers", str(workers)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    return proc, f"http://127.0.0.1:{port}"


def _wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float = 240) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, f"server {base} exited with {proc.returncode}"
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{base} not ready")


def test_a_click_on_one_worker_changes_what_another_recommends(pg_database: str,
                                                                tmp_path: Path) -> None:
    from tests.conftest import _truncate_pg

    _truncate_pg(pg_database)
    h = auth(ADMIN_KEY)
    a, base_a = _server(pg_database, tmp_path / "a")
    b, base_b = _server(pg_database, tmp_path / "b")
    try:
        _wait_ready(base_a, a)
        assert httpx.put(f"{base_a}/v1/items", json=catalog(), headers=h,
                         timeout=60).status_code == 200
        _wait_ready(base_b, b)
        deadline = time.time() + 30  # b learns the catalog through the outbox
        while time.time() < deadline:
            r = httpx.get(f"{base_b}/v1/items/c2-0/similar", timeout=10)
            if r.status_code == 200:
                break
            time.sleep(0.3)
        httpx.post(f"{base_a}/v1/identify", headers=h, json={"customer_id": "W-1"})
        first = httpx.get(f"{base_b}/v1/customers/W-1/recommendations",
                          params={"k": 10}, headers=h).json()
        batch = [{"event_id": f"w-{i}", "type": "purchase", "customer_id": "W-1",
                  "item_id": f"c1-{i}"} for i in range(5)]
        r = httpx.post(f"{base_a}/v1/events", json={"events": batch}, headers=h)
        assert r.status_code == 200 and r.json()["accepted"] == 5
        second = httpx.get(f"{base_b}/v1/customers/W-1/recommendations",
                           params={"k": 10}, headers=h).json()
        assert share(second, "c1-") > share(first, "c1-"), (first, second)
        assert json.dumps(second).count("c1-") >= 5
    finally:
        for p in (a, b):
            p.terminate()
            p.wait(15)


def test_train_preferences_cli_and_workers_load_the_prior(tmp_path: Path, app_factory: Any,
                                                          sqlite_url: str) -> None:
    c = app_factory(sqlite_url, search_enabled=True, chat_enabled=False)
    dev = new_key(c, "developer")
    c.put("/v1/items", json=catalog(), headers=auth(dev))
    batch = [{"event_id": f"hist-{u}-{i}", "type": "purchase", "customer_id": f"H-{u}",
              "item_id": f"c{u % 3}-{(u + i) % 10}"} for u in range(30) for i in range(4)]
    assert c.post("/v1/events", json={"events": batch}, headers=auth(dev)).status_code == 200
    data_dir = c.app.state.settings.data_dir
    env = {**os.environ, "TAILOR_DATABASE_URL": sqlite_url, "TAILOR_DATA_DIR": str(data_dir)}
    out = subprocess.run([sys.executable, "-m", "app.cli", "train", "preferences",
                          "--epochs", "3", "--dim", "8", "--cohorts", "3", "--threads", "1"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "trained on 120 interactions of 30 customers" in out.stdout
    assert (data_dir / "preferences" / "meta.json").exists()
    again = app_factory(sqlite_url, search_enabled=True, chat_enabled=False)
    again.app.state.runtime.search.wait_ready()
    model = again.app.state.runtime.prefs.model
    assert model.population is not None and model.population.pretrained
    assert model.population.cohorts is not None and len(model.population.cohorts) == 3
    bad = subprocess.run([sys.executable, "-m", "app.cli", "train", "preferences", "--events",
                          str(tmp_path / "missing.jsonl")], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2


def test_large_batches_are_learned_in_the_background(client: Any) -> None:
    c, h = client, auth(client.dev)
    people = [f"B-{n}" for n in range(12)]
    c.post("/v1/identify", headers=h, json={"customer_id": "B-0"})
    assert c.put("/v1/customers/B-0/consents", headers=h,
                 json={"personalization": False}).status_code == 200
    batch = [{"event_id": f"bulk-{p}-{i}", "type": "purchase", "customer_id": p,
              "item_id": f"c1-{i}"} for p in people for i in range(6)]
    r = c.post("/v1/events", json={"events": batch}, headers=h)
    assert r.status_code == 200 and r.json()["accepted"] == 72
    prefs = c.app.state.runtime.prefs
    prefs.flush()
    for p in people:
        pid = c.get(f"/v1/customers/{p}", headers=h).json()["id"]
        state = prefs.model.state(pid)
        if p == "B-0":
            assert state is None  # no consent, nothing learned
        else:
            assert state is not None and state.n_signals == 6


def test_novelty_setting_reaches_the_ranking(app_factory: Any, sqlite_url: str) -> None:
    c = app_factory(sqlite_url, search_enabled=True, chat_enabled=False, novelty=1.5)
    model = c.app.state.runtime.prefs.model
    assert model.config.novelty == 1.5
    from pydantic import ValidationError

    from app.settings import Settings

    with pytest.raises(ValidationError, match="novelty"):
        Settings(novelty=-1)


# -- learning is durable: events the learner could not take are retried from the database ----
def _pending(c: Any) -> int:
    from sqlalchemy import func, select

    from app.db.models import LearnPending

    with c.app.state.runtime.sessions() as db:
        return int(db.scalar(select(func.count()).select_from(LearnPending)) or 0)


def _wait_for(check: Any, what: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while not check():
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_events_sent_before_the_model_has_items_are_learned_once_it_has(
        app_factory: Any, db_url: str) -> None:
    # The learner starts on an empty catalog; another worker (no index) fills it, and this
    # one's index only hears of it at its next follow (a long poll keeps that window open).
    learner = app_factory(db_url, search_enabled=True, chat_enabled=False,
                          index_poll_seconds=60, learn_retry_seconds=0.2)
    search = learner.app.state.runtime.search
    search.wait_ready()
    prefs = learner.app.state.runtime.prefs
    assert prefs.model.items is None
    other = app_factory(db_url)
    dev = new_key(other, "developer")
    assert other.put("/v1/items", json=catalog(), headers=auth(dev)).status_code == 200
    order = [f"c2-{i}" for i in (3, 1, 4, 0, 2)]
    batch = [{"event_id": f"early-{i}", "type": "purchase", "customer_id": "E-1",
              "item_id": item} for i, item in enumerate(order)]
    r = learner.post("/v1/events", json={"events": batch}, headers=auth(dev))
    assert r.status_code == 200 and r.json()["accepted"] == 5
    pid = learner.get("/v1/customers/E-1", headers=auth(dev)).json()["id"]
    assert prefs.model.state(pid) is None and _pending(learner) == 5
    search.follow()  # the catalog reaches this worker's index and model
    _wait_for(lambda: _pending(learner) == 0, "the retry")
    state = prefs.model.state(pid)
    assert state is not None and state.own.n_signals == 5
    assert [h.item_id for h in state.history] == order  # in the order they were sent


def test_events_whose_state_save_failed_are_learned_later_exactly_once(
        app_factory: Any, db_url: str) -> None:
    from sqlalchemy.exc import OperationalError

    c = app_factory(db_url, search_enabled=True, chat_enabled=False, learn_lease_seconds=1,
                    learn_retry_seconds=0.2)
    h = auth(new_key(c, "developer"))
    assert c.put("/v1/items", json=catalog(), headers=h).status_code == 200
    c.app.state.runtime.search.wait_ready()
    prefs = c.app.state.runtime.prefs
    store = prefs.model.store
    real_save, failures = store.save, []

    def outage(*args: Any, **kwargs: Any) -> int:
        failures.append(args[0])
        raise OperationalError("UPDATE customer_states", {}, Exception("server closed the "
                                                                        "connection"))

    store.save = outage  # the database goes away between the events and the state
    try:
        batch = [{"event_id": f"out-{i}", "type": "purchase", "customer_id": "O-1",
                  "item_id": f"c1-{i}"} for i in range(4)]
        r = c.post("/v1/events", json={"events": batch}, headers=h)
        assert r.status_code == 200 and r.json()["accepted"] == 4  # stored, acknowledged
        assert failures and _pending(c) == 4
        pid = c.get("/v1/customers/O-1", headers=h).json()["id"]
        assert prefs.model.state(pid) is None
        deadline = time.time() + 60
        with pytest.raises(OperationalError):  # still down: the retry keeps them
            while prefs.retry_pending() == 0:
                assert time.time() < deadline, "the retry never took the events"
                time.sleep(0.1)
        assert _pending(c) == 4
    finally:
        store.save = real_save
    _wait_for(lambda: _pending(c) == 0, "the retry")  # after the lease, any worker's retry
    state = prefs.model.state(pid)
    assert state is not None and state.own.n_signals == 4
    assert prefs.retry_pending() == 0
    assert prefs.model.state(pid).own.n_signals == 4  # type: ignore[union-attr]


def test_two_learners_learn_each_pending_event_exactly_once(client: Any) -> None:
    """Two workers' learners (separate models and caches, one database) retry the same
    backlog at once: every event lands in its customer's state once."""
    import threading

    from app.services.personalization import Personalization

    c, h = client, auth(client.dev)
    runtime = c.app.state.runtime
    first = runtime.prefs
    first.ready.clear()  # this worker is "starting": it leaves everything to the retry
    people = [f"T-{n}" for n in range(6)]
    batch = [{"event_id": f"two-{p}-{i}", "type": "click", "customer_id": p,
              "item_id": f"c0-{i}"} for p in people for i in range(5)]
    assert c.post("/v1/events", json={"events": batch}, headers=h).json()["accepted"] == 30
    assert _pending(c) == 30
    second = Personalization(runtime.settings, runtime.sessions)
    second.attach(runtime.search.require())
    first.attach(runtime.search.require())
    done = threading.Barrier(2)

    def drain(learner: Any) -> None:
        done.wait()
        while learner.retry_pending(limit=4):
            pass

    threads = [threading.Thread(target=drain, args=(p,)) for p in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    second.close()
    _wait_for(lambda: _pending(c) == 0, "both learners")
    for p in people:
        pid = c.get(f"/v1/customers/{p}", headers=h).json()["id"]
        assert second.model.state(pid).own.n_signals == 5, p  # type: ignore[union-attr]


def test_only_events_that_teach_wait_in_the_outbox(client: Any) -> None:
    c, h = client, auth(client.dev)
    prefs = c.app.state.runtime.prefs
    prefs.ready.clear()  # nothing is learned inline: what is stored is what waits
    batch = [{"event_id": f"imp-{i}", "type": "impression", "customer_id": "I-1",
              "item_id": f"c0-{i}"} for i in range(3)]
    batch.append({"event_id": "clk-0", "type": "click", "customer_id": "I-1",
                  "item_id": "c0-0"})
    assert c.post("/v1/events", json={"events": batch}, headers=h).json()["accepted"] == 4
    assert _pending(c) == 1
    prefs.attach(c.app.state.runtime.search.require())
    _wait_for(lambda: _pending(c) == 0, "the retry")


def test_erasure_takes_the_customers_unlearned_events_with_it(client: Any) -> None:
    c, h = client, auth(client.dev)
    prefs = c.app.state.runtime.prefs
    prefs.ready.clear()
    events(c, "X-1", [f"c2-{i}" for i in range(3)])
    events(c, "X-2", [f"c1-{i}" for i in range(2)])
    assert _pending(c) == 5
    pid = c.get("/v1/customers/X-1", headers=h).json()["id"]
    assert c.delete("/v1/customers/X-1", headers=h).status_code == 200
    assert _pending(c) == 2  # the outbox rows went with the events
    prefs.attach(c.app.state.runtime.search.require())
    _wait_for(lambda: _pending(c) == 0, "the retry")
    assert prefs.model.state(pid) is None
