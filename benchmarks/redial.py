"""ReDial benchmark: does chat extraction read real seekers' likes and dislikes?

    HF_HUB_OFFLINE=1 .venv/bin/python -m benchmarks.redial            # lexicon (+ classifier
                                                                      #  if its weights exist)
    HF_HUB_OFFLINE=1 .venv/bin/python -m benchmarks.redial --limit 200 --scorer lexicon
    HF_HUB_OFFLINE=1 .venv/bin/python -m benchmarks.redial --split dev   # tune on this only

Splits (fixed before the 2026-12-01 tuning, by position in the file): ``dev`` = dialogues
0-449 (earlier sessions read errors on the first 300), ``heldout`` = 450-900, never tuned on;
``all`` = every dialogue (the number published before the split existed).

Data: `--data`, default ../shared/data/redial/valid_data.jsonl beside the repository (ReDial,
movie-recommendation dialogues).
Each dialogue has a seeker (``initiatorWorkerId``) and, per movie mentioned in the dialogue,
the seeker's own answer ``initiatorQuestions[movie]["liked"]``: 0 disliked, 1 liked, 2 did
not say.

Method, per dialogue, on the seeker's messages only (the recommender's text is used only to
know which movie is "in focus"):
  * each ``@<movieId>`` is replaced by the movie's title (year dropped), and the movies are
    passed to `app.chat.extract.extract` as shown items, so references are resolved by the
    same code as in the shop: full titles, ordinals, and "it"/"that one" resolved to the
    movie in focus (the last one the recommender mentioned, or the seeker's own last one,
    before this message; a title earlier in the same message wins, as in the shop);
  * the clause around each reference is scored (titles masked to "it" so that "Bad Boys"
    does not read as negative) by the lexicon alone, and, when ``preference_model/weights/``
    exists, by the fine-tuned `SentimentClassifier` as the shop does it: `extract` averages
    the classifier with the lexicon on clauses where the lexicon finds an opinion word;
  * scores are averaged per movie; mean > +T predicts liked, < -T disliked, else no
    prediction (T = 0.2, fixed before looking at results, not tuned on this split).

Scoring: gold = movies with liked in {0, 1}. Precision counts every prediction, including
those on label-2 movies (false positives); recall is over gold liked / gold disliked.
Baselines in the same run: majority ("liked" for every movie in ``initiatorQuestions``), and
"extraction + prior" (liked unless the extraction says disliked).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from app.chat.extract import (  # noqa: E402
    SentimentScorer,
    ShownItem,
    extract,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "redial" / "valid_data.jsonl"
THRESHOLD = 0.2
_MENTION = re.compile(r"@(\d+)")


@dataclass
class Counts:
    tp: int = 0
    predicted: int = 0
    gold: int = 0

    @property
    def precision(self) -> float:
        return self.tp / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.tp / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Result:
    name: str
    liked: Counts = field(default_factory=Counts)
    disliked: Counts = field(default_factory=Counts)
    covered: int = 0  # movies with any prediction
    movies: int = 0


DEV_SIZE = 450  # dialogues [0, 450) are the dev split, [450, end) held out
SPLITS = ("dev", "heldout", "all")


def dialogues(path: Path, limit: int | None, split: str = "all") -> Iterator[dict]:
    """The split's dialogues in file order; ``limit`` counts within the split."""
    taken = 0
    with path.open() as f:
        for n, line in enumerate(f):
            if split == "dev" and n >= DEV_SIZE:
                return
            if split == "heldout" and n < DEV_SIZE:
                continue
            if limit is not None and taken >= limit:
                return
            taken += 1
            yield json.loads(line)


def clean_title(title: str) -> str:
    return re.sub(r"\s*\(\d{4}\)\s*$", "", re.sub(r"\s+", " ", title)).strip()


def predict_dialogue(d: dict, scorer: SentimentScorer | None) -> dict[str, float]:
    """Mean sentiment per movie id from the seeker's messages."""
    return {k: sum(s for s, _ in v) / len(v) for k, v in read_dialogue(d, scorer).items()}


def read_dialogue(d: dict, scorer: SentimentScorer | None) -> dict[str, list[tuple[float, str]]]:
    """Every (score, phrase) the extraction read per movie id from the seeker's messages."""
    titles = {k: clean_title(v) for k, v in (d.get("movieMentions") or {}).items() if v}
    seeker = d["initiatorWorkerId"]
    focus: str | None = None
    scores: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for msg in d["messages"]:
        text = msg["text"]
        ids = [i for i in _MENTION.findall(text) if i in titles]
        if msg["senderWorkerId"] != seeker:
            if ids:
                focus = ids[-1]
            continue
        # Replace mentions by titles: the seeker wrote about the movie, not about an id.
        text = _MENTION.sub(lambda m: titles.get(m.group(1), "it"), text)
        in_play = list(dict.fromkeys(ids + ([focus] if focus else [])))
        shown = [ShownItem(item_id=i, title=titles[i], position=n)
                 for n, i in enumerate(in_play)]
        # The focus is the conversation's, as in the shop (`state.focus`): extract itself
        # reads "it" after a title in the same message as that title.
        ex = extract(text, shown, sentiment=scorer, focus=focus)
        for s in ex.item_sentiments:
            scores[s.item_id].append((s.score, s.phrase))
        if ids:
            focus = ids[-1]
    return scores


