"""`cpplan bench` end to end with a handful of plans: it runs on its own embedded servers, its
`--json` output is one JSON object with every figure, and the storm delivers each reminder
exactly once. The figures themselves are not checked here: targets are for benchmarks, not
timed tests (README, "Scale: measured figures")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

FIGURES = (
    "plans",
    "start_rate_plans_per_s",
    "trivial_start_rate_per_s",
    "start_ratio_vs_trivial",
    "start_ratio_spread",
    "start_ratio_rounds",
    "storm_plans",
    "storm_reminders",
    "storm_drain_s",
    "duplicate_notifications",
    "missing_notifications",
    "running_plans",
    "storm_among_running_plans",
    "miss_wake_ms",
    "hit_wake_ms",
    "miss_wake_history_events",
    "memory_per_cached_plan_kb",
    "replay_ms_per_plan_year",
    "sdk_floor_ms_per_plan_year",
    "replay_ratio_vs_floor",
    "events_per_plan_year",
    "workflow_tasks_per_plan_year",
    "largest_run_events",
    "worker_peak_rss_mb",
    "machine",
    "cost_per_child",
    "capacity",
    "targets",
    "reported_not_targets",
    "method",
)
TARGETS = ("start_ratio", "events_per_plan_year", "largest_run_events", "replay_vs_floor", "miss_wake_ms")
REPORTED = ("memory_per_cached_plan_kb", "storm", "fleet_50k")
REPEATS = 2
POSITIVE = ("miss_wake_ms", "hit_wake_ms", "memory_per_cached_plan_kb", "workflow_tasks_per_plan_year")
PROJECTIONS = (
    "worker_cpu_ms_per_plan_day",
    "worker_cpu_s_per_day",
    "storm_0900_plans",
    "storm_0900_worker_cpu_s",
    "storm_0900_workers_for_5_min",
    "storm_0900_s_at_measured_drain_rate",
    "start_all_minutes_at_measured_rate",
    "worker_cpu_ms_per_start",
    "start_all_workers_for_20_min",
    "memory_all_cached_gb",
)


def _command() -> list[str]:
    script = Path(sys.executable).parent / "cpplan"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "starters.cli"]


def test_bench_with_five_plans_reports_every_figure_and_no_duplicate(tmp_path: Path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    env.pop("TEMPORAL_ADDRESS", None)
    done = subprocess.run(
        [*_command(), "bench", "--plans", "5", "--running-plans", "3", "--year-plans", "1", "--caseload", "1000"]
        + ["--repeats", str(REPEATS), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=tmp_path,  # not the checkout: the bench and its worker must import from anywhere
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)  # stdout is the JSON object alone; progress went to stderr
    missing = [key for key in FIGURES if key not in report]
    assert not missing, f"figures missing from --json: {missing}"
    assert report["plans"] == 5 and report["storm_plans"] == 5
    assert report["running_plans"] == 3 and report["storm_among_running_plans"] >= 3 + REPEATS * 5
    # Plans and the yardstick in turn, round after round; each round's ratio kept.
    assert report["start_repeats"] == REPEATS and len(report["start_ratio_rounds"]) == REPEATS
    assert report["start_ratio_spread"] >= 0
    assert report["wake_repeats"] == REPEATS and len(report["miss_wake_ms_rounds"]) == REPEATS
    # The plan-year replayed beside the SDK's floor for as many workflow tasks, round after round.
    assert report["replay_repeats"] == REPEATS and len(report["sdk_floor_ms_per_plan_year_rounds"]) == REPEATS
    assert report["floor_workflow_tasks_per_plan_year"] == report["workflow_tasks_per_plan_year"]
    assert report["sdk_floor_ms_per_plan_year"] > 0 and report["replay_ratio_vs_floor"] > 0
    assert report["storm_drained"], report
    assert report["storm_reminders"] == 5 * report["storm_reminders_per_plan"] >= 5
    assert report["duplicate_notifications"] == 0
    assert report["missing_notifications"] == 0
    assert report["unexpected_notifications"] == 0
    assert report["replay_failures"] == []
    assert report["year_refused_updates"] == []
    assert report["events_per_plan_year"] > 0 and 0 < report["largest_run_events"] < 4096
    assert report["worker_peak_rss_mb"] > 0
    assert report["wake_plans"] == 5 and report["miss_wake_history_events"] > 0
    for key in POSITIVE:
        assert report[key] > 0, (key, report[key])
    assert report["machine"]["cpus"] >= 1
    capacity = report["capacity"]
    assert capacity["projection"] is True and capacity["caseload"] == 1000
    for key in PROJECTIONS:
        assert capacity[key] > 0, (key, capacity)
    assert set(report["targets"]) == set(TARGETS)
    for name in TARGETS:
        assert isinstance(report["targets"][name]["met"], bool), (name, report["targets"][name])
    for name in REPORTED:
        assert report["reported_not_targets"][name]["met"] is None, (name, report["reported_not_targets"][name])
    cost = report["cost_per_child"]
    assert cost["worker_cpu_ms_per_plan_day"] > 0 and cost["worker_cpu_s_per_plan_year"] > 0
    assert cost["council"]["plans"] == 1_500 and cost["country"]["plans"] == 50_000
    # The bench cleaned up after itself: its temporary directory is gone.
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("cpplan-bench-")]
