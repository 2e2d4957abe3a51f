"""Cold start: fit the population model on historical interactions.

`pretrain(interactions, model)` trains `PreferenceNet` (content projection W, item factors
q, item biases, context interactions, one vector per historical customer) with sampled
negatives, then writes into the model:
- the population prior: mean and per-dimension precision of the customer vectors
  (empirical Bayes), which every new customer starts from;
- k-means cohorts of the customer vectors ("the class that most closely resembles the
  consumer"), which a new customer joins after `cohort_after` signals;
- optionally (`seed_states=True`) a state per historical customer in the model's store.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import numpy as np
import torch
from tqdm.auto import tqdm

from preference_model.errors import InvalidSignalError, UnknownItemError
from preference_model.model import PreferenceModel, fingerprint
from preference_model.network import NetConfig, PreferenceNet
from preference_model.repurchase import fit_repeat_stats
from preference_model.signals import Context, Signal, parse_attribute
from preference_model.similar import ItemNeighbors, fit_ease, recency_weighted
from preference_model.state import CustomerState, HistoryEntry


@dataclass(frozen=True)
class Interaction:
    """One historical interaction; `value` is a signed weight in [-1, 1] (1 = purchase)."""

    customer_id: str
    item_id: str
    value: float = 1.0
    at: datetime | None = None
    context: Mapping[str, object] = field(default_factory=dict)
    event_type: str | None = None
    # Units bought, when `value` carries a weight rather than the quantity (a shop's stored
    # events): the repeat statistics need both. None: `value` of a purchase is the quantity.
    quantity: float | None = None
    # {"gender": "f", "age": "25-34"}: the population learns one offset per value, which a
    # customer's ranking uses only with their consent for that purpose (Consent.demographic)
    demographics: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PretrainConfig:
    dim: int = 32
    epochs: int = 20
    batch_size: int = 1024
    lr: float = 5e-3
    weight_decay: float = 0.0
    l2: float = 1e-4  # on the embeddings of each batch (users, items, projection)
    negatives: int = 4
    # bce: sampled negatives, calibrated; bpr: + pairwise; softmax: + full-catalog softmax
    # (best ranking accuracy; costs batch x n_items per step, fine up to ~50k items)
    loss: Literal["bce", "bpr", "softmax"] = "bce"
    n_cohorts: int = 8
    seed: int = 0
    threads: int | None = None
    # Held out per customer (with >= 5 positives) when no `validation` is passed: picks the
    # epoch (early stopping) and the weight of the item-to-item term. 0 = no validation.
    validation_fraction: float = 0.1
    patience: int = 3  # epochs without a better validation NDCG@10 before stopping
    validation_users: int = 1000  # sampled for the per-epoch check (bounded cost)
    # The item-to-item (EASE) term; see similar.py.
    similar: bool = True
    similar_k: int = 200
    similar_lambda: float = 200.0
    similar_max_items: int = 5000


@dataclass
class PretrainReport:
    n_customers: int
    n_items: int
    n_interactions: int
    losses: list[float]
    n_cohorts: int
    customer_ids: list[str]
    customer_vectors: np.ndarray
    net: PreferenceNet | None = None
    best_epoch: int | None = None  # 1-based; None without validation
    validation_ndcg: list[float] = field(default_factory=list)  # NDCG@10 after each epoch
    similar_weight: float | None = None  # chosen weight of the item-to-item term
    similar_ndcg: dict[float, float] = field(default_factory=dict)  # weight -> valid NDCG@10


@dataclass
class _Triples:
    customers: list[str]
    users: np.ndarray
    rows: np.ndarray
    w: np.ndarray
    ctx: list[list[str]]
    ts: list[float]
    # (customer index, row, POSIX time, quantity) of the timed purchases (repurchase.py)
    purchases: list[tuple[int, int, float, float]] = field(default_factory=list)


def _to_triples(model: PreferenceModel, interactions: Iterable[Interaction | Signal],
                users_index: dict[str, int] | None = None, *, grow: bool = True) -> _Triples:
    """Index interactions; with `grow=False`, customers not in `users_index` are skipped."""
    items = model.items
    assert items is not None
    weights = model.config.event_weights
    users: dict[str, int] = {} if users_index is None else users_index
    u_idx: list[int] = []
    i_idx: list[int] = []
    w: list[float] = []
    ctx: list[list[str]] = []
    ts: list[float] = []
    purchases: list[tuple[int, int, float, float]] = []
    for n, it in enumerate(interactions):
        demographics: Mapping[str, str] = {}
        if isinstance(it, Signal):
            it.validate(weights)
            if it.item_id is None or it.kind not in ("inferred", "stated", "sentiment"):
                continue
            value = weights.weight(it.event_type, float(it.value)) if it.kind == "inferred" \
                else float(it.value)
            rec = Interaction(it.customer_id, it.item_id, value, it.at, it.context)
            quantity = float(it.value) if it.kind == "inferred" and \
                it.event_type == "purchase" else 0.0
        elif isinstance(it, Interaction):
            rec = it
            value = float(it.value) if it.event_type is None else \
                weights.weight(it.event_type, float(it.value))
            demographics = it.demographics
            quantity = it.quantity if it.quantity is not None else \
                float(it.value) if it.event_type == "purchase" else 0.0
        else:
            raise InvalidSignalError(f"interaction {n}: expected Interaction or Signal, "
                                     f"got {type(it).__name__}")
        if not math.isfinite(value):
            raise InvalidSignalError(f"interaction {n}: value is not finite")
        row = items.index.get(rec.item_id)
        if row is None:
            raise UnknownItemError(rec.item_id)
        if value == 0 or (not grow and rec.customer_id not in users):
            continue
        u_idx.append(users.setdefault(rec.customer_id, len(users)))
        i_idx.append(row)
        w.append(max(-1.0, min(1.0, value)))
        feats = Context.from_mapping(rec.context).features() if rec.context else []
        for name, val in demographics.items():
            try:
                d_name, d_value = parse_attribute(f"{name}={val}")
            except InvalidSignalError as exc:
                raise InvalidSignalError(f"interaction {n}: demographics: {exc}") from None
            feats.append(f"demo:{d_name}={d_value}")
        ctx.append(feats)
        ts.append(rec.at.timestamp() if rec.at is not None else 0.0)
        if quantity > 0 and rec.at is not None:
            purchases.append((u_idx[-1], row, ts[-1], quantity))
    return _Triples(list(users), np.array(u_idx, dtype=np.int64),
                    np.array(i_idx, dtype=np.int64), np.array(w, dtype=np.float32), ctx, ts,
                    purchases)


def _holdout(t: _Triples, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Boolean mask of held-out interactions: `fraction` of each customer's positives,
    for customers with at least 5 (fewer would lose too much of their history)."""
    held = np.zeros(len(t.users), dtype=bool)
    if fraction <= 0:
        return held
    pos = np.nonzero(t.w > 0)[0]
    order = pos[np.argsort(t.users[pos], kind="stable")]
    bounds = np.flatnonzero(np.diff(t.users[order])) + 1
    for group in np.split(order, bounds):
        if len(group) >= 5:
            n = max(1, int(round(fraction * len(group))))
            held[rng.choice(group, n, replace=False)] = True
    return held


