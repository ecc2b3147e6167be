"""The worker process: the plan workflows and their activities on one task queue."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import structlog
from temporalio.client import Client
from temporalio.worker import Worker

import workflows
from activities import ALL_ACTIVITIES
from activities.watchdog import WatchdogActivities
from worker.client import connect, worker_client
from worker.event_delivery import EventDelivery
from worker.health import WorkerHealth, worker_health_port
from worker.logging import configure_logging
from worker.runner import PASSTHROUGH_MODULES, runner_name, sandbox_runner, workflow_runner  # noqa: F401  (imported from here)
from worker.stop_signals import stop_on_signals
from worker.watchdog_schedule import ensure_watchdog_schedule

log = structlog.get_logger("cpplan.worker")

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
# How long a plan's next workflow task waits for the worker that holds the plan in its cache
# before any worker takes it (and replays the plan's history). The SDK's 10 s is shorter than a
# task waits behind a storm: in a 2,000-plan storm beyond the cache every plan lost its sticky
# task once and was replayed twice. The cost of a longer wait is only felt when a worker dies
# (its plans wait this long before another worker takes them).
STICKY_TIMEOUT = timedelta(seconds=60)


def _setting(name: str, default: float) -> float:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name}={value!r}: expected a number") from None
    if number <= 0:
        raise ValueError(f"{name}={value!r}: expected a number above 0")
    return number


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


def build_worker(client: Client, task_queue: str | None = None, **kwargs: Any) -> Worker:
    """The worker for `client`, with the worker's data converter (worker/client.py
    `worker_data_converter`: a payload it cannot open never fails a workflow task); extra
    keyword arguments go to `Worker` (and may replace the defaults below). Configures logging if
    nothing has yet: unconfigured structlog prints to stdout, which commands keep for their own
    output."""
    configure_logging()
    kwargs.setdefault("workflow_runner", workflow_runner())
    kwargs.setdefault("workflows", workflow_classes())
    # The watchdog's activity asks the server about each plan, with this worker's client.
    kwargs.setdefault("activities", [*ALL_ACTIVITIES, WatchdogActivities(client).watch_plans])
    kwargs.setdefault("graceful_shutdown_timeout", GRACEFUL_SHUTDOWN)
    kwargs.setdefault("max_concurrent_workflow_tasks", int(_setting("CPPLAN_WORKFLOW_TASK_SLOTS", WORKFLOW_TASK_SLOTS)))
    sticky = _setting("CPPLAN_STICKY_TIMEOUT", STICKY_TIMEOUT.total_seconds())
    kwargs.setdefault("sticky_queue_schedule_to_start_timeout", timedelta(seconds=sticky))
    if os.environ.get("CPPLAN_WORKFLOW_TASK_POLLERS"):
        kwargs.setdefault("max_concurrent_workflow_task_polls", int(_setting("CPPLAN_WORKFLOW_TASK_POLLERS", 5)))
    return Worker(worker_client(client), task_queue=task_queue or workflows.task_queue(), **kwargs)


async def run_worker(address: str | None = None, namespace: str | None = None, task_queue: str | None = None) -> None:
    """Run until SIGINT/SIGTERM or cancellation, then stop taking work and let running
    activities finish (up to GRACEFUL_SHUTDOWN). With `CPPLAN_WORKER_HEALTH_PORT`, serves
    /healthz from the start and /readyz (200 while polling) on that port (worker/health.py)."""
    configure_logging()  # before connecting, so connection errors are logged in the right format
    delivery = EventDelivery()  # checks the webhook settings before anything starts
    health = WorkerHealth()
    port = worker_health_port()
    if port is not None:
        await health.start(port)
    try:
        await check_database_at_start()
        client = await connect(address, namespace)
        worker = build_worker(client, task_queue)
        await ensure_watchdog_schedule(client, worker.task_queue)
        with stop_on_signals() as stop:
            async with worker, delivering_events(delivery):
                health.polling = True
                log.info(
                    "worker started",
                    task_queue=worker.task_queue,
                    namespace=client.namespace,
                    process=os.environ.get("CPPLAN_WORKER_PROCESS"),  # set by `cpplan worker --processes N`
                    workflow_runner=runner_name(),
                    workflows=[c.__name__ for c in workflow_classes()],
                    activities=len(ALL_ACTIVITIES) + 1,
                    health_port=port,
                )
                await stop.wait()
                health.polling = False
                log.info("worker stopping")
    finally:
        await health.stop()
    log.info("worker stopped")


async def check_database_at_start() -> None:
    """The read model's schema, before any work is taken: outside production a database behind
    this release is upgraded now; in production it stops the worker (SchemaBehind: "run `cpplan
    db upgrade`"). A database that does not answer yet is only logged: the activities retry."""
    import sqlalchemy as sa

    from activities.db import get_engine

    try:
        await asyncio.to_thread(get_engine)
    except sa.exc.OperationalError as err:
        log.warning("database not reachable at start; activities will retry", error=type(err.orig).__name__)


@asynccontextmanager
async def delivering_events(delivery: EventDelivery) -> AsyncIterator[None]:
    """The events outbox delivered beside the worker (worker/event_delivery.py) while the block
    runs; on leaving, a post under way gets a moment to finish."""
    stop = asyncio.Event()
    task = asyncio.create_task(delivery.run(stop), name="event-delivery")
    try:
        yield
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, timeout=delivery.timeout + 5)
        except TimeoutError:
            pass  # cancelled by wait_for: a post cut short is posted again once its claim lapses


def main() -> None:
    """`python -m worker` (and each process of `cpplan worker --processes N`): exit status 0 when
    stopped, 1 with the reason logged when the worker fails (say, the server cannot be reached).
    Leaves without interpreter teardown, as `cpplan` does: the Temporal client's Rust threads can
    crash it (temporalio/sdk-python#300) and turn either into an abort."""
    code = 0
    try:
        asyncio.run(run_worker())
    except KeyboardInterrupt:
        pass
    except Exception as err:  # logged in one line; the supervisor reports the exit
        log.error("worker failed", error=type(err).__name__, reason=" ".join(str(err).split())[:300])
        code = 1
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
