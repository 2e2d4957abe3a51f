"""Erasure and export reach the NBA tables (decisions, touches, assignments)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from tests.nba.helpers import ADMIN, nba, offer
from tests.nba.test_decisions import buyer


def test_erasure_and_export_cover_nba_rows(shop: Any) -> None:
    from app.nba.tables import AssignmentRow, DecisionRow, TouchRow

    spec = {"id": "x", "name": "x", "applies_to": "nba",
            "arms": [{"name": "a"}, {"name": "b"}]}
    assert shop.post("/v1/experiments", json=spec, headers=ADMIN).status_code == 201
    buyer(shop, "gone")
    buyer(shop, "kept")
    offer(shop, id="o1", items=["shoe-2"])
    for who in ("gone", "kept"):
        nba(shop, who, at="2026-03-02T12:00:00Z", deliver=True, include_items=False)
    export = shop.get("/v1/customers/gone/export", headers=ADMIN).json()
    assert len(export["nba_decisions"]) == 1 and len(export["nba_touches"]) == 1
    assert len(export["nba_assignments"]) == 1
    r = shop.delete("/v1/customers/gone", headers=ADMIN)
    assert r.status_code == 200, r.text
    rows = r.json()["rows"]
    assert rows["nba_decisions"] == 1 and rows["nba_touches"] == 1
    assert rows["nba_assignments"] == 1
    rt = shop.app.state.runtime
    with rt.sessions() as db:
        for table in (DecisionRow, TouchRow, AssignmentRow):
            assert db.scalar(select(func.count()).select_from(table)) == 1  # "kept" only
