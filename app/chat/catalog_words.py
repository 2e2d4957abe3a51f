"""What the catalog has words for, built once per catalog version: which items are of a
product type ("sweater", "snacks", "earrings"), which words appear anywhere at all (a
shopper's "dinosaurs" that appear nowhere is an honest no-match), and full titles for
"What is the Northfield Cashmere Crewneck Sweater made of?"."""

from __future__ import annotations

import re
from typing import Any

from app.chat.lexicon import stem

_WORD = re.compile(r"[a-z][a-z'-]+")


_CONTRACTION = re.compile(r"'(?:s|re|ll|m|d|ve)$|n't$")


def tokens(text: str) -> list[str]:
    """Lowercase word stems; "she's" is "she", "kids'" is "kid"."""
    words = (_CONTRACTION.sub("", w.replace("’", "'")).strip("'-")
             for w in _WORD.findall(text.lower().replace("’", "'")))
    return [stem(w) for w in words if len(w) > 1]


class CatalogWords:
    def __init__(self, index: Any) -> None:
        self.words: set[str] = set()
        self.by_type: dict[str, set[str]] = {}  # head nouns and category words -> items
        self.by_word: dict[str, set[str]] = {}  # any title word -> items ("laptop")
        self.attribute_words: set[str] = set()  # materials, colours, flavours ...
        self.titles: dict[str, list[tuple[str, str]]] = {}  # first word -> (title, id)
        for item_id in index.ids():
            item = index.get(item_id)
            title = tokens(item.title)
            heads = title[-2:] if len(title) > 1 and title[-1] in _CONTAINERS else title[-1:]
            for w in [*heads, *tokens(item.category.replace(">", " "))]:
                self.by_type.setdefault(w, set()).add(item_id)
            for w in title:
                self.by_word.setdefault(w, set()).add(item_id)
            self.words.update(title)
            self.words.update(tokens(item.category.replace(">", " ")))
            self.attribute_words.update(tokens(" ".join(
                v for vs in item.attributes.values() for v in vs)))
            self.words.update(tokens(" ".join([item.description, item.brand, *item.tags, *(
                v for vs in item.attributes.values() for v in vs)])))
            low = item.title.lower()
            first = low.split()[0] if low.split() else ""
            if len(low) >= 8:
                self.titles.setdefault(first, []).append((low, item_id))

    def items_of_type(self, word: str) -> set[str]:
        return self.by_type.get(stem(word), set())

    def items_mentioning(self, word: str) -> set[str]:
        return self.by_word.get(stem(word), set())

    def known(self, word: str) -> bool:
        return stem(word) in self.words

    def titles_in(self, text: str) -> list[str]:
        """Ids of items whose full title appears in the text, longest title first."""
        low = text.lower()
        found: list[tuple[int, str]] = []
        for word in set(low.split()):
            for title, item_id in self.titles.get(word.strip("?!.,'\""), ()):
                if title in low:
                    found.append((len(title), item_id))
        return [i for _, i in sorted(found, reverse=True)]


# "Mug Set", "Herb Garden Kit": the product is the word before.
_CONTAINERS = frozenset(("set", "kit", "pack", "3-pack", "bundle", "box", "duo", "trio"))
_CACHE: dict[tuple[int, int], CatalogWords] = {}


def catalog_words(index: Any) -> CatalogWords:
    key = (id(index), int(index.generation))
    found = _CACHE.get(key)
    if found is None:
        _CACHE.clear()  # one catalog version at a time
        found = _CACHE[key] = CatalogWords(index)
    return found
