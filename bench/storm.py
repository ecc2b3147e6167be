"""The storm: S plans whose reminders all fall due at one instant on the dev server's real
clock (the 09:00 storm moved to the bench's minute), drained into the outbox and checked for
duplicates and gaps. The method is at the top of `bench.harness`."""

from __future__ import annotations

import asyncio
import os
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

from bench.harness import BenchError, Outbox, PhaseClock, Progress, WorkerGroup, bounded
from bench.workloads import Starter, plan_document, start_many

STORM_POLICY = "bench-storm"
STORM_REMINDER_LEAD_WD = 5
COUNT_SQL = "SELECT count(*) FROM outbox WHERE kind = 'reminder' AND plan_id LIKE ?"


def write_storm_profile(folder: Path, notify_at: clock_time) -> Any:
    """The London profile with its notification time moved to `notify_at` and a reminder lead
    of STORM_REMINDER_LEAD_WD working days; everything else as London has it."""
    from workflows.policy import BUILT_IN_DIR, load_profile_file

    text = (BUILT_IN_DIR / "london.toml").read_text(encoding="utf-8")
    text = re.sub(r'(?m)^id\s*=\s*"london"', f'id = "{STORM_POLICY}"', text, count=1)
    text = re.sub(
        r'(?m)^name\s*=\s*".*"$',
        f'name = "cpplan bench: London, notifications at {notify_at.isoformat()}"',
        text,
        count=1,
    )
    first_table = re.search(r"(?m)^\[", text)
    if first_table is None:
        raise BenchError("london.toml has no tables: cannot derive the storm profile")
    text = text[: first_table.start()] + f"notify_at = {notify_at.isoformat()}\n\n" + text[first_table.start() :]
    text, changed = re.subn(
        r"(?ms)^(\[reminder\]\s*\nbefore\s*=\s*)\{[^}\n]*\}",
        rf"\g<1>{{ working_days = {STORM_REMINDER_LEAD_WD} }}",
        text,
        count=1,
    )
    if not changed:
        raise BenchError(
            "london.toml's [reminder] section is not `before = {...}` first: cannot derive the storm profile"
        )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{STORM_POLICY}.toml"
    path.write_text(text, encoding="utf-8")
    profile = load_profile_file(path)
    if profile.notify_at != notify_at or profile.reminder.before.working_days != STORM_REMINDER_LEAD_WD:
        raise BenchError("the storm profile did not come out as intended")
    return profile


def storm_expectation(doc: dict[str, Any], profile: Any, started: datetime, at: datetime) -> tuple[int, int]:
    """(reminders due at `at`, notifications due before it) for one storm plan, from the
    engine itself: what the workflow will do."""
    from workflows import models as m
    from workflows.calendar import profile_calendar
    from workflows.engine import PlanEngine

    start = m.parse(m.PlanStart, doc)
    icpc = start.icpc_date
    cal = profile_calendar(profile, icpc.year - 1, icpc.year + 3)
    engine = PlanEngine.begin(start, profile, cal, started)
    engine.fire(started)
    early = len(engine.state.outbox)
    wake = engine.next_wakeup()
    if wake is None or wake < at:
        return 0, early + 1
    engine.fire(at)
    reminders = sum(1 for n in engine.state.outbox if n.kind == "reminder")
    nxt = engine.next_wakeup()
    if nxt is not None and nxt < at + timedelta(hours=1):
        raise BenchError(f"the storm plans would wake again at {nxt.isoformat()}, during the drain")
    return reminders, early


@dataclass
class StormPlan:
    """When the storm falls, and the documents of the plans it falls on."""

    at: datetime
    prefix: str
    icpc: Any
    first_core_group: Any
    per_plan: int

    def doc(self, i: int) -> dict[str, Any]:
        return plan_document(
            f"{self.prefix}{i}", self.icpc, policy=STORM_POLICY, first_core_group_date=self.first_core_group.isoformat()
        )


async def plan_storm(n_storm: int, run_tag: str, plan_rate: float, progress: Progress) -> StormPlan:
    """The instant: once all S plans can have started (at the rate just measured), with a
    margin; the profile that makes their reminders fall due then."""
    from workflows.calendar import LONDON, local_date, profile_calendar
    from workflows.policy import get_profile

    lead = max(6.0, 1.35 * n_storm / max(plan_rate, 1e-3) + 8.0)
    at = (datetime.now(UTC) + timedelta(seconds=lead)).replace(microsecond=0) + timedelta(seconds=1)
    if local_date(at) != local_date(datetime.now(UTC)):
        # The conference date (today) must not be in the future when the plans start.
        progress.phase("storm: waiting for midnight in London")
        while local_date(datetime.now(UTC)) != local_date(at):
            await asyncio.sleep(1)
        progress.end()
    at_local = at.astimezone(LONDON)
    profile = write_storm_profile(Path(os.environ["CPPLAN_POLICY_DIR"]), at_local.time().replace(tzinfo=None))
    icpc = at_local.date()
    london = get_profile("london")
    cal = profile_calendar(london, icpc.year - 1, icpc.year + 1)
    plan = StormPlan(at, f"bench-{run_tag}-s", icpc, cal.add_working_days(icpc, STORM_REMINDER_LEAD_WD), 0)
    plan.per_plan, early = storm_expectation(plan.doc(0), profile, datetime.now(UTC), at)
    if plan.per_plan < 1 or early:
        raise BenchError(
            f"the storm plans would not each have a reminder at {at.isoformat()} (found {plan.per_plan}, {early} before)"
        )
    return plan


