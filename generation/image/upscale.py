"""Classical upscaling of the embedded model's 32x32 output to ad sizes (1080 px).

Bicubic resampling, then a blur of about one source pixel (which turns the sampling grid
into smooth shapes) and a faint fixed grain (which hides banding in flat gradients)."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter


def upscale(img: Image.Image, size: tuple[int, int], *, grain: float = 2.0,
            seed: int = 0) -> Image.Image:
    w, h = size
    src = img.convert("RGB")
    # Fill the target like a background: scale to cover, then centre-crop.
    scale = max(w / src.width, h / src.height)
    big = src.resize((max(w, round(src.width * scale)), max(h, round(src.height * scale))),
                     Image.Resampling.BICUBIC)
    left, top = (big.width - w) // 2, (big.height - h) // 2
    out = big.crop((left, top, left + w, top + h))
    out = out.filter(ImageFilter.GaussianBlur(radius=scale * 0.45))
    if grain > 0:
        noise = np.random.default_rng(seed).normal(0, grain, (h, w, 1))
        arr = np.clip(np.asarray(out, np.float32) + noise, 0, 255).astype(np.uint8)
        out = Image.fromarray(arr)
    return out
