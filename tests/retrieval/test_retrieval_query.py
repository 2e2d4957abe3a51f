"""parse_query is pure: pin its behaviour phrase by phrase."""

from __future__ import annotations

import pytest

from retrieval import Filters, parse_query

CATS = ["Clothing > Shoes > Running", "Clothing > Jackets", "Kids > Toys > Puzzles",
        "Men > Shoes", "Women > Shoes"]


@pytest.mark.parametrize(
    ("text", "lo", "hi"),
    [
        ("shoes under $50", None, 50.0),
        ("shoes under 50 dollars", None, 50.0),
        ("shoes below 49.99", None, 49.99),
        ("less than 30 bucks", None, 30.0),
        ("no more than $30", None, 30.0),
        ("over $20", 20.0, None),
        ("at least 20 dollars", 20.0, None),
        ("between 20 and 40 dollars", 20.0, 40.0),
        ("between $20 and $40", 20.0, 40.0),
        ("$20-$40 jackets", 20.0, 40.0),
        ("$20 to $40", 20.0, 40.0),
        ("20-40 dollars", 20.0, 40.0),
        ("between $40 and $20", 20.0, 40.0),
        ("over $5 but under $30", 5.0, 30.0),
    ],
)
def test_prices(text: str, lo: float | None, hi: float | None) -> None:
    f = parse_query(text).filters
    assert (f.min_price, f.max_price) == (lo, hi)


def test_price_phrase_is_removed_from_text() -> None:
    parsed = parse_query("vegan running shoes under $80")
    assert parsed.query_text == "vegan running shoes"
    assert parsed.filters.max_price == 80.0
    assert parsed.filters.require == ("vegan",)
    assert "under $80" in parsed.constraints


def test_numbers_with_units_are_not_prices() -> None:
    assert parse_query("tent under 2 kg").filters.max_price is None
    assert parse_query("toy for under 5 years").filters.max_price is None


@pytest.mark.parametrize("phrase", ["no leather", "not leather", "without leather",
                                    "leather-free", "non-leather", "free of leather"])
def test_negations(phrase: str) -> None:
    parsed = parse_query(f"black boots {phrase}")
    assert parsed.filters.exclude == ("leather",)
    assert "leather" not in parsed.query_text  # "no leather" must not embed near leather
    assert parsed.query_text == "black boots"


def test_negation_ignores_chatter() -> None:
    parsed = parse_query("not sure, no idea, maybe a jacket")
    assert parsed.filters.exclude == ()


def test_requirements_stay_in_text() -> None:
    parsed = parse_query("vegan gluten-free snacks")
    assert parsed.filters.require == ("vegan", "gluten-free")
    assert parsed.filters.exclude == ()
    assert parsed.query_text == "vegan gluten-free snacks"


def test_size_stock_age() -> None:
    parsed = parse_query("jacket in size M in stock")
    assert parsed.filters.require == ("size=m",)
    assert parsed.filters.in_stock is True
    assert parsed.query_text == "jacket"
    for text in ("a gift for a 6-year-old", "gift for my 6 year old", "gift for age 6",
                 "gift for a 6 yo"):
        parsed = parse_query(text)
        assert parsed.filters.age == 6, text
        assert parsed.query_text == ("a gift" if text.startswith("a ") else "gift"), text


def test_category_words() -> None:
    assert parse_query("warm jackets", CATS).filters.category == "Clothing > Jackets"
    assert parse_query("a puzzle", CATS).filters.category == "Kids > Toys > Puzzles"
    # 'shoes' lives under Clothing, Men and Women: no common ancestor -> no filter
    assert parse_query("shoes", CATS).filters.category is None
    assert parse_query("running shoes", CATS).filters.category is None
    assert parse_query("warm jackets").filters.category is None  # no vocabulary given


def test_everything_together() -> None:
    parsed = parse_query(
        "leather-free jacket between 20 and 40 dollars, size M, in stock", CATS
    )
    assert parsed.filters == Filters(
        category="Clothing > Jackets", min_price=20, max_price=40, in_stock=True,
        require=("size=m",), exclude=("leather",),
    )
    assert parsed.query_text == "jacket"


def test_only_constraints_leaves_empty_text_and_plain_text_passes() -> None:
    assert parse_query("under $50").query_text == ""
    plain = parse_query("Gorilla glue XG-4471")
    assert plain.query_text == "Gorilla glue XG-4471"
    assert plain.filters.is_empty
    assert plain.original == "Gorilla glue XG-4471"
