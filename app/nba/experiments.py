"""Experiments: A/B/n tests with an optional holdout, deterministic assignment by hashed
customer id, exposure logging (first exposure = the assignment row, later ones counted),
and results: conversion and revenue per exposed customer after exposure, lift with CIs
(CUPED on the 30 days before exposure, plus an always-valid sequential CI), Bayesian
chance to win, a sample-ratio-mismatch check, guardrails (dismiss rate); optional Thompson
allocation (new customers are split by the arms' current chance to win)."""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db.models import Event, ItemRow, Profile
from app.errors import Conflict, InvalidInput, NotFound
from app.nba import cache, stats
from app.nba.tables import AssignmentRow, ExperimentRow
from app.services.identity import cluster_ids, root_of

HOLDOUT = "holdout"


class Arm(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    weight: float = Field(1.0, gt=0)
    payload: dict[str, Any] = Field(default_factory=dict, description="What the arm shows; "
                                    'for NBA experiments {"policy": "nba" | "none"}')


class ExperimentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "id": "nba-vs-none", "name": "NBA vs nothing", "arms": [
            {"name": "control", "payload": {"policy": "none"}},
            {"name": "nba", "payload": {"policy": "nba"}}],
        "holdout": 0.05, "applies_to": "nba"}]})

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    name: str = Field(min_length=1, max_length=200)
    arms: list[Arm] = Field(min_length=2, max_length=10, description="The first is control.")
    holdout: float = Field(0.0, ge=0, lt=0.5, description="Share kept out of every action.")
    allocation: Literal["fixed", "thompson"] = "fixed"
    applies_to: Literal["nba", "custom"] = "custom"
    window_days: float = Field(14.0, gt=0, le=365, description="Outcomes counted this long "
                               "after a customer's first exposure")
    min_effect: float = Field(0.1, gt=0, le=10, description="Relative effect the sequential "
                              "CI is tuned for (mixture scale)")
    salt: str = Field("", max_length=40, description="Change to re-randomize.")

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        names = [a.name for a in self.arms]
        if len(set(names)) != len(names):
            raise ValueError("arm names must be distinct")
        if HOLDOUT in names:
            raise ValueError(f"{HOLDOUT!r} is reserved for the holdout group")
        return self


