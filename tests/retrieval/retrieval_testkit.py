"""Test helpers: a hand-made 16-d keyword encoder and a small catalog (no model needed)."""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

from retrieval import Item

# One dimension per concept, so expected neighbours are obvious by construction.
CONCEPTS = {
    "shoe": 0, "shoes": 0, "sneaker": 0, "running": 1, "jacket": 2, "coat": 2,
    "leather": 3, "toy": 4, "puzzle": 5, "glue": 6, "tape": 7, "kids": 8,
    "wool": 9, "cotton": 10, "vegan": 11,
}
DIM = 16


class KeywordEncoder:
    """Bag of concepts -> unit vector; unknown words hash into dims 12..15."""

    model_id = "keyword-encoder:16"
    dim = DIM

    def __init__(self) -> None:
        self.calls = 0
        self.texts = 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        self.texts += len(texts)
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().replace(".", " ").replace(",", " ").split():
                dim = CONCEPTS.get(word)
                if dim is None:
                    dim = 12 + zlib.crc32(word.encode()) % 4
                    out[i, dim] += 0.1
                else:
                    out[i, dim] += 1.0
            out[i] /= np.linalg.norm(out[i]) or 1.0
        return out


def make_item(item_id: str, title: str, **kw: object) -> Item:
    data: dict[str, object] = {"category": "Shop > Misc", "price": 10.0, "stock": 5}
    data.update(kw)
    return Item(id=item_id, title=title, **data)  # type: ignore[arg-type]


def small_catalog() -> list[Item]:
    return [
        make_item("shoe-1", "running shoes", category="Clothing > Shoes > Running", price=60,
                  attributes={"material": ["leather"], "size": ["m", "l"]}, brand="Acme"),
        make_item("shoe-2", "vegan running sneaker", category="Clothing > Shoes > Running",
                  price=90, attributes={"material": ["cotton"], "size": ["m"]}, tags=["vegan"]),
        make_item("shoe-3", "leather shoes", category="Clothing > Shoes > Formal", price=120,
                  attributes={"material": ["leather"]}, stock=0),
        make_item("jacket-1", "wool jacket", category="Clothing > Jackets", price=45,
                  attributes={"material": ["wool"]}),
        make_item("jacket-2", "leather jacket coat", category="Clothing > Jackets", price=200,
                  attributes={"material": ["leather"]}, brand="Hidez"),
        make_item("toy-1", "kids puzzle toy", category="Kids > Toys", price=25,
                  attributes={"age": ["5-8"]}),
        make_item("toy-2", "toddler toy", category="Kids > Toys", price=15,
                  attributes={"age": ["1-3"]}),
        make_item("glue-1", "Gorilla glue XG-4471", category="Industrial > Adhesives",
                  price=8, brand="Gorilla"),
        make_item("tape-1", "duct tape", category="Industrial > Tapes", price=6, brand="Scotch"),
    ]
