"""The read model: each plan's latest status as rows people and scripts can query.

`save_plan` is the only writer (the workflow calls it whenever the status changes); the query
helpers below serve the command line (`cpplan overdue`) and reports. The workflow remains the
truth: a lost or stale row is repaired by the next save.
"""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import event_outbox
from activities.db import (
    as_utc,
    escalation_rows,
    escalations,
    get_engine,
    history_rows,
    insert_ignore,
    obligations,
    outbox,
    plan_history,
    plans,
    upsert,
)
from activities.webhook_endpoints import endpoint_names
from workflows.activity_io import SAVE_PLAN, PlanSnapshot
from workflows.calendar import WorkingCalendar, profile_calendar
from workflows.policy import get_profile

log = structlog.get_logger("cpplan.read_model")

OVERDUE_STATUSES = ("overdue", "escalated")


def _day(value: Any) -> date | None:
    if value in (None, ""):
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _ref(value: Any) -> str | None:
    """A person in the status is their id; accept `{id, ...}` too."""
    if isinstance(value, dict):
        value = value.get("id")
    return None if value is None else str(value)


def _rows(snap: PlanSnapshot) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    s = snap.status
    try:
        if s.get("plan_id", snap.plan_id) != snap.plan_id:
            raise ValueError(f"status is for plan {s.get('plan_id')!r}, snapshot for {snap.plan_id!r}")
        nxt = s.get("next_due") or None
        plan = {
            "plan_id": snap.plan_id,
            "policy": str(s["policy"]),
            "state": str(s["state"]),
            "icpc_date": _day(s["icpc_date"]),
            "team_ref": _ref(s.get("team_manager")),
            "lead_ref": _ref(s.get("lead_social_worker")),
            "next_due_date": _day(nxt["due"]) if nxt else None,
            "next_due_kind": str(nxt["kind"]) if nxt else None,
            "overdue_count": int(s.get("overdue_count") or 0),
            "status_json": json.dumps(s, default=str, sort_keys=True),
            "updated_at": as_utc(snap.updated_at),
        }
        # Keyed by id: should a status ever list one twice, the later entry wins rather than
        # the primary key refusing the whole save.
        by_id: dict[str, dict[str, Any]] = {}
        for ob in s.get("obligations") or []:
            by_id[str(ob["id"])] = {
                "plan_id": snap.plan_id,
                "obligation_id": str(ob["id"]),
                "kind": str(ob["kind"]),
                "due": _day(ob["due"]),
                "status": str(ob["status"]),
                "met_on": _day(ob.get("met_on")),
                "member_id": _ref(ob.get("member_id")),
            }
        escalation = escalation_rows(snap.plan_id, s)
    except (KeyError, TypeError, ValueError) as err:
        raise ApplicationError(
            f"plan status cannot be saved: {type(err).__name__}: {err}", type="InvalidPayload", non_retryable=True
        ) from None
    return plan, list(by_id.values()), escalation


def _save(engine: Engine, snap: PlanSnapshot) -> bool:
    plan, obligation_rows, escalated = _rows(snap)
    with engine.begin() as conn:
        stored = conn.execute(
            sa.select(plans.c.updated_at, plans.c.status_json).where(plans.c.plan_id == snap.plan_id)
        ).first()
        if stored is not None and stored.updated_at > plan["updated_at"]:
            # A retried save that arrives after a newer one must not roll the row back.
            return False
        # What the case system hears (docs/contract.md, "Events out"): what this status says
        # that the saved one did not, written with the row, so neither is kept without the other.
        event_outbox.record(
            conn,
            snap.plan_id,
            None if stored is None else stored.status_json,
            snap.status,
            plan["updated_at"],
            endpoint_names(),
        )
        upsert(conn, plans, plan, keys=["plan_id"])
        conn.execute(obligations.delete().where(obligations.c.plan_id == snap.plan_id))
        if obligation_rows:
            conn.execute(obligations.insert(), obligation_rows)
        conn.execute(escalations.delete().where(escalations.c.plan_id == snap.plan_id))
        if escalated:
            conn.execute(escalations.insert(), escalated)
        # History entries are only ever added: write those past the last one kept.
        last = conn.execute(
            sa.select(sa.func.max(plan_history.c.position)).where(plan_history.c.plan_id == snap.plan_id)
        ).scalar()
        new_entries = history_rows(snap.plan_id, snap.status, -1 if last is None else int(last))
        for row in new_entries:  # one by one: a retried save may have written some already
            insert_ignore(conn, plan_history, row)
    return True


