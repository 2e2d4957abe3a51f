"""The item-to-item (EASE) term, validation-driven pre-training, demographic offsets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from preference_model import (
    Consent,
    ConsentRequiredError,
    Interaction,
    PreferenceModel,
    PretrainConfig,
    PretrainReport,
    Signal,
    pretrain,
)
from preference_model.pretrain import SIMILAR_GRID
from preference_model.similar import ItemNeighbors, fit_ease
from tests.preference_model.world import EMB, IDS, LEATHER, TITLES, VEGAN, at, event, make_model

# Pairs bought together by everyone who buys either: i00 with i20, i01 with i21, ...
PAIRS = [(IDS[n], IDS[20 + n]) for n in range(10)]


def _pair_history(n_customers: int = 60) -> list[Interaction]:
    rng = np.random.default_rng(1)
    out = []
    for u in range(n_customers):
        for k in rng.choice(len(PAIRS), size=3, replace=False):
            for item in PAIRS[k]:
                out.append(Interaction(f"h{u}", item, 1.0, at(days=-float(rng.random()))))
    return out


CFG = PretrainConfig(dim=8, epochs=12, batch_size=64, lr=0.02, n_cohorts=2, seed=0)


@pytest.fixture(scope="module")
def trained() -> tuple[PreferenceModel, PretrainReport]:
    model = make_model()
    return model, pretrain(_pair_history(), model, config=CFG, seed_states=True, progress=False)


def test_ease_links_items_chosen_together() -> None:
    users = np.array([0, 0, 1, 1, 2, 2, 3, 3, 3])
    rows = np.array([0, 1, 0, 1, 2, 3, 2, 3, 3])  # a duplicate counts once
    sim = fit_ease(users, rows, 5, lam=0.5, k=2)
    dense = np.zeros((5, 5))
    for i in range(5):
        for j, w in zip(sim.idx[i], sim.w[i], strict=True):
            if j >= 0:
                dense[i, j] = w
    assert dense[0, 1] > 0.3 and dense[2, 3] > 0.3  # bought together
    assert np.all(np.diag(dense) == 0)  # never recommends itself
    assert dense[0, 2] <= 0 and np.all(sim.idx[4] == -1)  # never bought: no neighbours
    scores = sim.scores(np.array([0]), np.array([1.0]))
    assert scores.shape == (5,) and int(np.argmax(scores)) == 1


def test_pretrain_fits_the_term_and_picks_its_weight_on_validation(
        trained: tuple[PreferenceModel, PretrainReport]) -> None:
    model, report = trained
    pop = model.population
    assert pop is not None and pop.similar is not None
    assert report.similar_weight in SIMILAR_GRID and report.similar_weight > 0
    assert set(report.similar_ndcg) == set(SIMILAR_GRID)
    # The chosen weight is the best on validation, and pairs are learnt far better with it.
    assert report.similar_ndcg[report.similar_weight] == max(report.similar_ndcg.values())
    assert report.similar_ndcg[report.similar_weight] > report.similar_ndcg[0.0] + 0.1
    assert report.best_epoch is not None and 1 <= report.best_epoch <= len(
        report.validation_ndcg) <= CFG.epochs
    assert report.validation_ndcg[report.best_epoch - 1] == max(report.validation_ndcg)


def test_a_purchase_brings_up_its_partner_with_a_reason(
        trained: tuple[PreferenceModel, PretrainReport]) -> None:
    model, _ = trained
    model.learn_one(event("new", IDS[3]))
    ranked = model.rank("new", [i for i in IDS if i != IDS[3]], at=at(minutes=5))
    assert ranked[0].item_id == IDS[23]
    texts = [r.text for r in ranked[0].reasons]
    assert f"often chosen with {TITLES[3]}, which you bought today" in texts


def test_the_term_survives_catalog_changes_and_save_load(
        trained: tuple[PreferenceModel, PretrainReport], tmp_path: Path) -> None:
    model, _ = trained
    copy = PreferenceModel.load(_saved(model, tmp_path))
    pop, pop2 = model.population, copy.population
    assert pop is not None and pop2 is not None and pop2.similar is not None
    assert pop.similar is not None and pop2.similar.weight == pop.similar.weight
    # Re-ordered catalog without i20: neighbours follow the ids, the removed item is gone.
    order = [i for i in reversed(IDS) if i != IDS[20]]
    rows = [IDS.index(i) for i in order]
    copy.set_items(order, EMB[rows], None, None, titles=[TITLES[r] for r in rows])
    sim = copy.population.similar  # type: ignore[union-attr]
    assert isinstance(sim, ItemNeighbors) and len(sim) == len(order)
    row_of = {i: n for n, i in enumerate(order)}
    assert row_of[IDS[21]] in sim.idx[row_of[IDS[1]]].tolist()
    assert -1 not in sim.idx[row_of[IDS[1]]][:1]
    copy.upsert_item("brand-new", EMB[0], category="Food", title="new")
    assert len(sim) == len(order) + 1 and np.all(sim.idx[-1] == -1)
    copy.learn_one(event("c", IDS[1]))
    assert copy.rank("c", [IDS[21], IDS[22]], at=at())[0].item_id == IDS[21]


def _saved(model: PreferenceModel, path: Path) -> Path:
    model.save(path / "m")
    return path / "m"


def test_early_stopping_ends_training_when_validation_stops_improving() -> None:
    model = make_model()
    report = pretrain(_pair_history(), model, progress=False,
                      config=PretrainConfig(dim=8, epochs=60, batch_size=64, lr=0.05,
                                            n_cohorts=2, patience=2, seed=0))
    assert len(report.losses) == len(report.validation_ndcg) < 60
    assert report.best_epoch == len(report.losses) - 2  # two epochs without a new best


def test_explicit_validation_and_no_validation() -> None:
    history = _pair_history()
    valid = [Interaction(f"h{u}", PAIRS[9][1]) for u in range(5)] + [
        Interaction("stranger", IDS[0])]  # customers not in training are ignored
    report = pretrain(history, make_model(), progress=False, validation=valid,
                      config=PretrainConfig(dim=8, epochs=3, batch_size=64, n_cohorts=2))
    assert len(report.validation_ndcg) == 3
    plain = pretrain(history, make_model(), progress=False,
                     config=PretrainConfig(dim=8, epochs=3, batch_size=64, n_cohorts=2,
                                           validation_fraction=0.0))
    assert plain.best_epoch is None and not plain.validation_ndcg
    assert plain.similar_weight == 4.0  # the default when nothing can choose it


def _demo_history() -> list[Interaction]:
    """Women in this shop buy vegan food, men leather shoes; tastes are otherwise equal."""
    rng = np.random.default_rng(2)
    out = []
    for u in range(80):
        gender = "F" if u % 2 else "M"
        pool = VEGAN if gender == "F" else LEATHER
        for item in rng.choice(pool, size=4, replace=False):
            out.append(Interaction(f"d{u}", str(item), 1.0, at(days=-1),
                                   demographics={"gender": gender}))
    return out


def test_demographic_offsets_are_used_only_with_consent() -> None:
    model = make_model()
    pretrain(_demo_history(), model, progress=False,
             config=PretrainConfig(dim=8, epochs=15, batch_size=64, lr=0.02, n_cohorts=1))
    pop = model.population
    assert pop is not None and {"demo:gender=f", "demo:gender=m"} <= set(pop.context)
    with pytest.raises(ConsentRequiredError):
        model.learn_one(Signal("ann", "demographic", attribute="gender=F", at=at()))
    model.learn_one(Signal("ann", "demographic", attribute="gender=F", at=at()),
                    consent=Consent(demographic=True))
    cands = VEGAN + LEATHER
    with_consent = model.rank("ann", cands, consent=Consent(demographic=True), at=at())
    without = model.rank("ann", cands, at=at())
    stranger = model.rank("nobody", cands, at=at())
    top5 = [s.item_id for s in with_consent[:5]]
    assert sum(i in VEGAN for i in top5) >= 4
    assert [s.item_id for s in without] == [s.item_id for s in stranger]
    assert any(r.kind == "demographic" for s in with_consent[:5] for r in s.reasons)
    assert not any(r.kind == "demographic" for s in without for r in s.reasons)


def test_bad_demographics_are_a_clear_error() -> None:
    from preference_model import InvalidSignalError

    with pytest.raises(InvalidSignalError, match="demographics"):
        pretrain([Interaction("a", IDS[0], demographics={"age group": "30s"})], make_model(),
                 progress=False)
