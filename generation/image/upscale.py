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
    # Fill the target like a background: scale to cover, then centre-crop. The smoothing
    # runs at 1/8 of the target size (the detail is the source's anyway), then a bicubic
    # step up: the same look for a fraction of the cost of blurring 1080 px.
    scale = max(w / src.width, h / src.height)
    cw, ch = max(1, round(w / scale)), max(1, round(h / scale))
    left, top = (src.width - cw) / 2, (src.height - ch) / 2
    mid = (max(8, w // 8), max(8, h // 8))
    small = src.resize(mid, Image.Resampling.BICUBIC, box=(left, top, left + cw, top + ch))
    small = small.filter(ImageFilter.GaussianBlur(radius=mid[0] / cw * 0.45))
    out = small.resize((w, h), Image.Resampling.BICUBIC)
    if grain > 0:
        noise = np.random.default_rng(seed).normal(0, grain, (h, w, 1)).astype(np.float32)
        arr = np.clip(np.asarray(out, np.float32) + noise, 0, 255).astype(np.uint8)
        out = Image.fromarray(arr)
    return out
