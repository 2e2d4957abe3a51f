"""A stored decision as the API shows it, with its explanation in words: what was chosen
and why (expected value and its parts, the propensity's drivers, the price), what else was
considered, and which rule removed what."""

from __future__ import annotations

from typing import Any

from app.nba.tables import DecisionRow


def _why_chosen(r: dict[str, Any], props: dict[str, Any]) -> str:
    sc = r["score"]
    text = (f"{r['key']} on {r['channel']}: expected value {sc['ev']:.2f} = "
            f"p(response) {sc['p']:.3f} x margin {sc['value']:.2f} - cost {sc['cost']:.2f}")
    if r["discount"]:
        text += f"; discount {100 * r['discount']:.0f}% (expected cost {sc['discount_cost']:.2f})"
        pr = r.get("pricing") or {}
        if pr.get("dynamic"):
            text += f", chosen by {pr.get('rule')}"
    drivers = (props.get("buy_7d") or {}).get("drivers") or []
    if drivers:
        parts = [f"{d['text']} ({'+' if d['contribution'] >= 0 else '-'})" for d in drivers]
        text += "; p(buy within 7 days) driven by " + ", ".join(parts)
    return text


def explanation(record: DecisionRow) -> list[str]:
    rows = record.candidates
    props = (record.context or {}).get("propensities", {})
    chosen = [r for r in rows if r["status"] == "chosen"]
    lines = [f"Chosen: {_why_chosen(r, props)}" for r in chosen]
    if not chosen:
        lines.append("Nothing was chosen: " + (
            "no candidate action" if not rows else
            "every candidate was removed by a rule or had no positive expected value"))
    runner = [r for r in rows if r["status"] in ("eligible", "not_chosen")][:2]
    for r in runner:
        lines.append(f"Considered: {r['key']} on {r['channel']} (expected value "
                     f"{r['score']['ev']:.2f}){': ' + r['reason'] if r['reason'] else ''}")
    for r in rows:
        if r["status"] == "removed":
            lines.append(f"Removed by {r['removed_by']}: {r['key']} on {r['channel']} "
                         f"({r['reason']})")
    return lines


def view(record: DecisionRow) -> dict[str, Any]:
    return {"id": record.id, "customer_id": record.profile_id, "at": record.at,
            "channels": record.channel.split(","),
            "chosen": [r for r in record.candidates if r["status"] == "chosen"],
            "candidates": record.candidates, "rules": record.rules,
            "context": record.context, "explanation": explanation(record)}
