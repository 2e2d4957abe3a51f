"""What the embedded UNet is conditioned on.

"attributes" (current): small per-attribute heads read the standardized MiniLM prompt
vector and say, for each scene attribute (palette, pattern, layout, ...), how likely each
word of its vocabulary is. The UNet gets those distributions as one cross-attention token
per attribute and, concatenated, as a class embedding added to the time embedding. The
UNet thus learns from a short, clean signal (53 numbers) instead of decoding a 384-d
sentence vector itself, which it did poorly in minutes of CPU training; free-form prompts
still work (they become soft distributions over the vocabulary).

"minilm" (older weights): the standardized MiniLM vector itself, as one token and as the
class embedding.

The unconditional input for classifier-free guidance is the zero vector in both cases.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from generation.image.scenes import ATTRIBUTES

SIZES = tuple(len(v) for v in ATTRIBUTES.values())
ATTR_DIM = sum(SIZES)


class AttributeHeads(nn.Module):
    """Standardized MiniLM vector -> one softmax per scene attribute, concatenated."""

    def __init__(self, text_dim: int = 384, hidden: int = 256) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Dropout(0.1), nn.Linear(text_dim, hidden), nn.GELU(),
                                 nn.Linear(hidden, ATTR_DIM))

    def logits(self, v: torch.Tensor) -> list[torch.Tensor]:
        return list(self.net(v).split(SIZES, dim=-1))

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return torch.cat([x.softmax(-1) for x in self.logits(v)], dim=-1)


def attribute_tokens(c: torch.Tensor) -> torch.Tensor:
    """(B, ATTR_DIM) concatenated distributions -> (B, attributes, ATTR_DIM): token k holds
    attribute k's distribution in its own slots and zeros elsewhere."""
    mask = torch.zeros(len(SIZES), ATTR_DIM, dtype=c.dtype, device=c.device)
    start = 0
    for k, n in enumerate(SIZES):
        mask[k, start:start + n] = 1.0
        start += n
    return c[:, None, :] * mask[None]


def unet_kwargs(conditioning: str, c: torch.Tensor) -> dict[str, Any]:
    """The UNet's conditioning arguments for a batch of condition vectors."""
    if conditioning == "attributes":
        return {"encoder_hidden_states": attribute_tokens(c), "class_labels": c}
    return {"encoder_hidden_states": c[:, None], "class_labels": c}
