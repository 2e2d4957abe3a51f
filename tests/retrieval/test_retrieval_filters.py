"""Filters validate at construction and merge explicit with parsed constraints."""

from __future__ import annotations

import pytest

from retrieval import Filters, InvalidFilterError, InvalidRequestError, RetrievalError


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
