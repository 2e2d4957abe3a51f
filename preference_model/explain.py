"""Plain-words reasons: which signals pushed an item up (or down) for this customer."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from preference_model.repurchase import reason_text
from preference_model.results import Reason, ReasonKind
from preference_model.signals import Context

if TYPE_CHECKING:
    from preference_model.state import CustomerState, HistoryEntry
    from preference_model.view import ModelView

_VERBS = {
    "purchase": "bought", "add_to_cart": "added to your cart", "click": "clicked",
    "view": "viewed", "impression": "saw", "dwell": "looked closely at",
    "zoom": "looked closely at", "wishlist": "saved", "rating": "rated highly",
    "stated": "said you liked", "sentiment": "spoke well of", "inferred": "liked",
}
_CONTEXT_PHRASES = {
    "daypart": "in the {}", "week": "on {}s", "season": "in {}", "device": "on {}",
    "channel": "via {}", "location": "in {}", "weather": "when the weather is {}",
}
_MIN_WEIGHT = 0.05
_SIMILAR = 0.5


def _when(age_s: float) -> str:
    days = age_s / 86_400.0
    if days < 1:
        return "today"
    if days < 2:
        return "yesterday"
    if days < 7:
        return "this week"
    if days < 14:
        return "last week"
    if days < 60:
        return "last month"
    return "a while ago"


def _said(key: str, value: float, hard: bool) -> str:
    name, _, val = key.partition("=")
    if hard:
        return f"because you asked for {val} only" if value > 0 else \
            f"because you asked for no {val}"
    if value > 0:
        return f"because you said you're {val}" if name == "diet" else \
            f"because you said you like {val}"
    return f"because you said you don't like {val}"


class Explainer:
    def __init__(self, model: ModelView, state: CustomerState | None, role: str,
                 context: Context, at: float, now: float | None = None) -> None:
        # `now`: the events' time the repurchase term was judged at (default `at`).
        self.model, self.state, self.role, self.context, self.at = (
            model, state, role, context, at)
        self.now = at if now is None else now
        self.taste = state.taste(role) if state is not None else None
        pop = model.population
        assert pop is not None
        # The average item's popularity logit: an O(catalog) mean, taken once per request.
        self._baseline = pop.bias + float(pop.item_bias.mean())
        items = model.items
        assert items is not None
        self._hist_rows: np.ndarray | None = None
        self._hist: list[HistoryEntry] = []
        if state is not None:
            hist, rows = model.history(state, role, positive=True)
            self._hist = hist
            if hist:
                emb = items.content[rows]
                self._hist_rows = rows
                self._hist_emb = emb / (np.linalg.norm(emb, axis=1, keepdims=True) + 1e-12)

    def reasons(self, row: int, parts: dict[str, float], k: int) -> list[Reason]:
        out: list[tuple[str, float, ReasonKind]] = []
        model, items, pop = self.model, self.model.items, self.model.population
        assert items is not None and pop is not None
        taste = self.taste
        popularity = parts.get("popularity", 0.0) - self._baseline
        if popularity > 0:  # "unpopular" is no reason to show anything
            # Counted over all time: "right now" is for trending items (app/decide/).
            out.append(("popular with other customers", popularity, "popularity"))
        if "cohort" in parts:
            c = parts["cohort"]
            out.append(("popular with customers like you" if c > 0 else
                        "less popular with customers like you", c, "cohort"))
        if "session" in parts:
            s = parts["session"]
            out.append(("related to what you're looking at right now" if s > 0 else
                        "unlike what you're looking at right now", s, "session"))
        if "taste" in parts:
            out.append(self._taste_reason(row, parts["taste"]))
        if parts.get("similar", 0.0) > 0:
            out.append(self._similar_reason(row, parts["similar"]))
        if parts.get("repurchase"):
            out.append(self._repurchase_reason(row, parts["repurchase"]))
        if "demographic" in parts:  # only present with the customer's consent
            d = parts["demographic"]
            out.append(("popular with customers who share the details you gave us" if d > 0
                        else "less popular with customers who share the details you gave us",
                        d, "demographic"))
        if taste is not None:
            cfg = model.config
            for key in items.attr_keys(row):
                stated = taste.stated.get(key)
                if stated is not None and not stated.hard:
                    out.append((_said(key, stated.value, False), cfg.stated_weight * stated.value,
                                "stated"))
                elif stated is None and key not in taste.suppressed and key in taste.inferred \
                        and parts.get("attributes", 0.0) != 0.0:
                    w = taste.inferred[key].value
                    val = key.partition("=")[2]
                    text = f"because you often choose {val}" if w > 0 else \
                        f"because you usually skip {val}"
                    out.append((text, w, "inferred"))
            if parts.get("constraints", 0.0):
                keys = set(items.attr_keys(row))
                for key, p in taste.stated.items():
                    if p.hard and ((p.value > 0) != (key in keys)):
                        out.append((_said(key, p.value, True), -cfg.constraint_penalty,
                                    "stated"))
            liked = parts.get("stated_items", 0.0)
            if liked:
                text = "because you said you liked it" if liked > 0 else \
                    "because you said you don't like it"
                out.append((text, liked, "stated"))
            if parts.get("context"):
                out.append((self._context_text(row), parts["context"], "context"))
        # Only reasons pushing the way the score went: an item above the average item's
        # score is explained by what pulled it up, never by what held it back as well.
        up = sum(parts.values()) >= self._baseline
        chosen = sorted((r for r in out if abs(r[1]) > _MIN_WEIGHT and (r[1] > 0) == up),
                        key=lambda r: -abs(r[1]))[:k]
        return [Reason(text, round(float(w), 4), kind) for text, w, kind in chosen]

    def _taste_reason(self, row: int, weight: float) -> tuple[str, float, ReasonKind]:
        items = self.model.items
        assert items is not None
        if self.role != "self":
            text = f"based on what you chose for your {self.role}" if weight > 0 else \
                f"unlike what you usually choose for your {self.role}"
            return (text, weight, "recipient")
        if self._hist_rows is not None and weight > 0:
            e = items.content[row]
            e = e / (np.linalg.norm(e) + 1e-12)
            sims = self._hist_emb @ e
            sims[self._hist_rows == row] = -1.0
            j = int(np.argmax(sims))
            if sims[j] >= _SIMILAR:
                h = self._hist[j]
                verb = _VERBS.get(h.kind, "liked")
                title = items.titles[int(self._hist_rows[j])]
                when = _when(max(0.0, self.at - h.at))
                return (f"similar to {title}, which you {verb} {when}", weight, "history")
        if weight < 0:
            return ("unlike what you usually choose", weight, "taste")
        return ("matches your taste so far", weight, "taste")

    def _repurchase_reason(self, row: int, weight: float) -> tuple[str, float, ReasonKind]:
        """Said from the same `Due` the term came from, so words and score agree."""
        items = self.model.items
        assert items is not None and self.state is not None
        item_id = items.ids[row]
        log = self.state.purchases[self.role][item_id]
        return (reason_text(self.model.due(item_id, row, log, self.now)), weight,
                "repurchase")

    def _similar_reason(self, row: int, weight: float) -> tuple[str, float, ReasonKind]:
        """Name the history item that pulls this one up most through co-occurrence."""
        items, pop = self.model.items, self.model.population
        assert items is not None and pop is not None and pop.similar is not None
        rows, hist = self._hist_rows, self._hist
        if rows is not None:
            hit = pop.similar.idx[rows] == row
            pull = (np.where(hit, pop.similar.w[rows], 0.0).sum(1)
                    * np.array([h.weight for h in hist]))
            j = int(np.argmax(pull))
            if pull[j] > 0:
                h = hist[j]
                verb = _VERBS.get(h.kind, "liked")
                when = _when(max(0.0, self.at - h.at))
                return (f"often chosen with {items.titles[rows[j]]}, which you {verb} {when}",
                        weight, "history")
        return ("often chosen with what you like", weight, "history")

    def _context_text(self, row: int) -> str:
        items, taste = self.model.items, self.taste
        assert items is not None and taste is not None
        cat = items.categories[row]
        best, best_w = None, 0.0
        for feat in self.context.features():
            w = taste.context.get(f"{feat}|{cat}", 0.0)
            if abs(w) > abs(best_w):
                best, best_w = feat, w
        if best is None:
            return f"fits how you shop for {cat}"
        name, _, val = best.partition("=")
        phrase = _CONTEXT_PHRASES.get(name, "when {}").format(val)
        verb = "often choose" if best_w > 0 else "rarely choose"
        return f"you {verb} {cat} {phrase}"
