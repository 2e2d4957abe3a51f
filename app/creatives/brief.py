"""A creative brief: who it is for (a customer, a segment or a persona), the product, the
moment (season, weather, local time, channel), and what follows from them: the scene the
image shows, the copy plan, and the reasons for every choice.

Only preferences reach a brief; sensitive topics (retrieval.SENSITIVE_TOPICS) never
do unless the audience is a named customer who consented to their use.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from generation.image.scenes import Scene, describe
from retrieval import SENSITIVE_TOPICS


@dataclass(frozen=True)
class Pref:
    attribute: str          # "color=red", "style=cosy", "diet=vegan"
    value: float            # + like / - dislike
    confidence: float
    kind: str = "inferred"  # stated | inferred | persona | segment
    role: str = "self"


@dataclass(frozen=True)
class Audience:
    kind: str                       # customer | segment | persona
    ref: str                        # customer id, audience id, or "inline"
    name: str
    prefs: tuple[Pref, ...] = ()
    profile_id: str | None = None   # a named customer's root profile
    sensitive_ok: bool = False
    size: int = 1                   # people in a segment (estimated when sampled)
    sample: int | None = None       # profiles read to estimate a large segment


@dataclass(frozen=True)
class Moment:
    season: str | None = None
    weather: str | None = None
    local_time: str | None = None
    channel: str = "social"         # social | email | display | story


@dataclass(frozen=True)
class Product:
    id: str
    title: str
    brand: str | None
    category: str
    price: float | None
    currency: str
    description: str
    attributes: dict[str, list[str]]
    image_url: str | None
    sensitive_topics: tuple[str, ...] = ()


@dataclass
class Brief:
    audience: dict[str, Any]
    product: dict[str, Any]
    moment: dict[str, Any]
    note: str
    scene: dict[str, str]
    style_prompt: str
    negative_prompt: str
    plan: dict[str, str]
    reasons: list[str] = field(default_factory=list)
    profile_snapshot: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# Preference values -> scene attributes (what a preference looks like in a picture).
COLOR_PALETTE = {
    "orange": "warm terracotta", "red": "crimson red", "burgundy": "crimson red",
    "blue": "cool ocean blue",
    "navy": "midnight navy and gold", "green": "fresh mint green", "olive": "deep forest green",
    "pink": "soft pastel pink", "yellow": "sunny yellow",
    "purple": "berry purple", "brown": "earthy brown", "beige": "earthy brown",
    "tan": "earthy brown", "grey": "monochrome grey", "gray": "monochrome grey",
    "black": "monochrome grey", "white": "icy white and silver", "silver": "icy white and silver",
    "gold": "midnight navy and gold",
}
STYLE = {  # style/occasion words -> (mood, palette or None, pattern or None)
    "cosy": ("cosy", "warm terracotta", None), "cozy": ("cosy", "warm terracotta", None),
    "minimal": ("calm", "monochrome grey", "plain"), "classic": ("elegant", None, "plain"),
    "elegant": ("elegant", "midnight navy and gold", None), "bold": ("energetic", None, "stripes"),
    "sporty": ("energetic", None, "diagonal lines"), "playful": ("playful", None, "polka dots"),
    "romantic": ("calm", "soft pastel pink", None), "natural": ("calm", "fresh mint green", None),
    "vegan": ("calm", "fresh mint green", None), "organic": ("calm", "deep forest green", None),
    "party": ("playful", None, "confetti"), "outdoor": ("energetic", "deep forest green", None),
}
MATERIAL = {"wood": "wood", "oak": "wood", "marble": "marble", "linen": "linen",
            "cotton": "linen", "wool": "linen", "concrete": "concrete", "velvet": "velvet",
            "paper": "paper", "leather": "velvet"}
CATEGORY_LAYOUT = [("kitchen", "kitchen counter"), ("home", "living room shelf"),
                   ("beach", "beach horizon"), ("swim", "beach horizon"),
                   ("running", "city skyline"), ("footwear", "city skyline"),
                   ("outdoor", "forest clearing"), ("garden", "forest clearing"),
                   ("beauty", "tabletop flat lay"), ("food", "tabletop flat lay"),
                   ("grocery", "tabletop flat lay"), ("coffee", "kitchen counter")]
CHANNEL_CTA = {"email": "Open to see it", "social": "Shop now", "display": "Discover more",
               "story": "Swipe to shop"}
WEATHER = {"rain": "rainy", "rainy": "rainy", "snow": "snowy", "snowy": "snowy",
           "sun": "sunny", "sunny": "sunny", "clear": "clear", "cloud": "cloudy",
           "cloudy": "cloudy"}


def is_sensitive(attribute: str) -> bool:
    name, _, value = attribute.lower().partition("=")
    return name in SENSITIVE_TOPICS or value in SENSITIVE_TOPICS


def season_of(moment: Moment, now: datetime) -> str:
    if moment.season:
        return moment.season
    month = now.month
    if moment.local_time:
        with contextlib.suppress(ValueError):
            month = datetime.fromisoformat(moment.local_time).month
    return {12: "winter", 1: "winter", 2: "winter", 3: "spring", 4: "spring", 5: "spring",
            6: "summer", 7: "summer", 8: "summer"}.get(month, "autumn")


def lighting_of(moment: Moment) -> str:
    if moment.local_time:
        try:
            hour = datetime.fromisoformat(moment.local_time).hour
        except ValueError:
            hour = 12
        if hour >= 20 or hour < 6:
            return "moody low light"
        if hour >= 17:
            return "golden hour"
    return "bright daylight"


def usable_prefs(audience: Audience) -> tuple[list[Pref], list[str]]:
    """The preferences a brief may use, and notes on what was left out and why."""
    kept, notes = [], []
    for p in audience.prefs:
        if is_sensitive(p.attribute) and not (audience.kind == "customer" and
                                              audience.sensitive_ok):
            notes.append("a sensitive preference was left out (no consent to use it)")
            continue
        if p.role != "self" and audience.kind == "customer":
            continue  # a recipient's taste is for gifts, not for the person's own ads
        kept.append(p)
    return kept, sorted(set(notes))


def build_brief(audience: Audience, product: Product, moment: Moment, note: str = "",
                *, now: datetime) -> Brief:
    """Derive the scene, the copy plan and the reasons from the audience and product."""
    prefs, notes = usable_prefs(audience)
    ranked = sorted(prefs, key=lambda p: -abs(p.value) * p.confidence)
    reasons: list[str] = []
    if audience.sample is not None:
        reasons.append(f"segment of about {audience.size} people: its preferences are "
                       f"estimated from a random sample of {audience.sample} profiles")
    scene: dict[str, str] = {"palette": "warm terracotta", "pattern": "soft gradient",
                             "layout": "studio backdrop", "lighting": lighting_of(moment),
                             "season": season_of(moment, now), "weather": "clear",
                             "mood": "calm", "material": "paper"}
    chosen: set[str] = set()
    negatives: list[str] = []

    def why(p: Pref) -> str:
        who = {"customer": "the customer", "segment": "the segment",
               "persona": "the persona"}[audience.kind]
        return f"{p.attribute} ({p.kind} for {who}, confidence {p.confidence:.2f})"

    for p in ranked:
        name, _, value = p.attribute.lower().partition("=")
        if p.value < 0:
            if value in COLOR_PALETTE:
                negatives.append(COLOR_PALETTE[value])
                reasons.append(f"avoids {COLOR_PALETTE[value]}: dislikes {why(p)}")
            continue
        if name in {"color", "colour"} and value in COLOR_PALETTE and "palette" not in chosen:
            scene["palette"] = COLOR_PALETTE[value]
            chosen.add("palette")
            reasons.append(f"palette {scene['palette']}: likes {why(p)}")
        elif value in STYLE:
            mood, palette, pattern = STYLE[value]
            if "mood" not in chosen:
                scene["mood"] = mood
                chosen.add("mood")
                reasons.append(f"{mood} mood: likes {why(p)}")
            if palette and "palette" not in chosen:
                scene["palette"] = palette
                chosen.add("palette")
                reasons.append(f"palette {palette}: likes {why(p)}")
            if pattern and "pattern" not in chosen:
                scene["pattern"] = pattern
                chosen.add("pattern")
                reasons.append(f"{pattern}: likes {why(p)}")
        elif value in MATERIAL and "material" not in chosen:
            scene["material"] = MATERIAL[value]
            chosen.add("material")
            reasons.append(f"{scene['material']} texture: likes {why(p)}")
    if scene["palette"] in negatives:
        scene["palette"] = next((p for p in ("cool ocean blue", "fresh mint green",
                                             "earthy brown") if p not in negatives),
                                "monochrome grey")
    category = product.category.lower()
    for word, layout in CATEGORY_LAYOUT:
        if word in category:
            scene["layout"] = layout
            reasons.append(f"{layout}: the product is in {product.category}")
            break
    if moment.weather:
        scene["weather"] = WEATHER.get(moment.weather.lower(), "clear")
        reasons.append(f"{scene['weather']} weather: the local weather is {moment.weather}")
    reasons.append(f"{scene['season']}: the season at the audience's local time")
    if scene["lighting"] != "bright daylight":
        reasons.append(f"{scene['lighting']}: the local time of day")
    if not prefs:
        reasons.append("no usable preferences: the shop's default look")
    reasons.extend(notes)
    style_prompt = describe(Scene(**scene), 0)
    benefit, proof = _benefit_and_proof(product, prefs)
    plan = {"benefit": benefit, "proof": proof,
            "cta": CHANNEL_CTA.get(moment.channel, "Shop now"), "tone_hint": scene["mood"]}
    snapshot = [asdict(p) for p in prefs]
    return Brief(audience={"kind": audience.kind, "ref": audience.ref, "name": audience.name,
                           "size": audience.size, "sample": audience.sample},
                 product={"id": product.id, "title": product.title, "brand": product.brand,
                          "category": product.category, "price": product.price,
                          "currency": product.currency, "image_url": product.image_url},
                 moment=asdict(moment), note=note, scene=scene, style_prompt=style_prompt,
                 negative_prompt=", ".join(negatives), plan=plan, reasons=reasons,
                 profile_snapshot=snapshot)


def _benefit_and_proof(product: Product, prefs: list[Pref]) -> tuple[str, str]:
    """The benefit names what the audience likes that the product has; the proof point is
    a fact from the product record (never invented)."""
    attrs = {k.lower(): [v.lower() for v in vs] for k, vs in product.attributes.items()}
    liked = [p.attribute.split("=", 1) for p in prefs if p.value > 0 and "=" in p.attribute]
    for name, value in liked:
        if value.lower() in attrs.get(name.lower(), []):
            return f"{value} {name}", f"{name}: {value}"
    for name in ("material", "color", "colour", "feature", "style"):
        if attrs.get(name):
            return f"{attrs[name][0]} {name}", f"{name}: {attrs[name][0]}"
    if product.price is not None:
        return "everyday value", f"price: {product.price:.2f} {product.currency}"
    return "made for you", f"category: {product.category}"
