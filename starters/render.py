"""Readable (non-JSON) output of the command line: plain aligned text tables."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import time
from typing import Any

from workflows.policy import Period, Profile, Rule


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], indent: str = "") -> str:
    cells = [[str(c) if c is not None else "-" for c in row] for row in rows]
    if not cells:
        return indent + "(none)"
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    lines = [headers, *cells]
    return "\n".join(indent + "  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in lines)


def _yes_no(value: Any) -> str:
    return "-" if value is None else ("yes" if value else "no")


def status(doc: dict[str, Any]) -> str:
    """A plan's key facts, then its obligations in due-date order, then its escalations."""
    nxt = doc.get("next_due")
    state = str(doc.get("state", "-"))
    if doc.get("ended_on"):
        state += f" (ended {doc['ended_on']}: {doc.get('end_reason')})"
    facts = [
        ("plan", doc.get("plan_id")),
        ("policy", doc.get("policy")),
        ("conference", f"{doc.get('icpc_date', '-')} ({doc.get('conference_kind', 'initial')})"),
        ("state", state),
        ("lead social worker", doc.get("lead_social_worker")),
        ("team manager", doc.get("team_manager")),
        ("missing", _yes_no(doc.get("missing"))),
        ("reviews held", doc.get("reviews_held")),
        ("overdue", doc.get("overdue_count")),
        ("next due", f"{nxt['due']} {nxt['id']} ({nxt.get('description', nxt['kind'])})" if nxt else None),
    ]
    width = max(len(name) for name, _ in facts)
    obligations = sorted(doc.get("obligations", []), key=lambda o: (o.get("due") or "", o.get("id") or ""))
    lines = [f"{name.ljust(width)}  {'-' if value is None else value}" for name, value in facts]
    lines += [
        "",
        "obligations (by due date)",
        table(
            ["DUE", "ID", "KIND", "STATUS", "MET ON"],
            ([o["due"], o["id"], o["kind"], o["status"], o.get("met_on")] for o in obligations),
            "  ",
        ),
        "",
        "escalations",
        table(
            ["AT", "KIND", "LEVEL", "TO", "OBLIGATION"],
            ([e["at"], e["kind"], e["level"], e["to"], e.get("obligation_id")] for e in doc.get("escalations", [])),
            "  ",
        ),
    ]
    undelivered = [h for h in doc.get("history", []) if h.get("event") == "notification-not-delivered"]
    if undelivered:
        # Recorded from delivery receipts (workflows/plan_rules/deliveries.py): not told.
        lines += [
            "",
            "not delivered (not told)",
            table(
                ["ON", "TO", "BY", "STATUS", "TOLD INSTEAD", "NOTIFICATION"],
                (
                    [
                        h.get("on"),
                        h.get("to"),
                        f"{h.get('medium')} ({h.get('channel')})",
                        h.get("status"),
                        h.get("told"),
                        h.get("key"),
                    ]
                    for h in undelivered
                ),
                "  ",
            ),
        ]
    return "\n".join(lines)


def message_outcome(plan_id: str, message: str, outcome: str, request: str, result: dict[str, Any]) -> str:
    """What an update or signal did, the same shape for both: one line, then what the plan
    answered (an update's result), one `name  value` line each."""
    lines = [f"{plan_id}: {message} {outcome} (request id {request})"]
    details = [(k.replace("_", " "), v) for k, v in result.items() if v not in (None, "", [], {})]
    if details:
        width = max(len(name) for name, _ in details)
        lines += [f"  {name.ljust(width)}  {_value(value)}" for name, value in details]
    return "\n".join(lines)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return str(value)


def schedule(policy: str, icpc: str, obligations: list[dict[str, str]]) -> str:
    head = f"statutory timetable for policy {policy}, conference on {icpc}\n"
    return head + table(
        ["KIND", "DUE", "HOLD BY", "RULE"],
        ([o["kind"], o["due"], o.get("hold_by", ""), o["rule"]] for o in obligations),
    )


def policies(profiles: list[Profile]) -> str:
    return table(["ID", "REGION", "NAME"], ([p.id, p.region, p.name] for p in profiles))


def _setting(value: Any) -> str:
    """A rule's setting in words, never a Python repr."""
    if isinstance(value, Period):
        return value.describe()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_setting(v) for v in value) or "none"
    if isinstance(value, time):
        return value.strftime("%H:%M")
    return str(value)


# Yes/no settings read as sentences: (when true, when false); None leaves it unsaid.
FLAG_WORDS: dict[str, tuple[str, str | None]] = {
    "not_on_conference_day": ("not on the conference day", "may be on the conference day"),
    "by_lead_social_worker_only": (
        "only the lead social worker (or whoever covers for them) makes a statutory visit",
        "a visit by any of the plan's people counts",
    ),
    "once_between_conferences": ("once between conferences", None),
    "required": ("required when the plan starts", "not required when the plan starts"),
}
CHOICE_WORDS = {
    ("at_first_review", "ordinary"): "ending at the first review conference is an ordinary decision",
    ("at_first_review", "exceptional-only"): "ending at the first review conference only in exceptional circumstances",
}


def _field(name: str, value: Any) -> str:
    """One setting of a rule as words."""
    if isinstance(value, bool):
        yes, no = FLAG_WORDS.get(name, (name.replace("_", " "), f"not {name.replace('_', ' ')}"))
        return yes if value else (no or "")
    if isinstance(value, str) and (name, value) in CHOICE_WORDS:
        return CHOICE_WORDS[(name, value)]
    return f"{name.replace('_', ' ')} {_setting(value)}"


def policy(profile: Profile) -> str:
    lines = [
        f"{profile.id}: {profile.name}",
        f"seed {profile.seed}; region {profile.region}; notifications at {_setting(profile.notify_at)}",
    ]
    if profile.closure_days:
        lines.append("closure days " + ", ".join(d.isoformat() for d in profile.closure_days))
    for name in type(profile).model_fields:
        rule = getattr(profile, name)
        if not isinstance(rule, Rule):
            continue
        settings = "; ".join(
            words
            for k in type(rule).model_fields
            if k != "source" and getattr(rule, k) is not None and (words := _field(k, getattr(rule, k)))
        )
        lines += ["", f"{name.replace('_', ' ')}: {settings or '(applies)'}", f"  source: {rule.source}"]
    return "\n".join(lines)
