"""Experiments: stable hashed assignment, exposure logging, SRM, CUPED, sequential CIs,
chance to win, Thompson allocation, NBA holdouts, the results page."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from app.nba import stats
from app.nba.experiments import HOLDOUT, ExperimentSpec, bucket
from tests.nba.helpers import ADMIN, events, nba, offer
from tests.nba.test_decisions import buyer

SPEC = {"id": "e1", "name": "test", "arms": [{"name": "control"}, {"name": "b"},
                                             {"name": "c", "weight": 2}], "holdout": 0.1}


def test_assignment_is_deterministic_and_follows_weights() -> None:
    spec = ExperimentSpec.model_validate(SPEC)
    ids = [f"p_{i}" for i in range(20_000)]
    first = [bucket(spec, i) for i in ids]
    assert first == [bucket(ExperimentSpec.model_validate(SPEC), i) for i in ids]
    share = {k: v / len(ids) for k, v in Counter(first).items()}
    assert abs(share[HOLDOUT] - 0.10) < 0.01
    assert abs(share["c"] - 0.45) < 0.015 and abs(share["b"] - 0.225) < 0.015
    salted = ExperimentSpec.model_validate(SPEC | {"salt": "v2"})
    moved = sum(a != bucket(salted, i) for a, i in zip(first, ids, strict=True))
    assert moved > 0.4 * len(ids)  # a new salt re-randomizes


def test_srm_cuped_sequential_and_chance_to_win() -> None:
    assert stats.srm({"a": 5000, "b": 5050}, {"a": 1, "b": 1})["mismatch"] is False
    assert stats.srm({"a": 5000, "b": 5400}, {"a": 1, "b": 1})["mismatch"] is True
    rng = np.random.default_rng(1)
    pre_c, pre_t = rng.gamma(2, 20, 4000), rng.gamma(2, 20, 4000)
    y_c = pre_c * 0.8 + rng.normal(0, 10, 4000)
    y_t = pre_t * 0.8 + rng.normal(0, 10, 4000) + 2.0
    raw = stats.compare(y_t, y_c)
    (adj_c, adj_t), theta = stats.cuped([y_c, y_t], [pre_c, pre_t])
    cup = stats.compare(adj_t, adj_c)
    assert 0.7 < theta < 0.9
    assert (cup.ci[1] - cup.ci[0]) < 0.5 * (raw.ci[1] - raw.ci[0])
    assert cup.ci[0] < 2.0 < cup.ci[1] and cup.p_value < 1e-6
    assert (cup.sequential_ci[1] - cup.sequential_ci[0]) > (cup.ci[1] - cup.ci[0])
    win = stats.chance_to_win("conversion", {"a": np.r_[np.ones(30), np.zeros(70)],
                                             "b": np.r_[np.ones(45), np.zeros(55)]})
    assert win["b"] > 0.95 and abs(sum(win.values()) - 1) < 1e-9


def test_api_exposures_results_and_page(shop: Any) -> None:
    r = shop.post("/v1/experiments", json=SPEC | {"holdout": 0.0}, headers=ADMIN)
    assert r.status_code == 201, r.text
    assert shop.post("/v1/experiments", json=SPEC, headers=ADMIN).status_code == 409
    bad = SPEC | {"arms": [{"name": "a"}, {"name": "a"}]}
    assert shop.post("/v1/experiments", json=bad | {"id": "e2"}, headers=ADMIN
                     ).status_code == 422
    arms = {}
    for n in range(60):
        who = f"x{n}"
        events(shop, who, {"type": "view", "item_id": "sock-1",
                           "occurred_at": "2026-03-01T10:00:00Z"})
        r = shop.post("/v1/experiments/e1/exposures",
                      json={"customer_id": who, "at": "2026-03-02T10:00:00Z"}, headers=ADMIN)
        assert r.status_code == 200 and r.json()["first_exposure"]
        arms[who] = r.json()["arm"]
        again = shop.post("/v1/experiments/e1/exposures", json={"customer_id": who},
                          headers=ADMIN).json()
        assert again["arm"] == arms[who] and not again["first_exposure"]
        if arms[who] == "c":  # only arm c converts
            events(shop, who, {"type": "purchase", "item_id": "shoe-2",
                               "occurred_at": "2026-03-03T10:00:00Z"})
    res = shop.get("/v1/experiments/e1/results", headers=ADMIN).json()
    counts = Counter(arms.values())
    assert {a: res["arms"][a]["n"] for a in counts} == dict(counts)
    c = res["arms"]["c"]
    assert c["conversion"]["mean"] == 1.0 and res["arms"]["b"]["conversion"]["mean"] == 0.0
    assert c["revenue"]["mean"] == 80.0
    assert c["conversion"]["chance_to_win"] > 0.99
    assert c["conversion"]["vs_control_cuped"]["ci95"][0] > 0
    assert "p_value" in res["srm"]
    assert shop.post("/v1/experiments/nope/exposures", json={"customer_id": "x1"},
                     headers=ADMIN).status_code == 404
    page = shop.get("/v1/experiments/e1/page")
    assert page.status_code == 200 and '"e1"' in page.text and "<svg" in page.text
    assert "<script>alert" not in shop.get("/v1/experiments/%3Cscript%3Ealert(1)/page").text


def test_nba_holdout_gets_no_action(shop: Any) -> None:
    spec = {"id": "hold", "name": "NBA vs none", "applies_to": "nba",
            "arms": [{"name": "none", "payload": {"policy": "none"}},
                     {"name": "nba", "payload": {"policy": "nba"}}]}
    assert shop.post("/v1/experiments", json=spec, headers=ADMIN).status_code == 201
    offer(shop, id="o1", items=["shoe-2"])
    seen = set()
    for n in range(12):
        who = f"h{n}"
        buyer(shop, who)
        d = nba(shop, who, at="2026-03-02T12:00:00Z", include_items=False)
        arm = d["context"]["experiments"][0]["arm"]
        seen.add(arm)
        if arm == "none":
            assert d["chosen"] == []
            assert "gets no action" in d["candidates"][0]["reason"]
        else:
            assert d["chosen"][0]["key"] == "offer:o1"
    assert seen == {"none", "nba"}


def test_thompson_moves_traffic_to_the_winner(shop: Any) -> None:
    spec = {"id": "ts", "name": "bandit", "allocation": "thompson",
            "arms": [{"name": "a"}, {"name": "b"}]}
    assert shop.post("/v1/experiments", json=spec, headers=ADMIN).status_code == 201
    for n in range(40):
        who = f"t{n}"
        events(shop, who, {"type": "view", "item_id": "sock-1"})
        arm = shop.post("/v1/experiments/ts/exposures", json={"customer_id": who},
                        headers=ADMIN).json()["arm"]
        if arm == "b":
            events(shop, who, {"type": "purchase", "item_id": "sock-1"})
    later = Counter()
    for n in range(40, 80):
        who = f"t{n}"
        events(shop, who, {"type": "view", "item_id": "sock-1"})
        later[shop.post("/v1/experiments/ts/exposures", json={"customer_id": who},
                        headers=ADMIN).json()["arm"]] += 1
    assert later["b"] > 30
    assert shop.get("/v1/experiments/ts/results", headers=ADMIN).json()["srm"]["skipped"]
