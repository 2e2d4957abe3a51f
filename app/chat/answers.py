"""Answers about one product, read from its catalog record and never guessed: what the
record does not say is said not to be labelled ("It isn't labelled vegan (it contains
buttermilk)"), not invented."""

from __future__ import annotations

import re
from typing import Any

from app.chat.lexicon import lexicon
from app.chat.understand import contains_allergen

_SYM = {"USD": "$", "EUR": "€", "GBP": "£"}


def money(price: float, currency: str = "USD") -> str:
    return f"{_SYM.get(currency, '')}{price:.2f}" + ("" if currency in _SYM else f" {currency}")


def join(values: list[str]) -> str:
    values = [v for v in values if v]
    if len(values) <= 1:
        return "".join(values)
    return ", ".join(values[:-1]) + " and " + values[-1]


def _size_list(sizes: list[str]) -> str:
    return join([s.upper() if len(s) <= 3 and s.isalpha() else s for s in sizes])


def _labels(item: Any) -> list[str]:
    out = [v.lower() for k in ("diet", "lifestyle") for v in item.attributes.get(k, [])]
    return out + [t.lower() for t in item.tags if t.lower() in ("vegan",) and t.lower() not in out]


def answer(item: Any, asked: str, label: str | None = None) -> str:
    """One sentence answering `asked` about `item` from its record."""
    a = item.attributes
    name = item.title
    if asked == "price":
        return f"The {name} costs {money(item.price, item.currency)}."
    if asked == "material":
        mats = a.get("material", [])
        if mats:
            return f"The {name} is made of {join(mats)}."
        return f"The listing for the {name} doesn't say what it's made of."
    if asked == "sizes":
        sizes = a.get("size", [])
        if sizes:
            return f"The {name} comes in {_size_list(sizes)}."
        return f"The {name} isn't listed in different sizes."
    if asked == "colors":
        colors = a.get("color", [])
        if colors:
            return f"The {name} comes in {join(colors)}."
        return f"The listing for the {name} doesn't give a colour."
    if asked == "stock":
        if item.stock is None:
            return f"The {name} is available to order."
        if item.stock == 0:
            return f"The {name} is out of stock at the moment."
        if item.stock <= 5:
            return f"The {name} is in stock, only {item.stock} left."
        return f"The {name} is in stock."
    if asked == "age":
        ages = a.get("age", [])
        if ages:
            return f"The {name} is meant for ages {join([_age(x) for x in ages])}."
        return f"The {name} has no age range on its listing."
    if asked == "diet":
        return _diet_answer(item, label or "vegan")
    if asked == "allergen":
        return _allergen_answer(item, label or "nut")
    if asked == "dimensions":
        facts = [f"{k} {v[0]}" for k, v in a.items() if k in ("width", "weight", "pages", "count",
                                                               "size") and v]
        if facts:
            return f"The listing for the {name} gives: {join(facts)}."
        return f"The listing for the {name} doesn't give its dimensions."
    return describe(item)


def describe(item: Any) -> str:
    first = re.split(r"(?<=[.!?])\s+", item.description.strip())[0] if item.description else ""
    mats = item.attributes.get("material", [])
    facts = f"It costs {money(item.price, item.currency)}" + (
        f" and is made of {join(mats)}" if mats else "") + "."
    return (f"About the {item.title}: {first} {facts}" if first else
            f"The {item.title}: {facts}")


def _age(x: str) -> str:
    return x.replace("+", " and up")


def _diet_answer(item: Any, label: str) -> str:
    name = item.title
    if label in _labels(item):
        return f"Yes, the {name} is labelled {label}."
    conflict = None
    text = f"{item.title} {item.description}".lower()
    for w in lexicon().diet_conflicts.get(label, []):
        if re.search(rf"(?<![a-z]){re.escape(w)}(?![a-z])", text):
            conflict = w
            break
    if conflict:
        return f"The {name} isn't labelled {label} (it contains {conflict})."
    return f"The {name} isn't labelled {label}, so I can't promise it is."


def _allergen_answer(item: Any, allergen: str) -> str:
    name = item.title
    word = contains_allergen(item, allergen)
    if word:
        return f"The {name} may not be safe with a {allergen} allergy: its listing mentions {word}."
    return (f"The {name}'s listing doesn't mention {allergen}s, but it isn't labelled "
            f"{allergen}-free, so please check the packaging.") if allergen in ("nut", "egg") else (
        f"The {name}'s listing doesn't mention {allergen}, but it isn't labelled "
        f"{allergen}-free, so please check the packaging.")


def compare(items: list[Any]) -> str:
    cheaper = min(items, key=lambda it: it.price)
    parts = [f"the {it.title} is {money(it.price, it.currency)}" + (
        f" ({join(it.attributes['material'])})" if it.attributes.get("material") else "")
        for it in items]
    return (f"Side by side: {join(parts)}. The {cheaper.title} is the cheaper one."
            if len({it.price for it in items}) > 1 else f"Side by side: {join(parts)}.")
