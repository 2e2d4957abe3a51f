"""Scripted multi-turn shopping conversations on the demo store, each turn checked against
the catalog automatically (benchmarks/data/conversations.yaml).

    python benchmarks/conversations.py                   # templates, then MockChatModel
    python benchmarks/conversations.py --modes embedded  # the embedded SmolLM2 (slow)
    python benchmarks/conversations.py --split heldout -v

Runs the real turn pipeline in process (guardrails, state, retrieval with the real MiniLM
index, preference model) on a temporary SQLite database. Reports the share of checks
passed and the share of turns with every check passed, dev and held-out separately, plus
the share of replies with a `retract`."""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT / "benchmarks" / "data" / "conversations.yaml"
NO_MATCH = ("don't have", "couldn't find", "nothing matches", "nothing in the shop",
            "don't sell", "no match")


@dataclass
class Turn:
    text: str
    cards: list[str]
    question: dict[str, Any] | None
    retracted: bool


@dataclass
class Result:
    checks: int = 0
    passed: int = 0
    turns: int = 0
    turns_ok: int = 0
    replies: int = 0
    retracts: int = 0
    failures: list[str] = field(default_factory=list)

    def add(self, other: Result) -> None:
        for f in ("checks", "passed", "turns", "turns_ok", "replies", "retracts"):
            setattr(self, f, getattr(self, f) + getattr(other, f))
        self.failures += other.failures


def load_catalog() -> dict[str, dict[str, Any]]:
    rows = [json.loads(line) for line in (ROOT / "app" / "demo" / "catalog.jsonl").open()]
    return {r["id"]: r for r in rows}


def _has_word(text: str, word: str) -> bool:
    return re.search(rf"(?<![a-z]){re.escape(word.lower())}(?:s|es)?(?![a-z])", text.lower()) \
        is not None


def _record_text(item: dict[str, Any]) -> str:
    attrs = " ".join(v for k, vs in item["attributes"].items() if k not in ("diet", "lifestyle")
                     for v in vs)
    return re.sub(r"\b[a-z]+-free\b", " ", f"{item['title']} {item['description']} {attrs}".lower())


def _labels(item: dict[str, Any]) -> set[str]:
    a = item["attributes"]
    return {v.lower() for k in ("diet", "lifestyle") for v in a.get(k, [])} | set(item["tags"])


def _covers(age_range: str, age: int) -> bool:
    if age_range.endswith("+"):
        return age >= int(age_range[:-1])
    lo, _, hi = age_range.partition("-")
    return int(lo) <= age <= int(hi or lo)


def _money(x: float) -> str:
    return f"${x:.2f}"


