"""Requests a shop assistant declines, decided BEFORE any generation (so nothing is written
and then taken back), and questions about the shop the catalog cannot answer.

The guardrails (`app.chat.guardrails`) already refuse attacks and decline off-topic asks;
this covers what a shop must not help with even though it sounds like shopping: following
or tracking a person, age-restricted goods for a minor, invented discount codes, harm."""

from __future__ import annotations

import re
from typing import Any

_STALKING = re.compile(
    r"\b(?:follow|track|trace|spy\s+on|monitor|keep\s+tabs\s+on|find\s+out\s+where|stalk|watch)"
    r"\b[^.?!]{0,60}\b(?:my\s+ex|ex-?(?:wife|husband|girlfriend|boyfriend|partner)|her|him|she|"
    r"he|someone|somebody|a\s+person|my\s+(?:wife|husband|girlfriend|boyfriend|neighbou?r))\b"
    r"|\b(?:what|where)\s+(?:did|does)\s+(?:my\s+ex|she|he)\s+(?:buy|shop|order|live)"
    r"|\b(?:her|his|my\s+ex'?s?)\s+(?:shopping\s+habits|purchases|orders|address|location)\b",
    re.I)
_ALCOHOL = re.compile(r"\b(?:wine|beer|vodka|whisk(?:e)?y|gin|rum|alcohol|booze|spirits|cider|"
                      r"champagne|prosecco|liquor|vape|vapes|vaping|cigarettes?|tobacco|"
                      r"e-?cig)\b", re.I)
_MINOR = re.compile(r"\bi\s*'?\s*a?m\s+(?:only\s+)?(1[0-7]|[5-9])\b(?!\s*(?:\$|dollars?|%))"
                    r"|\bi\s*'?\s*a?m\s+(?:a\s+)?(?:minor|teen|teenager|under\s*-?\s*age)\b"
                    r"|\bi\s*'?\s*a?m\s+(1[0-7])\s*(?:years?\s+old|y/?o)\b", re.I)
_DISCOUNT = re.compile(r"\b(?:discount|coupon|promo(?:tion(?:al)?)?|voucher|promo)\s*codes?\b|"
                       r"\bcode\s+for\s+(?:a\s+)?discount\b|\bgive\s+me\s+(?:a\s+)?(?:discount|"
                       r"coupon|voucher)\b", re.I)
_HARM = re.compile(r"\b(?:hurt|harm|poison|injure|kill|attack)\s+(?:someone|somebody|him|her|"
                   r"them|my|a\s+person|people)\b|\b(?:make|build)\s+(?:a\s+)?(?:bomb|weapon)\b",
                   re.I)

POLICY_TOPICS: list[tuple[str, re.Pattern[str]]] = [
    ("gift wrapping", re.compile(r"\bgift[\s-]?wrap(?:ping|ped)?\b|\bwrap\s+(?:it|them)\b", re.I)),
    ("delivery", re.compile(r"\b(?:deliver(?:y|ed)?|shipping|ship|postage|arrive|dispatch)\b"
                            r"(?!\s+(?:box|bag))", re.I)),
    ("returns", re.compile(r"\b(?:return(?:s|\s+policy)?|refunds?|exchange|send\s+it\s+back)\b",
                           re.I)),
    ("warranty", re.compile(r"\b(?:warranty|guarantee)\b", re.I)),
    ("payment", re.compile(r"\b(?:pay\s+(?:with|by|in)|payment\s+methods?|paypal|klarna|"
                           r"instal?ments?|credit\s+card)\b", re.I)),
    ("opening hours", re.compile(r"\b(?:opening\s+hours|open\s+on|store\s+hours|when\s+are\s+you"
                                 r"\s+open|click\s+and\s+collect|pick\s*up\s+in\s+store)\b", re.I)),
    ("orders", re.compile(r"\b(?:my\s+order|order\s+status|track(?:ing)?\s+(?:my\s+)?(?:order|"
                          r"parcel|package))\b", re.I)),
]


def refusal(text: str, state: Any) -> str | None:
    """The kind of request to decline kindly, or None."""
    if _HARM.search(text):
        return "harm"
    if _STALKING.search(text):
        return "stalking"
    if _ALCOHOL.search(text):
        minor = _MINOR.search(text)
        known_minor = getattr(getattr(state, "recipient", None), "relation", None) == "self" and (
            state.recipient.age is not None and state.recipient.age < 18)
        if minor or known_minor:
            return "age_restricted"
    if _DISCOUNT.search(text):
        return "discount_code"
    return None


def policy_topic(text: str) -> str | None:
    for name, rx in POLICY_TOPICS:
        if rx.search(text):
            return name
    return None