def _unit(*parts: str) -> float:
    digest = hashlib.sha256(":".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2 ** 64


def bucket(spec: ExperimentSpec, subject: str, weights: dict[str, float] | None = None) -> str:
    """Deterministic: the same subject always lands in the same arm for the same weights."""
    if spec.holdout and _unit(spec.id, spec.salt, "holdout", subject) < spec.holdout:
        return HOLDOUT
    w = weights or {a.name: a.weight for a in spec.arms}
    total = sum(w.values())
    u = _unit(spec.id, spec.salt, "arm", subject) * total
    acc = 0.0
    for arm in spec.arms:
        acc += w.get(arm.name, 0.0)
        if u < acc:
            return arm.name
    return spec.arms[-1].name


def get(db: Session, exp_id: str) -> tuple[ExperimentRow, ExperimentSpec]:
    row = db.get(ExperimentRow, exp_id)
    if row is None:
        raise NotFound(f"no experiment {exp_id!r}")
    return row, ExperimentSpec.model_validate(row.spec)


def create(db: Session, spec: ExperimentSpec) -> ExperimentRow:
    if db.get(ExperimentRow, spec.id) is not None:
        raise Conflict(f"an experiment {spec.id!r} exists")
    row = ExperimentRow(id=spec.id, name=spec.name, spec=spec.model_dump(mode="json"))
    db.add(row)
    db.flush()
    cache.changed()
    return row


def expose(db: Session, exp_id: str, profile: Profile, at: datetime | None = None
           ) -> tuple[str, bool]:
    """(arm, first exposure?) for this person; logs the exposure. Stopped experiments
    answer the arm already held (or control) and log nothing new."""
    row, spec = get(db, exp_id)
    pid = root_of(db, profile).id
    held = db.scalars(select(AssignmentRow).where(AssignmentRow.experiment_id == exp_id,
                                                  AssignmentRow.profile_id == pid)).first()
    if held is not None:
        if row.status == "running":
            held.exposures += 1
            db.flush()
        return held.arm, False
    if row.status != "running":
        return spec.arms[0].name, False
    weights = thompson_weights(db, row, spec) if spec.allocation == "thompson" else None
    arm = bucket(spec, pid, weights)
    try:
        with db.begin_nested():
            db.add(AssignmentRow(experiment_id=exp_id, profile_id=pid, arm=arm,
                                 first_at=at or datetime.now(UTC)))
    except IntegrityError:  # another worker logged this person a moment ago
        held = db.scalars(select(AssignmentRow).where(
            AssignmentRow.experiment_id == exp_id, AssignmentRow.profile_id == pid)).one()
        return held.arm, False
    return arm, True


def thompson_weights(db: Session, row: ExperimentRow, spec: ExperimentSpec
                     ) -> dict[str, float]:
    """The arms' chance to win on conversion so far, floored so no arm starves."""
    outcomes = _outcomes(db, row, spec)
    win = stats.chance_to_win("conversion", {a.name: outcomes[a.name]["conversion"]
                                             for a in spec.arms})
    return {a: max(p, 0.02) for a, p in win.items()}


def _outcomes(db: Session, row: ExperimentRow, spec: ExperimentSpec
              ) -> dict[str, dict[str, np.ndarray]]:
    assigned = db.scalars(select(AssignmentRow).where(AssignmentRow.experiment_id == row.id)
                          ).all()
    window = timedelta(days=spec.window_days)
    per: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    prices = dict(db.execute(select(ItemRow.id, ItemRow.price)).tuples().all())
    for a in assigned:
        ids = cluster_ids(db, a.profile_id) if db.get(Profile, a.profile_id) else [a.profile_id]
        evs = db.execute(select(Event.type, Event.item_id, Event.value, Event.occurred_at)
                         .where(Event.profile_id.in_(ids),
                                Event.occurred_at >= a.first_at - timedelta(days=30),
                                Event.occurred_at < a.first_at + window)).all()
        rev = pre = 0.0
        bought = dismissed = False
        for t, item, value, at in evs:
            amount = (value if value and value > 0 else 1.0) * prices.get(item or "", 0.0)
            after = at >= a.first_at
            if t == "purchase":
                if after:
                    rev, bought = rev + amount, True
                else:
                    pre += amount
            elif t == "dismiss" and after:
                dismissed = True
        bucket_ = per[a.arm]
        bucket_["conversion"].append(float(bought))
        bucket_["revenue"].append(rev)
        bucket_["pre_revenue"].append(pre)
        bucket_["dismiss"].append(float(dismissed))
    names = [a.name for a in spec.arms] + ([HOLDOUT] if spec.holdout else [])
    return {n: {k: np.array(per[n][k], dtype=float) for k in
                ("conversion", "revenue", "pre_revenue", "dismiss")} for n in names}


def results(db: Session, exp_id: str) -> dict[str, Any]:
    row, spec = get(db, exp_id)
    out = _outcomes(db, row, spec)
    control = spec.arms[0].name
    arms: dict[str, Any] = {}
    for metric in ("conversion", "revenue"):
        adjusted, theta = stats.cuped([out[n][metric] for n in out],
                                      [out[n]["pre_revenue"] for n in out])
        adj = dict(zip(out, adjusted, strict=True))
        win = stats.chance_to_win(metric, {a.name: out[a.name][metric] for a in spec.arms})
        for name in out:
            y = out[name][metric]
            entry = arms.setdefault(name, {"n": len(y)})
            m: dict[str, Any] = {"mean": float(y.mean()) if len(y) else None,
                                 "chance_to_win": win.get(name)}
            if name != control:
                cmean = float(out[control][metric].mean()) if len(out[control][metric]) \
                    else 0.0
                tau = spec.min_effect * abs(cmean) or None
                m["vs_control"] = stats.compare(y, out[control][metric], tau=tau).as_dict()
                m["vs_control_cuped"] = stats.compare(adj[name], adj[control],
                                                      raw_control_mean=cmean,
                                                      tau=tau).as_dict()
            entry[metric] = m
        arms["_cuped_theta_" + metric] = theta
    for name in out:
        d = out[name]["dismiss"]
        arms[name]["guardrails"] = {"dismiss_rate": float(d.mean()) if len(d) else None}
    counts = {n: len(out[n]["conversion"]) for n in out}
    weights = {a.name: a.weight * (1 - spec.holdout) for a in spec.arms}
    total_w = sum(a.weight for a in spec.arms)
    weights = {k: v / total_w for k, v in weights.items()}
    if spec.holdout:
        weights[HOLDOUT] = spec.holdout
    check = stats.srm(counts, weights) if spec.allocation == "fixed" else {
        "skipped": "Thompson allocation changes the ratio on purpose"}
    thetas = {k.removeprefix("_cuped_theta_"): arms.pop(k) for k in list(arms)
              if k.startswith("_cuped_theta_")}
    return _clean({"experiment": spec.model_dump(mode="json"), "status": row.status,
                   "arms": arms, "srm": check, "cuped_theta": thetas,
                   "control": control})


def _clean(x: Any) -> Any:
    """JSON has no NaN: undefined statistics are null."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    if isinstance(x, np.floating):
        return _clean(float(x))
    return x


def set_status(db: Session, exp_id: str, status: str) -> ExperimentRow:
    row, _ = get(db, exp_id)
    if status not in ("running", "stopped"):
        raise InvalidInput("status is running or stopped")
    row.status = status
    db.flush()
    cache.changed()
    return row


def running_for_nba(db: Session) -> list[tuple[str, ExperimentSpec]]:
    rows = db.scalars(select(ExperimentRow).where(ExperimentRow.status == "running")).all()
    specs = [(r.id, ExperimentSpec.model_validate(r.spec)) for r in rows]
    return [(i, s) for i, s in specs if s.applies_to == "nba"]