@activity.defn(name=SAVE_PLAN)
async def save_plan(snap: PlanSnapshot) -> None:
    engine = await asyncio.to_thread(get_engine)
    saved = await asyncio.to_thread(_save, engine, snap)
    log.info(
        "plan saved" if saved else "older snapshot ignored",
        plan_id=snap.plan_id,
        state=snap.status.get("state"),
        overdue_count=snap.status.get("overdue_count"),
    )


# ---------------------------------------------------------------- queries for the command line


def _jsonable(row: Any) -> dict[str, Any]:
    """Dates and instants as ISO text, so callers can print the result with `json.dumps`."""
    out = {}
    for name, value in row._mapping.items():
        out[name] = value.isoformat() if isinstance(value, (date, datetime)) else value
    return out


def overdue_plans(
    url: str | None = None, *, team: str | None = None, worker: str | None = None, policy: str | None = None
) -> list[dict[str, Any]]:
    """Active plans with at least one overdue obligation, the one overdue longest first; each with
    its overdue obligations under `overdue`, earliest first. Filters: the plan's team manager
    (`team`), lead social worker (`worker`) or profile (`policy`)."""
    engine = get_engine(url)
    query = (
        sa.select(
            plans.c.plan_id,
            plans.c.policy,
            plans.c.state,
            plans.c.icpc_date,
            plans.c.team_ref,
            plans.c.lead_ref,
            plans.c.next_due_date,
            plans.c.next_due_kind,
            plans.c.overdue_count,
            plans.c.updated_at,
        )
        .where(still_owing(), plans.c.overdue_count > 0)
        .order_by(plans.c.next_due_date.asc().nulls_last(), plans.c.plan_id)
    )
    for column, value in ((plans.c.team_ref, team), (plans.c.lead_ref, worker), (plans.c.policy, policy)):
        if value is not None:
            query = query.where(column == value)
    with engine.connect() as conn:
        found = [_jsonable(row) for row in conn.execute(query)]
        if not found:
            return []
        late = conn.execute(
            sa.select(
                obligations.c.plan_id,
                obligations.c.obligation_id,
                obligations.c.kind,
                obligations.c.due,
                obligations.c.status,
                obligations.c.member_id,
            )
            .where(obligations.c.plan_id.in_([p["plan_id"] for p in found]), obligations.c.status.in_(OVERDUE_STATUSES))
            .order_by(obligations.c.due, obligations.c.obligation_id)
        ).all()
    by_plan: dict[str, list[dict[str, Any]]] = {p["plan_id"]: [] for p in found}
    for row in late:
        item = _jsonable(row)
        by_plan[item.pop("plan_id")].append(item)
    for p in found:
        p["overdue"] = by_plan[p["plan_id"]]
    # The plan whose oldest overdue obligation is oldest first (the next due date alone would
    # put a plan late for weeks behind one late since yesterday).
    found.sort(key=lambda p: (min((o["due"] for o in p["overdue"]), default="9999-12-31"), p["plan_id"]))
    return found


def get_plan_status(plan_id: str, url: str | None = None) -> dict[str, Any] | None:
    """The last saved `status` of a plan (escalations included), or None if never saved."""
    engine = get_engine(url)
    with engine.connect() as conn:
        raw = conn.execute(sa.select(plans.c.status_json).where(plans.c.plan_id == plan_id)).scalar()
    return None if raw is None else json.loads(raw)


HISTORY_PAGE = 50
MAX_HISTORY_PAGE = 500


