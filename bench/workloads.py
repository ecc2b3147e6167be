"""What the bench drives on the dev server: the plan documents it starts, many starts timed to
their first wait, and rounds of wakes whose worker CPU and memory are measured. The storm is in
`bench.storm`, the plan-year in `bench.year`."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, date
from typing import Any

from bench.harness import BenchError, Progress, WorkerGroup, bounded, rounded

SETTLE_TIMEOUT_S = 1800.0
SLOWEST_RATE = 5.0


def plan_document(
    plan_id: str, icpc_date: Any, *, policy: str = "london", members: int = 2, **extra: Any
) -> dict[str, Any]:
    """A valid PlanStart document with opaque references only (e-mail addresses on
    example.org: nothing is mailed, notifications go to the outbox). Everyone has an address:
    people without one are named to the team manager at the start (an alert the storm's
    outbox count would take for a stray)."""
    doc: dict[str, Any] = {
        "plan_id": plan_id,
        "child_ref": f"c-{plan_id}",
        "policy": policy,
        "icpc_date": icpc_date.isoformat() if hasattr(icpc_date, "isoformat") else icpc_date,
        "category": "neglect",
        "lead_social_worker": {"id": "sw-1", "role": "lead-social-worker", "email": "sw-1@example.org"},
        "team_manager": {"id": "tm-1", "role": "team-manager", "email": "tm-1@example.org"},
        "service_manager": {"id": "sm-1", "role": "service-manager", "email": "sm-1@example.org"},
        "core_group": [
            {"id": f"cg-{i}", "role": "professional" if i else "parent", "email": f"cg-{i}@example.org"}
            for i in range(members)
        ],
    }
    doc.update(extra)
    return doc


@dataclass
class Starter:
    """Starts the bench's workflows on one client: plans the way `cpplan start` does, and the
    yardstick the same way but for its type."""

    client: Any
    run_tag: str
    task_queue: str
    today: date

    async def plan(self, doc: dict[str, Any]) -> str:
        from starters import cases

        workflow_id, _created = await cases.start_plan(self.client, doc)
        return str(workflow_id)

    async def today_plan(self, i: int, tag: str = "p") -> str:
        return await self.plan(plan_document(f"bench-{self.run_tag}-{tag}{i}", self.today))

    async def trivial(self, i: int, tag: str = "t") -> str:
        from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

        from bench.yardstick import TRIVIAL_TYPE

        doc = plan_document(f"bench-{self.run_tag}-{tag}{i}", self.today)
        handle = await self.client.start_workflow(
            TRIVIAL_TYPE,
            doc,
            id=f"bench-trivial-{self.run_tag}-{tag}{i}",
            task_queue=self.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            memo={"plan_id": doc["plan_id"], "policy": doc["policy"]},
        )
        return str(handle.id)


# ---------------------------------------------------------------------- starting many workflows


@dataclass
class StartFigures:
    count: int
    accept_s: float
    settle_s: float
    settled: dict[str, float]

    @property
    def accept_rate(self) -> float:
        return self.count / self.accept_s if self.accept_s > 0 else float("inf")

    @property
    def settle_rate(self) -> float:
        return self.count / self.settle_s if self.settle_s > 0 else float("inf")


async def first_timer(client: Any, workflow_id: str) -> float | None:
    """When the workflow reached its first wait (its first TimerStarted), as a Unix time."""
    from temporalio.api.enums.v1 import EventType
    from temporalio.service import RPCError

    try:
        async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
            if event.event_type == EventType.EVENT_TYPE_TIMER_STARTED:
                return float(event.event_time.ToDatetime(tzinfo=UTC).timestamp())
    except RPCError:
        return None
    return None


async def wait_settled(
    client: Any, ids: list[str], progress: Progress, timeout: float = SETTLE_TIMEOUT_S
) -> dict[str, float]:
    """Wait until every workflow has reached its first timer; returns id -> when. Polls the
    last-started few (the queue is roughly first in, first out), then reads every history."""
    found: dict[str, float] = {}
    pending = list(ids)
    deadline = time.monotonic() + timeout
    while pending:
        tail_times = await asyncio.gather(*(first_timer(client, w) for w in pending[-8:]))
        if all(t is not None for t in tail_times):
            times = await bounded(pending, lambda w: first_timer(client, w), 16)
            found.update({w: t for w, t in zip(pending, times, strict=True) if t is not None})
            pending = [w for w in pending if w not in found]
        progress.update(len(found))
        if pending:
            if time.monotonic() > deadline:
                raise BenchError(
                    f"{len(pending)} of {len(ids)} workflows had not reached their first wait after {timeout:.0f} s"
                )
            await asyncio.sleep(0.5)
    return found


async def start_many(
    count: int, start_one: Any, client: Any, concurrency: int, progress: Progress, name: str
) -> StartFigures:
    """Start `count` workflows (`start_one(i)` returns the id) with `concurrency` starts in
    flight; time until the server has accepted them all, and until the worker has run each to
    its first wait."""
    ids: list[str] = [""] * count
    accepted = 0
    progress.phase(f"{name}: starting", count)
    began = time.time()

    async def one(i: int) -> None:
        nonlocal accepted
        ids[i] = await start_one(i)
        accepted += 1
        progress.update(accepted)

    await bounded(list(range(count)), one, concurrency)
    accepted_at = time.time()
    progress.end(f"{count} accepted in {accepted_at - began:.1f} s")
    progress.phase(f"{name}: first wait", count)
    # A large run is given time in proportion: at least SLOWEST_RATE starts per second.
    settled = await wait_settled(client, ids, progress, timeout=max(SETTLE_TIMEOUT_S, count / SLOWEST_RATE))
    last = max(settled.values())
    figures = StartFigures(count=count, accept_s=accepted_at - began, settle_s=max(last - began, 1e-6), settled=settled)
    progress.end(f"{figures.settle_rate:.1f}/s to first wait")
    return figures


# ---------------------------------------------------------------------- waking plans


async def wake_round(client: Any, ids: list[str], day: date, concurrency: int, progress: Progress, name: str) -> None:
    """Wake each plan once by an update (a visit today, the child seen): the call returns once
    the plan has taken it, so the round is over when the last call returns."""
    done = 0
    refused: list[str] = []
    progress.phase(name, len(ids))
    payload = {"date": day.isoformat(), "seen": True, "seen_alone": True, "bedroom_seen": False, "again": True}

    async def one(workflow_id: str) -> None:
        nonlocal done
        from temporalio.client import WorkflowUpdateFailedError

        try:
            await client.get_workflow_handle(workflow_id).execute_update("record_visit", payload, result_type=dict)
        except WorkflowUpdateFailedError as err:
            refused.append(f"{workflow_id}: {getattr(err.cause, 'message', err.cause)}")
        done += 1
        progress.update(done)

    await bounded(ids, one, concurrency)
    progress.end()
    if refused:
        raise BenchError(f"{len(refused)} wake(s) refused, e.g. {refused[0]}")


async def history_events(client: Any, ids: list[str]) -> float:
    """Mean length of the current run's history over `ids`: what a cache miss replays."""

    async def one(workflow_id: str) -> int:
        described = await client.get_workflow_handle(workflow_id).describe()
        return int(described.raw_description.workflow_execution_info.history_length)

    lengths = await bounded(ids, one, 16)
    return sum(lengths) / max(len(lengths), 1)


