"""Generate the demo store "Larkfield & Co.": a product catalog and one placeholder SVG per item.

    python -m scripts.make_demo_store                  # app/demo/catalog.jsonl, images/, store.json
    python -m scripts.make_demo_store --out /tmp/demo  # somewhere else (the tests compare)

The output is committed, so the service and the tests never run this at start-up. It is
deterministic: the same --seed gives byte-identical files. Every product is validated
against `retrieval.catalog.Item` before anything is written.

Copy is assembled from several sentence pools per category (openers, type-specific features,
use cases, material care) rather than one template, so that retrieval and the chat see text
that reads like a real shop's.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import string
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]

from retrieval.catalog import Item  # noqa: E402

SHOP_NAME = "Larkfield & Co."
SHOP_TAGLINE = "Good things for everyday living"
DEFAULT_SEED = 20261123
DEFAULT_OUT = ROOT / "app" / "demo"
IMAGE_URL = "/demo/images/{id}.svg"


# --------------------------------------------------------------------------- samplers
@dataclass(frozen=True)
class Some:
    """Pick between lo and hi distinct values (kept in the listed order)."""

    values: tuple[str, ...]
    lo: int = 1
    hi: int = 2


@dataclass(frozen=True)
class All:
    """Every value (e.g. the sizes a garment comes in)."""

    values: tuple[str, ...]


Sampler = str | list[str] | Some | All


def sample(rng: random.Random, spec: Sampler) -> list[str]:
    if isinstance(spec, str):
        return [spec]
    if isinstance(spec, list):
        return [rng.choice(spec)]
    if isinstance(spec, All):
        return list(spec.values)
    k = rng.randint(spec.lo, min(spec.hi, len(spec.values)))
    picked = set(rng.sample(spec.values, k))
    return [v for v in spec.values if v in picked]


# --------------------------------------------------------------------------- colours
COLORS: dict[str, str] = {
    "black": "#2b2b2b", "white": "#f7f7f5", "ivory": "#f3ecdc", "cream": "#efe4c8",
    "oat": "#d9ccb0", "camel": "#c19a6b", "tan": "#c8a27a", "brown": "#7b5538",
    "chocolate": "#5a3a29", "charcoal": "#4a4d52", "grey": "#9ea3a8", "navy": "#27375e",
    "cobalt": "#2f56b0", "sky blue": "#8fbfe0", "teal": "#2c7f7c", "sage": "#a3b899",
    "olive": "#7c7f3e", "forest green": "#2f5d3a", "mustard": "#d4a53a", "yellow": "#f0cf4a",
    "orange": "#e8863a", "terracotta": "#c8643f", "rust": "#a9502b", "red": "#c23b32",
    "burgundy": "#7a2436", "blush": "#eec3bd", "pink": "#e58fa8", "lavender": "#b9a7d6",
    "plum": "#6d3b63", "coral": "#ef8a72", "silver": "#c5c9cc", "gold": "#d2ad52",
    "copper": "#b8733d", "natural": "#e3d5b8", "clear": "#dfeef2", "multicolour": "#e07a5f",
}
NEUTRALS = ["black", "white", "ivory", "oat", "camel", "charcoal", "grey", "navy"]
BRIGHTS = ["red", "cobalt", "mustard", "sage", "olive", "terracotta", "blush", "forest green",
           "burgundy", "sky blue", "lavender", "rust", "teal", "coral"]
ALL_COLORS = NEUTRALS + BRIGHTS

WOMEN_SIZES = All(("xs", "s", "m", "l", "xl"))
MEN_SIZES = All(("s", "m", "l", "xl", "xxl"))
KID_SIZES = All(("2t", "3t", "4t", "5", "6", "7", "8"))
W_SHOE = All(("5", "6", "7", "8", "9", "10", "11"))
M_SHOE = All(("7", "8", "9", "10", "11", "12", "13"))
K_SHOE = All(("10k", "11k", "12k", "13k", "1", "2", "3"))
TOY_AGES = ["0-2", "3-5", "6-8", "9-12"]

# Care lines keyed by material: the most useful sentence a shop writes about fabric.
CARE: dict[str, str] = {
    "merino wool": "Hand wash cold or use a wool cycle, then dry flat to keep the fibres soft.",
    "wool": "Air it between wears and dry clean only when it really needs it.",
    "lambswool": "Hand wash cold with a wool detergent and reshape while damp.",
    "cashmere blend": "Hand wash in cool water and store folded, never on a hanger.",
    "cotton": "Machine wash cold with like colours and tumble dry low.",
    "organic cotton": "Machine wash cold; the GOTS-certified cotton softens with every wash.",
    "linen": "Machine wash gentle and line dry; linen is meant to look a little lived-in.",
    "silk": "Dry clean or hand wash cold, and press on the reverse with a cool iron.",
    "tencel": "Wash cool on a gentle cycle and hang to dry to keep the drape.",
    "viscose": "Hand wash cold and hang to dry; do not wring.",
    "recycled polyester": "Machine wash cold and line dry to shed fewer microfibres.",
    "cotton twill": "Machine wash cold inside out to keep the colour rich.",
    "denim": "Wash rarely, inside out and cold, so the indigo fades slowly and evenly.",
    "brushed cotton": "Machine wash warm and tumble dry low for extra loft.",
    "fleece": "Machine wash cold; skip the fabric softener to keep it fluffy.",
    "leather": "Wipe with a damp cloth and condition the leather a few times a year.",
    "suede": "Brush gently and treat with a suede protector before the first wear.",
    "vegan leather": "Wipe clean with a soft damp cloth; no conditioning needed.",
    "canvas": "Spot clean with mild soap and let it air dry.",
    "waxed canvas": "Spot clean with cold water and re-wax once a season.",
    "recycled knit": "Machine wash cold in a laundry bag and air dry.",
    "recycled nylon": "Wipe clean or hand wash with mild soap.",
    "cast iron": "Hand wash, dry on the hob and rub with a little oil to keep the seasoning.",
    "enameled cast iron": "Dishwasher safe, though a soak and a soft sponge keep it glossy.",
    "stainless steel": "Dishwasher safe and oven safe up to 260 °C.",
    "carbon steel": "Season before first use and hand wash; it darkens and improves with age.",
    "stoneware": "Microwave and dishwasher safe.",
    "porcelain": "Dishwasher, microwave and oven safe.",
    "olive wood": "Hand wash and oil occasionally with food-safe mineral oil.",
    "acacia wood": "Hand wash only and refresh with a board butter now and then.",
    "velvet": "Spot clean, or remove the cover and dry clean.",
    "percale cotton": "Machine wash warm; percale gets softer with every wash.",
    "sateen cotton": "Wash cool and remove promptly from the dryer to minimise creasing.",
    "sterling silver": "Store in the pouch provided and polish with a soft cloth.",
    "gold vermeil": "Keep away from perfume and water to protect the gold layer.",
    "terracotta": "Bring indoors before the first frost to prevent cracking.",
}


# --------------------------------------------------------------------------- spec types
@dataclass
class PType:
    """One kind of product inside a category; several items are drawn from it."""

    path: str
    prefix: str
    nouns: list[Any]  # str, or (str, {attr: Sampler}) to override attributes per noun
    n: int
    price: tuple[int, int]
    attrs: dict[str, Sampler] = field(default_factory=dict)
    features: list[str] = field(default_factory=list)
    title: str | None = None  # format string; default "{line} {Material} {noun}"
    sensitive: tuple[str, ...] = ()
    gift: bool = False
    icon: str | None = None
    lines: list[str] | None = None
    brands: list[str] | None = None


@dataclass
class Category:
    name: str
    colors: tuple[str, str]
    icon: str
    brands: list[str]
    lines: list[str]
    openers: list[str]
    extras: list[str]
    closers: list[str]
    types: list[PType]
    sensitive: tuple[str, ...] = ()


def N(noun: str, price: tuple[int, int] | None = None, f: list[str] | None = None,
      **attrs: Sampler) -> tuple[str, dict[str, Any]]:
    """A noun with its own attributes, price range and feature sentences."""
    extra: dict[str, Any] = dict(attrs)
    if price:
        extra["_price"] = price
    if f:
        extra["_f"] = f
    return noun, extra


def T(path: str, prefix: str, nouns: list[Any], n: int, price: tuple[int, int],
      attrs: dict[str, Sampler] | None = None, features: list[str] | None = None,
      **kw: Any) -> PType:
    return PType(path, prefix, nouns, n, price, attrs or {}, features or [], **kw)


# --------------------------------------------------------------------------- the catalog
APPAREL = Category(
    name="Apparel", colors=("#fbe7dc", "#f2c2ac"), icon="shirt",
    brands=["Halden Row", "Mirelle", "Fennick & Daughters", "Lowmoor Knitworks"],
    lines=["Harbor", "Alder", "Everyday", "Weekend", "Fenwick", "Studio", "Heritage", "Coastline",
           "Meadow", "Northfield", "Sunday", "Ashby"],
    openers=[
        "The {title} is the piece you will reach for on repeat.",
        "Cut from {material} in {color}, {this} {noun} {earns} a place in a capsule wardrobe.",
        "{brand} designed the {title} for days that start at a desk and end at dinner.",
        "Soft, easy and quietly polished: meet the {title}.",
        "Our {color} {noun} in {material} {has} a relaxed drape and a clean, modern finish.",
        "A wardrobe staple reworked in {material}, the {title} feels as good as {it_looks}.",
        "Made in small runs by {brand}, the {title} is built to be worn for years.",
        "Think of the {title} as the {noun} you wish you had bought years ago.",
    ],
    extras=[
        "Layer it under a coat in winter or wear it on its own on cool summer evenings.",
        "It pairs as easily with jeans as with tailored trousers.",
        "The colour is dyed to last, so it will not fade after a few washes.",
        "Sizing runs true; if you are between sizes, size up for a roomier feel.",
        "Pack it flat and it comes out of a suitcase ready to wear.",
        "Finished with tonal stitching and a soft, tag-free label.",
    ],
    closers=["Model is 5'9\" and wears a size S.", "Ethically made in Portugal.",
             "Part of our slow-fashion capsule: fewer, better pieces.",
             "Free returns within 30 days."],
    types=[
        T("Women > Knitwear", "apl-w", ["Crewneck Sweater", "Cardigan", "Turtleneck",
                                        "Cable-Knit Jumper"], 6, (49, 149),
          {"material": ["merino wool", "cashmere blend", "organic cotton", "recycled polyester",
                        "lambswool"], "color": ALL_COLORS, "size": WOMEN_SIZES,
           "fit": ["relaxed", "regular", "cropped"]},
          ["Ribbed cuffs and hem hold their shape wash after wash.",
           "A mid-weight knit that is warm without bulk.",
           "Dropped shoulders give it an easy, lived-in silhouette."], gift=True),
        T("Women > Tops", "apl-w", ["Button-Down Shirt", "Boat-Neck Tee", "Wrap Blouse",
                                    "Tank Top", "Long-Sleeve Tee"], 6, (24, 89),
          {"material": ["organic cotton", "linen", "silk", "tencel", "recycled polyester"],
           "color": ALL_COLORS, "size": WOMEN_SIZES, "fit": ["relaxed", "regular", "fitted"]},
          ["Breathable and light, it keeps you cool on the warmest days.",
           "Mother-of-pearl-effect buttons add a subtle finishing touch.",
           "A slightly longer back hem makes it easy to tuck or leave loose."]),
        T("Women > Dresses", "apl-w", ["Midi Dress", "Shirt Dress", "Slip Dress", "Wrap Dress"],
          5, (59, 179),
          {"material": ["linen", "viscose", "organic cotton", "silk"], "color": ALL_COLORS,
           "size": WOMEN_SIZES, "fit": ["relaxed", "regular"]},
          ["It has pockets, deep enough for a phone.",
           "An adjustable waist tie lets you choose between cinched and easy.",
           "Fully lined, so it never clings."], icon="dress"),
        T("Women > Outerwear", "apl-w", [N("Trench Coat", material=["cotton twill"]),
                                         N("Quilted Jacket", material=["recycled polyester"]),
                                         N("Longline Coat", material=["wool"]),
                                         N("Rain Jacket", material=["recycled polyester"])],
          4, (89, 299),
          {"color": NEUTRALS + ["olive", "rust"], "size": WOMEN_SIZES,
           "fit": ["regular", "oversized"]},
          ["A storm flap and a water-repellent finish keep showers out.",
           "Interior pockets are sized for a phone and a passport.",
           "Horn-effect buttons and a detachable belt finish it off."]),
        T("Women > Outerwear", "apl-w", ["Moto Jacket", "Cropped Jacket"], 3, (149, 399),
          {"material": ["leather", "vegan leather", "suede"], "color": ["black", "brown", "tan"],
           "size": WOMEN_SIZES, "fit": ["regular", "cropped"]},
          ["Asymmetric zip, snap lapels and a soft, broken-in hand from day one.",
           "Quilted shoulder panels add structure without stiffness."], gift=True),
        T("Men > Shirts", "apl-m", [N("Oxford Shirt", material=["cotton", "organic cotton"]),
                                    N("Flannel Shirt", material=["brushed cotton"]),
                                    N("Polo Shirt", material=["cotton", "organic cotton"]),
                                    N("Henley", material=["cotton", "organic cotton", "linen"]),
                                    N("Camp-Collar Shirt", material=["linen", "tencel"])],
          6, (34, 98),
          {"color": ALL_COLORS, "size": MEN_SIZES, "fit": ["slim", "regular", "relaxed"]},
          ["A collar that keeps its shape, wash after wash.",
           "Garment-washed for a soft, slightly faded look.",
           "A curved hem sits neatly over a belt when worn untucked."]),
        T("Men > Knitwear", "apl-m", ["Quarter-Zip Sweater", "Crewneck Sweater",
                                      "Shawl Cardigan"], 4, (59, 169),
          {"material": ["merino wool", "lambswool", "cotton", "recycled polyester"],
           "color": NEUTRALS + ["olive", "burgundy", "forest green"], "size": MEN_SIZES,
           "fit": ["regular", "relaxed"]},
          ["Fine-gauge and light enough to layer under a blazer.",
           "Saddle shoulders give a comfortable range of movement."], gift=True),
        T("Men > Trousers", "apl-m", [N("Chinos", material=["cotton twill", "organic cotton"]),
                                      N("Selvedge Jeans", (89, 149), material=["denim"]),
                                      N("Drawstring Trousers", material=["linen",
                                                                         "organic cotton"]),
                                      N("Cargo Pants", material=["cotton twill", "ripstop "
                                                                 "cotton"])], 5, (49, 149),
          {"color": ["navy", "charcoal", "camel", "olive", "black", "oat"],
           "size": All(("30", "32", "34", "36", "38")), "fit": ["slim", "straight", "relaxed"]},
          ["A touch of stretch makes them comfortable from the first wear.",
           "Reinforced pockets and bar-tacked stress points mean they last.",
           "Finished with a hidden coin pocket and a YKK zip fly."]),
        T("Men > Outerwear", "apl-m", [N("Field Jacket", material=["waxed canvas",
                                                                     "cotton twill"]),
                                       N("Puffer Jacket", material=["recycled polyester"]),
                                       N("Bomber Jacket", (149, 349),
                                         material=["leather", "wool"]),
                                       N("Overshirt", material=["wool", "cotton twill"])],
          4, (89, 349),
          {"color": ["navy", "olive", "black", "tan", "charcoal"], "size": MEN_SIZES,
           "fit": ["regular", "relaxed"]},
          ["Four front pockets carry everything you need for a day out.",
           "A corduroy-lined collar softens the look and the feel.",
           "Packs down into its own pocket for travel."]),
        T("Kids", "apl-k", ["Graphic Tee", "Zip Hoodie", "Pull-On Joggers", "Puffer Vest",
                            "Pyjama Set", "Dungarees"], 6, (14, 59),
          {"material": ["organic cotton", "cotton", "fleece", "recycled polyester"],
           "color": ALL_COLORS, "size": KID_SIZES, "age": Some(("3-5", "6-8"), 1, 2)},
          ["Roll-up cuffs buy an extra season of wear.",
           "Tough knees and a soft inside: made for playgrounds.",
           "Nickel-free snaps and no scratchy labels."], title="{line} Kids' {noun}"),
    ],
)

FOOTWEAR = Category(
    name="Footwear", colors=("#e7e4f6", "#bfb7e6"), icon="shoe",
    brands=["Strideway", "Cobblestone & Kin", "Pellworth"],
    lines=["Marlow", "City", "Trail", "Avenue", "Brook", "Linden", "Hatfield", "Orchard", "Rowan",
           "Cove"],
    openers=[
        "The {title} pairs all-day comfort with a clean, timeless shape.",
        "Built on a cushioned footbed, {this} {noun} in {material} {is} made for long days on "
        "foot.",
        "{brand} makes the {title} by hand, with a sole you can have replaced.",
        "Walk further in the {title}.",
        "Goes with everything: the {title} in {color}, with a slim, timeless profile.",
        "If you buy one new pair this year, make it the {title}.",
    ],
    extras=[
        "A cushioned insole is removable for custom orthotics.",
        "Rubber outsoles grip wet pavements and polished floors alike.",
        "They run true to size; half sizes should size up.",
        "Breathable linings keep feet dry through the day.",
        "Expect a short break-in period, after which they mould to your feet.",
    ],
    closers=["Comes with a cotton dust bag.", "Resoleable for years of wear.",
             "Free exchanges on sizes."],
    types=[
        T("Women", "ftw-w", [
            N("Ankle Boots", (119, 229), ["A stacked 4 cm heel is comfortable enough for "
                                          "all-day wear.", "Elastic side gussets let them slip "
                                          "on and off easily."],
              material=["leather", "suede", "vegan leather"]),
            N("Ballet Flats", (59, 149), ["A padded heel counter prevents rubbing."],
              material=["leather", "vegan leather"]),
            N("Loafers", (89, 189), ["A hand-stitched apron toe and a low, stacked heel."],
              material=["leather", "suede", "vegan leather"]),
            N("Low-Top Sneakers", (69, 139), ["A cupsole with a grippy gum rubber outsole."],
              material=["canvas", "leather", "recycled knit", "vegan leather"]),
            N("Strappy Sandals", (49, 119), ["Adjustable ankle straps with a brass buckle."],
              material=["leather", "vegan leather"]),
            N("Mules", (79, 159), ["Backless, easy and surprisingly secure on the foot."],
              material=["suede", "leather"])], 10, (59, 229),
          {"color": ["black", "tan", "brown", "white", "ivory", "burgundy", "blush", "sage"],
           "size": W_SHOE, "width": ["regular", "wide"]},
          ["Cushioned insoles are shaped to support the arch.",
           "They pack flat for travel."]),
        T("Men", "ftw-m", [
            N("Chelsea Boots", (149, 249), ["A Goodyear-welted construction means they can be "
                                            "resoled again and again."],
              material=["leather", "suede"]),
            N("Derby Shoes", (119, 219), ["Open lacing makes them easy to fit over a high "
                                          "instep."], material=["leather"]),
            N("Court Sneakers", (69, 149), ["Cupsole construction with a gum rubber sole."],
              material=["leather", "canvas", "vegan leather", "recycled knit"]),
            N("Hiking Boots", (129, 229), ["A waterproof membrane keeps feet dry on muddy "
                                           "trails."], material=["leather", "recycled knit"]),
            N("Boat Shoes", (69, 129), ["Siped soles grip wet decks."],
              material=["leather", "canvas"]),
            N("Slides", (29, 59), ["A contoured footbed moulds to your foot after a few wears."],
              material=["vegan leather", "recycled foam"])], 9, (49, 249),
          {"color": ["black", "tan", "brown", "white", "navy", "olive", "charcoal"],
           "size": M_SHOE, "width": ["regular", "wide"]},
          ["Leather-lined for breathability.", "They come with a spare pair of laces."]),
        T("Kids", "ftw-k", [N("Light-Up Sneakers", material=["canvas", "recycled knit"]),
                            N("Rain Boots", material=["natural rubber"]),
                            N("Hook-and-Loop Sneakers", material=["canvas", "vegan leather"]),
                            N("Adventure Sandals", material=["recycled knit",
                                                             "vegan leather"])], 5, (24, 69),
          {
           "color": ["navy", "red", "pink", "yellow", "sky blue", "multicolour"],
           "size": K_SHOE, "age": Some(("3-5", "6-8", "9-12"), 1, 2)},
          ["Hook-and-loop straps mean little ones can put them on themselves.",
           "A reinforced toe cap stands up to scooter braking."],
          title="{line} Kids' {noun}"),
    ],
)

KITCHEN_BRANDS = ["Copperleaf Kitchen", "Brasswick", "Tilda & Thyme"]
DECOR_BRANDS = ["Norwick Home", "Cinderwood"]
BABY_BRANDS = ["Littlebloom", "Nestling & Co."]

HOME = Category(
    name="Home", colors=("#e3f1ea", "#a9d3bf"), icon="vase",
    brands=["Copperleaf Kitchen", "Brasswick", "Tilda & Thyme", "Norwick Home", "Cinderwood",
            "Quiet Harbour Linens"],
    lines=["Provence", "Nordic", "Hearth", "Atelier", "Farmhouse", "Kinsale", "Bellwood",
           "Tidewater", "Larch", "Ember", "Halcyon", "Sorrel"],
    openers=[
        "The {title} brings a little calm to everyday routines.",
        "Crafted from {material}, {this} {noun} {is} made to be used every day and handed "
        "down.",
        "{brand} spent two years refining the {title}, and it shows.",
        "Simple, sturdy and quietly beautiful: the {title}.",
        "Give your home a lift with our {noun} in {color}.",
        "Made from {material}, the {title} works as hard as it looks good.",
        "Good homes are built from small, well-made things, like the {title}.",
    ],
    extras=[
        "It makes a thoughtful housewarming or wedding gift.",
        "Each piece varies slightly, a mark of the hand-finishing.",
        "Designed to mix and match with the rest of the collection.",
        "Arrives plastic-free in a recycled cardboard box.",
        "Backed by a five-year guarantee.",
    ],
    closers=["Designed in Copenhagen, made in Portugal.", "Free delivery on orders over $75.",
             "Part of our bestselling home collection."],
    types=[
        T("Kitchen > Cookware", "hom-k", [
            N("Skillet", (29, 89), material=["cast iron", "carbon steel"]),
            N("Dutch Oven", (129, 279), ["Holds 5.5 litres: enough for a stew for six."],
              material=["enameled cast iron"]),
            N("Saucepan", (39, 119), material=["stainless steel"], color=["silver"]),
            N("Frying Pan", (34, 109), material=["carbon steel"], color=["black"]),
            N("Stockpot", (59, 149), material=["stainless steel"], color=["silver"])], 7, (29, 249),
          {"color": ["black", "red", "sage", "navy", "cream", "silver"],
           "size": ["20 cm", "24 cm", "28 cm"]},
          ["Works on every hob, including induction, and goes straight into the oven.",
           "Heavy base for even heat with no hot spots.",
           "Stay-cool handles and a drip-free pouring rim."], icon="pan",
          brands=KITCHEN_BRANDS),
        T("Kitchen > Tableware", "hom-k", ["Dinner Plate Set", "Pasta Bowl Set", "Mug Set",
                                           "Serving Platter", "Tumbler Set"], 6, (19, 99),
          {"material": ["stoneware", "porcelain", "recycled glass"],
           "color": ["white", "cream", "sage", "sky blue", "terracotta", "charcoal", "clear"]},
          ["A reactive glaze means no two pieces look exactly the same.",
           "Stacks neatly to save cupboard space.",
           "Chip-resistant rims for everyday family use."], icon="pan", gift=True,
          brands=KITCHEN_BRANDS),
        T("Kitchen > Tools & Gadgets", "hom-k",
          [N("Chef's Knife", (49, 139), ["A full-tang 20 cm blade, hand-sharpened to 15 degrees."],
             material=["stainless steel", "carbon steel"]),
           N("Cutting Board", (29, 79), ["Reversible, with a juice groove on one side."],
             material=["olive wood", "acacia wood"]),
           N("Pour-Over Coffee Set", (34, 69), ["Brews two perfect cups in four minutes."],
             material=["borosilicate glass", "porcelain"]),
           N("Pepper Mill", (24, 59), ["A ceramic grinder adjusts from fine to coarse."],
             material=["acacia wood", "stainless steel"]),
           N("Utensil Set", (19, 45), ["Five essential tools, gentle on non-stick pans."],
             material=["olive wood", "silicone"])], 7, (12, 139),
          {"color": ["natural", "black", "silver", "white"]},
          ["Every piece is food-safe and free from BPA.",
           "A thoughtful design that saves a few minutes every day."], icon="pan", gift=True,
          brands=KITCHEN_BRANDS),
        T("Decor > Candles", "hom-d", ["Soy Candle", "Three-Wick Candle", "Travel Tin Candle",
                                       "Pillar Candle"], 6, (14, 59),
          {"material": ["soy wax", "coconut wax", "beeswax"],
           "scent": ["fig & cassis", "cedar & smoke", "sea salt", "lavender", "amber",
                     "orange blossom", "unscented"],
           "color": ["white", "cream", "sage", "terracotta", "charcoal"]},
          ["Hand-poured with a cotton wick for a clean, even burn of about 50 hours.",
           "Housed in a reusable glass vessel that makes a pretty planter once empty.",
           "Blended with phthalate-free fragrance oils."], icon="candle", gift=True,
          brands=DECOR_BRANDS, title="{line} {Scent} {noun}"),
        T("Decor > Cushions & Throws", "hom-d", [
            N("Throw Pillow", (29, 69), ["A hidden zip makes the cover easy to remove and wash.",
                                         "Comes with a feather-free insert that keeps its loft."]),
            N("Knit Throw", (59, 149)),
            N("Lumbar Cushion", (34, 79), ["A hidden zip makes the cover easy to remove and "
                                           "wash."]),
            N("Chunky Blanket", (89, 169))], 6, (29, 169),
          {"material": ["wool", "linen", "cotton", "recycled polyester", "velvet"],
           "color": ALL_COLORS, "size": ["50 x 50 cm", "40 x 60 cm", "130 x 170 cm"]},
          ["Finished with neat, hand-stitched edges.",
           "Heavy enough to feel cosy, light enough for a summer evening."], icon="pillow",
          brands=DECOR_BRANDS),
        T("Decor > Vases & Objects", "hom-d", [
            N("Bud Vase", (19, 39), ["Holds a single stem or a few sprigs of rosemary."],
              material=["ceramic", "glass"]),
            N("Table Vase", (34, 89), material=["ceramic", "glass"]),
            N("Wall Mirror", (89, 189), ["Ready to hang, with a sturdy steel D-ring."],
              material=["brass", "oak", "rattan"]),
            N("Photo Frame", (19, 49), ["Takes a 5 x 7 inch print, standing or hanging."],
              material=["oak", "brass"]),
            N("Table Lamp", (69, 179), ["Takes an E27 bulb; a warm LED is included."],
              material=["ceramic", "brass", "rattan"])], 6, (19, 189),
          {"color": ["white", "sage", "terracotta", "gold", "natural", "black", "clear"]},
          ["Beautiful on its own or grouped in threes on a shelf.",
           "Felt pads underneath protect your furniture."], gift=True, brands=DECOR_BRANDS),
        T("Bedding & Bath", "hom-b",
          [N("Duvet Cover Set", (119, 249), ["Corner ties keep the duvet in place."],
             size=["twin", "full", "queen", "king"]),
           N("Sheet Set", (89, 219), ["Deep pockets fit mattresses up to 40 cm."],
             size=["twin", "full", "queen", "king"]),
           N("Bath Towel Set", (49, 119), ["Heavy 600 gsm loops that dry fast."],
             size=["set of 4", "set of 6"]),
           N("Waffle Robe", (69, 129), ["A waffle weave that is light, absorbent and quick "
                                        "to dry."], size=["s/m", "l/xl"]),
           N("Bath Mat", (29, 59), ["A non-slip backing keeps it in place."],
             size=["50 x 80 cm"])], 8, (29, 249),
          {"material": ["percale cotton", "sateen cotton", "linen", "organic cotton",
                        "bamboo lyocell"],
           "color": ["white", "ivory", "oat", "sage", "sky blue", "charcoal", "blush"]},
          ["OEKO-TEX certified, so nothing harmful touches your skin.",
           "Long-staple fibres mean less pilling and a softer feel over time."],
          icon="pillow", brands=["Quiet Harbour Linens", "Norwick Home"]),
    ],
)

BEAUTY = Category(
    name="Beauty & Personal Care", colors=("#fde6ee", "#f3b6c9"), icon="bottle",
    brands=["Velmora", "Saltmarsh Apothecary", "Petal & Pestle"],
    lines=["Dewdrop", "Botanica", "Pure", "Glow", "Calm", "Bloom", "Silk", "Nourish", "Radiance",
           "Clarity"],
    openers=[
        "The {title} is a small daily ritual that makes a big difference.",
        "Formulated for {skin} skin, {this} {noun} {feels} light and {absorbs} in seconds.",
        "{brand} blends botanical actives into the {title} for visible results in weeks.",
        "Your bathroom shelf, upgraded: the {title}.",
        "Lightly scented with {scent}, the {title} turns a routine into a moment of calm.",
        "Dermatologist tested and gentle, the {title} suits every day.",
        "We asked 200 testers to try the {title}; 9 in 10 wanted to keep using it.",
    ],
    extras=[
        "Free from parabens, sulphates and synthetic dyes.",
        "Packaged in recyclable glass with an aluminium cap.",
        "A little goes a long way, so it lasts for months.",
        "Patch test before first use if your skin is reactive.",
        "Refills are available to cut down on packaging.",
    ],
    closers=["Made in small batches in Vermont.", "Never tested on animals.",
             "Free sample with every order."],
    types=[
        T("Skincare", "bty-s", ["Gentle Cleanser", "Hydrating Serum", "Daily Moisturizer",
                                "Mineral Sunscreen SPF 30", "Overnight Mask", "Eye Cream"], 9,
          (14, 68),
          {"skin_type": ["normal", "dry", "oily", "sensitive", "combination"],
           "scent": ["unscented", "unscented", "rose", "cucumber", "green tea"],
           "lifestyle": Some(("vegan", "cruelty-free", "fragrance-free"), 1, 2),
           "size": ["30 ml", "50 ml", "100 ml"]},
          ["Hyaluronic acid and niacinamide hydrate and even tone.",
           "Non-comedogenic, so it will not clog pores.",
           "A silky texture that sits well under make-up."], title="{line} {noun}"),
        T("Haircare", "bty-h", ["Shampoo", "Conditioner", "Hair Oil", "Styling Cream",
                                "Dry Shampoo"], 6, (9, 38),
          {"hair_type": ["curly", "fine", "thick", "colour-treated", "all"],
           "scent": ["rosemary", "coconut", "citrus", "unscented"],
           "lifestyle": Some(("vegan", "cruelty-free", "sulphate-free"), 1, 2)},
          ["Rosemary and argan oil strengthen without weighing hair down.",
           "Safe for colour-treated hair.",
           "Rinses clean and leaves a soft, natural shine."], title="{line} {Scent} {noun}"),
        T("Fragrance", "bty-f", ["Eau de Parfum", "Solid Perfume", "Rollerball Perfume"], 4,
          (28, 120),
          {"scent": ["fig & vetiver", "neroli", "sandalwood", "rose & oud", "bergamot"],
           "size": ["10 ml", "50 ml"]},
          ["Top notes open bright and settle into a warm, skin-close base.",
           "Long-lasting: expect six to eight hours of wear."], gift=True,
          title="{line} {Scent} {noun}"),
        T("Bath & Body", "bty-b", ["Body Wash", "Body Lotion", "Bath Salts", "Hand Cream",
                                   "Bar Soap", "Body Scrub"], 6, (7, 34),
          {"scent": ["lavender", "eucalyptus", "grapefruit", "vanilla", "unscented"],
           "lifestyle": Some(("vegan", "cruelty-free"), 1, 2)},
          ["Shea butter and oat extract soothe dry skin.",
           "Leaves skin soft without a greasy feel.",
           "Essential oils, not synthetic fragrance, give it its scent."],
          title="{line} {Scent} {noun}"),
        T("Makeup", "bty-m", ["Tinted Lip Balm", "Cream Blush", "Lengthening Mascara",
                              "Brow Gel"], 4, (12, 32),
          {"color": ["pink", "coral", "red", "plum", "brown", "clear"],
           "lifestyle": Some(("vegan", "cruelty-free"), 1, 2)},
          ["Buildable colour that looks natural in daylight.",
           "Smudge-proof and easy to remove with warm water."], title="{line} {noun}"),
    ],
)

HEALTH = Category(
    name="Health & Wellness", colors=("#e4f3f7", "#a8d5e2"), icon="pill",
    sensitive=("health",),
    brands=["Vitalis Grove", "Restwell Labs", "Kindred Botanics"],
    lines=["Daily", "Essential", "Balance", "Restore", "Vital", "Core", "Harmony", "Renew"],
    openers=[
        "The {title} supports your everyday wellbeing, one small habit at a time.",
        "{brand} created the {title} with care, and with nothing you do not need.",
        "Feel more like yourself with the {title}.",
        "Chosen by our wellness buyers, the {title} earns its place in a daily routine.",
        "A simple addition to your day: the {title}.",
        "Small, thoughtful and easy to use: the {title}.",
    ],
    extras=[
        "Talk to your doctor before use if you are pregnant, nursing or taking medication.",
        "Fits easily in a gym bag or a carry-on.",
        "These statements have not been evaluated as medical claims; not intended to "
        "diagnose or treat any condition.",
        "Easy to clean and built to last.",
    ],
    closers=["Backed by a 60-day satisfaction guarantee.", "Subscribe and save 10%."],
    types=[
        T("Vitamins & Supplements", "hlt-v", [
            N("Vitamin D3 Gummies", f=["1,000 IU of vitamin D3 in a tangy orange gummy."]),
            N("Magnesium Glycinate Capsules", f=["A gentle form of magnesium that is easy on "
                                                 "the stomach."]),
            N("Omega-3 Softgels", f=["Sustainably sourced fish oil, triple-filtered.",
                                     "No fishy aftertaste."]),
            N("Daily Multivitamin", f=["Twenty-three essential vitamins and minerals."]),
            N("Probiotic Capsules", f=["Ten billion live cultures from eight strains."]),
            N("Iron + Vitamin C Tablets", f=["Vitamin C helps your body absorb the iron."])],
          8, (12, 39),
          {"diet": Some(("vegan", "gluten-free", "non-gmo"), 1, 3),
           "count": ["30 count", "60 count", "90 count"]},
          ["Take with food, as directed on the label.",
           "Third-party tested for purity and made in a GMP-certified facility.",
           "No artificial colours, flavours or preservatives."], title="{line} {noun}"),
        T("Fitness Recovery", "hlt-f", [
            N("Foam Roller", (19, 45), ["A textured surface for a deeper, more even massage."]),
            N("Massage Gun", (89, 179), ["Five speeds and four heads, quiet enough for the "
                                         "sofa."]),
            N("Resistance Band Set", (15, 35), ["Five levels of resistance, from gentle rehab "
                                                "to strength work."]),
            N("Hot & Cold Gel Pack", (12, 24), ["Freeze it or warm it, then wrap it around a "
                                                "sore knee or shoulder."]),
            N("Compression Sleeves", (19, 39), ["Graduated compression supports calves on "
                                                "long runs and flights."])], 6, (15, 149),
          {"color": ["black", "grey", "sage", "navy", "coral"]},
          ["Designed for sore muscles after runs, rides and long days at a desk."],
          title="{line} {noun}"),
        T("Sleep & Relaxation", "hlt-s", [
            N("Weighted Blanket", (99, 179), ["Glass beads in small pockets spread the weight "
                                              "evenly."], color=["grey", "navy", "oat"]),
            N("Silk Sleep Mask", (19, 39), ["Pure mulberry silk blocks light without pressing "
                                            "on your eyes."],
              color=["lavender", "oat", "navy", "blush"]),
            N("Melatonin Gummies", (12, 24), ["A low 1 mg dose for an occasional sleepless "
                                              "night."], diet=Some(("vegan", "gluten-free"))),
            N("Pillow Mist", (14, 29), ["Lavender and chamomile for a calming bedtime "
                                        "ritual."], scent=["lavender"]),
            N("White Noise Machine", (39, 79), ["Twenty soothing sounds and a gentle night "
                                               "light."], color=["white", "grey"])], 6,
          (12, 179), {}, ["Helps you wind down so you fall asleep faster."],
          title="{line} {noun}"),
        T("Home Health", "hlt-h", [
            N("Digital Thermometer", (12, 24), ["Reads in eight seconds, with a fever alert."]),
            N("Blood Pressure Monitor", (39, 79), ["Stores readings so you can share them with "
                                                   "your doctor."]),
            N("Weekly Pill Organizer", (9, 19), ["Morning and evening compartments for every "
                                                 "day of the week."]),
            N("First Aid Kit", (24, 49), ["Eighty-five essentials in a zipped, wipe-clean "
                                          "case."])], 4, (9, 79),
          {"color": ["white", "grey"]}, ["Large, clear markings that are easy to read."],
          title="{line} {noun}"),
        T("Mindfulness", "hlt-m", [
            N("Guided Anxiety Journal", (18, 28), ["Short daily prompts help you notice and "
                                                   "name what you feel."]),
            N("Meditation Cushion", (49, 89), ["Filled with buckwheat hulls that shape to "
                                               "your posture."]),
            N("Breathing Coach Light", (39, 59), ["A soft light that swells and fades to pace "
                                                  "your breathing."])], 3, (18, 89),
          {"color": ["sage", "oat", "lavender"]},
          ["Made with input from licensed therapists."], title="{line} {noun}",
          sensitive=("mental_health",)),
    ],
)

BABY = Category(
    name="Baby & Maternity", colors=("#fff3dc", "#f7d9a0"), icon="babybottle",
    brands=["Littlebloom", "Nestling & Co.", "Mama Juniper"],
    lines=["Cuddle", "Nest", "Tiny", "Moonbeam", "Snug", "Lullaby", "Sprout", "Dandelion"],
    openers=[
        "The {title} is made for the moments that matter most.",
        "Gentle on delicate skin, {this} {noun} {is} made from {material}.",
        "{brand} designed the {title} with midwives and a lot of real-life testing.",
        "Comfort for you, and for the little one: the {title}.",
        "Softer than soft, the {title} in {color} {is} a new-parent favourite.",
        "Everything you need and nothing you do not: the {title}.",
    ],
    extras=[
        "A much-loved baby shower gift.",
        "Tested to the strictest safety standards for babies.",
        "Designed with parents, for real family life.",
    ],
    closers=["Loved by parents, approved by paediatric nurses.",
             "Free gift wrapping on request."],
    types=[
        T("Maternity > Clothing", "bby-m", ["Maternity Leggings", "Maternity Wrap Dress",
                                            "Nursing Bra", "Over-Bump Jeans", "Maternity Tee"],
          6, (24, 89),
          {"material": ["organic cotton", "tencel", "cotton", "recycled polyester"],
           "color": ["black", "navy", "sage", "blush", "oat", "charcoal"], "size": WOMEN_SIZES},
          ["A soft over-bump panel grows with you through every trimester.",
           "Cut to fit before, during and after pregnancy."],
          sensitive=("pregnancy",), title="{line} {noun}", brands=["Mama Juniper"], icon="shirt"),
        T("Maternity > Prenatal Care", "bby-p",
          [N("Prenatal Multivitamin", (19, 39), ["Folate, iron and iodine in the forms "
                                                 "recommended for expecting mothers."],
             diet=Some(("vegan", "gluten-free"), 1, 2)),
           N("Prenatal DHA Softgels", (22, 39), ["Algae-based DHA supports baby's brain and eye "
                                                 "development."], diet=["gluten-free"]),
           N("Unscented Body Lotion", (14, 24), ["Fragrance-free and safe to use from the "
                                                 "first trimester."], scent=["unscented"]),
           N("Stretch Mark Balm", (18, 34), ["Shea, cocoa butter and vitamin E keep a growing "
                                             "bump supple."],
             scent=["unscented", "cocoa butter"]),
           N("Ginger Morning Sickness Chews", (9, 16), ["Real ginger to settle a queasy "
                                                        "stomach."],
             diet=Some(("vegan", "gluten-free"), 1, 2)),
           N("Pregnancy Support Pillow", (49, 89), ["A C-shape supports bump, back and knees "
                                                    "at once."],
             color=["grey", "white", "sage"])], 7, (14, 79),
          {}, ["Made for every stage of pregnancy and the months after."],
          sensitive=("pregnancy",), title="{line} {noun}", brands=["Mama Juniper"]),
        T("Baby > Clothing", "bby-c", ["Bodysuit 3-Pack", "Footed Sleepsuit", "Knit Cardigan",
                                       "Muslin Swaddle", "Bobble Hat"], 6, (12, 49),
          {"material": ["organic cotton", "merino wool", "bamboo lyocell", "cotton"],
           "color": ["white", "oat", "sage", "sky blue", "blush", "mustard"],
           "size": All(("0-3m", "3-6m", "6-12m", "12-18m")), "age": "0-2"},
          ["Soft, flat seams that will not rub delicate skin.",
           "Machine washable, because life with little ones is messy."],
          title="{line} Baby {noun}", brands=BABY_BRANDS, icon="shirt"),
        T("Baby > Feeding", "bby-f", ["Glass Bottle Set", "Silicone Bib", "Suction Plate",
                                      "Sippy Cup", "Snack Pot"], 5, (9, 39),
          {"material": ["silicone", "borosilicate glass", "bamboo"],
           "color": ["sage", "blush", "sky blue", "mustard", "grey"], "age": "0-2"},
          ["BPA-free and dishwasher safe.", "Easy to wipe clean after messy meals."],
          title="{line} {noun}", brands=BABY_BRANDS),
        T("Baby > Nursery", "bby-n", [N("Crib Sheet", material=["organic cotton"]),
                                      N("Musical Mobile", material=["felt"]),
                                      N("Changing Pad Cover", material=["organic cotton"]),
                                      N("Night Light", material=["wood"])], 4, (19, 89),
          {
           "color": ["white", "sage", "oat", "lavender"], "age": "0-2"},
          ["Soft, muted tones for a calm nursery.", "Every part meets nursery safety standards."],
          title="{line} {noun}", gift=True, brands=BABY_BRANDS),
        T("Baby > Bath & Care", "bby-b", ["Baby Wash", "Nappy Balm", "Fragrance-Free Wipes"], 3,
          (6, 19), {"scent": ["unscented"], "lifestyle": Some(("vegan", "cruelty-free"), 1, 2),
                    "age": "0-2"},
          ["Tear-free and pH-balanced for newborn skin.",
           "Free from fragrance, parabens and harsh chemicals.",
           "99% water-based with a drop of calendula."], title="{line} {noun}",
          brands=BABY_BRANDS),
    ],
)

GROCERY = Category(
    name="Grocery & Pantry", colors=("#fbf0d9", "#ecc98a"), icon="jar",
    brands=["Goldfinch Pantry", "Three Acre Farm", "Hillock Roasters", "Ambergate Spice Co."],
    lines=["Hillside", "Golden Hour", "Market", "Farmhouse", "Wildflower", "Sunrise", "Harvest",
           "Old Mill", "Homestead"],
    openers=[
        "The {title} is the pantry upgrade you did not know you needed.",
        "Small-batch and full of flavour, our {noun} is made the slow way.",
        "{brand} sources the {title} directly from family growers.",
        "A little everyday luxury from the pantry shelf: the {title}.",
        "Pure, simple ingredients go into the {title}, and you can taste it.",
        "A cupboard hero from {brand}: the {title}.",
        "Loved by our buyers and chefs alike, the {title} rarely stays on the shelf for long.",
    ],
    extras=[
        "Packed in a facility that also handles nuts.",
        "Store in a cool, dry place and enjoy within six weeks of opening.",
        "Great as a gift, better in your own kitchen.",
        "No artificial flavours, colours or preservatives.",
        "Recyclable packaging, printed with plant-based inks.",
    ],
    closers=["Best before date printed on the base.", "Fairly traded and fully traceable."],
    types=[
        T("Coffee & Tea", "grc-c", [
            N("Whole Bean Coffee", (12, 24), ["Roasted in small batches every Monday and "
                                              "shipped within the week."],
              roast=["light", "medium", "dark"], size=["250 g", "500 g"],
              flavor=["chocolate & cherry", "caramel", "citrus", "nutty"]),
            N("Ground Coffee", (9, 19), ["Ground medium-fine for filter and cafetière."],
              roast=["medium", "dark"], size=["250 g"], flavor=["caramel", "nutty", "cocoa"]),
            N("Loose Leaf Green Tea", (8, 18), ["Steep at 80 °C for two minutes for a sweet, "
                                                "grassy cup."], size=["100 g"],
              flavor=["jasmine", "sencha", "mint"]),
            N("Chai Tea Bags", (6, 12), ["Cinnamon, cardamom and ginger on a black tea base."],
              size=["20 bags"], flavor=["spiced"]),
            N("Ceremonial Matcha", (19, 34), ["Stone-ground from shade-grown first-harvest "
                                              "leaves."], size=["30 g"], flavor=["umami"]),
            N("Chamomile Tea", (5, 10), ["Whole flowers for a honeyed, caffeine-free cup."],
              size=["20 bags"], flavor=["floral"])], 9, (6, 28),
          {"diet": Some(("vegan", "gluten-free", "organic"), 1, 3)},
          ["Packed in a resealable, compostable pouch.",
           "Brews a smooth cup with no bitterness."], title="{line} {noun}", gift=True,
          icon="cup", brands=["Hillock Roasters", "Goldfinch Pantry"]),
        T("Snacks", "grc-s", [
            N("Dark Chocolate Bar", (3, 7), ["Seventy percent cacao with a snap and a long, "
                                             "fruity finish."],
              diet=Some(("vegan", "gluten-free", "organic"), 1, 3),
              flavor=["sea salt", "orange", "raspberry", "original"]),
            N("Crackers", (3, 6), ["Thin, crisp and made for a cheese board."],
              diet=Some(("vegan", "organic"), 1, 2), flavor=["sea salt", "rosemary", "seeded"]),
            N("Trail Mix", (5, 10), ["Roasted almonds, cashews, cranberries and dark chocolate "
                                     "chips."], diet=Some(("vegan", "gluten-free"), 1, 2),
              flavor=["original", "tropical", "smoked"]),
            N("Granola", (6, 12), ["Baked low and slow for big, crunchy clusters."],
              diet=Some(("gluten-free", "organic"), 1, 2),
              flavor=["maple", "cinnamon", "cocoa"]),
            N("Kettle Chips", (3, 5), ["Hand-cooked in small batches in sunflower oil."],
              diet=Some(("vegan", "gluten-free"), 1, 2),
              flavor=["sea salt", "chili", "smoked", "salt & vinegar"]),
            N("Oat Bars", (4, 9), ["Wholegrain oats bound with a little honey; five to a "
                                   "box."], diet=Some(("gluten-free", "organic"), 1, 2),
              flavor=["honey", "peanut", "cinnamon"]),
            N("Cheddar Crisps", (4, 7), ["Baked aged cheddar and nothing else."],
              diet=["gluten-free"], flavor=["original", "chili"])], 9, (3, 12),
          {}, ["Crunchy, moreish and hard to put down.",
               "Just right for lunchboxes, hikes and desk drawers."],
          title="{line} {Flavor} {noun}", brands=["Goldfinch Pantry", "Three Acre Farm"]),
        T("Baking", "grc-b", [
            N("Almond Flour", (9, 16), ["Finely milled from blanched Californian almonds."],
              diet=Some(("vegan", "gluten-free", "organic"), 2, 3)),
            N("Buttermilk Pancake Mix", (5, 9), ["Just add an egg and milk for a stack of "
                                                 "fluffy pancakes."], diet=["organic"]),
            N("Pure Vanilla Extract", (9, 18), ["Made from Madagascan vanilla beans, aged for "
                                                "months."],
              diet=Some(("vegan", "gluten-free"), 2, 2)),
            N("Coconut Sugar", (4, 8), ["A caramel-rich swap for brown sugar, cup for cup."],
              diet=Some(("vegan", "gluten-free", "organic"), 2, 3))], 4, (4, 18),
          {}, ["A pantry staple for cakes, cookies and weekend pancakes."],
          title="{line} {noun}", brands=["Three Acre Farm", "Goldfinch Pantry"]),
        T("Pasta, Grains & Sauces", "grc-p", [
            N("Bronze-Cut Rigatoni", (3, 6), ["Slow-dried for a rough texture that holds on to "
                                              "sauce."], diet=Some(("vegan", "organic"), 1, 2)),
            N("Arborio Rice", (4, 8), ["Plump grains for a creamy risotto."],
              diet=Some(("vegan", "gluten-free"), 2, 2)),
            N("Tomato Basil Sauce", (5, 9), ["Sun-ripened tomatoes simmered with basil and "
                                             "garlic."],
              diet=Some(("vegan", "gluten-free", "organic"), 1, 3)),
            N("Chili Crisp", (7, 12), ["Crunchy shallots and garlic in a fragrant chili oil."],
              diet=Some(("vegan", "gluten-free"), 1, 2)),
            N("Extra Virgin Olive Oil", (14, 24), ["Cold-pressed from a single estate "
                                                   "harvest."],
              diet=Some(("vegan", "gluten-free", "organic"), 2, 3)),
            N("Red Lentils", (3, 6), ["Cook in fifteen minutes, no soaking needed."],
              diet=Some(("vegan", "gluten-free", "organic"), 2, 3)),
            N("Wildflower Honey", (9, 16), ["Raw and unfiltered, from hives on a family farm."],
              diet=["gluten-free"]),
            N("Chickpea Pasta", (4, 7), ["Twice the protein of wheat pasta and naturally "
                                         "gluten-free."],
              diet=Some(("vegan", "gluten-free"), 2, 2))], 9, (3, 24),
          {}, ["Ready in minutes; just add your favourite vegetables."],
          title="{line} {noun}", brands=["Goldfinch Pantry", "Three Acre Farm"]),
        T("Spices", "grc-x", [N("Smoked Paprika", (5, 9)), N("Za'atar Blend", (6, 10)),
                              N("Ras el Hanout", (6, 11)),
                              N("Spice Gift Set", (29, 39), ["Six of our bestselling blends "
                                                             "in a keepsake box."])], 4, (5, 39),
          {"diet": Some(("vegan", "gluten-free", "organic"), 2, 3)},
          ["Ground fresh in small batches to keep the aroma vivid.",
           "Sealed in a refillable tin that keeps out light."], title="{line} {noun}",
          gift=True, brands=["Ambergate Spice Co."]),
    ],
)

SPORTS = Category(
    name="Sports & Outdoors", colors=("#e1f0dc", "#9fcf8d"), icon="ball",
    brands=["Ridgeline Supply", "Tallowpeak", "Kinetic Fern"],
    lines=["Summit", "Trailhead", "Apex", "Tempo", "Basecamp", "Stride", "Ridge", "Glacier",
           "Canyon"],
    openers=[
        "The {title} is built for people who would rather be outside.",
        "Tested on real trails by the {brand} team, {this} {noun} {is} ready for anything.",
        "Lightweight, tough and made to move: the {title}.",
        "Whether you train at dawn or head for the hills at weekends, the {title} keeps up.",
        "Gear that lasts is the greenest gear; the {title} is built for many seasons.",
        "Made from {material}, the {title} is as practical as {it_is} good-looking.",
    ],
    extras=[
        "Packs down small and weighs next to nothing.",
        "Reflective details keep you visible after dark.",
        "Made with bluesign-approved materials.",
        "Designed in the mountains of Colorado.",
    ],
    closers=["Free returns within 30 days.", "Covered by our lifetime repair promise."],
    types=[
        T("Yoga & Fitness", "spt-y", [
            N("Yoga Mat", (39, 119), ["Grippy in hot yoga and cushioned for knees."],
              material=["natural rubber", "cork", "tpe"]),
            N("Yoga Block Set", (15, 29), ["Two firm blocks with bevelled edges for a "
                                           "comfortable grip."],
              material=["cork", "recycled foam"]),
            N("Kettlebell", (29, 89), ["A wide, smooth handle for two-handed swings."],
              material=["cast iron"], weight=["8 kg", "12 kg", "16 kg"]),
            N("Jump Rope", (12, 29), ["Ball-bearing handles for fast, smooth turns."],
              material=["pvc", "leather"]),
            N("Workout Leggings", (39, 89), ["Sweat-wicking and squat-proof, with a phone "
                                             "pocket at the hip."],
              material=["recycled polyester"], size=WOMEN_SIZES)], 8, (12, 119),
          {"color": ["black", "sage", "lavender", "navy", "terracotta", "grey"]},
          ["Built for home workouts and studio classes alike."], title="{line} {noun}"),
        T("Running", "spt-r", ["Running Vest", "Reflective Jacket", "Running Cap",
                               "Hydration Belt"], 4, (19, 139),
          {"material": ["recycled polyester", "recycled nylon"],
           "color": ["black", "coral", "cobalt", "yellow", "grey"], "size": MEN_SIZES},
          ["Bounce-free fit, even at race pace.",
           "Breathable mesh panels dump heat on long runs."], title="{line} {noun}"),
        T("Camping & Hiking", "spt-c", [
            N("Two-Person Tent", (189, 399), ["Sets up in under five minutes, even in wind."],
              material=["recycled nylon"]),
            N("Down Sleeping Bag", (149, 329), ["Rated to keep you comfortable down to -5 °C."],
              material=["responsibly sourced down"]),
            N("Trekking Poles", (49, 119), ["Flick-lock adjusters and cork grips."],
              material=["carbon fibre", "aluminium"]),
            N("Insulated Bottle", (24, 42), ["Keeps drinks cold for 24 hours or hot for 12."],
              material=["stainless steel"]),
            N("Daypack 22L", (59, 129), ["A padded back panel and a sleeve for a hydration "
                                         "bladder."], material=["recycled nylon",
                                                                "waxed canvas"]),
            N("Camp Lantern", (29, 59), ["Dimmable, USB-C rechargeable, with a red night "
                                         "mode."], material=["aluminium"])], 9, (19, 399),
          {"color": ["forest green", "orange", "grey", "navy", "olive", "yellow"]},
          ["Field-tested on a season of weekend trips."], title="{line} {noun}",
          icon="tent"),
        T("Cycling", "spt-b", ["Bike Helmet", "Rechargeable Bike Lights", "Saddle Bag"], 3,
          (19, 129), {"color": ["black", "white", "cobalt", "red"]},
          ["Meets European and US safety certifications.",
           "USB-C rechargeable with up to 12 hours of run time."], title="{line} {noun}"),
        T("Team Sports", "spt-t", [
            N("Soccer Ball", (19, 39), ["Machine-stitched panels with a consistent bounce."]),
            N("Basketball", (24, 49), ["Deep channels and a tacky composite cover."]),
            N("Tennis Racket", (59, 149), ["A forgiving 100 sq in head for players finding "
                                           "their swing."]),
            N("Badminton Set", (29, 59), ["Four rackets, three shuttlecocks and a net that sets "
                                          "up in minutes."])], 4, (19, 149),
          {"color": ["white", "orange", "yellow", "multicolour"],
           "age": Some(("9-12", "13+"), 1, 2)},
          ["Great for the park, the garden or the club."], title="{line} {noun}"),
    ],
)

TOYS = Category(
    name="Toys & Games", colors=("#fff0d4", "#ffc878"), icon="blocks",
    brands=["Pipsqueak Workshop", "Marble & Moon", "Tinker Lark"],
    lines=["Rainbow", "Little Explorer", "Moonlit", "Bramble", "Rocket", "Pebble", "Wonder",
           "Jolly", "Acorn"],
    openers=[
        "The {title} turns an ordinary afternoon into an adventure.",
        "Designed for ages {age}, {this} {noun} {grows} with your child's imagination.",
        "{brand} makes the {title} to be played with hard and passed down.",
        "Screen-free fun for the whole family: the {title}.",
        "Made from {material}, the {title} is built for small hands and big ideas.",
        "Open-ended and endlessly replayable, the {title} is a playroom favourite.",
    ],
    extras=[
        "Non-toxic, water-based paints and finishes throughout.",
        "Encourages fine motor skills, problem solving and cooperative play.",
        "Everything packs away in a sturdy storage box.",
        "Makes a brilliant birthday present.",
        "Tested to EN71 and ASTM toy safety standards.",
    ],
    closers=["Batteries not required.", "Warning: small parts; not for children under 3."],
    types=[
        T("Building & STEM", "toy-b",
          [("Wooden Block Set", {"material": ["beech wood"], "age": ["0-2", "3-5"]}),
           ("Magnetic Tiles", {"material": ["abs plastic"], "age": ["3-5", "6-8"]}),
           ("Marble Run", {"material": ["beech wood", "recycled plastic"], "age": ["6-8"]}),
           ("Coding Robot Kit", {"material": ["recycled plastic"], "age": ["6-8", "9-12"]}),
           ("Circuit Science Kit", {"material": ["cardboard"], "age": ["9-12"]})], 8, (19, 119),
          {"color": ["multicolour", "natural", "sky blue"]},
          ["Introduces early engineering through trial and error.",
           "Includes an illustrated idea booklet with 30 builds."], title="{line} {noun}",
          gift=True),
        T("Puzzles & Board Games", "toy-p",
          [("500-Piece Jigsaw Puzzle", {"age": ["9-12", "13+"]}),
           ("Floor Puzzle", {"age": ["3-5"]}),
           ("Family Board Game", {"age": ["6-8", "9-12"]}),
           ("Cooperative Card Game", {"age": ["6-8"]}),
           ("Strategy Game", {"age": ["9-12", "13+"]})], 7, (12, 49),
          {"material": ["recycled cardboard"], "players": ["1-4", "2-6", "2-4"]},
          ["Beautifully illustrated by an independent artist.",
           "Printed with plant-based inks on sturdy recycled board."], title="{line} {noun}",
          gift=True),
        T("Plush & Dolls", "toy-d",
          [("Plush Bunny", {"age": ["0-2", "3-5"]}), ("Rag Doll", {"age": ["3-5"]}),
           ("Wooden Dollhouse", {"age": ["3-5", "6-8"]}),
           ("Plush Bear", {"age": ["0-2", "3-5"]})], 5, (16, 149),
          {"material": ["organic cotton", "recycled polyester", "birch plywood"],
           "color": ["oat", "blush", "sage", "grey", "mustard"]},
          ["Soft, squishy and surface washable.", "Every face is embroidered, never glued."],
          title="{line} {noun}", gift=True),
        T("Arts & Crafts", "toy-a",
          [N("Watercolour Set", age=["6-8", "9-12"], material=["non-toxic pigments"]),
           N("Modelling Clay Kit", age=["3-5", "6-8"], material=["plant-based clay"]),
           N("Bead Jewellery Kit", age=["6-8"], material=["wood", "glass"])], 4, (12, 39),
          {"color": ["multicolour"]},
          ["Washable colours that come out of clothes.", "Includes 12 project cards."],
          title="{line} {noun}"),
        T("Outdoor Play", "toy-o",
          [N("Balance Bike", (79, 129), ["A low step-through frame and puncture-proof tyres."],
             age=["3-5"], material=["birch plywood", "aluminium"]),
           N("Diamond Kite", (14, 29), ["Flies in the lightest breeze; 30 m of line "
                                        "included."], age=["6-8", "9-12"],
             material=["recycled polyester"]),
           N("Sand Toy Set", (14, 24), ["Bucket, spade, sieve and three moulds."],
             age=["0-2", "3-5"], material=["recycled plastic"]),
           N("Kick Scooter", (59, 99), ["Folds in one click and adjusts to three heights."],
             age=["6-8"], material=["aluminium"])], 4, (14, 129),
          {"color": ["red", "sky blue", "yellow", "sage"]},
          ["Built for puddles, parks and beaches."], title="{line} {noun}"),
    ],
)

# Books are written out by hand: a shop's book titles are its own copy.
BOOK_LIST: list[tuple[str, str, str, str, str, str | None]] = [
    # (path, title, author, genre, blurb, age or None)
    ("Fiction", "The Salt Road", "Imogen Calloway", "literary fiction",
     "Three generations of women run a seaside inn as the coast slowly takes it back.", None),
    ("Fiction", "A Lantern in the Orchard", "Tomas Reyne", "historical fiction",
     "A young beekeeper hides a refugee in an apple orchard during the long winter of 1944.",
     None),
    ("Fiction", "Glasshouse Summer", "Priya Okonjo", "contemporary fiction",
     "Two estranged sisters inherit a crumbling Victorian glasshouse and one last summer.", None),
    ("Fiction", "The Cartographer's Daughter", "Elsa Marwood", "mystery",
     "A map with an island that should not exist leads to a forty-year-old disappearance.", None),
    ("Fiction", "Quiet Engines", "Rafe Delacroix", "science fiction",
     "On a generation ship, the engineer who keeps the lights on discovers no one is steering.",
     None),
    ("Fiction", "Midnight at the Paper Moon", "June Halloway", "romance",
     "A late-night bookshop, a stranded novelist and a snowstorm that will not quit.", None),
    ("Fiction", "The Hollow Bell", "Kit Varga", "thriller",
     "When a village church bell rings on its own, a retired detective starts counting.", None),
    ("Cookbooks", "Salt, Smoke & Citrus", "Marco Bellandi", "cookbook",
     "One hundred recipes from a life spent cooking over open fire.", None),
    ("Cookbooks", "The Green Table", "Hana Lindqvist", "cookbook",
     "Seasonal vegan cooking that even devoted carnivores ask for seconds of.", None),
    ("Cookbooks", "Weeknight Pasta", "Giulia Ferraro", "cookbook",
     "Sixty fast pasta dinners, most of them ready in the time it takes to boil water.", None),
    ("Cookbooks", "Flour Child", "Nadia Armitage", "cookbook",
     "A baker's handbook for bread, pastry and the perfect gluten-free loaf.", None),
    ("Cookbooks", "The Spice Drawer", "Arjun Mehta", "cookbook",
     "Thirty spices, three ways each: a cook's guide to building flavour.", None),
    ("Children's", "Otto and the Very Big Puddle", "Freya Pembrook", "picture book",
     "A small otter learns that the best adventures start right outside the front door.",
     "3-5"),
    ("Children's", "The Moon Forgot to Rise", "Sami Achterberg", "picture book",
     "When the moon oversleeps, the night animals organise a very polite wake-up call.", "3-5"),
    ("Children's", "Goodnight, Little Lighthouse", "Clara Bennet", "board book",
     "A gentle bedtime rhyme for the tiniest readers.", "0-2"),
    ("Children's", "Detective Dot and the Missing Marble", "Leon Farrow", "early reader",
     "A first chapter book with clues to spot on every page.", "6-8"),
    ("Children's", "The Secret of Fernhollow Woods", "Ivy Castellan", "middle grade",
     "Four friends, one treehouse and a map that glows under moonlight.", "9-12"),
    ("Children's", "Big Questions for Small Scientists", "Dr. Ama Fosu", "nonfiction",
     "Why is the sky blue? Where does rain go? Fifty answers with experiments to try.", "6-8"),
    ("Nonfiction", "The Art of Slow Mornings", "Beatrix Loh", "lifestyle",
     "Small rituals that make the first hour of the day your own.", None),
    ("Nonfiction", "Rewilding the Backyard", "Owen Tallis", "nature",
     "How to turn any garden, balcony or window box into a haven for wildlife.", None),
    ("Nonfiction", "Money, Plainly", "Ruth Adeyemi", "personal finance",
     "A calm, jargon-free guide to budgets, savings and investing for the long run.", None),
    ("Nonfiction", "Nine Months, One Day at a Time", "Dr. Lena Ostrova", "pregnancy",
     "A week-by-week companion for expecting parents, written by a practising midwife.", None),
    ("Nonfiction", "Running Home", "Callum Reid", "memoir",
     "A memoir of grief, recovery and the 4,000 kilometres it took to find his way back.", None),
    ("Nonfiction", "The Thinking Hand", "Mira Kowalczyk", "design",
     "On craft, making and why we need to work with our hands.", None),
]

BOOK_PREFIX = {"Fiction": "f", "Cookbooks": "k", "Children's": "c", "Nonfiction": "n"}

BOOKS = Category(
    name="Books", colors=("#efe6da", "#cdb593"), icon="book",
    brands=["Inkwell House Press", "Bramble Books", "Lanternfish Publishing"],
    lines=[],
    openers=[],
    extras=[
        "A book to read slowly and return to often.",
        "Printed on FSC-certified paper with a sewn binding that lies flat.",
        "Shortlisted for this year's Independent Booksellers' Prize.",
        "The kind of book you press into a friend's hands.",
        "Beautifully designed, with illustrated endpapers.",
        "Signed copies are available while stocks last.",
    ],
    closers=["A staff pick at Larkfield & Co.", "Perfect for book clubs."],
    types=[],
)

BOOK_OPENERS = [
    "{blurb}",
    "{author}'s {genre_a} is already a staff favourite. {blurb}",
    "From {author} comes {title}. {blurb}",
    "{blurb} {author} at the top of their game.",
]

ELECTRONICS = Category(
    name="Electronics Accessories", colors=("#e2e8f3", "#a9b8d6"), icon="headphones",
    brands=["Voltwise", "Auralis Sound", "Keelbright"],
    lines=["Pulse", "Nova", "Flux", "Echo", "Orbit", "Arc", "Halo", "Volt", "Prism"],
    openers=[
        "The {title} is tech that fits neatly into your life.",
        "{brand} engineered the {title} to just work, every time you reach for it.",
        "Sleek in {color} and tough where it counts: the {title}.",
        "Small, smart and built to last: the {title}.",
        "Thoughtfully designed in {material}, {this} {noun} {is} made to outlast your devices.",
        "Upgrade your everyday carry with the {title}.",
    ],
    extras=[
        "Comes with a two-year warranty.",
        "Designed in Oslo and tested for a year of daily use.",
        "Plastic-free packaging made from recycled fibre.",
    ],
    closers=["Free shipping and 30-day returns.", "Firmware updates via the companion app."],
    types=[
        T("Audio", "ele-a", [
            N("Wireless Earbuds", (59, 179), ["Active noise cancellation quiets trains, planes "
                                              "and open offices.",
                                              "Up to 30 hours of battery life with the case."]),
            N("Over-Ear Headphones", (99, 249), ["Memory-foam ear cushions for all-day "
                                                 "comfort."]),
            N("Portable Speaker", (39, 129), ["IPX7 waterproof: it shrugs off rain and "
                                              "poolside splashes."]),
            N("Sleep Earbuds", (79, 149), ["Low-profile buds you can wear lying on your "
                                           "side."])], 6, (39, 249),
          {"material": ["recycled plastic", "aluminium"],
           "color": ["black", "white", "sage", "navy", "sky blue"],
           "connectivity": ["bluetooth 5.3"]},
          ["Pairs with two devices at once and switches between them."], gift=True,
          title="{line} {noun}", brands=["Auralis Sound"]),
        T("Charging", "ele-c", [
            N("65W USB-C Charger", (29, 49), ["GaN technology makes it half the size of a "
                                              "standard charger."]),
            N("Power Bank 10,000 mAh", (24, 45), ["Charges a phone twice over, and fits in a "
                                                  "jeans pocket."]),
            N("Wireless Charging Pad", (19, 39), ["A grippy surface keeps your phone aligned "
                                                  "overnight."]),
            N("Braided USB-C Cable", (12, 19), ["Tested to survive 20,000 bends."],
              material=["nylon braid"]),
            N("3-in-1 Charging Stand", (59, 89), ["Phone, watch and earbuds, all from one "
                                                  "plug."])], 6, (14, 89),
          {"material": ["recycled plastic", "aluminium", "nylon braid"],
           "color": ["black", "white", "grey"]},
          ["Works with iPhone, Android and USB-C laptops.",
           "Certified for safe charging with over-heat protection."], title="{line} {noun}",
          icon="phone",
          brands=["Voltwise"]),
        T("Cases & Sleeves", "ele-s", ["Phone Case", "Tablet Sleeve", "Laptop Sleeve",
                                       "Cable Organiser"], 6, (19, 89),
          {"material": ["leather", "recycled plastic", "wool felt", "vegan leather"],
           "color": ["black", "tan", "brown", "charcoal", "sage", "navy"]},
          ["A soft microfibre lining keeps scratches away.",
           "Slim enough to slip into a bag without adding bulk."],
          title="{line} {Material} {noun}", icon="phone", brands=["Keelbright"]),
        T("Smart Home & Desk", "ele-h", [
            N("Smart Plug 2-Pack", (19, 34), ["Schedule lamps and fans from your phone."]),
            N("LED Desk Lamp", (39, 89), ["Five colour temperatures and a flicker-free "
                                          "light."]),
            N("Aluminium Laptop Stand", (29, 69), ["Adjustable to six heights for a healthier "
                                                   "posture."]),
            N("Bluetooth Tracker", (19, 29), ["Clip it to your keys and ring them from your "
                                              "phone."])], 4, (19, 99),
          {"material": ["aluminium", "recycled plastic"], "color": ["white", "black", "silver"]},
          ["Sets up in two minutes from the companion app."], title="{line} {noun}",
          brands=["Voltwise", "Keelbright"]),
    ],
)

PETS = Category(
    name="Pets", colors=("#f6eadf", "#e0b896"), icon="paw",
    brands=["Brindle & Bark", "Whisker Lane", "Good Hound Co."],
    lines=["Wag", "Scout", "Biscuit", "Pounce", "Rover", "Maple", "Ziggy", "Tumble"],
    openers=[
        "The {title} is made for pets who are part of the family.",
        "Tough enough for enthusiastic pets, {this} {noun} {is} built to last.",
        "{brand} tested the {title} with a panel of very opinionated dogs and cats.",
        "A happy pet, a tidier home: the {title}.",
        "Designed with vets, the {title} puts comfort first.",
    ],
    extras=[
        "Always supervise play and replace toys when worn.",
        "Made in small batches with pet-safe materials.",
    ],
    closers=["Loved by our office dogs.", "Satisfaction guaranteed, or your money back."],
    types=[
        T("Dog", "pet-d", [
            N("Rope Tug Toy", (9, 16), ["Chew-tested and knotted to last."],
              material=["cotton rope"]),
            N("Orthopedic Dog Bed", (69, 149), ["Memory foam eases pressure on older joints.",
                                                "Machine washable cover, because muddy paws "
                                                "happen."],
              material=["memory foam", "recycled polyester"]),
            N("Dog Collar", (19, 45), ["Solid brass buckle and a ring for tags."],
              material=["leather", "recycled nylon"]),
            N("Reflective Leash", (19, 34), ["Reflective stitching for evening walks."],
              material=["recycled nylon"]),
            N("Grain-Free Dog Food", (29, 69), ["Real meat is the first ingredient."],
              diet=["gluten-free"], flavor=["chicken", "salmon", "lamb"], size=["2 kg", "6 kg"]),
            N("Dental Chews", (9, 18), ["A ridged shape helps clean teeth as they chew."],
              flavor=["mint", "chicken"])], 8, (9, 129),
          {"size": ["s", "m", "l"], "color": ["tan", "navy", "red", "forest green", "grey"],
           "pet": "dog"},
          ["Sized for small, medium and large breeds."], title="{line} {noun}"),
        T("Cat", "pet-c", [
            N("Cardboard Cat Scratcher", (12, 24), ["Keeps claws busy and away from the sofa.",
                                                    "Refillable with organic catnip."],
              material=["recycled cardboard"]),
            N("Feather Wand Toy", (6, 12), ["Swap-on feathers for endless chase."],
              material=["wood"]),
            N("Cat Tree", (79, 169), ["Three platforms, a hideaway and sisal-wrapped posts."],
              material=["sisal", "wood"]),
            N("Salmon Cat Treats", (4, 9), ["Freeze-dried salmon, single ingredient."],
              flavor=["salmon"]),
            N("Ceramic Food Bowl", (14, 26), ["Raised and tilted for comfortable eating."],
              material=["ceramic"]),
            N("Cosy Cat Cave", (34, 59), ["Hand-felted merino that cats cannot resist."],
              material=["wool felt"])], 7, (6, 149),
          {"color": ["grey", "oat", "sage", "blush", "natural"], "pet": "cat"},
          ["Loved by indoor cats."], title="{line} {noun}"),
    ],
)

GARDEN = Category(
    name="Garden", colors=("#e6f2da", "#b5d68f"), icon="plant",
    brands=["Potting Shed Co.", "Mossbank", "Hedgerow Tools"],
    lines=["Allotment", "Greenhouse", "Bramblewood", "Cottage", "Potager", "Hazel", "Sunpatch",
           "Orchard"],
    openers=[
        "The {title} makes time in the garden more of a pleasure.",
        "Made from {material}, {this} {noun} {is} built for many seasons outdoors.",
        "{brand} designs the {title} for real gardeners with real dirt under their nails.",
        "From first seedling to final harvest, the {title} is there to help.",
        "Bring a little life to a balcony or backyard with the {title}.",
    ],
    extras=[
        "Weather-resistant and happy outdoors all year.",
        "A thoughtful gift for green-fingered friends.",
        "Hand-finished and made to be repaired, not replaced.",
        "Comes with a simple planting guide.",
    ],
    closers=["Free UK-grown seed packet with every order.", "Ships in recycled packaging."],
    types=[
        T("Tools", "gdn-t", [
            N("Hand Trowel", (14, 29), ["A sharp, rust-resistant blade cuts through clay "
                                        "soil."], material=["stainless steel", "ash wood"]),
            N("Pruning Shears", (19, 45), ["Bypass blades make clean cuts that heal fast."],
              material=["carbon steel"]),
            N("Garden Gloves", (12, 24), ["Thorn-resistant palms with breathable backs."],
              material=["leather", "recycled nylon"], size=WOMEN_SIZES),
            N("Watering Can", (24, 59), ["A long spout and a fine rose for seedlings."],
              material=["galvanised steel", "recycled plastic"]),
            N("Kneeling Pad", (9, 19), ["Thick foam that spares your knees."],
              material=["recycled foam"])], 6, (9, 69),
          {"color": ["forest green", "sage", "terracotta", "grey", "natural"]},
          ["Ergonomic handles reduce strain during long sessions."], title="{line} {noun}",
          gift=True),
        T("Planters", "gdn-p", [
            N("Terracotta Pot", (12, 34), ["A drainage hole and saucer keep roots healthy."],
              material=["terracotta"]),
            N("Self-Watering Planter", (24, 49), ["A hidden reservoir waters for up to two "
                                                  "weeks."], material=["recycled plastic"]),
            N("Hanging Planter", (19, 39), ["Comes with an adjustable hanging cord."],
              material=["ceramic", "jute"]),
            N("Raised Garden Bed", (119, 189), ["Waist height, so there is no bending to "
                                                "weed."],
              material=["cedar wood", "galvanised steel"])], 5, (12, 189),
          {"color": ["terracotta", "white", "sage", "charcoal", "natural"]},
          ["Sized for herbs, houseplants or vegetables."], title="{line} {noun}"),
        T("Seeds & Plants", "gdn-s", [("Heirloom Tomato Seeds", {"type": ["seeds"]}),
                                      ("Herb Garden Kit", {"type": ["kit"]}),
                                      ("Wildflower Seed Mix", {"type": ["seeds"]}),
                                      ("Succulent Trio", {"type": ["live plants"]}),
                                      ("Salad Leaf Seeds", {"type": ["seeds"]})], 5, (4, 39),
          {"growing": Some(("organic", "pollinator-friendly", "beginner-friendly"), 1, 2)},
          ["Sow indoors in spring and harvest all summer long.",
           "Germination-tested for reliable results."], title="{line} {noun}"),
        T("Outdoor Living", "gdn-o", [
            N("Solar String Lights", (19, 39), ["Charges by day and glows for up to eight "
                                                "hours."], material=["recycled plastic"]),
            N("Bird Feeder", (19, 45), ["Squirrel-resistant, with a roof that lifts for easy "
                                        "filling."], material=["cedar wood"]),
            N("Outdoor Cushion", (29, 59), ["Fade-resistant and quick-drying after rain."],
              material=["recycled polyester"]),
            N("Citronella Lantern", (14, 29), ["Burns for 30 hours and keeps midges at bay."],
              material=["glass"])], 5, (14, 89),
          {"color": ["natural", "black", "sage", "mustard", "navy"]},
          ["Brings evenings outside to life."], title="{line} {noun}"),
    ],
)

ACCESSORIES = Category(
    name="Bags & Accessories", colors=("#f4e4dc", "#d6a993"), icon="bag",
    brands=["Atlas & Thread", "Sable Atelier", "Penrose Leatherworks"],
    lines=["Carter", "Sloane", "Everly", "Hudson", "Margot", "Beckett", "Ines", "Wilder"],
    openers=[
        "The {title} is the finishing touch you will use every single day.",
        "Crafted from {material} in {color}, {this} {noun} {is} made to be carried for years.",
        "{brand} makes the {title} in a small workshop, one piece at a time.",
        "Understated and beautifully made: the {title}.",
        "Made to be worn and loved for years: the {title}.",
        "Dress it up or down; the {title} goes with everything.",
    ],
    extras=[
        "Solid brass hardware that will not tarnish.",
        "A thoughtful gift, delivered in a linen pouch.",
        "Inside, a zipped pocket keeps small things in their place.",
        "Nickel-free and hypoallergenic.",
        "Monogramming available at checkout.",
    ],
    closers=["Lifetime guarantee on stitching.", "Handmade in Spain."],
    types=[
        T("Bags", "acc-b", ["Tote Bag", "Crossbody Bag", "Backpack", "Weekender Bag",
                            "Belt Bag"], 7, (39, 349),
          {"material": ["leather", "vegan leather", "waxed canvas", "recycled nylon"],
           "color": ["black", "tan", "brown", "olive", "navy", "burgundy", "oat"]},
          ["Fits a 14-inch laptop, a water bottle and a book.",
           "An adjustable strap lets you wear it on the shoulder or across the body."],
          gift=True, title="{line} {Material} {noun}"),
        T("Wallets & Small Goods", "acc-w", ["Card Holder", "Bifold Wallet", "Key Ring",
                                             "Passport Cover"], 5, (19, 99),
          {"material": ["leather", "leather", "vegan leather", "recycled nylon"],
           "color": ["black", "tan", "brown", "burgundy", "navy"]},
          ["Slim enough for a front pocket, roomy enough for eight cards.",
           "RFID-blocking lining protects contactless cards."], gift=True,
          title="{line} {Material} {noun}"),
        T("Jewelry", "acc-j", ["Hoop Earrings", "Pendant Necklace", "Stacking Ring",
                               "Cuff Bracelet", "Stud Earrings"], 6, (24, 189),
          {"material": ["sterling silver", "gold vermeil", "recycled silver", "brass"],
           "color": ["silver", "gold"]},
          ["Lightweight enough to wear from morning to night.",
           "Polished by hand for a soft, warm shine."], gift=True, icon="ring",
          title="{line} {Material} {noun}"),
        T("Hats, Scarves & Gloves", "acc-h", ["Ribbed Beanie", "Oversized Scarf", "Touchscreen "
                                              "Gloves", "Bucket Hat"], 5, (19, 89),
          {"material": ["merino wool", "cashmere blend", "organic cotton", "recycled polyester"],
           "color": ALL_COLORS},
          ["Soft against the skin, with no itch.", "One size fits most."],
          title="{line} {Material} {noun}"),
        T("Watches & Sunglasses", "acc-s", [
            N("Minimalist Watch", (119, 229), ["Scratch-resistant sapphire crystal and a "
                                               "Japanese movement."],
              material=["stainless steel", "leather"]),
            N("Round Sunglasses", (49, 139), ["Polarised lenses with full UV400 protection."],
              material=["acetate"]),
            N("Cat-Eye Sunglasses", (49, 139), ["Polarised lenses with full UV400 "
                                                "protection."], material=["acetate"])],
          4, (49, 229), {"color": ["black", "tan", "gold", "silver"]},
          ["Comes in a protective case with a cleaning cloth."], gift=True, icon="ring",
          title="{line} {noun}"),
    ],
)

CATEGORIES = [APPAREL, FOOTWEAR, HOME, BEAUTY, HEALTH, BABY, GROCERY, SPORTS, TOYS, BOOKS,
              ELECTRONICS, PETS, GARDEN, ACCESSORIES]

SHORT_MATERIAL = {"merino wool": "Merino", "cashmere blend": "Cashmere", "recycled polyester":
                  "Recycled", "lambswool": "Lambswool", "organic cotton": "Organic Cotton",
                  "cotton twill": "Twill", "brushed cotton": "Brushed Cotton",
                  "recycled knit": "Knit", "recycled nylon": "Nylon", "recycled plastic":
                  "Recycled", "wool felt": "Felt", "gold vermeil": "Gold",
                  "sterling silver": "Silver", "recycled silver": "Silver",
                  "waxed canvas": "Waxed Canvas", "vegan leather": "Vegan Leather"}
ECO_WORDS = ("recycled", "organic", "bamboo", "cork", "natural rubber", "tencel", "beeswax")


# --------------------------------------------------------------------------- copy
def fields_of(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


def fill(rng: random.Random, pool: list[str], ctx: dict[str, str]) -> str | None:
    usable = [t for t in pool if fields_of(t) <= ctx.keys()]
    return rng.choice(usable).format(**ctx) if usable else None


# Verbs that follow a product's name in the openers, for plural names ("Chelsea Boots").
PLURAL_VERBS = {"is": "are", "has": "have", "feels": "feel", "works": "work", "suits": "suit",
                "makes": "make", "keeps": "keep", "turns": "turn", "brings": "bring",
                "supports": "support", "puts": "put", "pairs": "pair", "earns": "earn",
                "grows": "grow", "rarely stays": "rarely stay", "goes": "go"}
IT_RE = re.compile(r"\b(it|its)\b", re.IGNORECASE)
THEY_RE = re.compile(r"\b(they|them|their)\b", re.IGNORECASE)


SINGULAR_CTX = {"this": "this", "is": "is", "has": "has", "it_is": "it is",
                "it_looks": "it looks", "earns": "earns", "feels": "feels",
                "absorbs": "absorbs", "grows": "grows"}
PLURAL_CTX = {"this": "these", "is": "are", "has": "have", "it_is": "they are",
              "it_looks": "they look", "earns": "earn", "feels": "feel", "absorbs": "absorb",
              "grows": "grow"}


def lower_noun(noun: str) -> str:
    """'Braided USB-C Cable' -> 'braided USB-C cable': keep acronyms and model names."""
    def keep(word: str) -> bool:
        letters = "".join(c for c in word if c.isalpha())
        return any(c.isdigit() for c in word) or (len(letters) > 1 and letters.isupper())

    return " ".join(w if keep(w) else w.lower() for w in noun.split())


def is_plural(noun: str) -> bool:
    last = noun.split()[-1]
    return last.endswith("s") and not last.endswith("ss")


def pluralize(sentence: str, ctx: dict[str, str]) -> str:
    for name in (ctx["title"], ctx["noun"]):
        for one, many in PLURAL_VERBS.items():
            sentence = sentence.replace(f"{name} {one} ", f"{name} {many} ")
            sentence = sentence.replace(f"{name}, and it ", f"{name}, and they ")
        sentence = sentence.replace(f"this {name}", f"these {name}")
    return sentence


def agrees(sentence: str, plural: bool) -> bool:
    """Keep 'it' sentences for one thing and 'they' sentences for a pair or a pack."""
    return not (THEY_RE.search(sentence) if not plural else IT_RE.search(sentence))


def describe(rng: random.Random, cat: Category, ptype: PType, ctx: dict[str, str],
             noun_features: list[str]) -> str:
    plural = is_plural(ctx["Noun"])
    opener = fill(rng, cat.openers, ctx) or f"Meet the {ctx['title']}."
    sentences = [pluralize(opener, ctx) if plural else opener]
    pool = noun_features + ptype.features if noun_features else ptype.features
    feats = [f.format(**ctx) for f in pool if fields_of(f) <= ctx.keys()]
    feats = [f for f in feats if agrees(f, plural)]
    # Sentences written for this exact product go first: they are the most specific.
    own = [f.format(**ctx) for f in noun_features]
    k = min(len(feats), rng.choice([1, 1, 2]))
    picked = own[:1] + [f for f in rng.sample(feats, k) if f not in own[:1]]
    sentences += picked[:2]
    material = ctx.get("material", "")
    extras = [e for e in cat.extras if agrees(e, plural)]
    closers = [c for c in cat.closers if agrees(c, plural)]
    if material in CARE and rng.random() < 0.7:
        sentences.append(CARE[material])
    elif extras and rng.random() < 0.8:
        sentences.append(rng.choice(extras))
    if len(sentences) < 4 and closers and rng.random() < 0.35:
        sentences.append(rng.choice(closers))
    return " ".join(sentences[:4])


def price_of(rng: random.Random, lo: int, hi: int) -> float:
    base = rng.randint(lo, hi)
    return float(base) if rng.random() < 0.3 else base - 0.01 if base > lo else base + 0.99


# --------------------------------------------------------------------------- generation
def make_item(rng: random.Random, ptype: PType, noun_entry: Any, line: str,
              brand: str) -> tuple[dict[str, list[str]], dict[str, str], dict[str, Any]]:
    noun, overrides = noun_entry if isinstance(noun_entry, tuple) else (noun_entry, {})
    specs = {**ptype.attrs, **{k: v for k, v in overrides.items() if not k.startswith("_")}}
    attributes = {k: sample(rng, v) for k, v in specs.items()}
    ctx: dict[str, str] = {"noun": lower_noun(noun), "Noun": noun, "line": line, "brand": brand}
    ctx.update(PLURAL_CTX if is_plural(noun) else SINGULAR_CTX)
    for key, ctx_key in (("material", "material"), ("color", "color"), ("scent", "scent"),
                         ("flavor", "flavor"), ("skin_type", "skin"), ("age", "age")):
        if key in attributes:
            ctx[ctx_key] = attributes[key][0]
    if ctx.get("color") in ("clear", "multicolour", "natural"):
        del ctx["color"]  # reads badly in copy ("our plate set in clear")
    if "material" in ctx:
        ctx["Material"] = SHORT_MATERIAL.get(ctx["material"], ctx["material"].title())
    if ctx.get("scent") == "unscented":
        del ctx["scent"]  # "lightly scented with unscented"
    elif "scent" in ctx:
        ctx["Scent"] = ctx["scent"].title()
    if "flavor" in ctx:
        ctx["Flavor"] = ctx["flavor"].title()
    fmt = ptype.title or "{line} {Material} {noun}"
    try:
        title = fmt.format(**{**ctx, "noun": noun})
    except KeyError:
        title = f"{line} {noun}"
    ctx["title"] = title
    return attributes, ctx, overrides


def tags_for(rng: random.Random, ptype: PType, attributes: dict[str, list[str]]) -> list[str]:
    tags = set()
    if rng.random() < 0.16:
        tags.add("bestseller")
    if rng.random() < 0.15:
        tags.add("new")
    if rng.random() < 0.04:
        tags.add("limited-edition")
    flat = " ".join(v for vals in attributes.values() for v in vals)
    if any(w in flat for w in ECO_WORDS):
        tags.add("eco")
    if ptype.gift and rng.random() < 0.6:
        tags.add("gift-idea")
    if ("vegan" in attributes.get("diet", []) + attributes.get("lifestyle", [])
            or "vegan leather" in attributes.get("material", [])):
        tags.add("vegan")
    return sorted(tags)


def finish(rng: random.Random, rec: dict[str, Any], lo: int, hi: int) -> dict[str, Any]:
    price = price_of(rng, lo, hi)
    margin = rng.uniform(0.15, 0.65)
    cost = round(price * (1 - margin), 2)
    rec["price"] = round(price, 2)
    rec["currency"] = "USD"
    rec["cost"] = cost
    rec["margin"] = round((price - cost) / price, 4)
    rec["stock"] = 0 if rng.random() < 0.08 else rng.choice([rng.randint(1, 12),
                                                              rng.randint(10, 250)])
    rec["image_url"] = IMAGE_URL.format(id=rec["id"])
    rec["active"] = True
    return rec


def generate(seed: int) -> list[tuple[Item, Category, str]]:
    """Return (item, category, icon) triples in a stable order."""
    rng = random.Random(seed)
    out: list[tuple[Item, Category, str]] = []
    titles: set[str] = set()
    counters: dict[str, int] = {}

    def next_id(prefix: str) -> str:
        counters[prefix] = counters.get(prefix, 0) + 1
        return f"{prefix}-{counters[prefix]:04d}"

    for cat in CATEGORIES:
        if cat is BOOKS:
            out.extend(generate_books(rng, next_id))
            continue
        for ptype in cat.types:
            for i in range(ptype.n):
                noun_entry = ptype.nouns[i % len(ptype.nouns)]
                lines = ptype.lines or cat.lines
                for _ in range(50):  # re-draw until the title is new
                    line = rng.choice(lines)
                    brand = rng.choice(ptype.brands or cat.brands)
                    attributes, ctx, extra = make_item(rng, ptype, noun_entry, line, brand)
                    if ctx["title"] not in titles:
                        break
                titles.add(ctx["title"])
                item_id = next_id(ptype.prefix)
                sensitive = sorted(set(cat.sensitive) | set(ptype.sensitive))
                if "Prenatal" in ctx["Noun"]:
                    sensitive = sorted(set(sensitive) | {"health"})
                rec: dict[str, Any] = {
                    "id": item_id,
                    "title": ctx["title"],
                    "description": describe(rng, cat, ptype, ctx, extra.get("_f", [])),
                    "category": f"{cat.name} > {ptype.path}",
                    "brand": brand,
                    "attributes": attributes,
                    "tags": tags_for(rng, ptype, attributes),
                    "sensitive_topics": sensitive,
                }
                finish(rng, rec, *extra.get("_price", ptype.price))
                out.append((Item.model_validate(rec), cat, ptype.icon or cat.icon))
    return out


def generate_books(rng: random.Random, next_id: Any) -> list[tuple[Item, Category, str]]:
    out = []
    for path, title, author, genre, blurb, age in BOOK_LIST:
        ctx = {"title": title, "author": author, "blurb": blurb,
               "genre_a": genre + (" book" if genre in ("nonfiction", "pregnancy") else "")}
        sentences = [rng.choice(BOOK_OPENERS).format(**ctx)]
        sentences += rng.sample(BOOKS.extras, rng.choice([1, 2]))
        if rng.random() < 0.3:
            sentences.append(rng.choice(BOOKS.closers))
        fmt = "board book" if genre == "board book" else rng.choice(["hardcover", "paperback"])
        attributes = {"author": [author], "genre": [genre], "format": [fmt]}
        if age:
            attributes["age"] = [age]
        pages = rng.randint(24, 48) if age else rng.randint(180, 460)
        attributes["pages"] = [str(pages)]
        rec: dict[str, Any] = {
            "id": next_id("bok-" + BOOK_PREFIX[path]),
            "title": title,
            "description": " ".join(sentences),
            "category": f"Books > {path}",
            "brand": rng.choice(BOOKS.brands),
            "attributes": attributes,
            "tags": tags_for(rng, PType(path, "", [], 0, (0, 0), gift=True), attributes),
            "sensitive_topics": ["pregnancy"] if genre == "pregnancy" else [],
        }
        lo, hi = (9, 19) if age else (14, 38)
        finish(rng, rec, lo, hi)
        out.append((Item.model_validate(rec), BOOKS, "book"))
    return out


# --------------------------------------------------------------------------- images
ICONS: dict[str, str] = {
    "shirt": '<path d="M-30-70L-75-50-95-10-65 5-55-15V75H55V-15L65 5 95-10 75-50 30-70'
             'Q0-45-30-70Z"/>',
    "dress": '<path d="M-30-84H-20L-14-62H14L20-84H30L32-40Q28-30 20-26L66 78H-66L-20-26'
             'Q-28-30-32-40Z"/><path d="M-22-28H22" fill="none"/>',
    "shoe": '<path d="M-88 38V-35Q-86-48-68-48H-42Q-34-22 0-16L52-6Q88 2 88 30V38Z"/>'
            '<rect x="-92" y="36" width="184" height="16" rx="7" fill="#fff" fill-opacity=".8"/>',
    "pan": '<circle cx="-22" r="62"/><circle cx="-22" r="44" fill="#fff" fill-opacity=".25"/>'
           '<rect x="38" y="-10" width="66" height="20" rx="9"/>',
    "candle": '<rect x="-42" y="-28" width="84" height="104" rx="10"/>'
              '<path d="M0-40Q16-62 0-88Q-16-62 0-40Z" fill="#f5b942"/>',
    "vase": '<path d="M-22-82H22L18-56Q60-30 55 20Q50 76 0 78Q-50 76-55 20Q-60-30-18-56Z"/>',
    "pillow": '<path d="M-82-58Q0-42 82-58Q70 0 82 58Q0 42-82 58Q-70 0-82-58Z"/>'
              '<circle r="7" fill="#fff" fill-opacity=".7"/>',
    "bottle": '<rect x="-18" y="-88" width="36" height="26" rx="5"/>'
              '<rect x="-46" y="-62" width="92" height="142" rx="20"/>'
              '<rect x="-30" y="-12" width="60" height="44" rx="5" fill="#fff" fill-opacity=".7"/>',
    "pill": '<g transform="rotate(-35)"><rect x="-86" y="-32" width="172" height="64" rx="32"/>'
            '<path d="M0-32H54A32 32 0 0 1 54 32H0Z" fill="#fff" fill-opacity=".65"/></g>',
    "babybottle": '<path d="M-13-74Q0-102 13-74Z"/><rect x="-32" y="-74" width="64" height="16"'
                  ' rx="5"/><rect x="-40" y="-58" width="80" height="138" rx="22"/>'
                  '<path d="M-40-20H-18M-40 10H-18M-40 40H-18" fill="none"/>',
    "jar": '<rect x="-50" y="-82" width="100" height="22" rx="6"/>'
           '<rect x="-60" y="-58" width="120" height="138" rx="22"/>'
           '<rect x="-40" y="-14" width="80" height="46" rx="6" fill="#fff" fill-opacity=".7"/>',
    "cup": '<path d="M-66-42H46V20Q46 70-10 70Q-66 70-66 20Z"/>'
           '<path d="M46-24Q84-24 84 4Q84 32 46 32" BAND stroke-width="12"/>'
           '<path d="M-30-60Q-22-72-30-84M0-60Q8-72 0-84" fill="none"/>',
    "ball": '<circle r="78"/><path d="M-78 0H78M0-78Q-44 0 0 78M0-78Q44 0 0 78" fill="none"/>',
    "tent": '<path d="M-92 72L0-82 92 72Z"/><path d="M0-82-26 72H26Z" fill="#fff"'
            ' fill-opacity=".55"/>',
    "blocks": '<rect x="-82" y="4" width="74" height="74" rx="9"/>'
              '<rect x="8" y="4" width="74" height="74" rx="9" fill="#fff" fill-opacity=".75"/>'
              '<rect x="-37" y="-76" width="74" height="74" rx="9"/>',
    "book": '<path d="M-86-60Q-40-78 0-56Q40-78 86-60V66Q40 50 0 72Q-40 50-86 66Z"/>'
            '<path d="M0-56V72" fill="none"/>',
    "headphones": '<path d="M-64 22V0A64 64 0 0 1 64 0V22" BAND stroke-width="14"/>'
                  '<rect x="-88" y="4" width="36" height="68" rx="13"/>'
                  '<rect x="52" y="4" width="36" height="68" rx="13"/>',
    "phone": '<rect x="-46" y="-86" width="92" height="172" rx="16"/>'
             '<rect x="-35" y="-70" width="70" height="128" rx="5" fill="#fff"'
             ' fill-opacity=".55"/>',
    "paw": '<ellipse cy="32" rx="46" ry="38"/><ellipse cx="-56" cy="-20" rx="17" ry="23"/>'
           '<ellipse cx="-20" cy="-56" rx="17" ry="23"/><ellipse cx="20" cy="-56" rx="17" ry="23"/>'
           '<ellipse cx="56" cy="-20" rx="17" ry="23"/>',
    "plant": '<path d="M0 22Q-72-8-60-72Q-4-52 0 22Z" fill="#6a9f5b"/>'
             '<path d="M0 22Q72-18 56-82Q0-56 0 22Z" fill="#84b872"/>'
             '<path d="M-48 18H48L36 82H-36Z"/>',
    "bag": '<path d="M-34-38V-54A34 34 0 0 1 34-54V-38" BAND stroke-width="10"/>'
           '<rect x="-76" y="-42" width="152" height="122" rx="14"/>',
    "ring": '<circle cy="14" r="56" BAND stroke-width="18"/>'
            '<path d="M-20-62 0-88 20-62 0-46Z"/>',
}
FALLBACK_ACCENTS = ["#ffffff", "#f3ecdc", "#a3b899", "#8fbfe0", "#eec3bd", "#d4a53a", "#c8643f",
                    "#27375e"]
FONT = "system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif"


def wrap(text: str, width: int = 22, lines: int = 2) -> list[str]:
    words, out, cur = text.split(), [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            out.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    out.append(cur)
    if len(out) > lines:
        out = out[:lines]
        out[-1] = out[-1][: width - 1].rstrip() + "…"
    return out


def svg_for(item: Item, cat: Category, icon: str) -> str:
    c1, c2 = cat.colors
    color = (item.attributes.get("color") or [""])[0]
    # Products without a colour (books, pantry) still get a varied, stable accent.
    accent = COLORS.get(color) or FALLBACK_ACCENTS[zlib.crc32(item.id.encode()) % 8]
    # Outline in a colour that stays visible on the accent: dark on light, light on dark.
    r, g, b = (int(accent[i:i + 2], 16) for i in (1, 3, 5))
    outline = "#ffffff" if 0.299 * r + 0.587 * g + 0.114 * b < 90 else "#2f2f2f"
    band = f'fill="none" stroke="{accent}" stroke-opacity="1"'  # handles, straps, rings
    text = wrap(item.title)
    y0 = 318 if len(text) == 2 else 332
    tspans = "".join(
        f'<text x="200" y="{y0 + 30 * i}">{escape(t)}</text>' for i, t in enumerate(text)
    )
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 400" width="400" height="400"'
        f' role="img" aria-label="{escape(item.title, {chr(34): "&quot;"})}">'
        f'<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0"'
        f' stop-color="{c1}"/><stop offset="1" stop-color="{c2}"/></linearGradient></defs>'
        '<rect width="400" height="400" fill="url(#g)"/>'
        '<circle cx="200" cy="158" r="112" fill="#fff" fill-opacity=".4"/>'
        f'<g transform="translate(200 158)" fill="{accent}" stroke="{outline}"'
        ' stroke-opacity=".6" stroke-width="4" stroke-linejoin="round" stroke-linecap="round">'
        f'{ICONS[icon].replace("BAND", band)}</g>'
        f'<g font-family="{FONT}" font-size="24" font-weight="600" fill="#2d2a26"'
        f' text-anchor="middle">{tspans}</g>'
        f'<text x="200" y="382" font-family="{FONT}" font-size="13" letter-spacing="2"'
        f' fill="#2d2a26" fill-opacity=".65" text-anchor="middle">'
        f"{escape(item.brand.upper())}</text></svg>\n"
    )


# --------------------------------------------------------------------------- main
def write(out: Path, seed: int) -> list[Item]:
    products = generate(seed)
    ids = [p[0].id for p in products]
    if len(ids) != len(set(ids)):
        raise SystemExit("duplicate ids generated")
    out.mkdir(parents=True, exist_ok=True)
    images = out / "images"
    images.mkdir(exist_ok=True)
    for old in images.glob("*.svg"):  # ids may change between versions: no orphans
        old.unlink()
    meta = {"name": SHOP_NAME, "tagline": SHOP_TAGLINE, "currency": "USD", "seed": seed,
            "catalog": "catalog.jsonl", "images": "images", "image_url_prefix": "/demo/images/",
            "products": len(products),
            "categories": sorted({p[0].category_levels[0] for p in products})}
    (out / "store.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n",
                                    encoding="utf-8", newline="\n")
    with (out / "catalog.jsonl").open("w", encoding="utf-8", newline="\n") as fh:
        for item, cat, icon in products:
            fh.write(json.dumps(item.model_dump(mode="json"), ensure_ascii=False) + "\n")
            (images / f"{item.id}.svg").write_text(svg_for(item, cat, icon), encoding="utf-8",
                                                   newline="\n")
    return [p[0] for p in products]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=f"Generate the {SHOP_NAME} demo catalog (JSONL) and placeholder SVG images.")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help=f"random seed (default {DEFAULT_SEED}; change it and the store "
                             "changes)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="output directory; gets catalog.jsonl, store.json and images/ "
                             "(default app/demo)")
    args = parser.parse_args(argv)
    items = write(args.out, args.seed)
    tops = {i.category_levels[0] for i in items}
    brands = {i.brand for i in items}
    print(f"{len(items)} products, {len(tops)} top-level categories, {len(brands)} brands "
          f"-> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
