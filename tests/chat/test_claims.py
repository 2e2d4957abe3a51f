"""The grounding check's claims: people, labels, product types and themes the plan did
not give are invented, and a clause making one is never sent."""

from __future__ import annotations

from app.chat.grounding import Allowed, CheckedStream, Grounding

ALLOWED = Allowed(titles=("Pebble Bead Jewellery Kit",), brands=("Pebble",), prices=(14.99,),
                  topic=("a birthday present for my niece", "Toys & Games > Arts & Crafts",
                         "glass", "multicolour"),
                  claims=True, people=("niece",), labels=(),
                  types=frozenset({"kit", "jewellery", "bead", "toy"}),
                  all_types=frozenset({"kit", "jewellery", "bead", "toy", "sweater", "book"}))


def test_claims_the_plan_did_not_give_fail() -> None:
    g = Grounding(ALLOWED)
    assert g.sentence_ok("The Pebble Bead Jewellery Kit is a lovely pick for your niece.")
    assert not g.sentence_ok("Your daughter will love the Pebble Bead Jewellery Kit.")
    assert not g.sentence_ok("The Pebble Bead Jewellery Kit is vegan.")
    assert not g.sentence_ok("I'm a vegan too, so I love it.")
    assert not g.sentence_ok("We also have a cosy sweater for her.")
    assert not g.sentence_ok("I also have dinosaur-themed kits.")


def test_without_claims_only_names_and_prices_are_checked() -> None:
    g = Grounding(Allowed(titles=ALLOWED.titles, brands=ALLOWED.brands, prices=ALLOWED.prices,
                          topic=ALLOWED.topic))
    assert g.sentence_ok("Your daughter will love the Pebble Bead Jewellery Kit.")


def test_a_failing_clause_is_never_sent_when_words_wait_for_their_check() -> None:
    stream = CheckedStream(Grounding(ALLOWED), 3, early_words=False)
    events = stream.feed("The Pebble Bead Jewellery Kit is a lovely pick, your daughter "
                         "will adore it. ")
    events += stream.close(complete=True)
    sent = "".join(d["text"] for e, d in events if e == "token")
    assert not any(e == "retract" for e, _ in events)
    assert "daughter" not in sent and sent.startswith("The Pebble Bead Jewellery Kit")
