"""The fading-customer trigger: a DBOS cron schedule scans churn propensities and starts the
journey once per customer per episode (until a new purchase), honouring consent."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.nba.conftest import CATALOG
from tests.nba.helpers import ADMIN, consents, events
from tests.nba.test_journeys import pid, runs, wait_for

WINBACK = {"id": "winback", "name": "Win back", "trigger": {"kind": "fading_customer",
                                                             "threshold": 0.5},
           "steps": [{"channel": "email", "message": "We miss you"}]}


def ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


def scans_done(n: int) -> Any:
    from dbos import DBOS

    from app.nba.journeys.fading import scan_fading

    name = scan_fading.dbos_function_name  # type: ignore[attr-defined]
    return lambda: len(DBOS.list_workflows(name=name, status="SUCCESS")) >= n


def test_fading_customers_enter_once_per_episode(app_factory: Any, db_url: str) -> None:
    from dbos import DBOS

    from app.nba.journeys.fading import scan_fading

    client = app_factory(db_url, nba_quiet_start=0, nba_quiet_end=0,
                         nba_fading_scan_cron="* * * * * *")  # every second
    assert client.put("/v1/items", json=CATALOG, headers=ADMIN).status_code == 200
    bad = WINBACK | {"id": "bad", "trigger": {"kind": "fading_customer"}}
    assert client.post("/v1/journeys", json=bad, headers=ADMIN).status_code == 422
    assert client.post("/v1/journeys", json=WINBACK, headers=ADMIN).status_code == 201
    for who in ("gone", "no-mail"):  # bought twice long ago
        events(client, who, {"type": "purchase", "item_id": "shoe-1", "occurred_at": ago(300)},
               {"type": "purchase", "item_id": "sock-1", "occurred_at": ago(250)})
    events(client, "loyal", *[{"type": "purchase", "item_id": "sock-1",
                               "occurred_at": ago(d)} for d in (40, 25, 12, 5, 1)])
    for who in ("gone", "loyal"):
        consents(client, who, marketing=True)
    ids = {who: pid(client, who) for who in ("gone", "no-mail", "loyal")}
    props = {who: client.get(f"/v1/customers/{who}/propensities", headers=ADMIN).json()[
        "propensities"]["churn"]["p"] for who in ids}
    assert props["gone"] >= 0.5 > props["loyal"], props
    assert DBOS.get_schedule("nba-fading-scan") is not None
    name = scan_fading.dbos_function_name  # type: ignore[attr-defined]
    done_before = len(DBOS.list_workflows(name=name, status="SUCCESS"))
    wait_for(lambda: runs(client, "winback").get(ids["gone"], {}).get("state") == "done",
             "the fading customer's run")
    wait_for(scans_done(done_before + 3), "three more scans")  # same episode: no new run
    state = runs(client, "winback")
    assert set(state) == {ids["gone"]}, state  # no marketing consent / not fading: none
    assert state[ids["gone"]]["detail"] == "step 1 sent"
    # A purchase ends the episode; fading again (still long ago) is a new one.
    events(client, "gone", {"type": "purchase", "item_id": "sock-1", "occurred_at": ago(200)})
    time.sleep(0.1)
    wait_for(lambda: len(client.get("/v1/journeys/winback/runs", headers=ADMIN).json()[
        "runs"]) == 2, "a second episode's run")
    wait_for(lambda: all(r["state"] == "done" for r in client.get(
        "/v1/journeys/winback/runs", headers=ADMIN).json()["runs"]), "both runs to end")