def check_turn(expect: dict[str, Any], turn: Turn, history: list[Turn], catalog: dict[str, Any],
               seen_titles: set[str], said: str) -> list[tuple[str, bool]]:
    """(check name, passed) for one turn: the scripted checks and the default ones."""
    out: list[tuple[str, bool]] = []
    text = turn.text
    low = text.lower()
    cards = [catalog[i] for i in turn.cards if i in catalog]
    prev_cards = next((t.cards for t in reversed(history) if t.cards), [])

    def ok(name: str, cond: bool) -> None:
        out.append((name, bool(cond)))

    # Default checks.
    ok("reply", bool(text.strip()))
    sentences = [s.strip().lower() for s in re.split(r"(?<=[.!?])\s+", text) if len(s) > 12]
    ok("no_repeat", len(sentences) == len(set(sentences)))
    shown = seen_titles | {c["title"].lower() for c in cards}
    named = [r["title"] for r in catalog.values() if len(r["title"]) >= 8 and
             r["title"].lower() in low and r["title"].lower() not in shown and
             r["title"].lower() not in said.lower()]
    ok("named_only_shown", not named)

    for name, want in expect.items():
        if name == "cards":
            ok(name, bool(cards) == bool(want))
        elif name == "max_price":
            ok(name, all(c["price"] <= want + 0.005 for c in cards))
        elif name == "min_price":
            ok(name, all(c["price"] >= want - 0.005 for c in cards))
        elif name == "age":
            ok(name, all(any(_covers(r, want) for r in c["attributes"].get("age", []))
                         for c in cards) and bool(cards))
        elif name == "category":
            ok(name, all(any(c["category"].startswith(p) for p in want) for c in cards))
        elif name == "type":
            ok(name, all(all(_has_word(f"{c['title']} {c['category']}", w) for w in want.split())
                         for c in cards))
        elif name == "type_not":
            ok(name, not any(want.lower() in c["title"].lower() for c in cards))
        elif name == "label":
            ok(name, all(want in _labels(c) for c in cards))
        elif name == "color":
            ok(name, all(want in c["attributes"].get("color", []) for c in cards))
        elif name == "not_contains":
            ok(name, not any(_has_word(_record_text(c), w) for c in cards for w in want))
        elif name == "material_not":
            ok(name, not any(w in " ".join(c["attributes"].get("material", [])).lower()
                             for c in cards for w in want))
        elif name == "says":
            for s in want:
                ok(f"says:{s}", s.lower() in low)
        elif name == "says_any":
            ok(name, any(s.lower() in low for s in want))
        elif name == "says_not":
            for s in want:
                ok(f"says_not:{s}", s.lower() not in low)
        elif name == "no_match":
            ok(name, any(p in low for p in NO_MATCH) == bool(want))
        elif name == "refusal":
            ok(name, not cards and "can't" in low)
        elif name == "question":
            ok(name, (turn.question is not None) == bool(want))
        elif name == "cards_only":
            ok(name, set(turn.cards) <= set(want))
        elif name == "cheaper_than_previous":
            prices = sorted(catalog[i]["price"] for i in prev_cards)
            median = prices[len(prices) // 2] if prices else float("inf")
            ok(name, bool(cards) and all(c["price"] < median for c in cards))
        elif name == "fact":
            item = catalog.get(want.get("item", "")) if "item" in want else None
            if "ref" in want:
                pos = {"first": 0, "second": 1, "third": 2, "last": -1}[want["ref"]]
                item = catalog[prev_cards[pos]] if prev_cards and (
                    pos < len(prev_cards)) else None
            if item is None:
                ok(f"fact:{want}", False)
                continue
            ok(f"fact:{want.get('field')}", _fact_said(item, want["field"], low))
        else:
            raise ValueError(f"unknown check {name!r}")
    return out


def _fact_said(item: dict[str, Any], field_name: str, low: str) -> bool:
    a = item["attributes"]
    if field_name == "price":
        return _money(item["price"]) in low
    if field_name == "material":
        return all(m.lower() in low for m in a.get("material", [])) and bool(a.get("material"))
    if field_name == "sizes":
        return all(re.search(rf"\b{re.escape(s.lower())}\b", low) for s in a.get("size", []))
    if field_name == "colors":
        return all(c.lower() in low for c in a.get("color", []))
    # a label: said to have it when it does, said not to when it does not
    has = field_name in _labels(item)
    negated = re.search(rf"(?:isn't|is\s+not|not)\s+labelled\s+{re.escape(field_name)}", low)
    return (field_name in low and not negated) if has else bool(negated)


@dataclass
class Runner:
    rt: Any
    pipeline: Any

    def turn(self, visitor: str, session_id: str | None, message: str) -> tuple[str, Turn]:
        from app.services.events import resolve_subjects
        from app.services.identity import resolve

        with self.rt.sessions() as db:
            pid = resolve_subjects(db, {("visitor", visitor)})[("visitor", visitor)]
            db.commit()
            profile = resolve(db, pid)
            prepared = self.pipeline.prepare(db, profile, message, session_id,
                                             {"channel": "chat"})
            db.commit()
        text, cards, question, retracted = "", [], None, False
        for event, data in self.pipeline.stream(prepared):
            if event == "token":
                text += data["text"]
            elif event == "retract":
                text = text[: -data["chars"]]
                retracted = True
            elif event == "cards":
                cards = [c["item_id"] for c in data["items"]]
            elif event == "question":
                question = data
        with self.rt.sessions() as db:
            prepared.session = db.merge(prepared.session)
            self.pipeline.finish(db, prepared)
        return prepared.session.id, Turn(text, cards, question, retracted)


def run(runner: Runner, conversations: list[dict[str, Any]], catalog: dict[str, Any],
        verbose: bool, tag: str) -> Result:
    total = Result()
    for n, conv in enumerate(conversations):
        res = Result()
        session_id: str | None = None
        history: list[Turn] = []
        seen: set[str] = set()
        said = ""
        for t in conv["turns"]:
            said += " " + t["say"]
            session_id, turn = runner.turn(f"conv-{tag}-{n}", session_id, t["say"])
            checks = check_turn(t.get("expect") or {}, turn, history, catalog, seen, said)
            seen |= {catalog[i]["title"].lower() for i in turn.cards if i in catalog}
            history.append(turn)
            failed = [name for name, good in checks if not good]
            res.checks += len(checks)
            res.passed += len(checks) - len(failed)
            res.turns += 1
            res.turns_ok += not failed
            res.replies += 1
            res.retracts += turn.retracted
            if failed:
                res.failures.append(f"{conv['id']}: {t['say']!r} -> {failed}\n    reply: "
                                    f"{turn.text!r}\n    cards: {turn.cards}")
            if verbose:
                print(f"[{conv['id']}] > {t['say']}\n    {turn.text}\n    cards={turn.cards}"
                      f"{' FAILED ' + str(failed) if failed else ''}")
        total.add(res)
    return total


def mock_respond() -> Callable[[list[Any]], str]:
    """A stand-in for free generation: introduces the first product it was given, and now
    and then drifts the way a small model does (an invented relative, a label, a repeat)."""
    drifts = ["Your daughter will love it.", "It is vegan and organic.",
              "I also have dinosaur-themed books.", "Here are some great options."]
    calls = {"n": 0}

    def respond(messages: list[Any]) -> str:
        calls["n"] += 1
        system = str(messages[0].content)
        m = re.search(r"- (.+?) \(", system) or re.search(r"- (.+?):", system)
        name = m.group(1).strip() if m else "this one"
        base = f"The {name} is a lovely pick."
        return base + " " + drifts[calls["n"] % len(drifts)]

    return respond


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--modes", default="template,mock",
                    help="comma list of template, mock, embedded")
    ap.add_argument("--split", choices=["all", "dev", "heldout"], default="all")
    ap.add_argument("--only", default=None, help="a conversation id")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()

    from benchmarks.chat import build
    from generation import MockChatModel, ResilientChat

    data = yaml.safe_load(DATA.read_text())["conversations"]
    if args.only:
        data = [c for c in data if c["id"] == args.only]
    catalog = load_catalog()
    with tempfile.TemporaryDirectory() as tmp:
        rt, pipeline = build(len(catalog), Path(tmp))
        embedded_chat = pipeline.chat
        runner = Runner(rt, pipeline)
        for mode in args.modes.split(","):
            if mode == "template":
                pipeline.realization = "template"
            elif mode == "mock":
                pipeline.realization = "llm"
                pipeline.chat = ResilientChat(MockChatModel(respond=mock_respond()))
            elif mode == "embedded":
                pipeline.realization = "llm"
                pipeline.chat = embedded_chat
            t0 = time.perf_counter()
            for split in (["dev", "heldout"] if args.split == "all" else [args.split]):
                convs = [c for c in data if c.get("split", "dev") == split]
                if not convs:
                    continue
                r = run(runner, convs, catalog, args.verbose, f"{mode}-{split}")
                print(f"{mode:9s} {split:8s} conversations={len(convs):3d} turns={r.turns:3d} "
                      f"checks={r.passed}/{r.checks} ({100 * r.passed / max(1, r.checks):.1f}%) "
                      f"turns_ok={r.turns_ok}/{r.turns} ({100 * r.turns_ok / max(1, r.turns):.1f}%)"
                      f" retracts={r.retracts}/{r.replies}")
                for f in r.failures:
                    print("  FAIL", f)
            print(f"  ({mode}: {time.perf_counter() - t0:.1f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
