"""The embedded text-to-image network: a small diffusers UNet denoising 32x32 RGB pixels,
conditioned on the prompt through MiniLM sentence embeddings (per-attribute heads over the
standardized vector, see `conditioning`) as cross-attention tokens and as a class embedding
added to the time embedding."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

WEIGHTS_DIR = Path(__file__).parent / "weights"


@dataclass
class TinyDiffusionConfig:
    sample_size: int = 32
    text_dim: int = 384                       # all-MiniLM-L6-v2
    # Sized for a shared 2-core CPU: the full-resolution levels are plain ResNet blocks
    # (the text reaches them through the class embedding), attention only at 8x8.
    block_out_channels: tuple[int, ...] = (16, 32, 32)
    layers_per_block: int = 1
    attention_head_dim: int = 8
    norm_num_groups: int = 8
    train_timesteps: int = 1000
    beta_schedule: str = "squaredcos_cap_v2"
    prediction_type: str = "epsilon"
    text_model: str = "all-MiniLM-L6-v2"
    # "attributes": per-attribute heads (conditioning.py); "minilm": the raw standardized
    # vector (the first weights; the default so their config still loads).
    conditioning: str = "minilm"
    cond_dim: int = 384
    guidance: float = 3.0                     # chosen on the validation split (config)
    extra: dict[str, Any] = field(default_factory=dict)  # training facts, for the record

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, path: Path) -> TinyDiffusionConfig:
        data = json.loads(path.read_text())
        data["block_out_channels"] = tuple(data["block_out_channels"])
        return cls(**data)


def build_unet(cfg: TinyDiffusionConfig) -> Any:
    from diffusers import UNet2DConditionModel

    n = len(cfg.block_out_channels)
    return UNet2DConditionModel(
        sample_size=cfg.sample_size, in_channels=3, out_channels=3,
        layers_per_block=cfg.layers_per_block, block_out_channels=cfg.block_out_channels,
        down_block_types=("DownBlock2D",) * (n - 1) + ("CrossAttnDownBlock2D",),
        up_block_types=("CrossAttnUpBlock2D",) + ("UpBlock2D",) * (n - 1),
        cross_attention_dim=cfg.cond_dim, attention_head_dim=cfg.attention_head_dim,
        norm_num_groups=cfg.norm_num_groups, class_embed_type="projection",
        projection_class_embeddings_input_dim=cfg.cond_dim)


def build_scheduler(cfg: TinyDiffusionConfig, kind: str = "ddpm") -> Any:
    from diffusers import DDIMScheduler, DDPMScheduler

    cls = DDPMScheduler if kind == "ddpm" else DDIMScheduler
    return cls(num_train_timesteps=cfg.train_timesteps, beta_schedule=cfg.beta_schedule,
               prediction_type=cfg.prediction_type, clip_sample=True)
