"""Whether a plan's workflow is really running: the server's view of each plan the read model
calls active. Shared by the watchdog activity, `cpplan doctor` and `cpplan status`.

A plan is in trouble when
- the read model says it is active but its workflow is closed (terminated, timed out, failed,
  cancelled, or completed without the read model hearing of it) or gone from the server: nothing
  will remind anyone of anything for that child again;
- its workflow is running but its workflow task keeps failing (a bug, a bad deploy): it takes no
  messages, answers no query and sends nothing until someone fixes the code;
- its workflow task has waited longer than WAITING_TOO_LONG and no worker polls its task queue
  (no worker running, or workers on another queue): the same for the child, though nothing fails.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, PendingWorkflowTaskState, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest, GetWorkflowExecutionHistoryReverseRequest
from temporalio.client import Client, WorkflowExecutionDescription, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

import workflows
from activities.db import get_engine, plans
from activities.read_model import still_owing

# A workflow task on its second attempt or later has failed (or timed out) at least once.
FAILING_TASK_ATTEMPT = 2
# Plans described at once: enough to sweep a caseload quickly, few enough not to crowd the server.
DESCRIBE_CONCURRENCY = 8

EXECUTION_STATUS = {
    WorkflowExecutionStatus.RUNNING: "running",
    WorkflowExecutionStatus.COMPLETED: "completed",
    WorkflowExecutionStatus.FAILED: "failed",
    WorkflowExecutionStatus.CANCELED: "cancelled",
    WorkflowExecutionStatus.TERMINATED: "terminated",
    WorkflowExecutionStatus.CONTINUED_AS_NEW: "continued-as-new",
    WorkflowExecutionStatus.TIMED_OUT: "timed-out",
}
NOT_FOUND = "not-found"
TASK_FAILING = "workflow-task-failing"
NO_WORKER = "no-worker-polling"
# A workflow task is picked up within a second or two while a worker polls; one scheduled this
# long ago and still not started, on a queue no worker has polled for as long, is waiting for
# nobody.
WAITING_TOO_LONG = timedelta(minutes=2)


@dataclass(frozen=True)
class Execution:
    """The server's view of one plan's workflow (its latest run)."""

    plan_id: str
    status: str  # running, completed, terminated, ..., or not-found
    run_id: str | None = None
    since: datetime | None = None  # closed at; or when a failing workflow task was first scheduled
    task_attempt: int = 0  # of the pending workflow task; 0 when none is pending
    task_queue: str | None = None
    waiting_since: datetime | None = None  # a workflow task scheduled then and not yet started
    no_worker: bool = False  # that task has waited too long, and no worker polls the task queue

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def task_failing(self) -> bool:
        return self.running and self.task_attempt >= FAILING_TASK_ATTEMPT


@dataclass(frozen=True)
class Finding:
    """One plan in trouble: `problem` is its execution status, or `workflow-task-failing`."""

    plan_id: str
    problem: str
    execution_status: str
    run_id: str | None
    since: datetime | None
    team_ref: str | None = None

    def describe(self) -> str:
        when = f" since {self.since.isoformat(timespec='seconds')}" if self.since else ""
        if self.problem == TASK_FAILING:
            return f"running, but its workflow task keeps failing{when}: it takes no messages and sends nothing"
        if self.problem == NO_WORKER:
            return (
                f"running, but its workflow task has waited{when} with no worker polling its task queue: "
                "it takes no messages and sends nothing until a worker runs"
            )
        if self.problem == NOT_FOUND:
            return "active in the read model, but the server has no workflow for it"
        return f"active in the read model, but its workflow is not running: {self.problem}{when}"

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["since"] = self.since.isoformat() if self.since else None
        out["what"] = self.describe()
        return out


def execution_of(plan_id: str, described: WorkflowExecutionDescription) -> Execution:
    status = EXECUTION_STATUS.get(described.status, str(described.status)) if described.status else "unknown"
    raw = described.raw_description
    attempt, since, waiting = 0, described.close_time, None
    if status == "running" and raw.HasField("pending_workflow_task"):
        task = raw.pending_workflow_task
        attempt = task.attempt
        first = task.original_scheduled_time if task.HasField("original_scheduled_time") else task.scheduled_time
        since = first.ToDatetime(tzinfo=UTC) if attempt >= FAILING_TASK_ATTEMPT else None
        if task.state == PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_SCHEDULED:
            waiting = first.ToDatetime(tzinfo=UTC)
    queue = raw.execution_config.task_queue.name or None
    return Execution(
        plan_id=plan_id,
        status=status,
        run_id=described.run_id,
        since=since,
        task_attempt=attempt,
        task_queue=queue,
        waiting_since=waiting,
    )


async def nobody_polls(client: Client, task_queue: str, idle_for: timedelta, *, timeout: float = 10.0) -> bool:
    """Whether no worker has polled `task_queue` for workflow tasks within `idle_for`."""
    request = DescribeTaskQueueRequest(
        namespace=client.namespace,
        task_queue=TaskQueue(name=task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    response = await client.workflow_service.describe_task_queue(request, timeout=timedelta(seconds=timeout))
    cutoff = datetime.now(UTC) - idle_for
    return not any(
        p.last_access_time.ToDatetime(tzinfo=UTC) >= cutoff for p in response.pollers if p.HasField("last_access_time")
    )


async def mark_unpolled(
    client: Client, executions: list[Execution], waiting_too_long: timedelta = WAITING_TOO_LONG
) -> list[Execution]:
    """Each execution whose workflow task has waited longer than `waiting_too_long` on a task
    queue no worker polls, marked `no_worker` (each queue asked once)."""
    now = datetime.now(UTC)
    waiting = {
        e.task_queue
        for e in executions
        if e.task_queue and e.waiting_since is not None and now - e.waiting_since >= waiting_too_long
    }
    idle = {
        queue for queue in waiting if await nobody_polls(client, queue, max(waiting_too_long, timedelta(minutes=1)))
    }
    return [
        replace(e, no_worker=True, since=e.waiting_since)
        if e.task_queue in idle and e.waiting_since is not None and now - e.waiting_since >= waiting_too_long
        else e
        for e in executions
    ]


async def describe_plan(client: Client, plan_id: str, *, timeout: float = 10.0) -> Execution:
    """The plan's latest run as the server sees it; `not-found` when the server has none."""
    handle = client.get_workflow_handle(workflows.workflow_id(plan_id))
    try:
        described = await handle.describe(rpc_timeout=timedelta(seconds=timeout))
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return Execution(plan_id=plan_id, status=NOT_FOUND)
        raise
    execution = execution_of(plan_id, described)
    if execution.running and not described.raw_description.HasField("pending_workflow_task"):
        # A server that reports no pending workflow task (the time-skipping test server always;
        # any server between tasks): the latest workflow-task events say whether the last failed.
        failed_at = await last_task_failure(client, handle.id, described.run_id, timeout)
        if failed_at is not None:
            return replace(execution, since=failed_at, task_attempt=FAILING_TASK_ATTEMPT)
    return execution


