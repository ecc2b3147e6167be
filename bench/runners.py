"""`python -m bench.runners`: the workflow runners (worker/runner.py) compared, A/B interleaved.

Runs `python -m bench --json` once per runner per round, the runners in a different order each
round (so that a neighbour's load on a shared machine falls on all of them alike), and reports
each runner's figures as ratios to the full sandbox's in the same round, then the median ratio.
Figures: the start ratio (plans / one-timer workflows), `miss_wake_ms` (CPU to wake a plan
not in the cache), `hit_wake_ms` and `memory_per_cached_plan_kb`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from typing import Any

from bench.harness import child_env

RUNNERS = ("sandboxed", "passthrough", "unsandboxed")
FIGURES = ("start_ratio_vs_trivial", "miss_wake_ms", "hit_wake_ms", "memory_per_cached_plan_kb")


def one_run(runner: str, plans: int, wake_plans: int) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench", "--plans", str(plans), "--wake-plans", str(wake_plans)]
    command += ["--year-plans", "0", "--json"]
    env = child_env({"CPPLAN_WORKFLOW_RUNNER": runner})
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench with {runner} failed: {done.stderr.strip()[-500:]}")
    report = json.loads(done.stdout)
    return {name: report.get(name) for name in FIGURES}


def ratios(rounds: list[dict[str, dict[str, Any]]]) -> dict[str, dict[str, float | None]]:
    """Per runner and figure: the median over rounds of (runner's figure / sandboxed's figure)."""
    out: dict[str, dict[str, float | None]] = {}
    for runner in RUNNERS:
        out[runner] = {}
        for name in FIGURES:
            each = [
                r[runner][name] / r["sandboxed"][name]
                for r in rounds
                if r[runner].get(name) is not None and r["sandboxed"].get(name)
            ]
            out[runner][name] = round(statistics.median(each), 3) if each else None
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.runners", description=__doc__.splitlines()[0])
    p.add_argument("--plans", type=int, default=60)
    p.add_argument("--wake-plans", type=int, default=60)
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args(argv)
    rounds: list[dict[str, dict[str, Any]]] = []
    for n in range(args.rounds):
        order = RUNNERS[n % len(RUNNERS) :] + RUNNERS[: n % len(RUNNERS)]
        if n % 2:
            order = tuple(reversed(order))
        measured = {}
        for runner in order:
            measured[runner] = one_run(runner, args.plans, args.wake_plans)
            print(f"round {n + 1} {runner}: {json.dumps(measured[runner])}", file=sys.stderr, flush=True)
        rounds.append(measured)
    print(
        json.dumps({"rounds": rounds, "median_ratio_to_sandboxed": ratios(rounds), "load": os.getloadavg()}, indent=2)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
