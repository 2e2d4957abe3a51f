"""The plan in words: varied templates, each filled only with the plan's facts. This is the
default realization (the embedded 135M model cannot carry a conversation truthfully); an
LLM may add one short sentence that passes the grounding checks (see pipeline)."""

from __future__ import annotations

from app.chat.answers import join, money
from app.chat.lexicon import lexicon
from app.chat.plan import Plan
from app.chat.state import ConversationState

REFUSALS = {
    "stalking": "I can't help with following or tracking another person, sorry. If you'd "
                "like, I can help you find something for yourself or a gift.",
    "age_restricted": "I can't help with that one: it's age-restricted. I'd be happy to "
                      "suggest something else, maybe a treat or a gift?",
    "discount_code": "I can't create or look up discount codes here, so I won't promise one. "
                     "I can help you find something within your budget though.",
    "harm": "I can't help with anything that could hurt someone. If you or someone else is "
            "in danger, please contact your local emergency services.",
}
_OPEN = ["Here are a few ideas", "Here's what I found", "These could work well",
         "A few good options", "Take a look at these"]
_ACK = ["You're welcome! Come back any time you need a hand.",
        "Happy to help. Enjoy your shopping!",
        "Glad I could help. Have a lovely day!"]
_ALT = ["The nearest is the {item}", "The closest I can offer is the {item}",
        "Nearest to what you asked is the {item}"]


def _pick(options: list[str], state: ConversationState) -> str:
    return options[state.turn % len(options)]


def _for_whom(state: ConversationState) -> str:
    r = state.recipient
    if r.relation in (None, "self"):
        return ""
    age = f"{r.age}-year-old " if r.age is not None else ""
    return f" for your {age}{r.relation}"


def _constraints_phrase(state: ConversationState) -> str:
    c = state.constraints
    bits = [*c.diets]
    bits += [f"no {a}s" if a == "nut" else f"{a}-free" for a in c.allergens]
    bits += [f"no {m}" for m in c.avoid_materials]
    bits += c.colors
    bits += [f"size {s.upper()}" for s in c.sizes]
    return join(bits)


def realize(plan: Plan, state: ConversationState, shop_name: str,
            policy_text: str | None = None) -> str:
    acts = plan.acts
    if "refuse" in acts:
        return REFUSALS.get(plan.refusal or "", REFUSALS["harm"])
    if "policy" in acts:
        text = (f"I can't see {plan.policy} details here, so I won't guess." if plan.policy
                else "I can't see that here, so I won't guess.")
        return text + (f" {policy_text}" if policy_text else
                       " The shop's customer service team can tell you for sure.")
    if "greet" in acts:
        return (f"Hello! I'm the shopping assistant of {shop_name}. "
                + lexicon().questions["greet"].text)
    if "acknowledge" in acts:
        return _pick(_ACK, state)
    if "clarify" in acts:
        return lexicon().questions["which_one"].text + " Tell me the first, second, or its name."
    if "answer" in acts:
        return " ".join(plan.answers)
    out: list[str] = []
    if "no_match" in acts:
        out.append(_no_match(plan, state))
    if plan.items:
        first = plan.items[0]
        if plan.alternatives and any(r.startswith("SIMILAR:") for r in plan.relaxed):
            out.append(f"The {first.title} ({money(first.price, first.currency)}) is the "
                       "closest.")
        elif plan.alternatives:
            out.append(_pick(_ALT, state).format(
                item=f"{first.title} ({money(first.price, first.currency)})") + ".")
        else:
            cons = _constraints_phrase(state)
            budget = f", {state.budget.phrase()}" if state.budget else ""
            cons_txt = f" ({cons})" if cons else ""
            out.append(f"{_pick(_OPEN, state)}{_for_whom(state)}{cons_txt}{budget}. "
                       f"The {first.title} ({money(first.price, first.currency)}) is a good "
                       "place to start.")
    elif "no_match" not in acts:
        out.append("I couldn't find a good match. Could you tell me a bit more?")
    if plan.question:
        out.append(str(plan.question["text"]))
    return " ".join(out)


def plural(phrase: str) -> str:
    """"earring" -> "earrings", "yoga mat" -> "yoga mats" (the state keeps word stems)."""
    if phrase.endswith(("s", "x", "ch", "sh")):
        return phrase + ("es" if not phrase.endswith("s") else "")
    if phrase.endswith("y") and phrase[-2:-1] not in "aeiou":
        return phrase[:-1] + "ies"
    return phrase + "s"


def _no_match(plan: Plan, state: ConversationState) -> str:
    if plan.missing:
        themes = [plural(w) for w in plan.missing if w not in plan.not_sold]
        kinds = [plural(w) for w in plan.missing if w in plan.not_sold]
        out = []
        if kinds:
            out.append(f"We don't sell {join(kinds)} themselves.")
        if themes:
            out.append(f"We don't have anything with {join(themes)}.")
        return " ".join(out)
    topic = plural(state.topic) if state.topic else "items"
    similar = next((r.split(":", 1)[1] for r in plan.relaxed if r.startswith("SIMILAR:")), None)
    if similar and plan.items:
        return (f"I couldn't find a {similar} that fits everything you asked for, so here "
                "are similar items that do.")
    relaxed = join(plan.relaxed)
    if not plan.items:
        return (f"Sorry, nothing in the shop matches {relaxed}. Could you loosen one of "
                "your requirements?")
    if relaxed.startswith("your budget"):
        return f"I couldn't find {topic} within {relaxed}, so these go over it."
    return f"Nothing matches {relaxed} exactly, so these relax that."
