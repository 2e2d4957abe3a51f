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


# --------------------------------------------------------------------------- the catalog
# The pools the generator draws from live in data files (scripts/demo_data/*.json); see
# the "_about" line of each for its shape.
DATA = Path(__file__).resolve().parent / "demo_data"


def _decode(x: Any) -> Any:
    """JSON back to the spec: tagged samplers, fixed pairs and product types."""
    if isinstance(x, list):
        return [_decode(v) for v in x]
    if not isinstance(x, dict):
        return x
    if "$some" in x:
        return Some(tuple(x["$some"]), x["lo"], x["hi"])
    if "$all" in x:
        return All(tuple(x["$all"]))
    if "$tuple" in x:
        return tuple(_decode(v) for v in x["$tuple"])
    if "$type" in x:
        return PType(**{k: _decode(v) for k, v in x["$type"].items()})
    return {k: _decode(v) for k, v in x.items()}


def _load(name: str) -> dict[str, Any]:
    data = json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))
    data.pop("_about", None)
    return data


CATEGORIES = [Category(**_decode(c)) for c in _load("categories")["categories"]]
BOOKS = next(c for c in CATEGORIES if c.name == "Books")
_books = _load("books")
BOOK_LIST: list[tuple[str, str, str, str, str, str | None]] = [
    (b[0], b[1], b[2], b[3], b[4], b[5]) for b in _books["books"]]
BOOK_PREFIX: dict[str, str] = _books["prefix"]
BOOK_OPENERS: list[str] = _books["openers"]
_vocabulary = _load("vocabulary")
COLORS: dict[str, str] = _vocabulary["colors"]
CARE: dict[str, str] = _vocabulary["care"]  # care lines keyed by material
SHORT_MATERIAL: dict[str, str] = _vocabulary["short_material"]
ECO_WORDS = tuple(_vocabulary["eco_words"])


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