async def wake_figures(
    worker: WorkerGroup,
    client: Any,
    ids: list[str],
    warm_ids: list[str],
    day: date,
    concurrency: int,
    progress: Progress,
    repeats: int = 1,
) -> dict[str, Any]:
    """On a worker just started (its cache empty): wake `warm_ids` (the workflow code is
    imported then, not in the figures), then `ids` in `repeats` groups, each group woken twice
    in a row: the first time not in the cache (its histories are replayed), the second cached.
    Misses and hits so take turns through the phase; worker CPU per wake in each round, their
    medians, and resident memory added per plan by the rounds that cached them."""
    from bench import rounds

    await wake_round(client, warm_ids, day, concurrency, progress, "wake: warming the worker")
    await worker.quiesce()
    replayed = await history_events(client, ids)
    groups = [ids[g::repeats] for g in range(repeats) if ids[g::repeats]]
    miss: list[float] = []
    hit: list[float] = []
    added_mb = 0.0
    rss_before = worker.rss_mb()
    for g, group in enumerate(groups, 1):
        rss0, cpu0 = worker.rss_mb(), worker.cpu_seconds()
        await wake_round(client, group, day, concurrency, progress, f"wake: not cached ({g}/{len(groups)})")
        await worker.quiesce()
        rss1, cpu1 = worker.rss_mb(), worker.cpu_seconds()
        await wake_round(client, group, day, concurrency, progress, f"wake: cached ({g}/{len(groups)})")
        await worker.quiesce()
        cpu2 = worker.cpu_seconds()
        if None in (rss0, rss1, cpu0, cpu1, cpu2):
            return {"wake_error": "the worker's /proc figures could not be read"}
        miss.append(1000 * (cpu1 - cpu0) / len(group))  # type: ignore[operator]
        hit.append(1000 * (cpu2 - cpu1) / len(group))  # type: ignore[operator]
        added_mb += rss1 - rss0  # type: ignore[operator]
    missed, hits = rounds.summary(miss, 2), rounds.summary(hit, 2)
    return {
        "wake_plans": len(ids),
        "wake_repeats": len(groups),
        "miss_wake_ms": missed["median"],
        "miss_wake_spread_ms": missed["spread"],
        "miss_wake_ms_rounds": missed["rounds"],
        "hit_wake_ms": hits["median"],
        "hit_wake_spread_ms": hits["spread"],
        "hit_wake_ms_rounds": hits["rounds"],
        "miss_wake_history_events": round(replayed, 1),
        "memory_per_cached_plan_kb": rounded(1024 * added_mb / len(ids)),
        "worker_rss_before_wakes_mb": rounded(rss_before),
    }
