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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import numpy as np
import torch
from tqdm.auto import tqdm

from preference_model.errors import InvalidSignalError, UnknownItemError
from preference_model.model import PreferenceModel
from preference_model.network import NetConfig, PreferenceNet
from preference_model.signals import Context, Signal
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


def _to_triples(model: PreferenceModel, interactions: Iterable[Interaction | Signal],
                ) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, list[list[str]],
                           list[float]]:
    items = model.items
    assert items is not None
    weights = model.config.event_weights
    users: dict[str, int] = {}
    u_idx: list[int] = []
    i_idx: list[int] = []
    w: list[float] = []
    ctx: list[list[str]] = []
    ts: list[float] = []
    for n, it in enumerate(interactions):
        if isinstance(it, Signal):
            it.validate(weights)
            if it.item_id is None or it.kind not in ("inferred", "stated", "sentiment"):
                continue
            value = weights.weight(it.event_type, float(it.value)) if it.kind == "inferred" \
                else float(it.value)
            rec = Interaction(it.customer_id, it.item_id, value, it.at, it.context)
        elif isinstance(it, Interaction):
            rec = it
            value = float(it.value) if it.event_type is None else \
                weights.weight(it.event_type, float(it.value))
        else:
            raise InvalidSignalError(f"interaction {n}: expected Interaction or Signal, "
                                     f"got {type(it).__name__}")
        if not math.isfinite(value):
            raise InvalidSignalError(f"interaction {n}: value is not finite")
        row = items.index.get(rec.item_id)
        if row is None:
            raise UnknownItemError(rec.item_id)
        if value == 0:
            continue
        u_idx.append(users.setdefault(rec.customer_id, len(users)))
        i_idx.append(row)
        w.append(max(-1.0, min(1.0, value)))
        ctx.append(Context.from_mapping(rec.context).features() if rec.context else [])
        ts.append(rec.at.timestamp() if rec.at is not None else 0.0)
    return (list(users), np.array(u_idx, dtype=np.int64), np.array(i_idx, dtype=np.int64),
            np.array(w, dtype=np.float32), ctx, ts)


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
    seed_states: bool = False,
    progress: bool = True,
) -> PretrainReport:
    """Fit the population model of `model` (which must have its items set) in place."""
    cfg = config or PretrainConfig()
    items, _ = model._require()
    customers, users, rows, w, ctx_feats, ts = _to_triples(model, interactions)
    if len(users) == 0:
        raise InvalidSignalError("pretrain needs at least one interaction")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
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
    pop_t = torch.from_numpy(items.pop).float()
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    live = np.nonzero(~items.removed)[0]
    U, It, Wt, C = (torch.from_numpy(users), torch.from_numpy(rows), torch.from_numpy(w),
                   torch.from_numpy(ctx))
    removed_t = torch.from_numpy(items.removed)
    losses: list[float] = []
    bar = tqdm(range(cfg.epochs), desc="pretrain preferences", disable=not progress)
    for _epoch in bar:
        perm = torch.from_numpy(rng.permutation(len(users)))
        total, count = 0.0, 0
        for start in range(0, len(perm), cfg.batch_size):
            b = perm[start:start + cfg.batch_size]
            u, i, wt, c = U[b], It[b], Wt[b], C[b]
            neg = torch.from_numpy(live[rng.integers(len(live), size=(len(b), cfg.negatives))])
            pos_logit = net(u, i, pop_t[i], c)
            un = u[:, None].expand(-1, cfg.negatives).reshape(-1)
            cn = c[:, None, :].expand(-1, cfg.negatives, -1).reshape(-1, c.shape[1])
            neg_logit = net(un, neg.reshape(-1), pop_t[neg.reshape(-1)], cn).view(len(b), -1)
            label = (wt > 0).float()
            if cfg.loss == "softmax":
                uvec = net.user(u)
                if net.cfg.n_context:
                    mask = (c >= 0).unsqueeze(-1).float()
                    uvec = uvec + (net.context(c.clamp(min=0)) * mask).sum(1)
                all_logits = uvec @ net.item_vectors().T + net.item_bias.weight[:, 0] \
                    + net.w_pop * pop_t
                all_logits = all_logits.masked_fill(removed_t, -1e9)
                ce = torch.nn.functional.cross_entropy(all_logits, It[b], reduction="none")
                loss = (ce * label).sum() / label.sum().clamp(min=1)
                loss = loss + torch.nn.functional.binary_cross_entropy_with_logits(
                    pos_logit, label, weight=wt.abs()) + torch.nn.functional.softplus(
                    neg_logit).mean()
            elif cfg.loss == "bpr":
                pos_mask = label[:, None]
                loss = -(torch.nn.functional.logsigmoid(pos_logit[:, None] - neg_logit)
                         * pos_mask).sum() / pos_mask.sum().clamp(min=1)
                loss = loss + torch.nn.functional.binary_cross_entropy_with_logits(
                    pos_logit, label, weight=wt.abs())
            else:
                loss = torch.nn.functional.binary_cross_entropy_with_logits(
                    pos_logit, label, weight=wt.abs()) + torch.nn.functional.softplus(
                    neg_logit).mean()
            reg = (net.user(u).pow(2).sum() + net.item_vectors(i).pow(2).sum()) / len(b)
            loss = loss + cfg.l2 * reg
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(b)
            count += len(b)
        losses.append(total / max(count, 1))
        bar.set_postfix(loss=f"{losses[-1]:.4f}")
    _install(model, net, vocab, cfg)
    vectors = net.user.weight.detach().double().numpy().copy()
    if seed_states:
        _seed_states(model, customers, vectors, users, rows, w, ts)
    pop = model.population
    assert pop is not None
    return PretrainReport(
        n_customers=len(customers), n_items=len(items), n_interactions=len(users),
        losses=losses, n_cohorts=0 if pop.cohorts is None else len(pop.cohorts),
        customer_ids=customers, customer_vectors=vectors, net=net,
    )


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
    model._refresh_vectors()


def _seed_states(model: PreferenceModel, customers: list[str], vectors: np.ndarray,
                 users: np.ndarray, rows: np.ndarray, w: np.ndarray, ts: list[float]) -> None:
    """Give every historical customer their fitted vector as a stored state."""
    pop, items = model.population, model.items
    assert pop is not None and items is not None
    V = model._V
    cap = model.config.max_precision
    order = np.argsort(np.asarray(ts), kind="stable")
    by_user: dict[int, list[int]] = {}
    for n in order:
        by_user.setdefault(int(users[n]), []).append(int(n))
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
        model.store.save(cid, st.to_bytes(), expected_version=None)
