"""Ad copy from a brief's plan: the LLM realizes the plan from prompts/copy.v*.yaml, code
enforces the brand voice (banned words, required disclaimer, length limits) and the chat's
grounding checks (no other product, no invented price or name); a failed draft is
regenerated, then trimmed, and templates are the fallback."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from app.chat.grounding import Allowed, Grounding
from app.creatives.brief import Brief
from generation import load_prompt

log = logging.getLogger(__name__)
FIELDS = ("headline", "body", "cta", "subject")
Complete = Callable[[list[Any]], str]  # LangChain messages -> reply text


@dataclass(frozen=True)
class BrandVoice:
    tone: str = "warm and concise"
    banned_words: tuple[str, ...] = ()
    disclaimer: str = ""
    limits: dict[str, int] = field(default_factory=lambda: {
        "headline": 40, "body": 140, "cta": 24, "subject": 60})


@dataclass
class Copy:
    headline: str
    body: str
    cta: str
    subject: str
    disclaimer: str = ""
    source: str = "template"         # llm | template | edited
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def trim(text: str, limit: int) -> str:
    """Cut at a word boundary within `limit` characters (no dangling punctuation)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit + 1].rsplit(" ", 1)[0] if " " in text[:limit + 1] else text[:limit]
    return cut.rstrip(" ,;:-–")[:limit]


def _banned_re(words: Sequence[str]) -> re.Pattern[str] | None:
    if not words:
        return None
    return re.compile(r"\b(" + "|".join(re.escape(w) for w in words) + r")\b", re.IGNORECASE)


def parse(reply: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in reply.splitlines():
        key, sep, value = line.partition(":")
        k = key.strip().lower().replace("call to action", "cta")
        if sep and k in FIELDS and value.strip():
            out[k] = value.strip().strip('"')
    return out


class CopyWriter:
    def __init__(self, voice: BrandVoice, complete: Complete | None = None,
                 catalog_titles: Sequence[str] = (), attempts: int = 2) -> None:
        self.voice = voice
        self.complete = complete
        self.titles = tuple(catalog_titles)
        self.attempts = attempts
        self._banned = _banned_re(voice.banned_words)

    def grounding(self, brief: Brief) -> Grounding:
        p = brief.product
        topic = (p["category"], brief.plan["benefit"], brief.plan["proof"],
                 brief.scene["mood"], brief.scene["season"], self.voice.tone, brief.note)
        allowed = Allowed(titles=(p["title"],), brands=(p["brand"],) if p["brand"] else (),
                          prices=(p["price"],) if p["price"] is not None else (),
                          topic=topic)
        return Grounding(allowed, [t for t in self.titles if t != p["title"]])

    def problems(self, fields: dict[str, str], brief: Brief) -> list[str]:
        """Why a draft cannot be shown (empty: it can)."""
        found = [f"missing {f}" for f in FIELDS if not fields.get(f)]
        g = self.grounding(brief)
        for name in FIELDS:
            text = fields.get(name, "")
            if self._banned and self._banned.search(text):
                found.append(f"{name}: uses a banned word")
            for sentence in re.split(r"(?<=[.!?])\s+", text):
                if sentence and not g.sentence_ok(sentence):
                    found.append(f"{name}: not grounded in the product record: {sentence!r}")
            if re.search(r"\d+\s?%|\bfree\b|\bsale\b", text, re.IGNORECASE):
                found.append(f"{name}: claims an offer the record does not hold")
        return found

    def write(self, brief: Brief) -> Copy:
        notes: list[str] = []
        if self.complete is not None:
            prompt = load_prompt("copy").render(
                title=brief.product["title"], brand=brief.product["brand"] or "",
                price=_price(brief), benefit=brief.plan["benefit"], proof=brief.plan["proof"],
                cta=brief.plan["cta"], tone=self.voice.tone, mood=brief.scene["mood"],
                headline_max=self.voice.limits["headline"], body_max=self.voice.limits["body"],
                avoid=list(self.voice.banned_words))
            for attempt in range(self.attempts):
                try:
                    fields = parse(self.complete(prompt.to_messages()))
                except Exception as exc:  # the LLM is optional: templates stand in
                    notes.append(f"LLM unavailable: {exc}")
                    break
                fields = self._fit(fields)
                bad = self.problems(fields, brief)
                if not bad:
                    return self._finish(fields, "llm", notes)
                notes.append(f"draft {attempt + 1} rejected: {'; '.join(bad)[:200]}")
        fields = self._fit(template_copy(brief))
        bad = self.problems(fields, brief)
        if bad:  # a template built from the record should always pass; say so if not
            notes.append(f"template draft: {'; '.join(bad)[:200]}")
        return self._finish(fields, "template", notes)

    def check(self, fields: dict[str, str], brief: Brief) -> list[str]:
        """Problems of copy a marketer edited (plus lengths), without rewriting it."""
        bad = self.problems(fields, brief)
        for name in FIELDS:
            if len(fields.get(name, "")) > self.voice.limits[name]:
                bad.append(f"{name}: longer than {self.voice.limits[name]} characters")
        return bad

    def _fit(self, fields: dict[str, str]) -> dict[str, str]:
        return {f: trim(fields.get(f, ""), self.voice.limits[f]) for f in FIELDS}

    def _finish(self, fields: dict[str, str], source: str, notes: list[str]) -> Copy:
        return Copy(**fields, disclaimer=self.voice.disclaimer, source=source, notes=notes)


def _price(brief: Brief) -> str:
    p = brief.product
    return f"{p['price']:.2f} {p['currency']}" if p["price"] is not None else ""


def template_copy(brief: Brief) -> dict[str, str]:
    """Fluent enough, built only from the plan and the record."""
    p, plan, mood = brief.product, brief.plan, brief.scene["mood"]
    benefit = plan["benefit"]
    openers = {"cosy": "Cosy up with", "energetic": "Go further with",
               "elegant": "Quietly elegant:", "playful": "Meet your new favourite:",
               "calm": "Simply", "": "Discover"}
    headline = f"{openers.get(mood, 'Discover')} {p['title']}"
    body = f"{p['title']} brings {benefit} to your {brief.scene['season']} days."
    if p["price"] is not None:
        body += f" Yours for {p['currency'] if p['currency'] != 'USD' else '$'}" \
                f"{p['price']:.2f}." if p["currency"] == "USD" else \
                f" Yours for {p['price']:.2f} {p['currency']}."
    subject = f"{p['title']}: {benefit}, picked for you"
    return {"headline": headline, "body": body, "cta": plan["cta"], "subject": subject}