def history_page(
    plan_id: str, *, after: int = -1, limit: int = HISTORY_PAGE, url: str | None = None
) -> tuple[list[dict[str, Any]], int]:
    """A page of a plan's whole history, oldest first: up to `limit` entries past position
    `after` (each with its `position`), and how many entries there are in all."""
    engine = get_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(plan_history.c.position, plan_history.c.entry_json)
            .where(plan_history.c.plan_id == plan_id, plan_history.c.position > after)
            .order_by(plan_history.c.position)
            .limit(limit)
        ).all()
        total = conn.execute(
            sa.select(sa.func.count()).select_from(plan_history).where(plan_history.c.plan_id == plan_id)
        ).scalar()
    return [{"position": r.position, **json.loads(r.entry_json)} for r in rows], int(total or 0)


def list_outbox(
    plan_id: str | None = None, url: str | None = None, include_content: bool = False
) -> list[dict[str, Any]]:
    """Outbox rows, oldest first. Addresses, subjects and bodies only with `include_content`:
    listings are often pasted into tickets."""
    columns = [
        outbox.c.key,
        outbox.c.plan_id,
        outbox.c.kind,
        outbox.c.to_id,
        outbox.c.to_role,
        outbox.c.obligation_id,
        outbox.c.created_at,
        outbox.c.state,
        outbox.c.attempts,
        outbox.c.sent_at,
        outbox.c.last_error,
    ]
    if include_content:
        columns += [outbox.c.to_email, outbox.c.subject, outbox.c.body]
    query = sa.select(*columns).order_by(outbox.c.created_at, outbox.c.key)
    if plan_id is not None:
        query = query.where(outbox.c.plan_id == plan_id)
    engine = get_engine(url)
    with engine.connect() as conn:
        return [_jsonable(row) for row in conn.execute(query)]


OPEN_STATUSES = ("pending", *OVERDUE_STATUSES)


def still_owing() -> sa.ColumnElement[bool]:
    """Plans whose clocks still run: active, or ended with something still owed (a conference's
    record, the step-down). Their workflow should be running, and their work is still listed."""
    owed = obligations.alias("owed")  # its own name: queries that join obligations correlate only plans
    return sa.or_(
        plans.c.state == "active",
        sa.exists().where(owed.c.plan_id == plans.c.plan_id, owed.c.status.in_(OPEN_STATUSES)),
    )


def open_obligations(
    *,
    statuses: tuple[str, ...] = OPEN_STATUSES,
    due_by: date | None = None,
    team: str | None = None,
    worker: str | None = None,
    policy: str | None = None,
    url: str | None = None,
) -> list[dict[str, Any]]:
    """Obligations of active plans, earliest due first, each with who answers for it: the plan's
    lead social worker (`lead_ref`) and team manager (`team_ref`). Filters: the obligation's
    status, due on or before `due_by`, the plan's team manager, lead social worker or profile."""
    o, p = obligations, plans
    query = (
        sa.select(
            o.c.plan_id,
            o.c.obligation_id,
            o.c.kind,
            o.c.due,
            o.c.status,
            o.c.member_id,
            p.c.policy,
            p.c.lead_ref,
            p.c.team_ref,
        )
        .select_from(o.join(p, o.c.plan_id == p.c.plan_id))
        .where(still_owing(), o.c.status.in_(statuses))
        .order_by(o.c.due, o.c.plan_id, o.c.obligation_id)
    )
    if due_by is not None:
        query = query.where(o.c.due <= due_by)
    for column, value in ((p.c.team_ref, team), (p.c.lead_ref, worker), (p.c.policy, policy)):
        if value is not None:
            query = query.where(column == value)
    with get_engine(url).connect() as conn:
        return [_jsonable(row) for row in conn.execute(query)]


@cache
def _calendar(policy: str, year: int) -> WorkingCalendar:
    profile = get_profile(policy)
    return profile_calendar(profile, year - 1, year + 2)


def due_within(rows: list[dict[str, Any]], today: date, within: int) -> list[dict[str, Any]]:
    """The rows (each with `due` and `policy`) due on or before the `within`-th working day after
    today, counted in each row's own profile: a plan's bank holidays are its authority's."""
    return [
        r
        for r in rows
        if date.fromisoformat(str(r["due"])) <= _calendar(r["policy"], today.year).add_working_days(today, within)
    ]
