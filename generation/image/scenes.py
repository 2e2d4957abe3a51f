"""Procedural ad backgrounds described in words: the embedded model's training data.

A `Scene` is a set of attributes (palette, pattern, scene layout, lighting, season,
weather, mood, material); `describe` turns it into the sentence the model is conditioned
on and `render` into the picture it should draw. The benchmark scores generated images
against the same attributes (`image_stats`).
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass

import numpy as np

RGB = tuple[int, int, int]

PALETTES: dict[str, tuple[RGB, RGB, RGB]] = {
    "warm terracotta": ((178, 84, 52), (226, 150, 92), (246, 224, 190)),
    "cool ocean blue": ((22, 70, 128), (62, 138, 196), (184, 222, 240)),
    "fresh mint green": ((48, 128, 92), (140, 206, 166), (232, 246, 236)),
    "soft pastel pink": ((222, 150, 178), (246, 204, 218), (255, 240, 244)),
    "deep forest green": ((18, 56, 36), (46, 98, 58), (122, 152, 98)),
    "sunny yellow": ((232, 182, 24), (252, 222, 102), (255, 246, 208)),
    "midnight navy and gold": ((14, 22, 58), (38, 54, 104), (212, 172, 64)),
    "monochrome grey": ((38, 38, 40), (126, 126, 130), (222, 222, 226)),
    "berry purple": ((84, 26, 88), (148, 70, 142), (222, 172, 214)),
    "earthy brown": ((86, 56, 36), (150, 108, 68), (212, 182, 142)),
    "crimson red": ((140, 16, 28), (208, 48, 50), (250, 188, 176)),
    "icy white and silver": ((176, 188, 202), (220, 228, 236), (250, 252, 255)),
}
PATTERNS = ("plain", "stripes", "polka dots", "checks", "waves", "diagonal lines", "confetti",
            "soft gradient")
LAYOUTS = ("studio backdrop", "kitchen counter", "beach horizon", "snowy window",
           "city skyline", "forest clearing", "living room shelf", "tabletop flat lay")
LIGHTING = ("bright daylight", "golden hour", "soft evening light", "dramatic spotlight",
            "moody low light")
SEASONS = ("spring", "summer", "autumn", "winter")
WEATHER = ("sunny", "rainy", "snowy", "cloudy", "clear")
MOODS = ("calm", "energetic", "cosy", "elegant", "playful")
MATERIALS = ("wood", "marble", "linen", "concrete", "velvet", "paper")

TEMPLATES = (
    "a {mood} {season} {layout} with a {palette} palette, {pattern}, {material} texture, "
    "{lighting}, {weather} weather",
    "{palette} {pattern} background, {layout}, {lighting}, {mood} {season} mood, "
    "{material}, {weather}",
    "ad background: {layout} in {palette} tones with {pattern}; {weather} {season} day, "
    "{lighting}, {material} surface, feels {mood}",
    "{mood} {palette} {layout}, {pattern} on {material}, {lighting}, {weather} {season}",
)


@dataclass(frozen=True)
class Scene:
    palette: str
    pattern: str
    layout: str
    lighting: str
    season: str
    weather: str
    mood: str
    material: str

    @classmethod
    def sample(cls, rng: random.Random) -> Scene:
        return cls(palette=rng.choice(list(PALETTES)), pattern=rng.choice(PATTERNS),
                   layout=rng.choice(LAYOUTS), lighting=rng.choice(LIGHTING),
                   season=rng.choice(SEASONS), weather=rng.choice(WEATHER),
                   mood=rng.choice(MOODS), material=rng.choice(MATERIALS))

    def key(self) -> str:
        return "|".join(asdict(self).values())


def scene_pool(n: int, seed: int, exclude: frozenset[str] | set[str] = frozenset()
               ) -> list[tuple[Scene, str]]:
    """`n` distinct scenes (none in `exclude`) with their sentences, reproducibly."""
    rng = random.Random(seed)
    out: list[tuple[Scene, str]] = []
    seen = set(exclude)
    while len(out) < n:
        scene = Scene.sample(rng)
        if scene.key() in seen:
            continue
        seen.add(scene.key())
        out.append((scene, describe(scene, rng.randrange(len(TEMPLATES)))))
    return out


# The vocabulary of each attribute, in `Scene` field order (the attribute heads predict it).
ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "palette": tuple(PALETTES), "pattern": PATTERNS, "layout": LAYOUTS, "lighting": LIGHTING,
    "season": SEASONS, "weather": WEATHER, "mood": MOODS, "material": MATERIALS}

HELD_OUT_SEED = 10_001
VALIDATION_SEED = 20_002


def held_out(n: int = 256) -> list[tuple[Scene, str]]:
    """The scenes kept out of training and out of every choice made in training (model
    selection, guidance scale): only the benchmark's final numbers come from them."""
    return scene_pool(n, HELD_OUT_SEED)