def evaluate(data: Sequence[dict], predictions: Sequence[dict[str, float]], name: str,
             *, prior: bool = False, majority: bool = False) -> Result:
    res = Result(name)
    for d, pred in zip(data, predictions, strict=True):
        for movie, answers in (d.get("initiatorQuestions") or {}).items():
            gold = answers.get("liked")
            res.movies += 1
            score = pred.get(movie)
            if majority:
                label: int | None = 1
            elif score is not None and score > THRESHOLD:
                label = 1
            elif score is not None and score < -THRESHOLD:
                label = 0
            else:
                label = 1 if prior else None
            if score is not None and abs(score) > THRESHOLD:
                res.covered += 1
            for counts, value in ((res.liked, 1), (res.disliked, 0)):
                if gold == value:
                    counts.gold += 1
                if label == value:
                    counts.predicted += 1
                    counts.tp += int(gold == value)
    return res


def load_classifier() -> SentimentScorer | None:
    try:
        from preference_model.sentiment import SentimentClassifier, SentimentWeightsError
    except ImportError as exc:  # pragma: no cover - broken install
        print(f"classifier unavailable: {exc}", file=sys.stderr)
        return None
    try:
        return SentimentClassifier.load()
    except SentimentWeightsError as exc:
        print(f"classifier unavailable: {exc}", file=sys.stderr)
        return None


def write_errors(path: Path, data: Sequence[dict], scorer: SentimentScorer | None) -> None:
    """Per movie whose call is wrong: gold, prediction, the phrases read (dev split only)."""
    seeker_lines: list[str] = []
    for n, d in enumerate(data):
        read = read_dialogue(d, scorer)
        titles = {k: clean_title(v) for k, v in (d.get("movieMentions") or {}).items() if v}
        for movie, answers in (d.get("initiatorQuestions") or {}).items():
            gold = answers.get("liked")
            got = read.get(movie, [])
            mean = sum(s for s, _ in got) / len(got) if got else None
            pred = None if mean is None or abs(mean) <= THRESHOLD else int(mean > 0)
            if pred == gold or (pred is None and gold == 1) or (pred is None and gold == 2):
                continue
            seeker_lines.append(f"#{n} {titles.get(movie, movie)} gold={gold} pred={pred} "
                                f"mean={mean}")
            seeker_lines += [f"    {s:+.2f} {p}" for s, p in got]
    path.write_text("\n".join(seeker_lines) + "\n")
    print(f"errors written to {path}", file=sys.stderr)


def table(results: Sequence[Result]) -> str:
    head = ("| method | liked P | liked R | liked F1 | disliked P | disliked R | disliked F1 "
            "| movies with a prediction |")
    lines = [head, "|" + "---|" * 8]
    for r in results:
        lines.append(
            f"| {r.name} | {r.liked.precision:.3f} | {r.liked.recall:.3f} | {r.liked.f1:.3f} "
            f"| {r.disliked.precision:.3f} | {r.disliked.recall:.3f} | {r.disliked.f1:.3f} "
            f"| {r.covered}/{r.movies} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--limit", type=int, default=None, help="first N dialogues of the split")
    ap.add_argument("--split", choices=SPLITS, default="all",
                    help="dev = dialogues 0-449 (tune here), heldout = 450-900, all")
    ap.add_argument("--errors", type=Path, default=None,
                    help="dev split only: write every wrong or missed disliked/liked call here")
    ap.add_argument("--scorer", choices=("auto", "lexicon", "classifier"), default="auto")
    args = ap.parse_args()

    if args.errors and args.split != "dev":
        sys.exit("--errors reads mistakes: only on --split dev (held-out stays unread)")
    data = list(dialogues(args.data, args.limit, args.split))
    scorers: list[tuple[str, SentimentScorer | None]] = []
    if args.scorer in ("auto", "lexicon"):
        scorers.append(("lexicon", None))
    if args.scorer in ("auto", "classifier"):
        clf = load_classifier()
        if clf is not None:
            scorers.append(("classifier + lexicon", clf))  # extract blends the two
        elif args.scorer == "classifier":
            sys.exit("classifier weights missing (preference_model/weights/)")

    gold = [a.get("liked") for d in data for a in (d.get("initiatorQuestions") or {}).values()]
    results = [evaluate(data, [{} for _ in data], "majority (all liked)", majority=True)]
    for name, scorer in scorers:
        t0 = time.perf_counter()
        preds = [predict_dialogue(d, scorer) for d in data]
        took = time.perf_counter() - t0
        print(f"{name}: {len(data)} dialogues in {took:.1f}s", file=sys.stderr)
        results.append(evaluate(data, preds, f"extraction, {name}"))
        if args.errors:
            write_errors(args.errors.with_suffix(f".{name.replace(' ', '')}.txt"), data, scorer)
        results.append(evaluate(data, preds, f"extraction, {name} + liked prior", prior=True))

    cmd = "HF_HUB_OFFLINE=1 .venv/bin/python -m benchmarks.redial " + " ".join(sys.argv[1:])
    print(f"ReDial {args.data.name}, split {args.split}: {len(data)} dialogues, "
          f"{len(gold)} seeker-annotated movies (liked {gold.count(1)}, "
          f"disliked {gold.count(0)}, unsaid {gold.count(2)}); "
          f"threshold {THRESHOLD}\n")
    print(table(results))
    print(f"\ncommand: {cmd.strip()}")


if __name__ == "__main__":
    main()
