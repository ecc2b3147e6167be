"""What the pages show, in words: status tags, the timeline, forms read into message payloads."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from starters.web.identity import Identity

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


def per_worker(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Items grouped by lead social worker, the workers with most overdue first."""
    workers: dict[str, dict[str, Any]] = {}
    for item in items:
        who = item.get("lead_social_worker") or "(no lead)"
        entry = workers.setdefault(who, {"staff_id": who, "overdue": [], "due_soon": []})
        entry["overdue" if item["overdue"] else "due_soon"].append(item)
    return sorted(workers.values(), key=lambda w: (-len(w["overdue"]), w["staff_id"]))


def plan_context(status: dict[str, Any], who: Identity) -> dict[str, Any]:
    obligations = sorted(status.get("obligations") or [], key=lambda o: (o["due"], o["id"]))
    decision = next(
        (o for o in obligations if o["kind"] == "early-review-decision" and o["status"] not in ("met", "met-late")),
        None,
    )
    people = [("Lead social worker", status.get("lead_social_worker")), ("Team manager", status.get("team_manager"))]
    members = sorted({o["member_id"] for o in obligations if o.get("member_id")})
    people += [("Core group member", member) for member in members]
    return {
        "status": status,
        "timeline": obligations,
        "people": people,
        "history": list(reversed(status.get("history") or [])),
        # The status holds the newest entries; how many there are in all (the API pages the rest).
        "history_total": status.get("history_total", len(status.get("history") or [])),
        "decision": decision if who.manager else None,
        "early_review_waiting": decision is not None,
        "can_record_visit": status.get("state") == "active" and not who.has("ops"),
    }


def _day(form: Mapping[str, Any], prefix: str) -> str:
    """A GOV.UK date input (day, month, year) as YYYY-MM-DD; anything else as typed, so the
    refusal names the field."""
    parts = [str(form.get(f"{prefix}-{p}", "")).strip() for p in ("year", "month", "day")]
    if all(p.isdigit() for p in parts):
        return f"{int(parts[0]):04d}-{int(parts[1]):02d}-{int(parts[2]):02d}"
    return "-".join(parts)


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
DONE_WORDS = {
    "record-visit": "Visit recorded",
    "authorise-early-review": "Early review authorised",
    "decline-early-review": "Early review declined",
}