_TASK_EVENTS = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
}


async def last_task_failure(client: Client, workflow_id: str, run_id: str, timeout: float) -> datetime | None:
    """When the run's workflow task first failed, if it has failed since it last completed."""
    request = GetWorkflowExecutionHistoryReverseRequest(
        namespace=client.namespace,
        execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
        maximum_page_size=20,
    )
    try:
        response = await client.workflow_service.get_workflow_execution_history_reverse(
            request, timeout=timedelta(seconds=timeout)
        )
        newest_first = list(response.history.events)
    except RPCError as err:
        if err.status != RPCStatusCode.UNIMPLEMENTED:
            raise
        newest_first = [e async for e in client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history_events()]
        newest_first.reverse()
    failed_at = None
    for event in newest_first:
        if event.event_type not in _TASK_EVENTS:
            break  # the task completed (or the run is past its tasks): not failing
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            failed_at = event.event_time.ToDatetime(tzinfo=UTC)
    return failed_at


def finding_for(execution: Execution, team_ref: str | None = None) -> Finding | None:
    """What is wrong with a plan the read model calls active, or None."""
    if execution.running and not execution.task_failing and not execution.no_worker:
        return None
    problem = execution.status
    if execution.running:
        problem = TASK_FAILING if execution.task_failing else NO_WORKER
    return Finding(
        plan_id=execution.plan_id,
        problem=problem,
        execution_status=execution.status,
        run_id=execution.run_id,
        since=execution.since,
        team_ref=team_ref,
    )


async def running_plan_ids(client: Client) -> list[str]:
    """The plans whose workflow the server lists as running (visibility), by plan id; none where
    the server cannot list them."""
    query = f'WorkflowType="{workflows.WORKFLOW_TYPE}" AND ExecutionStatus="Running"'
    prefix = workflows.workflow_id("")
    try:
        found = [w.id.removeprefix(prefix) async for w in client.list_workflows(query) if w.id.startswith(prefix)]
    except RPCError:
        return []
    return sorted(found)


def active_plans(url: str | None = None) -> list[tuple[str, str | None]]:
    """(plan_id, team_ref) of every plan whose workflow should be running: active, or ended with
    something still owed (read_model.still_owing)."""
    engine = get_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(plans.c.plan_id, plans.c.team_ref).where(still_owing()).order_by(plans.c.plan_id)
        ).all()
    return [(row.plan_id, row.team_ref) for row in rows]


async def check_plans(
    client: Client,
    url: str | None = None,
    *,
    on_checked: Any = None,
    waiting_too_long: timedelta = WAITING_TOO_LONG,
) -> tuple[list[Execution], list[Finding]]:
    """Describe every plan the read model calls active; returns each one's execution and the
    findings. `on_checked(n)` is called as plans are checked (the activity heartbeats).
    `waiting_too_long`: how long a workflow task may wait on a queue no worker polls."""
    active = await asyncio.to_thread(active_plans, url)
    known = {plan_id for plan_id, _ in active}
    # A plan no worker ever picked up has never saved itself: the server lists it.
    active += [(plan_id, None) for plan_id in await running_plan_ids(client) if plan_id not in known]
    gate = asyncio.Semaphore(DESCRIBE_CONCURRENCY)
    done = 0

    async def one(plan_id: str) -> Execution:
        nonlocal done
        async with gate:
            execution = await describe_plan(client, plan_id)
        done += 1
        if on_checked is not None:
            on_checked(done)
        return execution

    executions = await mark_unpolled(
        client, list(await asyncio.gather(*(one(plan_id) for plan_id, _ in active))), waiting_too_long
    )
    findings = [f for e, (_, team) in zip(executions, active, strict=True) if (f := finding_for(e, team))]
    return list(executions), findings
