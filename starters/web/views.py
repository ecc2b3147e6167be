"""What the pages show, in words: status tags, the timeline, forms read into message payloads."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starters import dates
from starters.web.work import MANAGERS_DECISIONS
from worker.identity import Identity
from workflows.calendar import local_date
from workflows.status import PlanStatus

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"

# Obligation status -> (words, tag colour); colours as GOV.UK tags, text contrast AA.
_TAGS = {
    "met": ("Met on time", "green"),
    "met-late": ("Met late", "orange"),
    "overdue": ("Overdue", "red"),
    "escalated": ("Overdue, escalated", "red"),
    "pending": ("Due", "blue"),
    "waived": ("Not needed", "grey"),
}


def tag(status: str) -> tuple[str, str]:
    return _TAGS.get(status, (status.replace("-", " ").capitalize(), "grey"))


def kind_words(kind: str) -> str:
    return kind.replace("-", " ").replace("_", " ").capitalize()


def event_words(event: str) -> str:
    return event.replace("-", " ").capitalize()


def dated(items: list[dict[str, Any]], today: date) -> list[dict[str, Any]]:
    """Work items with their due date in words: `due_day` ('Mon 19 Oct 2026') and `due_words`
    ('46 days overdue', 'due in 3 working days', in the plan's own working days)."""
    return [
        {
            **i,
            "due_day": dates.table_day(i["due"]),
            "due_words": dates.due_words(i["due"], today, i.get("policy")),
            "days_late": dates.days_late(i["due"], today) if i["overdue"] else 0,
        }
        for i in items
    ]


def per_worker(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Items grouped by lead social worker, the workers with most overdue first; a manager's own
    decisions (`work.MANAGERS_DECISIONS`) are not a worker's."""
    workers: dict[str, dict[str, Any]] = {}
    for item in items:
        if item["kind"] in MANAGERS_DECISIONS:
            continue
        who = item.get("lead_social_worker") or "(no lead)"
        entry = workers.setdefault(who, {"staff_id": who, "overdue": [], "due_soon": []})
        entry["overdue" if item["overdue"] else "due_soon"].append(item)
    return sorted(workers.values(), key=lambda w: (-len(w["overdue"]), w["staff_id"]))


def team_summary(workers: list[dict[str, Any]], escalated: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row a worker: overdue, due soon, the oldest overdue item and how many escalations to
    the manager are about that worker's plans."""
    lead_of = {i["plan_id"]: w["staff_id"] for w in workers for i in w["overdue"] + w["due_soon"]}
    to_you: dict[str, int] = {}
    for plan in escalated:
        lead = plan.get("lead_social_worker") or lead_of.get(plan["plan_id"])
        if lead:
            to_you[lead] = to_you.get(lead, 0) + len(plan["escalations"])
    rows = []
    for w in workers:
        oldest = min(w["overdue"], key=lambda i: i["due"], default=None)
        rows.append(
            {
                "staff_id": w["staff_id"],
                "overdue": len(w["overdue"]),
                "due_soon": len(w["due_soon"]),
                "oldest": oldest,
                "escalated": to_you.get(w["staff_id"], 0),
            }
        )
    return rows


def filtered(items: list[dict[str, Any]], worker: str, kind: str) -> list[dict[str, Any]]:
    return [
        i
        for i in items
        if (not worker or (i.get("lead_social_worker") or "(no lead)") == worker) and (not kind or i["kind"] == kind)
    ]


_LEVELS = {1: "first", 2: "second"}


def escalation_words(e: dict[str, Any]) -> str:
    """'Visit due Mon 26 Oct 2026 not done: escalated to you on Fri 4 Dec 2026 at 09:00' rather
    than `late-0002: Overdue (visit-1)`; an alert says what it was about."""
    when = dates.london_time(e["at"])
    told = f"on {when[:-6]} at {when[-5:]}"
    level = int(e.get("level") or 1)
    if level > 1:
        told = f"({_LEVELS.get(level, str(level))} level) {told}"
    about = ""
    if e.get("obligation_kind"):
        about = f"{kind_words(e['obligation_kind'])} due {dates.table_day(e['obligation_due'])}"
    if e["kind"] == "overdue":
        return f"{about or 'Something'} not done: escalated to you {told}"
    return f"{kind_words(e['kind'])}{f' ({about.lower()})' if about else ''}: sent to you {told}"


# What GOV.UK Notify's final status means, in its own documentation's plain words, per medium;
# `no-receipt` is ours: no delivery confirmed within the limit (activities/receipts.py).
_NOTIFY_SAID = {
    ("permanent-failure", "email"): "the email address is wrong or no longer in use",
    ("permanent-failure", "sms"): "the phone number is wrong or no longer in use",
    ("temporary-failure", "email"): "the inbox was full or a spam filter turned the message away",
    ("temporary-failure", "sms"): "the phone was off or had no signal for too long",
    ("technical-failure", "email"): "a technical problem between GOV.UK Notify and the email provider",
    ("technical-failure", "sms"): "a technical problem between GOV.UK Notify and the phone network",
}


def medium_words(medium: Any) -> str:
    return "text message" if medium == "sms" else "email"


def notify_said(status: Any, medium: Any) -> str:
    """What GOV.UK Notify said of a message it did not deliver, in words."""
    if status == "no-receipt":
        return "no delivery was confirmed in time"
    return _NOTIFY_SAID.get((str(status), "sms" if medium == "sms" else "email"), str(status).replace("-", " "))


def not_delivered(status: PlanStatus) -> list[dict[str, Any]]:
    """The plan's messages that were not delivered (workflows/plan_rules/deliveries.py), latest
    first, in words: who it was for, how, what Notify said, when, and who was told instead."""
    rows = [
        {
            "on": (h.on or h.at.date()).isoformat(),
            "to": h.detail.get("to"),
            "by": medium_words(h.detail.get("medium")),
            "said": notify_said(h.detail.get("status"), h.detail.get("medium")),
            "told": f"Yes, {h.detail['told']} was told at once"
            if h.detail.get("told")
            else "No: nobody above them on the plan",
        }
        for h in status.history
        if h.event == "notification-not-delivered"
    ]
    rows.reverse()
    return [{**r, "day": dates.prose_day(r["on"])} for r in rows]


def undelivered_words(u: dict[str, Any]) -> str:
    """One message not delivered, as a manager's list says it: 'sw-demo's email, 4 December
    2026: the email address is wrong or no longer in use. The next person up was told.'"""
    told = "The next person up was told." if u.get("plan_told") else "The next person up has not been told yet."
    when = f", {dates.prose_day(u['at'])}" if u.get("at") else ""
    return f"{u['to']}'s {medium_words(u.get('medium'))}{when}: {notify_said(u.get('status'), u.get('medium'))}. {told}"


def case_record_url(child_ref: Any) -> str | None:
    """The child's record in the case system, from `CPPLAN_CASE_RECORD_URL`
    (`https://case.example/children/{child_ref}`): names stay there, not here."""
    template = os.environ.get("CPPLAN_CASE_RECORD_URL", "").strip()
    if not template or not child_ref or "{child_ref}" not in template:
        return None
    return template.replace("{child_ref}", quote(str(child_ref), safe=""))


_EVENT_WORDS = {
    "plan-started": "Plan started",
    "visit": "Visit recorded",
    "visit-not-statutory": "Visit not counted as the statutory visit",
    "early-review-authorised": "Early review authorised",
    "early-review-declined": "Early review declined",
    "early-review-requested": "Early review asked for",
    "incident": "Incident reported",
}


def obligation_words(o: dict[str, Any]) -> str:
    """An obligation as the plan describes it, without the due date said beside it: 'Statutory
    visit (child seen)'."""
    text = str(o.get("description") or kind_words(str(o.get("kind", ""))))
    text = text.removesuffix(f" due {o.get('due')}")
    return text[:1].upper() + text[1:]


def history_rows(status: PlanStatus) -> list[dict[str, Any]]:
    """The plan's story in date order, oldest first: when, what happened in words, and who."""
    lead = status.lead_social_worker
    about = {o.id: obligation_words(o.as_json()) for o in status.obligations}
    rows = []
    for n, entry in enumerate(status.history):
        on = (entry.on or entry.at.date()).isoformat()
        h = entry.as_json()  # its details beside `event`, as the contract writes an entry
        rows.append({"on": on, "n": n, "day": dates.table_day(on), "what": _what(h, about), "who": _who(h, lead)})
    return sorted(rows, key=lambda r: (r["on"], r["n"]))


def _who(h: dict[str, Any], lead: Any) -> str:
    if h.get("by"):
        return str(h["by"])
    if h.get("event") == "visit" and lead:
        # A visit recorded without a name counts as the lead social worker's (visits.py).
        return f"Not recorded (counted as the lead social worker's, {lead})"
    if h.get("event") in ("escalation", "reminder", "plan-started") or h.get("to"):
        return "The plan"  # what the plan itself did: told someone, started its clocks
    return "Not recorded"


def _to(h: dict[str, Any]) -> str:
    to = h.get("to")
    return ", ".join(map(str, to)) if isinstance(to, list) else str(to or "")


def _what(h: dict[str, Any], about: dict[str, str]) -> str:
    event = str(h.get("event", ""))
    ob = about.get(str(h.get("obligation_id")), "")
    if event == "escalation":
        level = " (second level)" if h.get("level") == 2 else ""
        return f"{ob or 'Something'} overdue: escalated to {_to(h)}{level}"
    if event == "reminder":
        return f"Reminder to {_to(h)}: {ob.lower() or 'something due'}"
    if event == "not-told":
        return f"{_to(h)} told that a message was not delivered"
    if event == "notification-not-delivered":
        told = f": {h['told']} told" if h.get("told") else ""
        by = medium_words(h.get("medium"))
        return f"{'An' if by == 'email' else 'A'} {by} to {_to(h)} was not delivered{told}"
    words = _EVENT_WORDS.get(event) or event_words(event)
    if event == "visit":
        seen = h.get("seen")
        words += ": child seen" if seen else (": child not seen" if seen is not None else "")
        if seen and h.get("seen_alone"):
            words += ", alone"
        if seen and h.get("bedroom_seen"):
            words += ", bedroom seen"
        if h.get("statutory") is False and seen:
            words += " (not the statutory visit)"
    elif h.get("kind"):
        words += f": {kind_words(str(h['kind'])).lower()}"
    if h.get("to"):
        words += f", {_to(h)} told"
    return words


def plan_context(status: PlanStatus, who: Identity) -> dict[str, Any]:
    today = local_date(datetime.now(UTC))
    policy = status.policy
    obligations = [
        {
            **o.as_json(),
            "title": obligation_words(o.as_json()),
            "due_day": dates.table_day(o.due),
            "due_words": dates.due_words(o.due, today, policy, met=o.status in ("met", "met-late", "waived")),
            "met_day": dates.table_day(o.met_on),
        }
        for o in sorted(status.obligations, key=lambda o: (o.due, o.id))
    ]
    decision = next(
        (o for o in obligations if o["kind"] == "early-review-decision" and o["status"] not in ("met", "met-late")),
        None,
    )
    people = [("Lead social worker", status.lead_social_worker), ("Team manager", status.team_manager)]
    members = sorted({o["member_id"] for o in obligations if o.get("member_id")})
    people += [("Core group member", member) for member in members]
    return {
        "status": status,
        "timeline": obligations,
        "people": people,
        "history": history_rows(status),
        # The status holds the newest entries; how many there are in all (the API pages the rest).
        "history_total": status.history_total if status.history_total is not None else len(status.history),
        "decision": decision if who.manager else None,
        "early_review_waiting": decision is not None,
        "can_record_visit": status.state == "active" and not who.has("ops"),
        "case_record_url": case_record_url(status.child_ref),
        "icpc_words": dates.prose_day(status.icpc_date),
        "not_delivered": not_delivered(status),
        "today": today,
    }


def _day(form: Mapping[str, Any], prefix: str) -> str:
    """A GOV.UK date input (day, month, year) as YYYY-MM-DD; anything else as typed, so the
    refusal names the field."""
    parts = [str(form.get(f"{prefix}-{p}", "")).strip() for p in ("year", "month", "day")]
    if all(p.isdigit() for p in parts):
        return f"{int(parts[0]):04d}-{int(parts[1]):02d}-{int(parts[2]):02d}"
    return "-".join(parts)


# What each date field is, for its error messages ("Enter the date of the visit").
DATE_WHAT = {"date": "the date of the visit", "review_date": "the date of the early review conference"}


def _date_problem(form: Mapping[str, Any], field: str) -> str | None:
    """The GOV.UK date input's own errors, in its words, before anything is sent."""
    what = DATE_WHAT[field]
    parts = {p: str(form.get(f"{field}-{p}", "")).strip() for p in ("day", "month", "year")}
    missing = [p for p, v in parts.items() if not v]
    if len(missing) == 3:
        return f"Enter {what}"
    if missing:
        return f"{what.capitalize()} must include a {' and a '.join(missing)}"
    if not all(v.isdigit() for v in parts.values()):
        return f"{what.capitalize()} must be a real date"
    if len(parts["year"]) != 4:
        return "Year must include 4 numbers"
    try:
        date(int(parts["year"]), int(parts["month"]), int(parts["day"]))
    except ValueError:
        return f"{what.capitalize()} must be a real date"
    return None


def _visit_problems(form: Mapping[str, Any]) -> list[tuple[str, str]]:
    problems = []
    if problem := _date_problem(form, "date"):
        problems.append(("date", problem))
    if form.get("seen") not in ("yes", "no"):
        problems.append(("seen", "Select whether the child was seen"))
    return problems


def _authorise_problems(form: Mapping[str, Any]) -> list[tuple[str, str]]:
    problem = _date_problem(form, "review_date")
    return [("review_date", problem)] if problem else []


def _visit(form: Mapping[str, Any]) -> dict[str, Any]:
    seen = form.get("seen")
    payload: dict[str, Any] = {
        "date": _day(form, "date"),
        "seen_alone": form.get("seen_alone") == "yes",
        "bedroom_seen": form.get("bedroom_seen") == "yes",
        "location": form.get("location") or "home",
    }
    if seen in ("yes", "no"):
        payload["seen"] = seen == "yes"
    if form.get("again") == "yes":
        payload["again"] = True
    return payload


def _authorise(form: Mapping[str, Any]) -> dict[str, Any]:
    return {"review_date": _day(form, "review_date")}


def _decline(form: Mapping[str, Any]) -> dict[str, Any]:
    reason = str(form.get("reason_ref", "")).strip()
    return {"reason_ref": reason} if reason else {}


FORMS: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "record-visit": _visit,
    "authorise-early-review": _authorise,
    "decline-early-review": _decline,
}
# A form's own checks, in the words of the GOV.UK patterns, made before anything is sent.
FORM_CHECKS: dict[str, Callable[[Mapping[str, Any]], list[tuple[str, str]]]] = {
    "record-visit": _visit_problems,
    "authorise-early-review": _authorise_problems,
}
DONE_WORDS = {
    "record-visit": "Visit recorded",
    "authorise-early-review": "Early review authorised",
    "decline-early-review": "Early review declined",
}


def plain_errors(errors: list[dict[str, str]], form: str) -> list[dict[str, str]]:
    """The plan's refusals in plain words where they have a usual shape ("2026-12-05 is in the
    future" is "The date of the visit must be today or in the past"); others as the plan said,
    each with the id of the input its error summary entry links to."""
    out = []
    for e in errors:
        field, reason = e.get("field", ""), e.get("reason", "")
        what = DATE_WHAT.get(field)
        words = reason[:1].upper() + reason[1:]
        if what and reason.endswith("is in the future"):
            words = f"{what.capitalize()} must be today or in the past"
        elif what and "is before the plan started" in reason:
            started = reason.rsplit("(", 1)[-1].rstrip(")")
            words = f"{what.capitalize()} must be on or after the plan started, {dates.prose_day(started)}"
        elif what and "is before the last recorded visit" in reason:
            last = reason.split("(", 1)[-1].split(")", 1)[0]
            words = f"{what.capitalize()} must not be before the last recorded visit, {dates.prose_day(last)}"
        elif field == "seen" and "not seen" in reason:
            words = "A child who was not seen cannot have been seen alone or had their bedroom seen"
        # The error summary links to the field's first input, as the GOV.UK pattern does.
        anchor = f"{form}-{field}-day" if what else ("seen-yes" if field == "seen" else f"{form}-{field}")
        out.append({"field": field, "reason": words, "anchor": anchor.replace(".", "-")})
    return out


def already_recorded(errors: list[dict[str, str]]) -> str | None:
    """The plan's answer that a visit that day is already recorded, in the page's words (the
    page then asks whether to record another), or None."""
    for e in errors:
        if e.get("field") == "again":
            return e["reason"].split(": to record another", 1)[0]
    return None
