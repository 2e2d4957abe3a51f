"""Next best action on a real retail log: a time-ordered replay comparing NBA with random
and popular (non-personalized) selection and with RFM segment rules, plus decision latency.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/nba.py [--data PATH] [--out FILE]

Replay (../shared/data/online_retail_dev, prices and quantities real): propensities fitted
on lines before 2011-05-01 (benchmarks/propensity.py's protocol); from then on, every
Monday each customer with a purchase before that day gets ONE action from each policy: an
item with a discount. Conversion = the customer bought that item within the next 7 days;
margin = that purchase's quantity x (unit price x (1 - discount) - unit cost).

Cost assumption (the log has no costs): unit cost = 60% of the item's reference price (its
most common unit price before 2011-05-01), i.e. a 40% gross margin at list price. Replay
assumption: the log is what customers did without our actions, so an action only "converts"
what the customer bought anyway (no causal uplift, discounts only cost margin); the NBA's
discount-response model cannot earn its keep here, so the NBA's discounts are what its
pricing picks under this neutral assumption and are charged in full.

Policies
    random     a random item among those sold in the 90 days before the decision, 10% off
    popular    the most sold item of those 90 days, 10% off
    segments   five RFM segments (champions, loyal, new, at risk, hibernating), each with one
               offer: the segment's most bought item before 2011-05-01 and a fixed discount
    nba        app/nba's expected value p(response) x margin - cost over the customer's own
               items, co-bought items and popular items; p = buy_7d propensity combined with
               the item's smoothed share of the customer's purchases; discount by
               app/nba/pricing (0-20%, margin floor 15%)
CIs: 95%, normal approximation over customers (per-customer means).

Journeys (`--journeys N`): N customers through a three-step journey (waits 5 s, 10 s, 5 s)
on a `tailor worker` process, killed with SIGKILL once 30% of the steps are done and
restarted with its executor id; lost and duplicated steps are counted from the ledger.

Latency: app/nba's NextBestAction.decide on SQLite for one customer with 50 candidate actions
(50 active offers on one channel), storage of the decision included; 300 decisions.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.propensity import DEFAULT_DATA, FIRST_CUTOFF, TEST_CUTOFF, load  # noqa: E402
from preference_model.propensity import (  # noqa: E402
    PropensityModel,
    features,
    reference_prices,
)

COST_RATE = 0.6
HORIZON = timedelta(days=7)
SEGMENT_DISCOUNT = {"champions": 0.0, "loyal": 0.05, "new": 0.10, "at_risk": 0.20,
                    "hibernating": 0.15}


def segment(f: dict[str, float]) -> str:
    if f["recency"] <= 30 and f["frequency"] >= 5:
        return "champions"
    if f["frequency"] >= 3 and f["recency"] <= 90:
        return "loyal"
    if f["frequency"] < 2 and f["recency"] <= 60:
        return "new"
    if f["recency"] <= 120:
        return "at_risk"
    return "hibernating"


def ci(values: list[float]) -> tuple[float, float, float]:
    a = np.array(values, dtype=float)
    m = float(a.mean())
    h = 1.96 * float(a.std(ddof=1)) / math.sqrt(len(a)) if len(a) > 1 else 0.0
    return m, m - h, m + h


def replay(data: Path, seed: int = 7) -> dict[str, Any]:
    from app.nba.actions import Action
    from app.nba.offer_spec import Dynamic
    from app.nba.offers import Economics
    from app.nba.pricing import choose
    from app.nba.scoring import Costs, logit, score

    rng = random.Random(seed)
    histories = load(data)
    last = max(x.at for h in histories.values() for x in h)
    ref = reference_prices(x for h in histories.values() for x in h if x.at < TEST_CUTOFF)
    econ = {i: Economics(p, COST_RATE * p) for i, p in ref.items()}
    train = {c: [x for x in h if x.at < TEST_CUTOFF] for c, h in histories.items()}
    cutoffs, c = [], FIRST_CUTOFF
    while c < TEST_CUTOFF:
        cutoffs.append(c)
        c += timedelta(days=14)
    model = PropensityModel.fit(train, cutoffs, ref, last_event=TEST_CUTOFF)
    # co-bought: items bought in the same order as an item, before the test period
    orders: dict[tuple[str, datetime], set[str]] = defaultdict(set)
    for cid, h in train.items():
        for x in h:
            orders[(cid, x.at)].add(x.item_id)
    co: dict[str, Counter[str]] = defaultdict(Counter)
    for items in orders.values():
        if len(items) <= 30:
            for a in items:
                co[a].update(i for i in items if i != a)
    seg_top: dict[str, Counter[str]] = defaultdict(Counter)
    for h in train.values():
        if h:
            seg = segment(features(h, TEST_CUTOFF, ref))
            seg_top[seg].update(x.item_id for x in h)
    dyn = Dynamic(min_percent=0, max_percent=20, step=5)
    costs = Costs(default_margin=1 - COST_RATE)

    results: dict[str, dict[str, list[float]]] = {p: defaultdict(list) for p in
                                                  ("random", "popular", "segments", "nba")}
    per_customer: dict[str, dict[str, list[float]]] = {p: defaultdict(list) for p in results}
    decisions = 0
    t = TEST_CUTOFF
    while t + HORIZON <= last:
        window = [x for h in histories.values() for x in h if t - timedelta(days=90) <= x.at < t]
        pop = Counter(x.item_id for x in window)
        pool = [i for i in pop if i in econ]
        popular = [i for i, _ in pop.most_common(200) if i in econ]
        for cid, h in histories.items():
            past = [x for x in h if x.at < t]
            if not past:
                continue
            future = [x for x in h if t <= x.at < t + HORIZON]
            bought = defaultdict(float)
            for x in future:
                bought[x.item_id] += x.quantity
            f = features(past, t, ref)
            choice: dict[str, tuple[str, float]] = {
                "random": (rng.choice(pool), 0.10),
                "popular": (popular[0], 0.10)}
            seg = segment(f)
            top = [i for i, _ in seg_top[seg].most_common(1)] or popular[:1]
            choice["segments"] = (top[0], SEGMENT_DISCOUNT[seg])
            # NBA candidates: own items, their co-bought items, popular items
            own = Counter()
            for x in past:
                own[x.item_id] += 1
            cands = [i for i, _ in own.most_common(20)]
            for i, _ in own.most_common(5):
                cands += [j for j, _ in co[i].most_common(5)]
            cands += popular[:20]
            cands = [i for i in dict.fromkeys(cands) if i in econ]
            props = {k: v.p for k, v in model.predict(f).items()}
            n_own = sum(own.values())
            best = None
            for i in cands:
                share = (own[i] + 5.0 * pop[i] / max(len(window), 1)) / (n_own + 5.0)
                a = Action(f"item:{i}", "item", "web", items=(i,),
                           affinity=logit(min(max(share, 1e-4), 0.99)))
                d, _why = choose(dyn, [econ[i]], 0.15, props, 1 - COST_RATE, f["avg_order"])
                sc = score(a.with_discount(d, {}), props, econ, f["avg_order"], 0, costs)
                if best is None or sc.ev > best[0]:
                    best = (sc.ev, i, d)
            assert best is not None
            choice["nba"] = (best[1], best[2])
            decisions += 1
            for policy, (item, d) in choice.items():
                qty = bought.get(item, 0.0)
                conv = float(qty > 0)
                margin = qty * (ref[item] * (1 - d) - COST_RATE * ref[item]) if qty else 0.0
                per_customer[policy][cid].append(conv)
                per_customer[policy][cid + "#m"].append(margin)
        t += timedelta(days=7)
    out: dict[str, Any] = {"decisions_per_policy": decisions, "cost_assumption":
                           f"unit cost = {COST_RATE:.0%} of the reference price"}
    for policy, rows in per_customer.items():
        conv = [float(np.mean(v)) for k, v in rows.items() if not k.endswith("#m")]
        marg = [float(np.sum(v)) for k, v in rows.items() if k.endswith("#m")]
        cm, cl, ch = ci(conv)
        mm, ml, mh = ci(marg)
        out[policy] = {"customers": len(conv),
                       "conversion_per_decision": [round(cm, 5), round(cl, 5), round(ch, 5)],
                       "margin_per_customer_gbp": [round(mm, 3), round(ml, 3), round(mh, 3)]}
    return out


def latency(n_offers: int = 50, runs: int = 300) -> dict[str, Any]:
    """p50/p99 of NextBestAction.decide with `n_offers` active offers, on SQLite."""
    from app.db.migrate import upgrade
    from app.db.models import Event, ItemRow, Profile
    from app.nba.engine import NextBestAction
    from app.nba.offer_spec import OfferSpec
    from app.nba.propensities import Propensities
    from app.nba.tables import OfferRow
    from app.runtime import Runtime
    from app.settings import Settings

    tmp = Path(tempfile.mkdtemp())
    settings = Settings(data_dir=tmp, database_url=f"sqlite:///{tmp / 'b.db'}",
                        search_enabled=False, env="test")
    upgrade(settings.resolved_database_url)
    rt = Runtime.build(settings)
    now = datetime(2026, 3, 2, 12, tzinfo=UTC)
    with rt.sessions() as db:
        for i in range(200):
            db.add(ItemRow(id=f"i{i}", title=f"Item {i}", category=f"c{i % 10}",
                           price=10.0 + i % 50, cost=5.0 + (i % 50) / 2))
        db.add(Profile(id="p1", kind="known"))
        db.flush()
        for n in range(100):
            db.add(Event(idempotency_key=f"e{n}", type="purchase" if n % 3 else "view",
                         profile_id="p1", item_id=f"i{n % 200}", weight=1.0, value=1.0,
                         occurred_at=now - timedelta(days=100 - n), context={}))
        for o in range(n_offers):
            spec = OfferSpec(id=f"o{o}", name=f"Offer {o}", kind="percent_discount",
                             value=5 + o % 10, items=[f"i{o}", f"i{o + 50}"],
                             margin_floor=0.0, group=f"g{o % 7}")
            db.add(OfferRow(id=spec.id, name=spec.name, kind=spec.kind, status="active",
                            spec=spec.model_dump(mode="json")))
        db.commit()
    engine = NextBestAction(settings, rt.sessions, Propensities())
    times = []
    phases: dict[str, list[float]] = defaultdict(list)
    for r in range(runs + 20):
        t0 = time.perf_counter()
        d = engine.decide("p1", ["web"], k=1, now=now, include_items=False)
        if r >= 20:
            times.append((time.perf_counter() - t0) * 1000)
            for name, ms in d["timing_ms"].items():
                phases[name].append(ms)
    assert len(d["candidates"]) == n_offers
    rt.close()
    a = np.array(times)
    return {"candidates": n_offers, "runs": runs, "p50_ms": round(float(np.percentile(a, 50)), 2),
            "p99_ms": round(float(np.percentile(a, 99)), 2),
            "phases_p50_p99_ms": {k: [round(float(np.percentile(v, 50)), 2),
                                      round(float(np.percentile(v, 99)), 2)]
                                  for k, v in phases.items()}}


def journeys(n: int, url: str | None, kill_after: float, workers: int = 1,
             max_live: int = 2000) -> dict[str, Any]:
    """`n` customers through a three-step journey with timers on `workers` `tailor worker`
    processes; runs are started in batches (run rows and workflows in one transaction per
    500); the first worker is killed with SIGKILL once `kill_after` of the steps are done
    and restarted with its id; counts lost and duplicated steps."""
    import os
    import signal
    import subprocess

    from sqlalchemy import create_engine, text

    from app.db.migrate import upgrade
    from app.db.models import Profile
    from app.jobs.engine import JobEngine
    from app.nba.journeys.service import Journeys, create
    from app.nba.journeys.spec import JourneySpec
    from app.runtime import Runtime
    from app.settings import Settings

    tmp = Path(tempfile.mkdtemp())
    url = url or f"sqlite:///{tmp / 'j.db'}"
    upgrade(url)
    settings = Settings(data_dir=tmp, database_url=url, search_enabled=False, env="test",
                        nba_quiet_start=0, nba_quiet_end=0, db_pool_size=3, db_max_overflow=0)
    rt = Runtime.build(settings)
    spec = JourneySpec.model_validate({
        "id": "bench", "name": "three steps", "trigger": {"kind": "cart_abandonment"},
        "steps": [{"wait_seconds": 5, "channel": "web", "message": "one"},
                  {"wait_seconds": 10, "channel": "web", "message": "two"},
                  {"wait_seconds": 5, "channel": "web", "message": "three"}]})
    with rt.sessions() as db:
        create(db, spec)
        for i in range(n):
            db.add(Profile(id=f"jb{i}", kind="known"))
        db.commit()
    api = JobEngine.start(url, executor_id="bench-api", listen=[],
                          modules=["app.nba.journeys.workflow"], sys_db_pool_size=4)
    env = {**os.environ, "TAILOR_DATABASE_URL": url, "TAILOR_DATA_DIR": str(tmp),
           "TAILOR_SEARCH_ENABLED": "false", "PYTHONPATH": str(ROOT), "TAILOR_LOG_JSON":
           "false", "TAILOR_NBA_QUIET_START": "0", "TAILOR_NBA_QUIET_END": "0",
           "TAILOR_LOG_LEVEL": "WARNING", "TAILOR_NBA_FADING_SCAN_CRON": "",
           # PostgreSQL's 100 connections are shared with other sessions on this machine:
           # 5 app + 8 engine connections per worker (default 10+10 and 20).
           "TAILOR_DB_POOL_SIZE": "5", "TAILOR_DB_MAX_OVERFLOW": "0",
           "TAILOR_JOBS_SYS_DB_POOL_SIZE": "8"}

    def worker(k: int) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "app.cli", "worker", "--executor-id",
                                 f"jw{k}", "--queue", "journeys"], cwd=ROOT, env=env,
                                stdout=open(tmp / f"w{k}-{time.time_ns()}.log", "wb"),  # noqa: SIM115
                                stderr=subprocess.STDOUT)

    engine = create_engine(url)

    def count(sql: str) -> int:
        with engine.connect() as conn:
            return int(conn.execute(text(sql)).scalar() or 0)

    procs = [worker(k) for k in range(workers)]
    t0 = time.perf_counter()
    starter = Journeys(rt.sessions)
    people = [(f"jb{i}", "cart") for i in range(n)]
    n_started, started, at_kill = 0, 0.0, -1
    deadline = time.monotonic() + 3600
    # Carts arrive in waves: a new batch once fewer than `max_live` runs are live (each
    # live run is a thread in a worker; thousands at once starve the connection pools).
    while time.monotonic() < deadline:
        live = count("SELECT count(*) FROM nba_journey_runs WHERE state = 'running'")
        if people and live < max_live:
            t1 = time.perf_counter()
            n_started += len(starter.start_many(spec, people[:500]))
            started += time.perf_counter() - t1
            people = people[500:]
            continue
        if at_kill < 0 and count("SELECT count(*) FROM nba_journey_steps") >= kill_after * 3 * n:
            procs[0].send_signal(signal.SIGKILL)
            procs[0].wait()
            at_kill = count("SELECT count(*) FROM nba_journey_steps")
            procs[0] = worker(0)
        if not people and count("SELECT count(*) FROM nba_journey_runs WHERE state = "
                                "'done'") >= n:
            break
        time.sleep(1)
    total = time.perf_counter() - t0
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        proc.wait()
    steps = count("SELECT count(*) FROM nba_journey_steps")
    distinct = count("SELECT count(DISTINCT run_id || ':' || step) FROM nba_journey_steps")
    done = count("SELECT count(*) FROM nba_journey_runs WHERE state = 'done'")
    touches = count("SELECT count(*) FROM nba_touches")
    api.stop()
    rt.close()
    engine.dispose()
    return {"customers": n, "database": url.split(":")[0], "runs_done": done,
            "steps_expected": 3 * n, "steps_recorded": steps, "distinct_steps": distinct,
            "touches": touches, "lost_steps": 3 * n - distinct,
            "duplicated_steps": steps - distinct, "steps_done_when_killed": at_kill,
            "workers": workers, "runs_started": n_started, "max_live_runs": max_live,
            "seconds_enqueueing": round(started, 1),
            "runs_enqueued_per_second": round(n_started / max(started, 1e-9), 1),
            "seconds_total": round(total, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--skip-replay", action="store_true")
    ap.add_argument("--skip-latency", action="store_true")
    ap.add_argument("--journeys", type=int, default=0, help="customers through a journey "
                    "with a killed worker (0: skip)")
    ap.add_argument("--journeys-db", help="database URL for the journeys run (default a "
                    "fresh SQLite file)")
    ap.add_argument("--journey-workers", type=int, default=2, help="worker processes")
    ap.add_argument("--journeys-live", type=int, default=2000, help="start new runs while "
                    "fewer than this many are live (arrivals in waves)")
    args = ap.parse_args()
    out: dict[str, Any] = {}
    if args.journeys:
        out["journeys"] = journeys(args.journeys, args.journeys_db, kill_after=0.3,
                                   workers=args.journey_workers,
                                   max_live=args.journeys_live)
    if not args.skip_replay:
        if not args.data.exists():
            sys.exit(f"no data at {args.data} (../shared/data/online_retail_dev); see --data")
        t0 = time.perf_counter()
        out["replay"] = replay(args.data)
        out["replay"]["seconds"] = round(time.perf_counter() - t0, 1)
    if not args.skip_latency:
        out["latency"] = latency()
    text = json.dumps(out, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
