"""Artifacts: save / load the population prior and the item universe (never customer
states), adopt a retrained model in a running worker, and the River protocol's clone and
pickling."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any, Self

import numpy as np

from preference_model.config import Population, PreferenceConfig, fingerprint
from preference_model.errors import NotReadyError
from preference_model.items import ItemTable
from preference_model.model.access import StateAccess
from preference_model.model.base import ModelBase
from preference_model.repurchase import RepeatStats
from preference_model.signals import EventWeights
from preference_model.similar import ItemNeighbors
from preference_model.store import InMemoryStateStore, StateStore


class Artifacts(StateAccess):
    """Saving, loading, adopting and cloning the learner (see module)."""

    def clone(self) -> Self:
        """A fresh, unfitted learner with the same config (no items, no customers)."""
        return type(self)(self.config, InMemoryStateStore())

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for name in ("_catalog", "_cache_lock"):
            del state[name]
        state["history_source"] = state["on_newer_space"] = None  # the service's wiring
        state["_generators"] = None  # a FAISS index: rebuilt on first use
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._init_locks()

    def adopt(self, other: ModelBase) -> None:
        """Swap in another model's prior, item table and config at once (a retrain picked
        up by a running worker). Requests in flight finish on the old prior; stored states
        move to the new space lazily on first use (or via `migrate`)."""
        other_items, other_pop = other.require()
        with self._catalog.gen_wlock():
            self.config = other.config
            self.event_clock = max(self.event_clock, other.event_clock)
            self.items, self.population, self._V = other_items, other_pop, other._V
        with self._cache_lock:
            self._cache.clear()

    def save(self, path: str | Path) -> None:
        """Write the population model and item universe (not customer states) to `path`
        (a directory), so every API worker can `load` the same weights.

        Safe to do under running workers: the arrays go to a file named after the prior's
        version and `meta.json`, which names that file, is replaced last, atomically; a
        worker reading meanwhile sees the old artifact or the new one, never a mix."""
        with self._catalog.gen_rlock():
            items, pop = self.require()
            version = pop.version or fingerprint(pop)
            arrays, meta = self._artifact(items, pop)
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        meta_path = out / "meta.json"
        try:
            previous = json.loads(meta_path.read_text()).get("arrays", "population.npz")
        except (OSError, ValueError):
            previous = None
        name = f"population-{version}.npz"
        tmp = out / f".{name}.{os.getpid()}.tmp"
        with tmp.open("wb") as fh:
            np.savez(fh, **arrays)  # type: ignore[arg-type]
        os.replace(tmp, out / name)
        meta.update({"arrays": name, "version": version, "trained_at": pop.trained_at})
        tmp = out / f".meta.json.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(meta))
        os.replace(tmp, meta_path)
        # Keep the previous arrays (a worker may be reading them right now); drop older ones.
        for old in out.glob("population*.npz"):
            if old.name not in (name, previous):
                old.unlink(missing_ok=True)

    def _artifact(self, items: ItemTable, pop: Population
                  ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        live = [i for i in range(len(items)) if not items.removed[i]]
        arrays = {
            "content": items.content[live], "W": pop.W, "q": pop.q[live],
            "item_bias": pop.item_bias[live], "prior_mean": pop.prior_mean,
            "prior_precision": pop.prior_precision, "raw_pop": items.raw_pop[live],
        }
        if pop.cohorts is not None:
            arrays["cohorts"] = pop.cohorts
        if pop.similar is not None:
            to_live = np.full(len(items), -1, dtype=np.int64)
            to_live[live] = np.arange(len(live))
            sim = pop.similar.remap(to_live, len(live))
            arrays["similar_idx"], arrays["similar_w"] = sim.idx, sim.w
        for i, (_f, vec) in enumerate(sorted(pop.context.items())):
            arrays[f"ctx_{i}"] = vec
        cfg = asdict(self.config)
        cfg["event_weights"] = dict(self.config.event_weights.weights)
        cfg["sensitive_topics"] = sorted(self.config.sensitive_topics)
        cfg["repurchase_overrides"] = dict(self.config.repurchase_overrides)
        meta = {
            "format": 1, "config": cfg, "bias": pop.bias, "w_pop": pop.w_pop,
            "pretrained": pop.pretrained, "context_features": sorted(pop.context),
            "similar_weight": None if pop.similar is None else pop.similar.weight,
            "ids": [items.ids[i] for i in live], "attributes": [items.attrs[i] for i in live],
            "categories": [items.categories[i] for i in live],
            "titles": [items.titles[i] for i in live],
            "sensitive_topics": [items.topics[i] for i in live],
            "repeat": None if pop.repeat is None else pop.repeat.to_json(),
            "event_clock": self.event_clock,
        }
        return arrays, meta

    @classmethod
    def load(cls, path: str | Path, store: StateStore | None = None) -> Self:
        src = Path(path)
        try:
            meta = json.loads((src / "meta.json").read_text())
            with np.load(src / meta.get("arrays", "population.npz")) as npz:
                arrays = {k: npz[k] for k in npz.files}
        except (OSError, ValueError, KeyError) as exc:
            raise NotReadyError(f"cannot load a preference model from {src}: {exc}") from exc
        cfg = dict(meta["config"])
        cfg["event_weights"] = EventWeights(cfg["event_weights"])
        cfg["sensitive_topics"] = frozenset(cfg["sensitive_topics"])
        model = cls(PreferenceConfig(**cfg), store)
        model.items = ItemTable(meta["ids"], arrays["content"], meta["attributes"],
                                meta["categories"], arrays["raw_pop"], meta["titles"],
                                meta["sensitive_topics"])
        model.population = Population(
            W=arrays["W"], q=arrays["q"], item_bias=arrays["item_bias"], bias=meta["bias"],
            w_pop=meta["w_pop"], prior_mean=arrays["prior_mean"],
            prior_precision=arrays["prior_precision"],
            cohorts=arrays.get("cohorts"),
            context={f: arrays[f"ctx_{i}"] for i, f in enumerate(meta["context_features"])},
            pretrained=meta["pretrained"], trained_at=float(meta.get("trained_at") or 0.0),
        )
        # Artifacts from before versioning get the same id in every worker (content hash).
        model.population.version = meta.get("version") or fingerprint(model.population)
        if meta.get("repeat"):
            model.population.repeat = RepeatStats.from_json(meta["repeat"])
        model.event_clock = float(meta.get("event_clock") or 0.0)
        if "similar_idx" in arrays:
            model.population.similar = ItemNeighbors(
                arrays["similar_idx"], arrays["similar_w"], float(meta["similar_weight"]))
        model.refresh_vectors()
        return model

    @staticmethod
    def artifact_version(path: str | Path) -> str | None:
        """The version of the prior saved in `path` (cheap: reads meta.json), or None."""
        try:
            meta = json.loads((Path(path) / "meta.json").read_text())
        except (OSError, ValueError):
            return None
        version = meta.get("version") if isinstance(meta, dict) else None
        return str(version) if version else None