def validation(n: int = 256) -> list[tuple[Scene, str]]:
    """Scenes kept out of training but used to choose things (attribute heads, guidance
    scale, checkpoints): the held-out scenes stay untouched by those choices."""
    return scene_pool(n, VALIDATION_SEED, {s.key() for s, _ in held_out()})


def labels(scenes: list[tuple[Scene, str]]) -> np.ndarray:
    """(n, attributes) vocabulary indices of each scene's attributes."""
    return np.array([[ATTRIBUTES[k].index(v) for k, v in asdict(s).items()]
                     for s, _ in scenes], np.int64)


def describe(scene: Scene, template: int = 0) -> str:
    return TEMPLATES[template % len(TEMPLATES)].format(**asdict(scene))


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) / (size - 1)
    return xs, ys


def _pattern_mask(pattern: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """Where the accent colour goes (0..1)."""
    xs, ys = _grid(size)
    phase = rng.uniform(0, 1)
    freq = rng.uniform(4.0, 6.0)
    if pattern == "stripes":
        return (np.sin((ys + phase) * freq * np.pi * 2) > 0).astype(np.float32)
    if pattern == "polka dots":
        gx = (xs * freq + phase) % 1 - 0.5
        gy = (ys * freq + phase) % 1 - 0.5
        return (gx**2 + gy**2 < 0.07).astype(np.float32)
    if pattern == "checks":
        return (((np.floor(xs * freq) + np.floor(ys * freq)) % 2) > 0).astype(np.float32)
    if pattern == "waves":
        return (np.sin((ys + 0.08 * np.sin(xs * 2 * np.pi * 2 + phase * 6)) * freq * np.pi * 2)
                > 0.3).astype(np.float32)
    if pattern == "diagonal lines":
        return (np.sin((xs + ys + phase) * freq * np.pi * 2) > 0.5).astype(np.float32)
    if pattern == "confetti":
        mask = np.zeros((size, size), np.float32)
        for _ in range(int(size * size / 40)):
            x, y = rng.integers(0, size - 2, 2)
            mask[y:y + 2, x:x + 2] = 1.0
        return mask
    if pattern == "soft gradient":
        return np.clip(xs * 0.6 + ys * 0.6 - 0.1, 0, 1)
    return np.zeros((size, size), np.float32)


def _layout(layout: str, size: int, pal: np.ndarray) -> np.ndarray:
    """Base picture from the palette (dark, mid, light) laid out as the scene."""
    xs, ys = _grid(size)
    dark, mid, light = pal
    img = np.empty((size, size, 3), np.float32)
    img[:] = mid
    if layout == "studio backdrop":
        r = np.sqrt((xs - 0.5) ** 2 + (ys - 0.45) ** 2)[..., None]
        img = light * (1 - np.clip(r * 1.6, 0, 1)) + mid * np.clip(r * 1.6, 0, 1)
    elif layout == "kitchen counter":
        img[:] = light
        img[ys > 0.68] = dark
        img[(ys > 0.64) & (ys <= 0.68)] = mid
    elif layout == "beach horizon":
        img[:] = light
        img[ys > 0.45] = mid
        img[ys > 0.7] = light * 0.85 + dark * 0.15
    elif layout == "snowy window":
        img[:] = dark
        frame = (np.abs(xs - 0.5) < 0.04) | (np.abs(ys - 0.5) < 0.04) | (xs < 0.08) | \
            (xs > 0.92) | (ys < 0.08) | (ys > 0.92)
        img[frame] = light
    elif layout == "city skyline":
        img[:] = light * (1 - ys[..., None]) + mid * ys[..., None]
        heights = np.repeat(np.linspace(0.35, 0.75, 8)[np.array([3, 6, 1, 7, 2, 5, 0, 4])],
                            int(np.ceil(size / 8)))[:size]
        img[ys > heights[None, :]] = dark
    elif layout == "forest clearing":
        img[:] = light
        trunks = (np.sin(xs * 9 * np.pi) > 0.75) & (ys < 0.8)
        img[trunks] = dark
        img[ys >= 0.8] = mid
    elif layout == "living room shelf":
        img[:] = mid
        for y0 in (0.3, 0.62):
            img[(ys > y0) & (ys < y0 + 0.05)] = dark
    elif layout == "tabletop flat lay":
        img[:] = light
        r = np.sqrt((xs - 0.5) ** 2 + (ys - 0.5) ** 2)
        img[r < 0.3] = mid
    return img


def _material(material: str, size: int, rng: np.random.Generator) -> np.ndarray:
    xs, ys = _grid(size)
    if material == "wood":
        return 0.06 * np.sin(ys * 40 + 3 * np.sin(xs * 6 + rng.uniform(0, 6)))
    if material == "marble":
        return 0.08 * (np.abs(np.sin((xs * 3 + ys * 5) * np.pi
                                     + 2 * np.sin(ys * 7 + rng.uniform(0, 6)))) < 0.08)
    if material == "linen":
        return 0.03 * (rng.standard_normal((size, size)) + np.sin(xs * size * 1.5))
    if material == "concrete":
        return 0.05 * rng.standard_normal((size, size))
    if material == "paper":
        return 0.02 * rng.standard_normal((size, size))
    return np.zeros((size, size))  # velvet: smooth


def render(scene: Scene, size: int = 32, seed: int = 0) -> np.ndarray:
    """The scene as an (size, size, 3) uint8 array (drawn at 2x, then downsampled)."""
    rng = np.random.default_rng(seed)
    big = size * 2
    pal = np.array(PALETTES[scene.palette], np.float32) / 255.0
    img = _layout(scene.layout, big, pal)
    mask = _pattern_mask(scene.pattern, big, rng)[..., None]
    accent = pal[2] if scene.layout in {"snowy window", "city skyline"} else pal[0]
    img = img * (1 - 0.55 * mask) + accent * 0.55 * mask
    img = img + _material(scene.material, big, rng)[..., None]
    xs, ys = _grid(big)
    if scene.weather in {"snowy"} or scene.season == "winter":
        flakes = rng.random((big, big)) < (0.03 if scene.weather == "snowy" else 0.01)
        img[flakes] = 1.0
    if scene.weather == "rainy":
        streaks = (np.sin((xs * 3 - ys) * 60) > 0.97)
        img[streaks] = img[streaks] * 0.6 + 0.4 * np.array([0.75, 0.8, 0.85])
    if scene.weather == "sunny":
        sun = (xs - 0.82) ** 2 + (ys - 0.16) ** 2 < 0.008
        img[sun] = np.array([1.0, 0.95, 0.7])
    if scene.weather == "cloudy":
        img = img * 0.85 + 0.15 * np.array([0.7, 0.72, 0.75])
    if scene.season == "autumn":
        leaves = rng.random((big, big)) < 0.012
        img[leaves] = np.array([0.8, 0.4, 0.1])
    if scene.season == "spring":
        blossoms = rng.random((big, big)) < 0.012
        img[blossoms] = np.array([0.98, 0.8, 0.88])
    light = scene.lighting
    if light == "bright daylight":
        img = img * 0.85 + 0.15
    elif light == "golden hour":
        img = img * np.array([1.08, 0.98, 0.82])
    elif light == "soft evening light":
        img = img * np.array([0.88, 0.84, 0.92])
    elif light == "dramatic spotlight":
        r = np.sqrt((xs - 0.5) ** 2 + (ys - 0.4) ** 2)[..., None]
        img = img * (1.15 - 0.9 * np.clip(r, 0, 0.8))
    elif light == "moody low light":
        img = img * 0.62
    grey = img.mean(axis=2, keepdims=True)
    sat = {"calm": 0.7, "energetic": 1.3, "cosy": 1.0, "elegant": 0.9, "playful": 1.2}
    img = grey + (img - grey) * sat[scene.mood]
    if scene.mood == "cosy":
        img = img * np.array([1.05, 0.98, 0.9])
    img = np.clip(img, 0, 1)
    small = img.reshape(size, 2, size, 2, 3).mean(axis=(1, 3))
    return (small * 255 + 0.5).astype(np.uint8)


def image_stats(img: np.ndarray) -> np.ndarray:
    """Colour and pattern statistics of an (h, w, 3) uint8 image, for prompt adherence:
    mean and spread of each channel, then horizontal/vertical edge energy."""
    x = img.astype(np.float32) / 255.0
    gy = np.abs(np.diff(x, axis=0)).mean()
    gx = np.abs(np.diff(x, axis=1)).mean()
    return np.concatenate([x.mean(axis=(0, 1)), x.std(axis=(0, 1)), [gx, gy]]).astype(np.float32)
