"""The population network (nanoGPT style: one config dataclass, one nn.Module).

    v_i   = W e_i + q_i                        item: content embedding + learned factors
    u     = u_c + sum_f C_f                    customer vector (+ context interactions)
    logit = b + b_i + w_pop * pop_i + <u, v_i>

`pretrain` fits it on historical interactions. Online, the learner keeps `W`, `q`, `b`,
`C` fixed and updates each customer's own `u` (and attribute/context weights) with
closed-form numpy steps, because a torch autograd step per event would cost more than
the whole update budget. `PreferenceNet.forward` and the numpy scorer compute the same
logit (a test checks it).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class NetConfig:
    n_users: int
    n_items: int
    content_dim: int
    dim: int = 32
    n_context: int = 0
    init_std: float = 0.05


class PreferenceNet(nn.Module):
    content: torch.Tensor

    def __init__(self, cfg: NetConfig, content: torch.Tensor) -> None:
        super().__init__()
        self.cfg = cfg
        self.register_buffer("content", content.float())
        self.proj = nn.Linear(cfg.content_dim, cfg.dim, bias=False)
        self.item = nn.Embedding(cfg.n_items, cfg.dim)
        self.user = nn.Embedding(cfg.n_users, cfg.dim)
        self.item_bias = nn.Embedding(cfg.n_items, 1)
        self.context = nn.Embedding(max(cfg.n_context, 1), cfg.dim)
        self.bias = nn.Parameter(torch.zeros(()))
        self.w_pop = nn.Parameter(torch.zeros(()))
        for emb in (self.item, self.user, self.context):
            nn.init.normal_(emb.weight, std=cfg.init_std)
        nn.init.zeros_(self.item_bias.weight)

    def item_vectors(self, items: torch.Tensor | None = None) -> torch.Tensor:
        content = self.content if items is None else self.content[items]
        factors = self.item.weight if items is None else self.item(items)
        return self.proj(content) + factors

    def forward(self, users: torch.Tensor, items: torch.Tensor, pop: torch.Tensor,
                context: torch.Tensor | None = None) -> torch.Tensor:
        """Logits for (user, item) pairs; `context` is (batch, k) feature ids, -1 = none."""
        u = self.user(users)
        if context is not None and self.cfg.n_context:
            mask = (context >= 0).unsqueeze(-1).float()
            u = u + (self.context(context.clamp(min=0)) * mask).sum(1)
        v = self.item_vectors(items)
        return self.bias + self.item_bias(items).squeeze(-1) + self.w_pop * pop + (u * v).sum(-1)
