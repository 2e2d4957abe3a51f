"""Laying out a creative with Pillow: generated background + product image + copy + logo,
in the standard ad sizes, with safe margins, text that fits (wrapped, then shrunk) and a
WCAG AA contrast ratio (>= 4.5) measured behind every text block and corrected with a
panel when the background does not give it."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FORMATS: dict[str, tuple[int, int]] = {
    "square": (1080, 1080), "landscape": (1200, 628), "story": (1080, 1920),
    "email": (600, 300),
}
MIN_CONTRAST = 4.5
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/truetype/liberation"))
RGB = tuple[int, int, int]


def _font(size: int, bold: bool = False) -> Any:
    names = ("DejaVuSans-Bold.ttf", "LiberationSans-Bold.ttf") if bold else \
        ("DejaVuSans.ttf", "LiberationSans-Regular.ttf")
    for d in FONT_DIRS:
        for n in names:
            if (d / n).exists():
                return ImageFont.truetype(str(d / n), size)
    return ImageFont.load_default(size)  # Pillow's bundled font (FreeType builds)


def hex_rgb(value: str) -> RGB:
    v = value.lstrip("#")
    return (int(v[0:2], 16), int(v[2:4], 16), int(v[4:6], 16))


def luminance(rgb: RGB) -> float:
    def ch(c: float) -> float:
        c = c / 255.0
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = rgb
    return 0.2126 * ch(r) + 0.7152 * ch(g) + 0.0722 * ch(b)


def contrast(a: RGB, b: RGB) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _lum_array(px: np.ndarray) -> np.ndarray:
    c = px / 255.0
    c = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return np.asarray(c @ np.array([0.2126, 0.7152, 0.0722]))


def worst_contrast(img: Image.Image, box: tuple[int, int, int, int], text: RGB) -> float:
    """The lowest contrast of `text` against the background pixels in `box` (the 5th
    percentile of pixel luminance on each side, so a few specks do not decide it)."""
    region = np.asarray(img.crop(box).convert("RGB"), np.float32).reshape(-1, 3)
    lum = _lum_array(region[:: max(1, len(region) // 20000)])
    lt = luminance(text)
    lo, hi = np.percentile(lum, 5), np.percentile(lum, 95)
    worst = lo if lt < (lo + hi) / 2 else hi  # dark text: darkest pixels; light: lightest
    la, lb = sorted((lt, float(worst)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def wrap(draw: ImageDraw.ImageDraw, text: str, font: Any, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and draw.textlength(f"{lines[-1]} {word}", font=font) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def fit_text(draw: ImageDraw.ImageDraw, text: str, box_w: int, box_h: int, start: int,
             bold: bool, min_size: int = 10) -> tuple[Any, list[str], int]:
    """Largest font size (<= start) at which `text` wrapped to box_w fits in box_h."""
    size = start
    while True:
        font = _font(size, bold)
        lines = wrap(draw, text, font, box_w)
        line_h = int(size * 1.22)
        fits = all(draw.textlength(ln, font=font) <= box_w for ln in lines)
        if (fits and line_h * len(lines) <= box_h) or size <= min_size:
            return font, lines, line_h
        size = max(min_size, int(size * 0.9))


@dataclass
class TextCheck:
    block: str
    contrast: float
    corrected: bool
    font_size: int


def _load_product(path: Path | None, side: int) -> Image.Image | None:
    if path is None or not path.exists():
        return None
    if path.suffix.lower() == ".svg":
        try:
            import cairosvg

            data = cairosvg.svg2png(url=str(path), output_width=side, output_height=side)
            return Image.open(io.BytesIO(data)).convert("RGBA")
        except Exception:  # no cairo on this machine: the creative goes without the photo
            return None
    img = Image.open(path).convert("RGBA")
    img.thumbnail((side, side))
    return img


def _rounded_mask(size: tuple[int, int], radius: int) -> Image.Image:
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, size[0] - 1, size[1] - 1), radius, fill=255)
    return mask


def compose(background: Image.Image, copy: dict[str, str], fmt: str, *,
            product_image: Path | None, brand_colors: tuple[str, ...] = ("#1F3A5F",),
            logo: Path | None = None) -> tuple[Image.Image, list[TextCheck]]:
    w, h = FORMATS[fmt]
    canvas = background.convert("RGB").resize((w, h))
    draw = ImageDraw.Draw(canvas, "RGBA")
    m = int(min(w, h) * 0.06)  # safe margin
    portrait, wide = h > w * 1.3, w > h * 1.5
    # Regions: the product and the text share the safe area.
    if portrait:
        prod_box = (m, int(h * 0.12), w - m, int(h * 0.55))
        text_box = (m, int(h * 0.58), w - m, h - m)
    elif wide:
        prod_box = (int(w * 0.58), m, w - m, h - m)
        text_box = (m, m, int(w * 0.55), h - m)
    else:
        prod_box = (int(w * 0.5), int(h * 0.16), w - m, int(h * 0.78))
        text_box = (m, int(h * 0.16), int(w * 0.47), h - m)
    side = min(prod_box[2] - prod_box[0], prod_box[3] - prod_box[1])
    product = _load_product(product_image, side)
    if product is not None:
        px = prod_box[0] + (prod_box[2] - prod_box[0] - product.width) // 2
        py = prod_box[1] + (prod_box[3] - prod_box[1] - product.height) // 2
        mask = Image.new("L", product.size, 0)
        mask.paste(_rounded_mask(product.size, side // 14), (0, 0))
        alpha = Image.fromarray(np.minimum(np.asarray(product.getchannel("A")),
                                           np.asarray(mask)))
        canvas.paste(product.convert("RGB"), (px, py), alpha)
    checks: list[TextCheck] = []
    tx0, ty0, tx1, ty1 = text_box
    tw, th = tx1 - tx0, ty1 - ty0
    scale = min(w, h) / 1080
    blocks = [("headline", copy.get("headline", ""), int(86 * scale) if not wide else
               int(60 * scale * 1.6), True, 0.42),
              ("body", copy.get("body", ""), int(40 * scale) if not wide else int(34 * scale * 1.4),
               False, 0.33)]
    if copy.get("disclaimer"):
        blocks.append(("disclaimer", copy["disclaimer"], int(22 * scale) + 6, False, 0.1))
    y = ty0
    for name, text, start, bold, share in blocks:
        if not text:
            continue
        font, lines, line_h = fit_text(draw, text, tw, int(th * share), max(start, 12), bold)
        block = (tx0, y, tx1, y + line_h * len(lines))
        colour = _best_text_colour(canvas, block)
        ratio = worst_contrast(canvas, block, colour)
        corrected = False
        if ratio < MIN_CONTRAST:  # a panel under the text until the ratio holds
            panel = (0, 0, 0) if colour == (255, 255, 255) else (255, 255, 255)
            pad = max(6, line_h // 4)
            for opacity in (120, 170, 210, 245):
                layer = canvas.copy()
                ImageDraw.Draw(layer, "RGBA").rounded_rectangle(
                    (block[0] - pad, block[1] - pad, block[2] + pad, block[3] + pad),
                    radius=pad, fill=(*panel, opacity))
                ratio = worst_contrast(layer, block, colour)
                if ratio >= MIN_CONTRAST:
                    break
            canvas = layer
            draw = ImageDraw.Draw(canvas, "RGBA")
            corrected = True
        for i, ln in enumerate(lines):
            draw.text((tx0, y + i * line_h), ln, font=font, fill=colour)
        checks.append(TextCheck(name, round(ratio, 2), corrected, font.size))
        y += line_h * len(lines) + int(line_h * 0.5)
    # The call to action: a button in the brand colour, label in black or white.
    if copy.get("cta"):
        brand = hex_rgb(brand_colors[0])
        label = max(((255, 255, 255), (17, 17, 17)), key=lambda c: contrast(c, brand))
        if contrast(label, brand) < MIN_CONTRAST:  # darken the button until it holds
            while contrast(label, brand) < MIN_CONTRAST:
                brand = tuple(max(0, int(c * 0.85)) for c in brand)  # type: ignore[assignment]
        font, lines, line_h = fit_text(draw, copy["cta"], tw - 40, int(th * 0.12),
                                       max(int(40 * scale * (1.4 if wide else 1)), 12), True)
        text_w = max(draw.textlength(ln, font=font) for ln in lines)
        bh = line_h * len(lines) + line_h // 2
        by = min(y + line_h // 2, ty1 - bh)
        draw.rounded_rectangle((tx0, by, tx0 + text_w + line_h, by + bh), radius=bh // 3,
                               fill=brand)
        for i, ln in enumerate(lines):
            draw.text((tx0 + line_h // 2, by + line_h // 4 + i * line_h), ln, font=font,
                      fill=label)
        checks.append(TextCheck("cta", round(contrast(label, brand), 2), False, font.size))
    if logo is not None and logo.exists():
        mark = Image.open(logo).convert("RGBA")
        mark.thumbnail((int(w * 0.18), int(h * 0.08)))
        canvas.paste(mark, (w - m - mark.width, m // 2), mark)
    return canvas, checks


def _best_text_colour(img: Image.Image, box: tuple[int, int, int, int]) -> RGB:
    white, dark = (255, 255, 255), (17, 17, 17)
    return max((white, dark), key=lambda c: worst_contrast(img, box, c))


def save(img: Image.Image, base: Path) -> dict[str, str]:
    """PNG and WebP beside each other; returns {"png": path, "webp": path}."""
    base.parent.mkdir(parents=True, exist_ok=True)
    png, webp = base.with_suffix(".png"), base.with_suffix(".webp")
    # Fast encoder settings: the optimizing ones cost seconds per 1080 px image on a CPU.
    img.save(png, compress_level=3)
    img.save(webp, quality=86, method=1)
    return {"png": str(png), "webp": str(webp)}
