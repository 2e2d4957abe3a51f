"""`tailor train preferences`: fit the preference model's population prior on the shop's
history (the events table, or a JSONL file of interactions). The artifact is written
atomically (`PreferenceModel.save`), so running workers can pick it up live."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Event
from app.services.identity import roots_of
from app.services.search import SearchRuntime
from app.settings import Settings
from preference_model import Interaction, PreferenceConfig, PreferenceModel, PretrainConfig
from preference_model import pretrain as fit
from retrieval import SENSITIVE_TOPICS


def _db_interactions(sessions: sessionmaker[Session]) -> Iterator[Interaction]:
    with sessions() as db:
        rows = db.execute(select(Event.profile_id, Event.item_id, Event.weight,
                                 Event.occurred_at, Event.context, Event.type, Event.value)
                          .where(Event.item_id.is_not(None), Event.type != "impression")
                          .order_by(Event.occurred_at)).all()
        roots = roots_of(db, {r[0] for r in rows})
    for pid, item, weight, at, ctx, kind, value in rows:
        # The stored weight already encodes the event type (and the rating's value); purchases
        # also carry their quantity, which the repeat statistics (buy it again) learn from.
        quantity = (float(value) if value else 1.0) if kind == "purchase" else 0.0
        yield Interaction(customer_id=roots[pid], item_id=item, value=float(weight), at=at,
                          context=ctx or {}, quantity=quantity)


def _file_interactions(path: Path) -> Iterator[Interaction]:
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                at = datetime.fromisoformat(rec["at"]) if rec.get("at") else None
                yield Interaction(customer_id=str(rec["customer_id"]), item_id=str(rec["item_id"]),
                                  value=float(rec.get("value", 1.0)), at=at,
                                  context=rec.get("context") or {},
                                  event_type=rec.get("event_type"))
            except (KeyError, ValueError, TypeError) as exc:
                raise ValueError(f"{path}:{n}: bad interaction ({exc})") from exc


def train_population(settings: Settings, sessions: sessionmaker[Session], *,
                     events_file: Path | None, out: Path | None, epochs: int, dim: int,
                     cohorts: int, threads: int | None) -> dict[str, Any]:
    search = SearchRuntime(settings, sessions)
    search.start(background=False)  # embeds the catalog (cached on disk for the workers)
    index = search.require()
    items = [index.get(i) for i in index.ids()]
    if not items:
        raise ValueError("the catalog is empty: import items first (`tailor catalog import`)")
    model = PreferenceModel(PreferenceConfig(dim=dim, sensitive_topics=SENSITIVE_TOPICS))
    model.set_items([it.id for it in items], np.stack([index.item_vector(it.id) for it in items]),
                    [it.attributes for it in items], [it.category for it in items],
                    titles=[it.title for it in items],
                    sensitive_topics=[it.sensitive_topics for it in items])
    known = set(index.ids())
    source = _file_interactions(events_file) if events_file else _db_interactions(sessions)
    interactions = [i for i in source if i.item_id in known]
    if not interactions:
        raise ValueError("no interactions with catalog items to learn from")
    report = fit(interactions, model, config=PretrainConfig(
        dim=dim, epochs=epochs, n_cohorts=cohorts, threads=threads), progress=True)
    target = out or settings.preference_weights_dir or settings.data_dir / "preferences"
    model.save(target)
    search.stop()
    return {"interactions": report.n_interactions, "customers": report.n_customers,
            "items": report.n_items, "final_loss": report.losses[-1] if report.losses else 0.0,
            "cohorts": report.n_cohorts, "out": str(target), "version": model.space}