def kmeans(x: np.ndarray, k: int, *, seed: int = 0, iters: int = 25) -> np.ndarray:
    """Plain k-means with k-means++ seeding; returns (k, d) centroids."""
    rng = np.random.default_rng(seed)
    k = max(1, min(k, len(x)))
    centroids = [x[rng.integers(len(x))]]
    for _ in range(1, k):
        d2 = np.min(((x[:, None, :] - np.array(centroids)[None]) ** 2).sum(-1), axis=1)
        total = d2.sum()
        probs = d2 / total if total > 0 else np.full(len(x), 1 / len(x))
        centroids.append(x[rng.choice(len(x), p=probs)])
    c = np.array(centroids)
    for _ in range(iters):
        assign = np.argmin(((x[:, None, :] - c[None]) ** 2).sum(-1), axis=1)
        new = np.array([x[assign == j].mean(0) if np.any(assign == j) else c[j]
                        for j in range(k)])
        if np.allclose(new, c):
            break
        c = new
    return c


def pretrain(
    interactions: Iterable[Interaction | Signal],
    model: PreferenceModel,
    *,
    config: PretrainConfig | None = None,
    validation: Iterable[Interaction | Signal] | None = None,
    seed_states: bool = False,
    progress: bool = True,
) -> PretrainReport:
    """Fit the population model of `model` (which must have its items set) in place.

    `validation` (held-out interactions of the same customers) picks the best epoch and the
    weight of the item-to-item term; without it, `config.validation_fraction` of each
    customer's positives is held out for that, then the item-to-item term is refitted on
    everything (the factors are not retrained: the held-out share is small).
    """
    cfg = config or PretrainConfig()
    items, _ = model.require()
    data = _to_triples(model, interactions)
    customers, users, rows, w, ctx_feats, ts = (data.customers, data.users, data.rows,
                                                data.w, data.ctx, data.ts)
    if len(users) == 0:
        raise InvalidSignalError("pretrain needs at least one interaction")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    if validation is not None:
        held = np.zeros(len(users), dtype=bool)
        valid = _to_triples(model, validation, dict(zip(customers, range(len(customers)),
                                                         strict=True)), grow=False)
        v_users, v_rows = valid.users[valid.w > 0], valid.rows[valid.w > 0]
    else:
        held = _holdout(data, cfg.validation_fraction, rng)
        v_users, v_rows = users[held], rows[held]
    train = np.nonzero(~held)[0]
    if not items.raw_pop.any():  # no catalog popularity given: use the history's
        counts = np.bincount(rows[w > 0], minlength=len(items)).astype(np.float64)
        items.raw_pop = counts
        logp = np.log1p(counts)
        items.pop_mu, items.pop_sd = float(logp.mean()), float(logp.std()) or 1.0
        items._rebuild_vocab()
    vocab: dict[str, int] = {}
    width = max([len(f) for f in ctx_feats] + [1])
    ctx = np.full((len(users), width), -1, dtype=np.int64)
    for n, feats in enumerate(ctx_feats):
        for m, f in enumerate(feats):
            ctx[n, m] = vocab.setdefault(f, len(vocab))
    dim = model.config.dim or cfg.dim
    net = PreferenceNet(NetConfig(n_users=len(customers), n_items=len(items),
                                  content_dim=items.dim, dim=dim, n_context=len(vocab)),
                        torch.from_numpy(items.content).float())
    checker = _Validator(model, data, ctx, train, v_users, v_rows, cfg, rng)
    pop_t = torch.from_numpy(items.pop).float()
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    live = np.nonzero(~items.removed)[0]
    U, It, Wt, C = (torch.from_numpy(users), torch.from_numpy(rows), torch.from_numpy(w),
                   torch.from_numpy(ctx))
    removed_t = torch.from_numpy(items.removed)
    losses: list[float] = []
    scores: list[float] = []
    best: tuple[float, int, dict[str, torch.Tensor]] | None = None
    bar = tqdm(range(cfg.epochs), desc="pretrain preferences", disable=not progress)
    for epoch in bar:
        perm = torch.from_numpy(rng.permutation(train))
        total, count = 0.0, 0
        for start in range(0, len(perm), cfg.batch_size):
            b = perm[start:start + cfg.batch_size]
            loss = _loss(net, cfg, U[b], It[b], Wt[b], C[b], pop_t, removed_t, live, rng)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(b)
            count += len(b)
        losses.append(total / max(count, 1))
        postfix = {"loss": f"{losses[-1]:.4f}"}
        if checker.ready:
            scores.append(float(checker.ndcg(net)))
            postfix["valid NDCG@10"] = f"{scores[-1]:.4f}"
            if best is None or scores[-1] > best[0]:
                best = (scores[-1], epoch, {k: v.clone() for k, v in net.state_dict().items()})
            elif epoch - best[1] >= cfg.patience:
                bar.set_postfix(postfix)
                break
        bar.set_postfix(postfix)
    if best is not None:
        net.load_state_dict(best[2])
    _install(model, net, vocab, cfg)
    pop = model.population
    assert pop is not None
    report_sim: dict[float, float] = {}
    if cfg.similar:
        def fit(mask: np.ndarray) -> ItemNeighbors:
            return fit_ease(users[mask], rows[mask], len(items), lam=cfg.similar_lambda,
                            k=cfg.similar_k, max_items=cfg.similar_max_items)

        pop.similar = fit(~held & (w > 0))
        if checker.ready:
            report_sim = {g: float(checker.ndcg(net, pop.similar, g)) for g in SIMILAR_GRID}
            pop.similar.weight = max(report_sim, key=lambda g: (report_sim[g], -g))
        else:
            pop.similar.weight = DEFAULT_SIMILAR_WEIGHT
        if held.any():  # the held-out share was only for choosing: use it all now
            weight = pop.similar.weight
            pop.similar = fit(w > 0)
            pop.similar.weight = weight
    if data.purchases:  # who buys what again, and how often (repurchase.py)
        pop.repeat = fit_repeat_stats(
            ((customers[u], items.ids[r], at, q) for u, r, at, q in data.purchases),
            dict(zip(items.ids, items.categories, strict=True)),
            merge_hours=model.config.repurchase_merge_hours)
        model.event_clock = max(model.event_clock, max(p[2] for p in data.purchases))
    vectors = net.user.weight.detach().double().numpy().copy()
    if seed_states:
        _seed_states(model, customers, vectors, users, rows, w, ts, data.purchases)
    return PretrainReport(
        n_customers=len(customers), n_items=len(items), n_interactions=len(users),
        losses=losses, n_cohorts=0 if pop.cohorts is None else len(pop.cohorts),
        customer_ids=customers, customer_vectors=vectors, net=net,
        best_epoch=None if best is None else best[1] + 1, validation_ndcg=scores,
        similar_weight=None if pop.similar is None else pop.similar.weight,
        similar_ndcg=report_sim,
    )


