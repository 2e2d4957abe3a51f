"""Filters validate at construction and merge explicit with parsed constraints."""

from __future__ import annotations

import pytest

from retrieval import Filters, InvalidFilterError, InvalidRequestError, RetrievalError
from tests.retrieval.retrieval_testkit import KeywordEncoder, make_item


def test_normalizes_terms_and_category() -> None:
    f = Filters(category="clothing >  Shoes", require=("Material = Leather", "vegan", "vegan"),
                exclude=["size=M | L"])  # type: ignore[arg-type]
    assert f.category == "clothing > Shoes"
    assert f.require == ("material=leather", "vegan")
    assert f.exclude == ("size=m|l",)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_price": 50, "max_price": 10},
        {"min_price": -1},
        {"max_price": float("nan")},
        {"max_price": "10"},
        {"category": " > "},
        {"require": ("=leather",)},
        {"require": ("a=b=c",)},
        {"require": "vegan"},
        {"require": ("vegan",), "exclude": ("vegan",)},
        {"exclude_ids": "sku-1"},
        {"age": 200},
        {"age": True},
    ],
)
def test_bad_filters_raise_typed_error(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidFilterError) as err:
        Filters(**kwargs)  # type: ignore[arg-type]
    # the service maps the whole family to 4xx
    assert isinstance(err.value, InvalidRequestError)
    assert isinstance(err.value, RetrievalError)
    assert isinstance(err.value, ValueError)


def test_merge_intersects_ranges_and_unions_terms() -> None:
    parsed = Filters(max_price=80, require=("vegan",), exclude_ids=frozenset({"a"}))
    explicit = Filters(min_price=10, max_price=50, exclude=("leather",), in_stock=True,
                       exclude_ids=frozenset({"b"}), category="Shoes")
    m = parsed.merged(explicit)
    assert (m.min_price, m.max_price) == (10, 50)
    assert m.require == ("vegan",) and m.exclude == ("leather",)
    assert m.in_stock and m.category == "Shoes"
    assert m.exclude_ids == {"a", "b"}
    assert parsed.merged(None) is parsed
    assert Filters().is_empty and not m.is_empty
    assert m.describe()["exclude_ids"] == ["a", "b"]
    with pytest.raises(InvalidFilterError):  # contradictory once merged
        Filters(min_price=60).merged(Filters(max_price=50))


def test_specific_materials_answer_to_their_broader_terms(encoder: KeywordEncoder) -> None:
    """"No wool" must keep lambswool and merino out; "no leather" keeps vegan leather in."""
    from retrieval import CatalogIndex
    from retrieval.metadata import broader_terms

    assert broader_terms("merino wool") == {"merino", "wool"}
    assert broader_terms("lambswool") == {"wool"}
    assert "wool" in broader_terms("cashmere blend") and broader_terms("wool felt") >= {
        "wool", "felt"}
    assert broader_terms("vegan leather") == set() and broader_terms("leather") == set()
    idx = CatalogIndex(encoder)
    idx.upsert([make_item(i, f"{m} sweater", attributes={"material": [m]}) for i, m in [
        ("a", "lambswool"), ("b", "merino wool"), ("c", "cashmere blend"), ("d", "cotton"),
        ("e", "vegan leather"), ("f", "leather"), ("g", "organic cotton")]])
    assert set(idx.matching(Filters(exclude=("wool",)))) == {"d", "e", "f", "g"}
    assert set(idx.matching(Filters(exclude=("leather",)))) == {"a", "b", "c", "d", "e", "g"}
    assert set(idx.matching(Filters(require=("material=cotton",)))) == {"d", "g"}
    assert set(idx.matching(Filters(require=("merino wool",)))) == {"b"}
