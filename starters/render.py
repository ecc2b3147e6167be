"""Readable (non-JSON) output of the command line: plain aligned text tables."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from starters import dates
from workflows.calendar import local_date
from workflows.policy import ClockRule, Period, Profile, Rule
from workflows.status import PlanStatus

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], indent: str = "") -> str:
    cells = [[str(c) if c is not None else "-" for c in row] for row in rows]
    if not cells:
        return indent + "(none)"
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    lines = [headers, *cells]
    return "\n".join(indent + "  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in lines)


def _yes_no(value: Any) -> str:
    return "-" if value is None else ("yes" if value else "no")


def status(plan: PlanStatus, today: date | None = None) -> str:
    """A plan's key facts, then its obligations in due-date order, then its escalations; dates
    as people read them, escalation times in London time."""
    today = today or local_date(datetime.now(UTC))
    policy = plan.policy
    nxt = plan.next_due
    state: str = plan.state
    if plan.ended_on:
        state += f" (ended {dates.prose_day(plan.ended_on)}: {plan.end_reason})"
    next_words = None
    if nxt:
        when = dates.due_words(nxt.due, today, policy)
        next_words = f"{nxt.description or nxt.kind}: {dates.table_day(nxt.due)}, {when} ({nxt.id})"
        next_words = next_words.replace(f" due {nxt.due.isoformat()}", "")
    facts = [
        ("plan", plan.plan_id),
        ("policy", plan.policy),
        ("conference", f"{dates.prose_day(plan.icpc_date)} ({plan.conference_kind})"),
        ("state", state),
        ("lead social worker", plan.lead_social_worker),
        ("team manager", plan.team_manager),
        ("missing", _yes_no(plan.missing)),
        ("reviews held", plan.reviews_held),
        ("overdue", plan.overdue_count),
        ("next due", next_words),
    ]
    width = max(len(name) for name, _ in facts)
    obligations = sorted(plan.obligations, key=lambda o: (o.due, o.id))
    done = ("met", "met-late", "waived")
    lines = [f"{name.ljust(width)}  {'-' if value is None else value}" for name, value in facts]
    lines += [
        "",
        "obligations (by due date)",
        table(
            ["DUE", "TODAY", "ID", "KIND", "STATUS", "MET ON"],
            (
                [
                    dates.table_day(o.due),
                    dates.due_words(o.due, today, policy, met=o.status in done) or None,
                    o.id,
                    o.kind,
                    o.status,
                    dates.table_day(o.met_on) or None,
                ]
                for o in obligations
            ),
            "  ",
        ),
        "",
        "escalations (London time)",
        table(
            ["AT", "KIND", "LEVEL", "TO", "OBLIGATION"],
            ([dates.london_time(e.at), e.kind, e.level, e.to, e.obligation_id] for e in plan.escalations),
            "  ",
        ),
    ]
    undelivered = [h for h in plan.history if h.event == "notification-not-delivered"]
    if undelivered:
        # Recorded from delivery receipts (workflows/plan_rules/deliveries.py): not told.
        lines += [
            "",
            "not delivered (not told)",
            table(
                ["ON", "TO", "BY", "STATUS", "TOLD INSTEAD", "NOTIFICATION"],
                (
                    [
                        h.on.isoformat() if h.on else None,
                        h.detail.get("to"),
                        f"{h.detail.get('medium')} ({h.detail.get('channel')})",
                        h.detail.get("status"),
                        h.detail.get("told"),
                        h.detail.get("key"),
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
    if isinstance(value, str) and _ISO_DAY.fullmatch(value):
        return dates.table_day(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return str(value)


def schedule(policy: str, icpc: str, obligations: list[dict[str, str]]) -> str:
    """The timetable in date order (a limit on a non-working day: the day to hold it by)."""
    head = f"statutory timetable for policy {policy}, conference on {dates.prose_day(icpc)}\n"
    rows = sorted(obligations, key=lambda o: (o["due"], o["kind"]))
    return head + table(
        ["DUE", "HOLD BY", "KIND", "RULE"],
        ([dates.table_day(o["due"]), dates.table_day(o.get("hold_by", "")), o["kind"], o["rule"]] for o in rows),
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
        None,  # whose visit counts is the rule's `met by` line
    ),
    "once_between_conferences": ("once between conferences", None),
    "required": ("required when the plan starts", "not required when the plan starts"),
    "chair_consulted": (
        "the chair of conference is asked too (with none named, the team manager consults them)",
        "the team manager is asked",
    ),
    "lead_social_worker_told": ("the lead social worker is told at once too", None),
}
CHOICE_WORDS = {
    ("at_first_review", "ordinary"): "ending at the first review conference is an ordinary decision",
    ("at_first_review", "exceptional-only"): "ending at the first review conference only in exceptional circumstances",
}


# Whose act meets a clock, in words (workflows/policy.py `Who`).
WHO_WORDS = {
    "lead-social-worker": "the lead social worker (or whoever covers for them) only",
    "core-group": "the lead social worker (or their cover) or any member of the core group",
    "plan-people": "any of the plan's people",
    "each-member": "each core group member, their own",
    "core-group-meeting": "the core group meeting held",
    "conference": "the conference held",
    "manager": "one of the plan's managers",
    "chair": "the chair of conference",
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
    moves = profile.moves_with()
    for name in type(profile).model_fields:
        rule = getattr(profile, name)
        if not isinstance(rule, Rule):
            continue
        settings = "; ".join(
            words
            for k in type(rule).model_fields
            if k not in ("source", "met_by") and getattr(rule, k) is not None and (words := _field(k, getattr(rule, k)))
        )
        lines += ["", f"{name.replace('_', ' ')}: {settings or '(applies)'}"]
        if isinstance(rule, ClockRule):
            lines.append(f"  met by: {WHO_WORDS[rule.met_by.who]} ({rule.met_by.source})")
        if name in moves:
            lines.append(f"  moves with: {moves[name]}")
        elif isinstance(rule, ClockRule):
            lines.append("  moves with: no other clock (counted from what was last recorded, or the conference)")
        lines.append(f"  source: {rule.source}")
    return "\n".join(lines)


def history(plan_id: str, page: int, pages: int, total: int, entries: list[dict[str, Any]]) -> str:
    """A page of a plan's history: one line per entry, oldest first, numbered from 1."""
    if not entries:
        return f"{plan_id}: page {page} of {pages}: no entries ({total} in all)"
    lines = [f"{plan_id}: history page {page} of {pages} ({total} entries)"]
    for entry in entries:
        detail = "  ".join(f"{k}={v}" for k, v in entry.items() if k not in ("position", "at", "on", "event"))
        on = f" on {entry['on']}" if entry.get("on") else ""
        lines.append(f"{entry['position'] + 1:>6}  {str(entry['at'])[:16]}  {entry['event']}{on}  {detail}".rstrip())
    return "\n".join(lines)
