"""The worker process: the plan workflows and their activities on one task queue."""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import timedelta
from typing import Any

import structlog
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

import workflows
from activities import ALL_ACTIVITIES
from activities.watchdog import WatchdogActivities
from worker.client import connect, worker_client
from worker.logging import configure_logging
from worker.watchdog_schedule import ensure_watchdog_schedule

log = structlog.get_logger("cpplan.worker")

PASSTHROUGH_MODULES = (
    "workflows.models",
    "workflows.message_spec",
    "workflows.messages",
    "workflows.engine",
    "workflows.case",
    "workflows.status",
    "workflows.plan_rules",
    "workflows.obligations",
    "workflows.policy",
    "workflows.calendar",
    "workflows.activity_io",
    "workflows.search_attributes",
    "workflows.complaint_rules",
    "workflows.unreadable",
    "pydantic",
    "pydantic_core",
    "annotated_types",
)

# Time given to running activities (a batch of e-mails, a database write) to finish when the
# worker is asked to stop, before they are cancelled and left to Temporal to retry elsewhere.
GRACEFUL_SHUTDOWN = timedelta(seconds=30)
# Workflow tasks in progress at once. A plan's task runs its local activities (loading its
# profile, saving the read model, a first try at its letters) before it completes: with the
# SDK's default of 100, a burst of starts or a 9 am storm on a small machine leaves each task
# queued behind a hundred others' database writes until it passes its 10 s timeout, and the
# retried tasks queue again. A few slots keep every task short; the rest wait on the server.
# Raise it (CPPLAN_WORKFLOW_TASK_SLOTS) on a machine with more cores.
WORKFLOW_TASK_SLOTS = 10


def workflow_classes() -> list[type]:
    # Imported here, not at module level: the workflow modules are loaded into Temporal's
    # sandbox, and importing them only when a worker is built keeps `import worker` cheap.
    from workflows.plan import ChildProtectionPlan
    from workflows.watchdog import PlanWatchdog

    classes: list[type] = [ChildProtectionPlan, PlanWatchdog]
    try:
        from workflows.complaint import ConferenceComplaint
    except ModuleNotFoundError as err:
        if err.name != "workflows.complaint":
            raise  # the module exists but is broken: say so rather than run without it
    else:
        classes.append(ConferenceComplaint)
    return classes


def sandbox_runner() -> SandboxedWorkflowRunner:
    """The workflow sandbox, with the plan's pure domain modules passed through: they are
    deterministic, and one copy of each keeps pydantic's model classes identical inside and
    outside the sandbox. The Replayer uses the same runner."""
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)
    )


def build_worker(client: Client, task_queue: str | None = None, **kwargs: Any) -> Worker:
    """The worker for `client`, with the worker's data converter (worker/client.py
    `worker_data_converter`: a payload it cannot open never fails a workflow task); extra
    keyword arguments go to `Worker` (and may replace the defaults below). Configures logging if
    nothing has yet: unconfigured structlog prints to stdout, which commands keep for their own
    output."""
    configure_logging()
    kwargs.setdefault("workflow_runner", sandbox_runner())
    kwargs.setdefault("workflows", workflow_classes())
    # The watchdog's activity asks the server about each plan, with this worker's client.
    kwargs.setdefault("activities", [*ALL_ACTIVITIES, WatchdogActivities(client).watch_plans])
    kwargs.setdefault("graceful_shutdown_timeout", GRACEFUL_SHUTDOWN)
    kwargs.setdefault(
        "max_concurrent_workflow_tasks", int(os.environ.get("CPPLAN_WORKFLOW_TASK_SLOTS") or WORKFLOW_TASK_SLOTS)
    )
    return Worker(worker_client(client), task_queue=task_queue or workflows.task_queue(), **kwargs)


async def run_worker(address: str | None = None, namespace: str | None = None, task_queue: str | None = None) -> None:
    """Run until SIGINT/SIGTERM or cancellation, then stop taking work and let running
    activities finish (up to GRACEFUL_SHUTDOWN)."""
    configure_logging()  # before connecting, so connection errors are logged in the right format
    client = await connect(address, namespace)
    worker = build_worker(client, task_queue)
    await ensure_watchdog_schedule(client, worker.task_queue)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
            handled.append(sig)
        except (NotImplementedError, RuntimeError):
            pass  # not the main thread, or a platform without it: cancellation still stops us
    try:
        async with worker:
            log.info(
                "worker started",
                task_queue=worker.task_queue,
                namespace=client.namespace,
                workflows=[c.__name__ for c in workflow_classes()],
                activities=len(ALL_ACTIVITIES) + 1,
            )
            await stop.wait()
            log.info("worker stopping")
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)
    log.info("worker stopped")


def main() -> None:
    try:
        asyncio.run(run_worker())
    except KeyboardInterrupt:
        pass
