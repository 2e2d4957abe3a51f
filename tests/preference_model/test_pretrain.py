"""Item 3: population pre-training, cohorts and cold start."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from preference_model import (
    Consent,
    Interaction,
    PreferenceModel,
    PretrainConfig,
    PretrainReport,
    Signal,
    UnknownItemError,
    pretrain,
)
from tests.preference_model.world import IDS, LEATHER, VEGAN, at, event, make_model, share

SYNTHETIC = [i for i in IDS[30:40]]
REGULAR = [i for i in IDS[10:20]]


def _history() -> list[Interaction]:
    rng = np.random.default_rng(0)
    out = []
    for u in range(40):
        pool = VEGAN + SYNTHETIC if u % 2 == 0 else LEATHER + REGULAR
        for item in rng.choice(pool, size=10, replace=False):
            out.append(Interaction(f"h{u}", str(item), 1.0, at(days=float(rng.random()))))
    return out


CFG = PretrainConfig(dim=8, epochs=25, batch_size=64, lr=0.02, n_cohorts=2, seed=0)


@pytest.fixture(scope="module")
def trained() -> tuple[PreferenceModel, PretrainReport]:
    model = make_model()
    report = pretrain(_history(), model, config=CFG, seed_states=True, progress=False)
    return model, report


def test_pretrain_fits_population_and_cohorts(trained: tuple[PreferenceModel,
                                                              PretrainReport]) -> None:
    model, report = trained
    assert report.n_customers == 40 and report.n_interactions == 400
    assert report.losses[-1] < report.losses[0]
    pop = model.population
    assert pop is not None and pop.pretrained
    assert pop.cohorts is not None and pop.cohorts.shape == (2, 8)
    assert pop.prior_precision.shape == (8,) and np.all(pop.prior_precision > 0)


def test_numpy_scorer_matches_the_torch_network(trained: tuple[PreferenceModel,
                                                                PretrainReport]) -> None:
    model, report = trained
    assert report.net is not None and model.items is not None
    u = report.customer_ids.index("h3")
    rows = torch.arange(len(IDS))
    with torch.no_grad():
        logits = report.net(torch.full((len(IDS),), u), rows,
                            torch.from_numpy(model.items.pop).float()).double().numpy()
    consent = Consent(sensitive=True)  # else sensitive items get no personal terms
    ours = np.array([model.predict_one("h3", i, at=at(days=30), consent=consent) for i in IDS])
    np.testing.assert_allclose(ours, 1 / (1 + np.exp(-logits)), atol=1e-4)


def test_new_customer_starts_from_the_prior_then_joins_a_cohort(
        trained: tuple[PreferenceModel, PretrainReport]) -> None:
    model, _ = trained
    cold = [s.item_id for s in model.rank("new", IDS, at=at(days=2))]
    assert cold  # the population prior ranks everything for a stranger
    for n, item in enumerate(VEGAN[:3]):
        model.learn_one(event("new", item, "click", days=2, minutes=n))
    state = model.state("new")
    assert state is not None and state.cohort is not None
    vegan_customers = [model.state(f"h{u}") for u in range(0, 40, 2)]
    cohorts = [s.cohort for s in vegan_customers if s is not None]
    assert state.cohort == max(set(cohorts), key=cohorts.count)
    top = [s.item_id for s in model.rank("new", IDS, at=at(days=3))[:10]]
    assert share(top, VEGAN + SYNTHETIC) >= 0.8
    reasons = model.explain("new", SYNTHETIC[0], at=at(days=3), n_reasons=5)
    assert any(r.kind == "cohort" and r.weight > 0 for r in reasons)


def test_pretrain_accepts_signals_and_rejects_unknown_items(tmp_path: Path) -> None:
    model = make_model()
    signals = [event(f"s{n % 4}", IDS[n], "purchase") for n in range(20)]
    report = pretrain(signals, model, config=PretrainConfig(dim=4, epochs=2, n_cohorts=2),
                      progress=True)
    assert report.n_interactions == 20 and math.isfinite(report.losses[-1])
    model.save(tmp_path / "m")
    loaded = PreferenceModel.load(tmp_path / "m")
    assert loaded.population is not None and loaded.population.cohorts is not None
    assert loaded.predict_one("x", IDS[0], at=at()) == model.predict_one("x", IDS[0], at=at())
    with pytest.raises(UnknownItemError):
        pretrain([Interaction("a", "nope")], make_model(), progress=False)
    with pytest.raises(Exception, match="Interaction or Signal"):
        pretrain([("a", IDS[0])], make_model(), progress=False)  # type: ignore[list-item]
    assert isinstance(signals[0], Signal)
