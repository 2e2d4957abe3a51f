"""The sentiment head runs transformers' own BertLayer. The committed weights were trained
with a hand-written copy of that layer; this test keeps the copy as the reference and checks
that the committed weights give the same outputs through both (no MiniLM needed)."""

from __future__ import annotations

import json

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn

from preference_model.sentiment import (
    DEFAULT_WEIGHTS_DIR,
    METADATA_FILE,
    WEIGHTS_FILE,
    SentimentConfig,
    SentimentHead,
)


class ReferenceLayer(nn.Module):
    """The hand-written post-LayerNorm BERT layer the weights were trained with."""

    def __init__(self, cfg: SentimentConfig) -> None:
        super().__init__()
        h = cfg.hidden_size
        self.num_heads = cfg.num_attention_heads
        self.query, self.key, self.value = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)
        self.attn_out = nn.Linear(h, h)
        self.attn_norm = nn.LayerNorm(h, eps=cfg.layer_norm_eps)
        self.ffn_in = nn.Linear(h, cfg.intermediate_size)
        self.ffn_out = nn.Linear(cfg.intermediate_size, h)
        self.ffn_norm = nn.LayerNorm(h, eps=cfg.layer_norm_eps)

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor) -> torch.Tensor:
        b, t, h = x.shape

        def heads(y: torch.Tensor) -> torch.Tensor:
            return y.view(b, t, self.num_heads, h // self.num_heads).transpose(1, 2)

        attn = F.scaled_dot_product_attention(heads(self.query(x)), heads(self.key(x)),
                                              heads(self.value(x)),
                                              attn_mask=key_mask[:, None, None, :])
        attn = attn.transpose(1, 2).reshape(b, t, h)
        x = self.attn_norm(x + self.attn_out(attn))
        return self.ffn_norm(x + self.ffn_out(F.gelu(self.ffn_in(x))))


class ReferenceHead(nn.Module):
    def __init__(self, cfg: SentimentConfig) -> None:
        super().__init__()
        self.layers = nn.ModuleList(ReferenceLayer(cfg) for _ in range(cfg.num_top_layers))
        self.dropout = nn.Dropout(cfg.dropout)
        self.classifier = nn.Linear(cfg.hidden_size, 2)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            hidden = layer(hidden, mask.bool())
        m = mask.to(hidden.dtype).unsqueeze(-1)
        return self.classifier((hidden * m).sum(1) / m.sum(1).clamp(min=1.0))


def test_the_committed_weights_give_the_same_outputs_through_bert_layer() -> None:
    meta = json.loads((DEFAULT_WEIGHTS_DIR / METADATA_FILE).read_text())
    cfg = SentimentConfig(**meta["config"])
    state = {k: v.float() for k, v in load_file(str(DEFAULT_WEIGHTS_DIR / WEIGHTS_FILE)).items()}
    reference = ReferenceHead(cfg).eval()
    reference.load_state_dict(state)  # the artifact's own names: every tensor has a place
    head = SentimentHead(cfg).eval()
    head.load_artifact(state)
    assert all(type(layer).__name__ == "BertLayer" for layer in head.layers)
    gen = torch.Generator().manual_seed(0)
    hidden = torch.randn(4, 11, cfg.hidden_size, generator=gen)
    mask = torch.ones(4, 11, dtype=torch.long)
    mask[1, 7:] = 0  # padded rows: padding must not change the real tokens' result
    mask[3, 2:] = 0
    with torch.no_grad():
        want, got = reference(hidden, mask), head(hidden, mask)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)
    assert not torch.allclose(want[0], want[1])  # the inputs really differ


def test_a_head_saved_with_bert_layer_names_loads_back() -> None:
    cfg = SentimentConfig()
    head = SentimentHead(cfg).eval()
    again = SentimentHead(cfg).eval()
    again.load_artifact(head.state_dict())  # what scripts/train_sentiment.py now writes
    for (name, a), (_, b) in zip(head.state_dict().items(), again.state_dict().items(),
                                 strict=True):
        assert torch.equal(a, b), name