async def drain(outbox: Outbox, storm: StormPlan, expected: int, timeout: float, progress: Progress) -> dict[str, Any]:
    """Watch the outbox from the instant until it holds every expected reminder (or timeout)."""
    first_s = half_s = drain_s = None
    count, elapsed = 0, 0.0
    progress.phase("storm: draining", expected)
    while True:
        count = await asyncio.to_thread(outbox.scalar, COUNT_SQL, storm.prefix + "%")
        elapsed = time.time() - storm.at.timestamp()
        if count and first_s is None:
            first_s = elapsed
        if count * 2 >= expected and half_s is None:
            half_s = elapsed
        progress.update(count)
        if count >= expected:
            drain_s = elapsed
            break
        if elapsed > timeout:
            break
        await asyncio.sleep(0.1)
    progress.end(f"{count}/{expected} in {elapsed:.1f} s")
    return {
        "storm_drain_s": None if drain_s is None else round(drain_s, 2),
        "storm_first_reminder_s": None if first_s is None else round(first_s, 2),
        "storm_half_drained_s": None if half_s is None else round(half_s, 2),
        "storm_drained": drain_s is not None,
    }


async def storm_outbox(outbox: Outbox, storm: StormPlan, n_storm: int) -> dict[str, Any]:
    """Duplicates, gaps and strays in the outbox once the storm has drained."""
    duplicate_rows = await asyncio.to_thread(
        outbox.scalar,
        """
        SELECT coalesce(sum(c - 1), 0) FROM (
            SELECT count(*) AS c FROM outbox WHERE kind = 'reminder'
            GROUP BY plan_id, obligation_id, to_id HAVING count(*) > 1)""",
    )
    per_plan_counts = await asyncio.to_thread(
        outbox.rows,
        "SELECT plan_id, count(*) FROM outbox WHERE kind = 'reminder' AND plan_id LIKE ? GROUP BY plan_id",
        storm.prefix + "%",
    )
    have = {plan_id: c for plan_id, c in per_plan_counts}
    missing = sum(max(storm.per_plan - have.get(f"{storm.prefix}{i}", 0), 0) for i in range(n_storm))
    total_rows = await asyncio.to_thread(outbox.scalar, "SELECT count(*) FROM outbox")
    storm_rows = await asyncio.to_thread(outbox.scalar, COUNT_SQL, storm.prefix + "%")
    return {
        "_duplicate_rows": duplicate_rows,
        "missing_notifications": missing,
        "unexpected_notifications": total_rows - storm_rows,
    }


async def run_storm(
    starter: Starter,
    n_storm: int,
    plan_rate: float,
    concurrency: int,
    timeout: float,
    outbox: Outbox,
    worker: WorkerGroup,
    progress: Progress,
    phases: dict[str, Any],
) -> dict[str, Any]:
    """Start the storm's plans, wait for the instant, drain, check; the figures of step 2."""
    from workflows.calendar import LONDON

    storm = await plan_storm(n_storm, starter.run_tag, plan_rate, progress)
    expected = storm.per_plan * n_storm
    with PhaseClock(worker) as clock:
        started = await start_many(
            n_storm, lambda i: starter.plan(storm.doc(i)), starter.client, concurrency, progress, "storm plans"
        )
    phases["storm_start"] = clock.result
    late = sum(1 for t in started.settled.values() if t >= storm.at.timestamp())

    progress.phase("storm: waiting for the instant")
    at_text = storm.at.astimezone(LONDON).strftime("%H:%M:%S")
    while (wait := storm.at.timestamp() - time.time()) > 0:
        progress.update(note=f"{expected} reminders fall due at {at_text} London, in {wait:.0f} s")
        await asyncio.sleep(min(wait, 0.2))
    progress.end()

    with PhaseClock(worker) as clock:
        drained = await drain(outbox, storm, expected, timeout, progress)
    phases["storm_drain"] = clock.result
    await asyncio.sleep(2.0)  # anything late or repeated has time to show
    checked = await storm_outbox(outbox, storm, n_storm)
    sample = await storm_histories(starter.client, list(started.settled)[:200])
    return {
        "_ids": list(started.settled),
        "storm_plans": n_storm,
        "storm_reminders": expected,
        "storm_reminders_per_plan": storm.per_plan,
        "storm_at": storm.at.isoformat(),
        **drained,
        "storm_plans_started_late": late,
        "storm_start_rate_plans_per_s": round(started.settle_rate, 1),
        **checked,
        **sample,
    }


async def storm_histories(client: Any, ids: list[str]) -> dict[str, Any]:
    """What the storm cost in history, from a sample of its plans: events from the timer
    firing on, and workflow tasks that timed out or failed (a worker too busy to take its
    sticky tasks in time, or a cache miss racing a new event)."""
    from temporalio.api.enums.v1 import EventType

    async def one(workflow_id: str) -> tuple[int, int, int]:
        events = [e async for e in client.get_workflow_handle(workflow_id).fetch_history_events()]
        fired = next((i for i, e in enumerate(events) if e.event_type == EventType.EVENT_TYPE_TIMER_FIRED), len(events))
        timeouts = sum(1 for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT)
        failures = sum(1 for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED)
        return len(events) - fired, timeouts, failures

    found = [r for r in await bounded(ids, one, 16) if r is not None]
    if not found:
        return {}
    return {
        "storm_sample_plans": len(found),
        "storm_events_per_wake": round(sum(r[0] for r in found) / len(found), 1),
        "storm_workflow_task_timeouts_per_plan": round(sum(r[1] for r in found) / len(found), 2),
        "storm_workflow_task_failures_per_plan": round(sum(r[2] for r in found) / len(found), 2),
    }
