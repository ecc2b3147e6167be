"""What `cpplan bench` runs: the yardstick workflow, the bench's worker and replayer processes,
a simulated plan-year, and the plan documents it starts.

- `BenchTrivial`: a workflow that only waits on one timer. It is registered in the bench's own
  worker (never in production's `build_worker` defaults) and started exactly as a plan is, so
  the plan's start rate can be compared with the cheapest possible start.
- `python -m starters.bench_workloads worker ...`: the production worker (`build_worker`, the
  production workflows and activities) plus `BenchTrivial`, in a process of its own so its
  peak memory is its own.
- `python -m starters.bench_workloads replay FILE`: replays saved histories in a fresh process,
  as a restarted worker would, and reports how long that took.
- `drive_year`: a plan lived through a year on the time-skipping test server, the way a
  practitioner acts on reminders: every obligation met the working day before it is due.

Only `temporalio.workflow` is imported at module level: the sandbox re-imports this module
for `BenchTrivial`, so everything else is imported where it is used.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow

TRIVIAL_TYPE = "BenchTrivial"
# Long enough never to fire during a bench: the workflow only has to reach its timer.
TRIVIAL_SLEEP = timedelta(days=1)
READY_LINE = "cpplan-bench-worker-ready"


@workflow.defn(name=TRIVIAL_TYPE)
class BenchTrivial:
    """The yardstick: takes a plan-sized input, ignores it, waits on one timer."""

    @workflow.run
    async def run(self, start: Any) -> None:
        await workflow.sleep(TRIVIAL_SLEEP)


# ---------------------------------------------------------------------- plan documents


def plan_document(
    plan_id: str, icpc_date: Any, *, policy: str = "london", members: int = 2, **extra: Any
) -> dict[str, Any]:
    """A valid PlanStart document with opaque references only (e-mail addresses on
    example.org: nothing is mailed, notifications go to the outbox)."""
    doc: dict[str, Any] = {
        "plan_id": plan_id,
        "child_ref": f"c-{plan_id}",
        "policy": policy,
        "icpc_date": icpc_date.isoformat() if hasattr(icpc_date, "isoformat") else icpc_date,
        "category": "neglect",
        "lead_social_worker": {"id": "sw-1", "role": "lead-social-worker", "email": "sw-1@example.org"},
        "team_manager": {"id": "tm-1", "role": "team-manager", "email": "tm-1@example.org"},
        "service_manager": {"id": "sm-1", "role": "service-manager"},
        "core_group": [{"id": f"cg-{i}", "role": "professional" if i else "parent"} for i in range(members)],
    }
    doc.update(extra)
    return doc


# ---------------------------------------------------------------------- the worker process


async def serve_worker(address: str, namespace: str, task_queue: str, max_cached_workflows: int | None = None) -> None:
    """The production worker plus BenchTrivial, until SIGTERM/SIGINT; prints READY_LINE on
    stdout once it polls."""
    import asyncio
    import signal

    from starters.bench_workloads import BenchTrivial as trivial
    from worker.client import connect
    from worker.logging import configure_logging
    from worker.main import build_worker, workflow_classes

    configure_logging()
    client = await connect(address, namespace)
    options = {"max_cached_workflows": max_cached_workflows} if max_cached_workflows else {}
    worker = build_worker(client, task_queue, workflows=[*workflow_classes(), trivial], **options)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with worker:
        print(READY_LINE, flush=True)
        await stop.wait()


# ---------------------------------------------------------------------- replay in a fresh process


async def replay_file(path: str) -> dict[str, Any]:
    """Replay every history in `path` (`{"plans": [[history_json, ...], ...]}`) as a restarted
    worker would: each one a cache miss, every event replayed. One short history is replayed
    first and timed apart: importing the workflow code and building the sandbox happens once
    per worker process, not once per plan."""
    import json
    import time

    from temporalio.client import WorkflowHistory
    from temporalio.worker import Replayer

    from worker.client import data_converter
    from worker.main import sandbox_runner, workflow_classes

    with open(path, encoding="utf-8") as handle:
        saved = json.load(handle)
    plans = [
        [WorkflowHistory.from_json(item["workflow_id"], item["history"]) for item in runs] for runs in saved["plans"]
    ]
    replayer = Replayer(workflows=workflow_classes(), workflow_runner=sandbox_runner(), data_converter=data_converter())

    warm = saved.get("warmup")
    started = time.perf_counter()
    if warm:
        await replayer.replay_workflow(WorkflowHistory.from_json(warm["workflow_id"], warm["history"]))
    warmup_ms = (time.perf_counter() - started) * 1000

    histories = [h for runs in plans for h in runs]
    started = time.perf_counter()

    async def each() -> Any:
        for history in histories:
            yield history

    results = await replayer.replay_workflows(each(), raise_on_replay_failure=False)
    total_ms = (time.perf_counter() - started) * 1000
    failures = [f"{wid}: {err}" for wid, err in results.replay_failures.items()]
    return {
        "plans": len(plans),
        "histories": len(histories),
        "events": sum(len(h.events) for h in histories),
        "warmup_ms": round(warmup_ms, 1),
        "total_ms": round(total_ms, 1),
        "failures": failures,
    }


# ---------------------------------------------------------------------- a plan-year


class YearResult:
    def __init__(self) -> None:
        self.updates = 0
        self.signals = 0
        self.refused: list[str] = []
        self.steps = 0


async def drive_year(
    env: Any,
    task_queue: str,
    plan_ids: list[str],
    *,
    days: int = 365,
    members: list[int] | None = None,
    on_step: Any = None,
) -> YearResult:
    """Start `plan_ids` with their conference today (server clock) and live a year of each:
    every pending obligation is met the working day before it is due, at 14:00 London (the
    09:00 reminder has gone out by then); the child is seen (and seen alone) at every visit,
    the bedroom in the month before each review; review conferences continue the plan (a new
    run each); one change of circumstances mid-year asks for an early review, which the team
    manager declines. Returns what was sent. Plans advance together on the server's clock."""
    import asyncio
    from datetime import datetime, time

    from temporalio.client import WorkflowUpdateFailedError

    import workflows
    from workflows.calendar import LONDON, WorkingCalendar, local_date, non_working_days
    from workflows.policy import get_profile

    result = YearResult()
    now = await env.get_current_time()
    icpc = local_date(now)
    profile = get_profile("london")
    cal = WorkingCalendar(non_working_days(profile.region, icpc.year - 1, icpc.year + 3, profile.closure_days))
    end = icpc + timedelta(days=days)
    incident_day = icpc + timedelta(days=min(150, days // 2))
    incident_sent: set[str] = set()
    members = members or [2] * len(plan_ids)
    handles = {}
    docs = {}
    for plan_id, count in zip(plan_ids, members, strict=True):
        doc = plan_document(plan_id, icpc, members=count)
        docs[plan_id] = doc
        handles[plan_id] = await env.client.start_workflow(
            workflows.WORKFLOW_TYPE,
            doc,
            id=workflows.workflow_id(plan_id),
            task_queue=task_queue,
            memo={"plan_id": plan_id, "policy": doc["policy"]},
        )

    async def status(plan_id: str) -> dict[str, Any]:
        handle = env.client.get_workflow_handle(workflows.workflow_id(plan_id))
        for _ in range(200):
            try:
                found = await handle.query("status", result_type=dict)
            except Exception:
                found = None
            if found and found.get("state") != "starting":
                return found
            await asyncio.sleep(0.05)
        raise RuntimeError(f"plan {plan_id} did not answer its status query")

    async def quiet(plan_id: str) -> None:
        """Wait until the plan has finished what the last message started (its activities and
        workflow tasks): a practitioner's next entry comes minutes later, not microseconds."""
        handle = env.client.get_workflow_handle(workflows.workflow_id(plan_id))
        for _ in range(400):
            raw = (await handle.describe()).raw_description
            if not raw.pending_activities and not raw.HasField("pending_workflow_task"):
                return
            await asyncio.sleep(0.01)

    async def next_run(plan_id: str, old_run: str) -> None:
        """A review conference ends the run: wait for the new one before asking it anything
        (on the test server, a query racing a continue-as-new can leave a task that never
        completes, and the clock then cannot move)."""
        handle = env.client.get_workflow_handle(workflows.workflow_id(plan_id))
        for _ in range(500):
            if (await handle.describe()).run_id != old_run:
                return
            await asyncio.sleep(0.01)

    def act_day(ob: dict[str, Any]) -> Any:
        due = datetime.fromisoformat(ob["due"]).date()
        return cal.add_working_days(due, -1)

    async def update(plan_id: str, name: str, payload: dict[str, Any]) -> None:
        handle = env.client.get_workflow_handle(workflows.workflow_id(plan_id))
        before = (await handle.describe()).run_id if name == "record_review_conference" else None
        try:
            await handle.execute_update(name, payload, result_type=dict)
            result.updates += 1
            if before is not None:
                await next_run(plan_id, before)
            await quiet(plan_id)
        except WorkflowUpdateFailedError as err:
            result.refused.append(f"{plan_id} {name} {payload}: {getattr(err.cause, 'message', err.cause)}")

    async def act(plan_id: str, today: Any, done: set[str]) -> bool:
        """Meet what is due for action today; True if anything was sent."""
        found = await status(plan_id)
        pending = [o for o in found["obligations"] if o["status"] in ("pending", "overdue", "escalated")]
        todo = [o for o in pending if act_day(o) <= today and o["id"] not in done]
        if today >= incident_day and plan_id not in incident_sent:
            incident_sent.add(plan_id)
            await env.client.get_workflow_handle(workflows.workflow_id(plan_id)).signal(
                "report_incident", {"kind": "change-of-circumstances", "date": today.isoformat()}
            )
            result.signals += 1
            return True
        if not todo:
            return False
        day = today.isoformat()
        kinds = {o["kind"] for o in todo}
        if kinds & {"visit", "seen-alone", "bedroom-seen"}:
            bedroom = any(
                o["kind"] == "bedroom-seen" and (datetime.fromisoformat(o["due"]).date() - today).days <= 30
                for o in pending
            )
            await update(
                plan_id, "record_visit", {"date": day, "seen": True, "seen_alone": True, "bedroom_seen": bedroom}
            )
        for ob in todo:
            done.add(ob["id"])
            kind = ob["kind"]
            if kind in ("visit", "seen-alone", "bedroom-seen"):
                continue
            if kind in ("first-core-group", "core-group"):
                await update(plan_id, "record_core_group", {"date": day})
            elif kind == "notes-circulated":
                await update(plan_id, "record_notes_circulated", {"date": day})
            elif kind == "signature":
                await update(plan_id, "record_signature", {"member_id": ob["member_id"], "date": day})
            elif kind == "review-conference":
                await update(plan_id, "record_review_conference", {"date": day, "outcome": "continue"})
            elif kind == "early-review-decision":
                await update(plan_id, "decline_early_review", {"by": "tm-1"})
            else:
                await update(plan_id, "record_completion", {"obligation_id": ob["id"], "date": day})
        return True

    done: dict[str, set[str]] = {p: set() for p in plan_ids}
    while True:
        now = await env.get_current_time()
        today = local_date(now)
        if today >= end:
            break
        # Act until nothing more is due today (meeting a core group opens its notes, ...).
        for _ in range(10):
            acted = await asyncio.gather(*(act(p, today, done[p]) for p in plan_ids))
            if not any(acted):
                break
        result.steps += 1
        if on_step:
            on_step((today - icpc).days, days)
        # The next working day on which something is due for action.
        upcoming = []
        for plan_id in plan_ids:
            found = await status(plan_id)
            upcoming += [
                act_day(o)
                for o in found["obligations"]
                if o["status"] in ("pending", "overdue", "escalated") and o["id"] not in done[plan_id]
            ]
        upcoming = [d for d in upcoming if d > today]
        if today < incident_day:
            upcoming.append(incident_day)
        nxt = min([*upcoming, end])
        if nxt >= end:
            target = datetime.combine(end, time(14, 0), tzinfo=LONDON)
        else:
            target = datetime.combine(cal.on_or_after(nxt), time(14, 0), tzinfo=LONDON)
        gap = target - await env.get_current_time()
        if gap > timedelta(0):
            await env.sleep(gap)
    return result


# ---------------------------------------------------------------------- entry point


def _main(argv: list[str] | None = None) -> int:
    import argparse
    import asyncio
    import json
    import sys

    parser = argparse.ArgumentParser(prog="python -m starters.bench_workloads")
    sub = parser.add_subparsers(dest="what", required=True)
    w = sub.add_parser("worker")
    w.add_argument("--address", required=True)
    w.add_argument("--namespace", default="default")
    w.add_argument("--task-queue", required=True)
    w.add_argument("--max-cached-workflows", type=int, default=None)
    r = sub.add_parser("replay")
    r.add_argument("file")
    args = parser.parse_args(argv)
    if args.what == "worker":
        asyncio.run(serve_worker(args.address, args.namespace, args.task_queue, args.max_cached_workflows))
        return 0
    print(json.dumps(asyncio.run(replay_file(args.file))))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