# Candidate weights of the item-to-item term (its scores are ~0.1-1, the factor logits a
# few units); 0 keeps it off when validation says it does not help.
SIMILAR_GRID = (0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
DEFAULT_SIMILAR_WEIGHT = 4.0


def _loss(net: PreferenceNet, cfg: PretrainConfig, u: torch.Tensor, i: torch.Tensor,
          wt: torch.Tensor, c: torch.Tensor, pop_t: torch.Tensor, removed_t: torch.Tensor,
          live: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
    neg = torch.from_numpy(live[rng.integers(len(live), size=(len(u), cfg.negatives))])
    pos_logit = net(u, i, pop_t[i], c)
    un = u[:, None].expand(-1, cfg.negatives).reshape(-1)
    cn = c[:, None, :].expand(-1, cfg.negatives, -1).reshape(-1, c.shape[1])
    neg_logit = net(un, neg.reshape(-1), pop_t[neg.reshape(-1)], cn).view(len(u), -1)
    label = (wt > 0).float()
    bce = torch.nn.functional.binary_cross_entropy_with_logits(pos_logit, label,
                                                               weight=wt.abs())
    if cfg.loss == "softmax":
        uvec = net.user(u)
        if net.cfg.n_context:
            mask = (c >= 0).unsqueeze(-1).float()
            uvec = uvec + (net.context(c.clamp(min=0)) * mask).sum(1)
        all_logits = uvec @ net.item_vectors().T + net.item_bias.weight[:, 0] \
            + net.w_pop * pop_t
        all_logits = all_logits.masked_fill(removed_t, -1e9)
        ce = torch.nn.functional.cross_entropy(all_logits, i, reduction="none")
        loss = (ce * label).sum() / label.sum().clamp(min=1) + bce \
            + torch.nn.functional.softplus(neg_logit).mean()
    elif cfg.loss == "bpr":
        pos_mask = label[:, None]
        loss = -(torch.nn.functional.logsigmoid(pos_logit[:, None] - neg_logit)
                 * pos_mask).sum() / pos_mask.sum().clamp(min=1) + bce
    else:
        loss = bce + torch.nn.functional.softplus(neg_logit).mean()
    reg = (net.user(u).pow(2).sum() + net.item_vectors(i).pow(2).sum()) / len(u)
    return loss + cfg.l2 * reg


class _Validator:
    """NDCG@10 over the whole catalog for a sample of validation customers, scored the way
    `PreferenceModel.rank` scores them after `_seed_states` (factors + item-to-item term
    over the same bounded, recency-weighted history; training items masked)."""

    def __init__(self, model: PreferenceModel, data: _Triples, ctx: np.ndarray,
                 train: np.ndarray, v_users: np.ndarray, v_rows: np.ndarray,
                 cfg: PretrainConfig, rng: np.random.Generator) -> None:
        items = model.items
        assert items is not None
        self.truth: dict[int, set[int]] = {}
        for u, i in zip(v_users.tolist(), v_rows.tolist(), strict=True):
            self.truth.setdefault(u, set()).add(i)
        chosen = sorted(self.truth)
        if len(chosen) > cfg.validation_users:
            chosen = sorted(rng.choice(chosen, cfg.validation_users, replace=False).tolist())
        self.users = np.array(chosen, dtype=np.int64)
        self.ready = len(self.users) > 0
        self.removed = items.removed
        self.pop = items.pop
        wanted = set(chosen)
        self.seen: dict[int, list[int]] = {u: [] for u in chosen}
        self.hist: dict[int, list[int]] = {u: [] for u in chosen}
        self.demo: dict[int, np.ndarray] = {}  # a user's demographic feature ids
        ts = np.asarray(data.ts)
        order = train[np.argsort(ts[train], kind="stable")]
        for n in order.tolist():
            u = int(data.users[n])
            if u in wanted:
                self.seen[u].append(int(data.rows[n]))
                self.hist[u].append(n)
                if u not in self.demo:  # demographics are the same on every row
                    demo = [int(ctx[n, m]) for m, f in enumerate(data.ctx[n])
                            if f.startswith("demo:")]
                    if demo:
                        self.demo[u] = np.array(demo, dtype=np.int64)
        self.data = data
        self.ts = ts
        self.halflife = model.config.long_memory_days * 86_400.0
        self.history_size = model.config.history_size

    def ndcg(self, net: PreferenceNet, similar: ItemNeighbors | None = None,
             weight: float = 0.0) -> float:
        with torch.no_grad():
            V = net.item_vectors().double().numpy()
            U = net.user.weight.double().numpy()
            C = net.context.weight.double().numpy()
            base = net.item_bias.weight.double().numpy()[:, 0] + float(net.w_pop) * self.pop
        discounts = 1.0 / np.log2(np.arange(2, K_EVAL + 2))
        total = 0.0
        for u in self.users.tolist():
            vec = U[u] + (C[self.demo[u]].sum(0) if u in self.demo else 0.0)
            s = base + V @ vec
            if similar is not None and weight and self.hist[u]:
                n = np.array(self.hist[u][-self.history_size:])
                hw = recency_weighted(self.data.w[n].astype(np.float64), self.ts[n],
                                      self.halflife)
                s = s + weight * similar.scores(self.data.rows[n], hw)
            s[self.removed] = -np.inf
            s[self.seen[u]] = -np.inf
            top = np.argpartition(-s, K_EVAL)[:K_EVAL]
            top = top[np.argsort(-s[top], kind="stable")]
            truth = self.truth[u]
            dcg = sum(discounts[r] for r, i in enumerate(top.tolist()) if i in truth)
            total += dcg / discounts[: min(len(truth), K_EVAL)].sum()
        return total / max(len(self.users), 1)


K_EVAL = 10


def _install(model: PreferenceModel, net: PreferenceNet, vocab: dict[str, int],
             cfg: PretrainConfig) -> None:
    pop = model.population
    assert pop is not None
    with torch.no_grad():
        users = net.user.weight.double().numpy()
        pop.W = net.proj.weight.double().numpy().copy()
        pop.q = net.item.weight.double().numpy().copy()
        pop.item_bias = net.item_bias.weight.double().numpy()[:, 0].copy()
        pop.bias = float(net.bias)
        pop.w_pop = float(net.w_pop)
        pop.context = {f: net.context.weight[j].double().numpy().copy()
                       for f, j in vocab.items()}
    pop.prior_mean = users.mean(0)
    var = users.var(0) + 1e-6
    pop.prior_precision = np.clip(1.0 / var, 1e-2, model.config.max_precision / 2)
    pop.cohorts = kmeans(users, cfg.n_cohorts, seed=cfg.seed) if cfg.n_cohorts > 1 else None
    pop.pretrained = True
    # A new latent space: states stamped with the old one are rebuilt on use (migrate.py).
    pop.trained_at = time.time()
    pop.version = fingerprint(pop)
    model.refresh_vectors()


def _seed_states(model: PreferenceModel, customers: list[str], vectors: np.ndarray,
                 users: np.ndarray, rows: np.ndarray, w: np.ndarray, ts: list[float],
                 purchases: Sequence[tuple[int, int, float, float]] = ()) -> None:
    """Give every historical customer their fitted vector as a stored state."""
    pop, items = model.population, model.items
    assert pop is not None and items is not None
    V = model.vectors
    cap = model.config.max_precision
    order = np.argsort(np.asarray(ts), kind="stable")
    by_user: dict[int, list[int]] = {}
    for n in order:
        by_user.setdefault(int(users[n]), []).append(int(n))
    bought: dict[int, list[tuple[int, int, float, float]]] = {}
    for p in sorted(purchases, key=lambda p: p[2]):
        bought.setdefault(p[0], []).append(p)
    for u, cid in enumerate(customers):
        mine = by_user.get(u, [])
        st = CustomerState.fresh(cid, len(pop.prior_mean), pop.prior_precision)
        vec = vectors[u]
        if pop.cohorts is not None:
            st.cohort = int(np.argmin(((pop.cohorts - vec) ** 2).sum(1)))
            st.own.long = vec - pop.cohorts[st.cohort]
        else:
            st.own.long = vec - pop.prior_mean
        fisher = 0.25 * (V[rows[mine]] ** 2).sum(0) if mine else 0.0
        st.own.precision = np.minimum(pop.prior_precision + fisher, cap)
        st.own.n_signals = len(mine)
        last = [ts[n] for n in mine]
        st.own.long_at = max(last) if last else 0.0
        st.history = [HistoryEntry(items.ids[rows[n]], float(w[n]), "history", "self", ts[n],
                                   "pretrain") for n in mine[-model.config.history_size:]]
        st.created_at = st.updated_at = st.own.long_at
        for _u, r, at, q in bought.get(u, []):
            model.record_purchase(st, "self", items.ids[r], at, q)
        model.stamp(st)
        model.store.save(cid, st.to_bytes(), expected_version=None)
