"""A creative's images from its background: every format laid out (PNG + WebP). Used by
the generation job (first layout) and by copy edits (a new layout over the same stored
background and seed, no new diffusion)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image

from app.creatives.compose import FORMATS, compose, save
from app.settings import Settings
from generation.image import upscale

BACKGROUND = "background.png"


def background_file(out_dir: Path, creative_id: str) -> Path:
    """Where the generated background (native size) of a creative is kept."""
    return out_dir / creative_id / BACKGROUND


def lay_out(settings: Settings, background: Image.Image, seed: int, copy: dict[str, Any],
            brief: dict[str, Any], formats: list[str], folder: Path) -> dict[str, Any]:
    """Every format of one creative into `folder`; returns the row's `formats` value."""
    from app.creatives.service import image_path

    product_file = image_path(brief.get("product", {}).get("image_url"))
    out: dict[str, Any] = {}
    for fmt in formats:
        w, h = FORMATS[fmt]
        img, checks = compose(upscale(background, (w, h), seed=seed), copy, fmt,
                              product_image=product_file, brand_colors=settings.brand_colors,
                              logo=settings.brand_logo_path)
        out[fmt] = {"width": w, "height": h, "files": save(img, folder / fmt),
                    "contrast": [c.__dict__ for c in checks]}
    return out
