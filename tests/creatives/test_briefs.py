"""Briefs from preferences (and what never enters one), copy under the brand voice, and
layouts that keep text legible."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from langchain_core.messages import AIMessage
from PIL import Image

from app.creatives.brief import Audience, Moment, Pref, Product, build_brief
from app.creatives.compose import FORMATS, compose, worst_contrast
from app.creatives.copy import BrandVoice, CopyWriter, trim
from generation import MockChatModel

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
MUG = Product(id="mug-1", title="Larkfield Stoneware Mug", brand="Larkfield",
              category="Home > Kitchen", price=18.0, currency="USD", description="",
              attributes={"material": ["stoneware"], "color": ["red"]}, image_url=None)


def _aud(kind: str, *prefs: Pref, sensitive_ok: bool = False) -> Audience:
    return Audience(kind=kind, ref="x", name="x", prefs=prefs, sensitive_ok=sensitive_ok)


def test_brief_follows_preferences_and_moment() -> None:
    b = build_brief(_aud("persona", Pref("color=red", 1, 0.9), Pref("style=cosy", 1, 0.5)),
                    MUG, Moment(weather="rain", local_time="2026-11-20T18:30:00+01:00"),
                    now=NOW)
    assert b.scene["palette"] == "crimson red" and b.scene["mood"] == "cosy"
    assert b.scene["layout"] == "kitchen counter" and b.scene["weather"] == "rainy"
    assert b.scene["lighting"] == "golden hour" and b.scene["season"] == "autumn"
    assert "crimson red" in b.style_prompt
    assert b.plan["benefit"] == "red color"  # liked and true of the product
    assert any("color=red" in r and "0.90" in r for r in b.reasons)
    disliked = build_brief(_aud("persona", Pref("color=red", -1, 0.9)), MUG, Moment(), now=NOW)
    assert "crimson red" in disliked.negative_prompt
    assert disliked.scene["palette"] != "crimson red"


def test_sensitive_topics_stay_out_without_consent() -> None:
    prefs = (Pref("pregnancy=yes", 1, 0.95), Pref("color=blue", 1, 0.5))
    for aud in (_aud("segment", *prefs), _aud("customer", *prefs)):
        b = build_brief(aud, MUG, Moment(), now=NOW)
        text = repr(b.as_dict())
        assert "pregnancy" not in text
        assert b.scene["palette"] == "cool ocean blue"
        assert any("sensitive preference was left out" in r for r in b.reasons)
    b = build_brief(_aud("customer", *prefs, sensitive_ok=True), MUG, Moment(), now=NOW)
    assert any(p["attribute"] == "pregnancy=yes" for p in b.profile_snapshot)


def _writer(*replies: str) -> tuple[CopyWriter, MockChatModel]:
    llm = MockChatModel(replies=list(replies))
    voice = BrandVoice(banned_words=("miracle",), disclaimer="Terms apply.")
    return CopyWriter(voice, lambda msgs: str(llm.invoke(msgs).content),
                      ["Larkfield Stoneware Mug", "Alpine Trail Jacket"]), llm


def test_copy_from_the_llm_is_checked_and_regenerated() -> None:
    brief = build_brief(_aud("persona", Pref("color=red", 1, 0.9)), MUG, Moment(), now=NOW)
    good = ("Headline: Red mornings, Larkfield Stoneware Mug\nBody: A red stoneware mug for "
            "slow autumn coffee.\nCTA: Shop now\nSubject: Your red mug is here")
    writer, llm = _writer("Headline: A miracle mug\nBody: x\nCTA: Shop now\nSubject: y", good)
    copy = writer.write(brief)
    assert copy.source == "llm" and copy.headline.startswith("Red mornings")
    assert "banned" in copy.notes[0] and copy.disclaimer == "Terms apply."
    # invented price, another product: both drafts rejected -> the template
    writer, _ = _writer(
        "Headline: Larkfield Stoneware Mug\nBody: Only $9.99 today.\nCTA: Buy\nSubject: s",
        "Headline: Try the Alpine Trail Jacket\nBody: Warm.\nCTA: Buy\nSubject: s")
    copy = writer.write(brief)
    assert copy.source == "template" and "$18.00" in copy.body
    assert len(copy.notes) == 2 and all("rejected" in n for n in copy.notes)
    assert writer.problems({"headline": copy.headline, "body": copy.body, "cta": copy.cta,
                            "subject": copy.subject}, brief) == []


def test_trim_respects_words_and_limits() -> None:
    assert trim("Cosy up with the Larkfield Stoneware Mug", 20) == "Cosy up with the"
    assert len(trim("x" * 50, 10)) == 10


def test_layout_keeps_text_legible_on_any_background() -> None:
    rng = np.random.default_rng(0)
    # dark and light blocks: neither black nor white text reaches 4.5 on both sides
    noise = np.repeat(rng.choice([50, 215], (16, 16, 1)), 3, axis=2).astype(np.uint8)
    copy = {"headline": "A very long headline that must wrap and shrink to fit the box " * 2,
            "body": "Body text about the Larkfield Stoneware Mug.", "cta": "Shop now",
            "disclaimer": "Terms apply."}
    for fmt, (w, h) in FORMATS.items():
        img, checks = compose(Image.fromarray(noise).resize((w, h), Image.Resampling.NEAREST),
                              copy, fmt,
                              product_image=None, brand_colors=("#F5D76E",))
        assert img.size == (w, h)
        assert {c.block for c in checks} == {"headline", "body", "disclaimer", "cta"}
        assert all(c.contrast >= 4.5 for c in checks), (fmt, checks)
        assert any(c.corrected for c in checks)
    # the measurement itself: white on white fails, black on white passes
    white = Image.new("RGB", (50, 50), (255, 255, 255))
    assert worst_contrast(white, (0, 0, 50, 50), (255, 255, 255)) < 1.1
    assert worst_contrast(white, (0, 0, 50, 50), (0, 0, 0)) > 20


def test_mock_llm_message_shape() -> None:
    assert isinstance(MockChatModel(replies=["a"]).invoke("x"), AIMessage)


def test_disliking_every_fallback_palette_still_gives_a_brief() -> None:
    prefs = [Pref(f"color={c}", -1, 0.9) for c in ("orange", "blue", "green", "brown")]
    b = build_brief(_aud("persona", *prefs), MUG, Moment(), now=NOW)
    assert b.scene["palette"] == "monochrome grey"
