"""Experiments: define, expose (assign + log), results with CIs, a results page."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import select

from app.api.deps import SessionDep, require
from app.nba import experiments
from app.nba.experiments import ExperimentSpec
from app.nba.tables import ExperimentRow
from app.services import identity

router = APIRouter(tags=["experiments"])
WRITE = require("marketer", "admin")
READ = require("marketer", "developer", "admin")
PAGE = Path(__file__).resolve().parents[2] / "web" / "experiment.html"


class ExperimentOut(BaseModel):
    id: str
    name: str
    status: str
    spec: dict[str, Any]
    created_at: datetime


def _out(row: ExperimentRow) -> ExperimentOut:
    return ExperimentOut(id=row.id, name=row.name, status=row.status, spec=row.spec,
                         created_at=row.created_at)


@router.post("/experiments", response_model=ExperimentOut, status_code=201,
             dependencies=[WRITE], summary="Start an A/B/n test (optionally with a holdout)")
def create_experiment(body: ExperimentSpec, db: SessionDep) -> ExperimentOut:
    row = experiments.create(db, body)
    db.commit()
    return _out(row)


@router.get("/experiments", response_model=list[ExperimentOut], dependencies=[READ])
def list_experiments(db: SessionDep) -> list[ExperimentOut]:
    return [_out(r) for r in db.scalars(select(ExperimentRow).order_by(ExperimentRow.id))]


@router.get("/experiments/{exp_id}", response_model=ExperimentOut, dependencies=[READ])
def get_experiment(exp_id: str, db: SessionDep) -> ExperimentOut:
    return _out(experiments.get(db, exp_id)[0])


class ExposeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customer_id: str = Field(min_length=1, max_length=128)
    at: AwareDatetime | None = None


@router.post("/experiments/{exp_id}/exposures", dependencies=[READ],
             summary="Assign a customer (deterministic) and log the exposure")
def expose(exp_id: str, body: ExposeIn, db: SessionDep) -> dict[str, Any]:
    experiments.get(db, exp_id)  # 404 first
    profile = identity.resolve(db, body.customer_id)
    arm, first = experiments.expose(db, exp_id, profile, body.at)
    db.commit()
    return {"experiment": exp_id, "customer_id": identity.root_of(db, profile).id,
            "arm": arm, "first_exposure": first}


@router.get("/experiments/{exp_id}/results", dependencies=[READ],
            summary="Lift with CIs (CUPED, sequential), chance to win, SRM, guardrails")
def results(exp_id: str, db: SessionDep) -> dict[str, Any]:
    return experiments.results(db, exp_id)


@router.post("/experiments/{exp_id}/stop", response_model=ExperimentOut, dependencies=[WRITE])
def stop(exp_id: str, db: SessionDep) -> ExperimentOut:
    row = experiments.set_status(db, exp_id, "stopped")
    db.commit()
    return _out(row)


@router.get("/experiments/{exp_id}/page", response_class=HTMLResponse, include_in_schema=False)
def page(exp_id: str) -> HTMLResponse:
    """The results page: static; its script asks for a key and fetches the results."""
    safe = json.dumps(exp_id).replace("<", "\\u003c").replace(">", "\\u003e")
    return HTMLResponse(PAGE.read_text().replace('"{{EXPERIMENT_ID}}"', safe))
