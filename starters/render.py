"""Readable (non-JSON) output of the command line: plain aligned text tables."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from workflows.policy import Period, Profile, Rule


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], indent: str = "") -> str:
    cells = [[str(c) if c is not None else "-" for c in row] for row in rows]
    if not cells:
        return indent + "(none)"
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    lines = [headers, *cells]
    return "\n".join(indent + "  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in lines)


def status(doc: dict[str, Any]) -> str:
    nxt = doc.get("next_due")
    lines = [
        f"plan      {doc.get('plan_id', '-')}",
        f"policy    {doc.get('policy', '-')}",
        f"state     {doc.get('state', '-')}"
        + (f" (ended {doc['ended_on']}: {doc.get('end_reason')})" if doc.get("ended_on") else ""),
        f"next due  {nxt['due']} {nxt['id']} ({nxt.get('description', nxt['kind'])})" if nxt else "next due  -",
        "",
        "obligations",
        table(
            ["ID", "KIND", "DUE", "STATUS", "MET ON"],
            ([o["id"], o["kind"], o["due"], o["status"], o.get("met_on")] for o in doc.get("obligations", [])),
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
    return "\n".join(lines)


def schedule(policy: str, icpc: str, obligations: list[dict[str, str]]) -> str:
    head = f"statutory timetable for policy {policy}, conference on {icpc}\n"
    return head + table(["KIND", "DUE", "RULE"], ([o["kind"], o["due"], o["rule"]] for o in obligations))


def overdue(plans: list[dict[str, Any]]) -> str:
    return table(
        ["PLAN", "POLICY", "OVERDUE", "NEXT DUE", "NEXT KIND"],
        (
            [p.get("plan_id"), p.get("policy"), p.get("overdue_count"), p.get("next_due_date"), p.get("next_due_kind")]
            for p in plans
        ),
    )


def policies(profiles: list[Profile]) -> str:
    return table(["ID", "REGION", "NAME"], ([p.id, p.region, p.name] for p in profiles))


def _setting(value: Any) -> str:
    if isinstance(value, Period):
        return value.describe()
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "none"
    return str(value)


def policy(profile: Profile) -> str:
    lines = [
        f"{profile.id}: {profile.name}",
        f"seed {profile.seed}; region {profile.region}; notifications at {profile.notify_at}",
    ]
    if profile.closure_days:
        lines.append("closure days " + ", ".join(d.isoformat() for d in profile.closure_days))
    for name in type(profile).model_fields:
        rule = getattr(profile, name)
        if not isinstance(rule, Rule):
            continue
        settings = "; ".join(
            f"{k.replace('_', ' ')} {_setting(getattr(rule, k))}"
            for k in type(rule).model_fields
            if k != "source" and getattr(rule, k) is not None
        )
        lines += ["", f"{name.replace('_', ' ')}: {settings or '(applies)'}", f"  source: {rule.source}"]
    return "\n".join(lines)
