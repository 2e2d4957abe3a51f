"""The item schema accepts only what it can read back, and file parsing accounts for every
row: an unbalanced quote, an oversized cell, a NUL byte or bad encoding costs one row (or
is refused whole with its line), never the rows after it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from retrieval.catalog import (
    CatalogFileError,
    Item,
    RowError,
    check_file,
    decode,
    iter_file,
    iter_text,
    parse_record,
)

HEADER = "id,title,category,price,description\n"


def good_rows(n: int) -> list[str]:
    return [f"r{i},Item {i},Shop > Misc,{i}.5,plain text {i}\n" for i in range(1, n + 1)]


def outcome(results: list[Item | RowError]) -> tuple[list[str], dict[int, list[str]]]:
    accepted = [r.id for r in results if isinstance(r, Item)]
    rejected = {r.row: r.reasons for r in results if isinstance(r, RowError)}
    return accepted, rejected


def base(**extra: object) -> dict[str, object]:
    return {"id": "x-1", "title": "Thing", "category": "Shop", "price": 10.0, **extra}


# -- one schema in and out ----------------------------------------------------------------

@pytest.mark.parametrize("extra", [
    {"cost": 25.0},  # cost above twice the price: a clearance item
    {"cost": 10_000_000, "price": 0.01},
    {"cost": 0.0},
    {"margin": -7.5},
    {"stock": 0}, {"stock": None}, {"stock": 2_147_483_647},
    {"attributes": {"weight": [1.5, 2]}, "tags": "a;b"},
])
def test_whatever_is_accepted_reads_back_unchanged(extra: dict[str, object]) -> None:
    item = Item.model_validate(base(**extra))
    again = Item.model_validate(item.model_dump())
    assert again == item
    assert Item.model_validate_json(item.model_dump_json()) == item


def test_cost_above_price_gives_a_negative_margin() -> None:
    item = Item.model_validate(base(price=10.0, cost=35.0))
    assert item.margin == -2.5


@pytest.mark.parametrize(("extra", "field"), [
    ({"cost": float("inf")}, "cost"),
    ({"cost": float("nan")}, "cost"),
    ({"price": float("inf")}, "price"),
    ({"margin": float("-inf")}, "margin"),
    ({"price": "Infinity"}, "price"),
    ({"attributes": {"weight": [float("inf")]}}, "attributes"),
    ({"attributes": {"weight": float("nan")}}, "attributes"),
    ({"cost": 1e12}, "cost"),
    ({"stock": 2**31}, "stock"),
    ({"category": "A > " + "b" * 400}, "category"),
])
def test_non_finite_or_unstorable_numbers_are_rejected_by_field(extra: dict[str, object],
                                                                 field: str) -> None:
    result = parse_record(1, base(**extra))
    assert isinstance(result, RowError)
    assert any(reason.startswith(field) for reason in result.reasons), result.reasons


@pytest.mark.parametrize("extra", [
    {"title": "Sh\x00oe"}, {"description": "a\x00"}, {"brand": "\x00"},
    {"tags": ["ok", "b\x00d"]}, {"attributes": {"color": ["r\x00ed"]}},
    {"title": "bad \ud800 text"}, {"tags": ["\udc00"]}, {"attributes": {"color": "\ud83d"}},
    {"image_url": "/x\x00.png"}, {"category": "Home > \x00"},
])
def test_nul_and_lone_surrogates_are_rejected_per_row(extra: dict[str, object]) -> None:
    result = parse_record(7, base(**extra))
    assert isinstance(result, RowError) and result.row == 7
    # The report itself must be encodable (it goes out as JSON).
    json.dumps(result.reasons).encode("utf-8")


def test_a_bad_id_is_reported_in_an_encodable_form() -> None:
    result = parse_record(1, base(id="x\ud800\x00"))
    assert isinstance(result, RowError) and result.item_id is not None
    result.item_id.encode("utf-8")
    assert "\x00" not in result.item_id


def test_in_stock_unknown_counts_as_available() -> None:
    assert Item.model_validate(base()).stock is None
    assert Item.model_validate(base()).in_stock
    assert not Item.model_validate(base(stock=0)).in_stock
    assert Item.model_validate(base(stock=3)).in_stock


# -- CSV: every row accounted for -----------------------------------------------------------

def test_unbalanced_quote_costs_only_its_own_row() -> None:
    rows = good_rows(10)
    rows[2] = 'r3,"Item 3,Shop > Misc,3.5,text\n'  # row 3 of 10, line 4: never closes
    accepted, rejected = outcome(list(iter_text(HEADER + "".join(rows), "csv")))
    assert accepted == [f"r{i}" for i in range(1, 11) if i != 3]
    assert list(rejected) == [4]
    assert "unbalanced quote" in rejected[4][0] and "line 4" in rejected[4][0]


def test_unbalanced_quote_closed_by_a_later_row_still_recovers_the_rows_between() -> None:
    rows = good_rows(8)
    rows[1] = 'r2,Item 2,Shop > Misc,2.5,"an open quote\n'
    rows[5] = 'r6,Item 6,Shop > Misc,6.5,"a quoted, fine cell"\n'
    accepted, rejected = outcome(list(iter_text(HEADER + "".join(rows), "csv")))
    assert list(rejected) == [3]
    assert accepted == [f"r{i}" for i in range(1, 9) if i != 2]


def test_unbalanced_quote_in_a_big_file_hits_the_cell_limit_and_recovers() -> None:
    rows = [f"r{i},Item {i},Shop,{i},{'y' * 900}\n" for i in range(1, 401)]
    rows[9] = 'r10,"Item 10,Shop,10,text\n'
    results = list(iter_text(HEADER + "".join(rows), "csv"))
    accepted, rejected = outcome(results)
    assert len(results) == 400 and list(rejected) == [11] and len(accepted) == 399
    assert "unbalanced quote" in rejected[11][0]


def test_multi_line_quoted_cell_is_a_legal_row() -> None:
    text = HEADER + 'a1,Shoe,Shop,3,"line one\nline two, with a comma"\na2,Boot,Shop,4,x\n'
    results = list(iter_text(text, "csv"))
    assert [r.id for r in results if isinstance(r, Item)] == ["a1", "a2"]
    assert isinstance(results[0], Item) and "line two" in results[0].description


def test_oversized_cell_rejects_its_row_only() -> None:
    rows = good_rows(5)
    rows[1] = "r2,Item 2,Shop,2," + "x" * 200_000 + "\n"
    accepted, rejected = outcome(list(iter_text(HEADER + "".join(rows), "csv")))
    assert accepted == ["r1", "r3", "r4", "r5"]
    assert list(rejected) == [3] and "longer than" in rejected[3][0]


def test_nul_byte_in_a_csv_cell_rejects_that_row() -> None:
    rows = good_rows(3)
    rows[1] = "r2,It\x00em,Shop,2,x\n"
    accepted, rejected = outcome(list(iter_text(HEADER + "".join(rows), "csv")))
    assert accepted == ["r1", "r3"] and "NUL" in rejected[3][0]


def test_line_numbers_count_blank_lines_and_multi_line_cells() -> None:
    text = HEADER + '\na1,Shoe,Shop,3,"two\nlines"\nbad,,Shop,1,x\n'
    _, rejected = outcome(list(iter_text(text, "csv")))
    assert list(rejected) == [5]


def test_too_many_cells_is_reported() -> None:
    _, rejected = outcome(list(iter_text(HEADER + "r1,T,Shop,1,x,extra\n", "csv")))
    assert "6 cells" in rejected[2][0]


# -- encodings ---------------------------------------------------------------------------

def test_undecodable_bytes_are_refused_with_their_line() -> None:
    data = (HEADER + "r1,Cafe,Shop,1,x\nr2,Caf\xe9,Shop,2,x\n").encode("latin-1")
    with pytest.raises(CatalogFileError, match=r"not valid UTF-8 text: line 3, column 7"):
        decode(data)
    assert "Café" in decode(data, "latin-1")
    assert decode(b"\xef\xbb\xbfid\n") == "id\n"  # a UTF-8 BOM is fine
    with pytest.raises(CatalogFileError, match="unknown text encoding"):
        decode(data, "rot13")


def test_check_file_finds_a_bad_byte_past_the_first_chunk(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_bytes((HEADER + "r1,T,Shop,1,x\n" * 200_000 + "r2,Caf\xe9,Shop,2,x\n")
                     .encode("latin-1"))
    with pytest.raises(CatalogFileError, match="line 200002"):
        check_file(path)
    assert check_file(path, "latin-1") == 200_002
    items = [r for r in iter_file(path, encoding="cp1252") if isinstance(r, Item)]
    assert items[-1].title == "Café"
