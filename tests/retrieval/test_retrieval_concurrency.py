"""Readers search while a writer updates, compacts, saves and reloads: no torn reads."""

from __future__ import annotations

import threading
from pathlib import Path

from retrieval import CatalogIndex, Filters, Hit
from tests.retrieval.retrieval_testkit import KeywordEncoder, make_item


def test_readers_see_consistent_results_during_writes(tmp_path: Path) -> None:
    enc = KeywordEncoder()
    idx = CatalogIndex(enc)
    # 40 items always in stock and cheap, so a filtered k=10 search always has k matches
    idx.upsert([make_item(f"base-{n}", f"glue tape {n}", price=5, stock=3) for n in range(40)])
    idx.upsert([make_item(f"vol-{n}", f"glue {n}", price=50, stock=n % 2) for n in range(400)])
    stop = threading.Event()
    errors: list[BaseException] = []
    counts = {"reads": 0}
    flt = Filters(in_stock=True, max_price=60)

    def check(hits: list[Hit]) -> None:
        assert len(hits) == 10, len(hits)
        assert len({h.item_id for h in hits}) == 10
        for h in hits:
            assert h.item is not None and h.item.stock > 0 and h.item.price <= 60

    def reader() -> None:
        try:
            while not stop.is_set():
                check(idx.search("glue", k=10, filters=flt, mode="hybrid", parse=False))
                check(idx.similar("base-1", k=10, filters=flt))
                counts["reads"] += 1
        except BaseException as exc:  # surfaced in the main thread
            errors.append(exc)
            stop.set()

    def writer() -> None:
        try:
            for rnd in range(30):
                if stop.is_set():
                    return
                # out of stock and price changes: metadata only
                idx.upsert([make_item(f"vol-{n}", f"glue {n}", price=50 + rnd,
                                      stock=(n + rnd) % 2) for n in range(0, 400, 3)])
                # new items and text changes: embedded
                idx.upsert([make_item(f"new-{rnd}-{n}", f"glue {rnd} {n}", stock=1)
                            for n in range(5)])
                gone = [f"new-{rnd}-{n}" for n in range(3)]
                idx.remove(gone)
                hits = idx.search("glue", k=1000, parse=False)
                assert not {h.item_id for h in hits} & set(gone)  # gone at once
                if rnd % 10 == 4:
                    idx.compact()  # swaps a rebuilt state under readers' feet
                if rnd % 10 == 9:
                    idx.save(tmp_path / "idx")
                    idx.reload(tmp_path / "idx")
        except BaseException as exc:
            errors.append(exc)
        finally:
            stop.set()

    threads = [threading.Thread(target=reader) for _ in range(3)]
    threads.append(threading.Thread(target=writer))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[0]
    assert counts["reads"] > 0
    assert len(idx) == 40 + 400 + 30 * 2
    idx.compact()
    assert idx._state.dead == 0 and len(idx._state.items) == len(idx)


def test_reload_while_reading_never_fails(tmp_path: Path) -> None:
    enc = KeywordEncoder()
    a = CatalogIndex(enc)
    a.upsert([make_item(f"a{n}", f"glue {n}") for n in range(50)])
    a.save(tmp_path / "idx")
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                assert len(a.search("glue", k=5, parse=False)) == 5
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=reader)
    t.start()
    try:
        for n in range(10):
            a.upsert([make_item(f"b{n}", "tape")])
            a.save(tmp_path / "idx")
            a.reload(tmp_path / "idx")
    finally:
        stop.set()
        t.join(timeout=60)
    assert not errors
    assert len(a) == 60
