"""The `watch_plans` activity: find the plans in trouble (activities/plan_health.py), record each
plan's execution status in the read model, and tell ops and the plan's team manager, once.

Each finding is told through the plans' own outbox and `notify` path, under a key per plan,
finding and run (`{plan_id}:watchdog:{problem}:{run_id}:{person}`): a sweep every 15 minutes
reports a terminated plan once, and a plan that fails again in a later run is reported again.
Ops' address is `CPPLAN_OPS_EMAIL`; unset, their notice is recorded in the outbox only (as every
notification is without SMTP). The team manager's address comes from the plan's start input in
its workflow history (the read model keeps opaque references only).
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from typing import Any

import structlog
from pydantic import BaseModel
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

import workflows
from activities.db import get_engine, plans
from activities.notify import notify
from activities.plan_health import Execution, Finding, check_plans
from activities.receipts import check_unconfirmed
from workflows.activity_io import NotifyBatch
from workflows.engine import Notification

WATCH_PLANS = "watch_plans"
OPS_ID = "ops"

log = structlog.get_logger("cpplan.watchdog")


class WatchReport(BaseModel):
    checked: int = 0
    findings: list[dict[str, Any]] = []
    notified: int = 0
    # Plans told of a message GOV.UK Notify did not deliver (activities/receipts.py).
    undelivered_told: int = 0


def ops_email() -> str | None:
    return os.environ.get("CPPLAN_OPS_EMAIL", "").strip() or None


async def team_manager_email(client: Client, plan_id: str) -> str | None:
    """The team manager's address from the start input of the plan's latest run (a continued
    run carries the start inside its state). None when the history cannot say."""
    handle = client.get_workflow_handle(workflows.workflow_id(plan_id))
    try:
        async for event in handle.fetch_history_events():
            if event.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
                return None
            payloads = event.workflow_execution_started_event_attributes.input.payloads
            args = await client.data_converter.decode(payloads) if payloads else []
            start = args[0] if args and isinstance(args[0], dict) else None
            if start is None and len(args) > 1 and isinstance(args[1], dict):
                start = args[1].get("start")
            manager = (start or {}).get("team_manager") or {}
            return manager.get("email") if isinstance(manager, dict) else None
    except Exception as err:  # the notice still goes, recorded without an address
        log.warning("team manager address not found", plan_id=plan_id, reason=type(err).__name__)
    return None


def notifications_for(finding: Finding, manager_email: str | None, now: datetime) -> list[Notification]:
    """The notice to ops and to the plan's team manager. Opaque references only in the text."""
    wid = workflows.workflow_id(finding.plan_id)
    subject = f"Plan {finding.plan_id} needs attention: {finding.problem}"
    body = (
        f"The child protection plan {finding.plan_id} (workflow {wid}) is {finding.describe()}.\n"
        "Until this is put right, no reminder or escalation for this plan will be sent.\n"
        f"Check it with: cpplan status {finding.plan_id}; list every such plan with: cpplan doctor."
    )
    recipients = [(OPS_ID, "ops", ops_email())]
    if finding.team_ref:
        recipients.append((finding.team_ref, "team-manager", manager_email))
    return [
        Notification(
            key=f"{finding.plan_id}:watchdog:{finding.problem}:{finding.run_id or 'none'}:{to_id}",
            plan_id=finding.plan_id,
            kind="alert",
            to_id=to_id,
            to_role=role,
            to_email=email,
            subject=subject,
            body=body,
            created_at=now,
        )
        for to_id, role, email in recipients
    ]


def record_execution_status(executions: list[Execution], findings: list[Finding], url: str | None = None) -> None:
    """Each checked plan's execution status into its read-model row (a failing task is told
    apart from a healthy running plan)."""
    # A running plan in trouble (its task failing, or no worker polling) by its problem.
    troubled = {f.plan_id: f.problem for f in findings if f.problem != f.execution_status}
    now = datetime.now(UTC)
    engine = get_engine(url)
    with engine.begin() as conn:
        for e in executions:
            status = troubled.get(e.plan_id, e.status)
            conn.execute(
                plans.update()
                .where(plans.c.plan_id == e.plan_id)
                .values(execution_status=status, execution_checked_at=now)
            )


class WatchdogActivities:
    """Holds the worker's Temporal client: the activity asks the server about each plan."""

    def __init__(self, client: Client):
        self.client = client

    @activity.defn(name=WATCH_PLANS)
    async def watch_plans(self) -> WatchReport:
        executions, findings = await check_plans(self.client, on_checked=lambda n: activity.heartbeat(n))
        await asyncio.to_thread(record_execution_status, executions, findings)
        now = datetime.now(UTC)
        letters: list[Notification] = []
        for finding in findings:
            email = await team_manager_email(self.client, finding.plan_id) if finding.team_ref else None
            letters += notifications_for(finding, email, now)
            log.warning("plan in trouble", plan_id=finding.plan_id, problem=finding.problem, run_id=finding.run_id)
        if letters:
            # The plans' own delivery path: outbox keys make a repeated sweep (or a retried
            # activity) tell each finding once.
            result = await notify(NotifyBatch(plan_id=OPS_ID, notifications=letters))
            for failure in result.failed:
                # Refused for good (a bad address): retrying cannot help; the log and outbox say so.
                log.warning("watchdog notice refused", key=failure.key, to_id=failure.to_id, reason=failure.reason)
        # Messages with no final delivery receipt past the limit are asked after on each sweep;
        # a fault there (Notify's settings, the database) must not stop the plans' own check.
        try:
            told = await check_unconfirmed(self.client)
        except Exception as err:
            log.warning("deliveries not checked", error=type(err).__name__, reason=str(err)[:200])
            told = 0
        log.info("plans checked", checked=len(executions), findings=len(findings), undelivered_told=told)
        return WatchReport(
            checked=len(executions),
            findings=[f.as_json() for f in findings],
            notified=len(letters),
            undelivered_told=told,
        )
