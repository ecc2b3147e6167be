"""The bench's capacity model: projections computed from a run's figures, labelled as such, and
left out where the run did not measure what they stand on."""

from __future__ import annotations

from typing import Any

import pytest

from bench import rounds
from bench.report import capacity, cost_per_child, render, reported, targets
from bench.year import replay_figures

FIGURES: dict[str, Any] = {
    "plans": 10,
    "miss_wake_ms": 30.0,
    "hit_wake_ms": 10.0,
    "miss_wake_history_events": 20.0,
    "events_per_plan_year": 900,
    "runs_per_plan_year": 3.0,
    "replay_ms_per_1000_events": 2000.0,
    "workflow_tasks_per_plan_year": 730,
    "storm_drain_s": 2.0,
    "storm_reminders": 10,
    "start_rate_plans_per_s": 10.0,
    "start_worker_cpu_ms_per_plan": 50.0,
    "memory_per_cached_plan_kb": 512.0,
}


def test_a_caseload_is_projected_from_the_run_and_says_so() -> None:
    c = capacity(FIGURES, 50_000)
    assert c["projection"] is True and "not measured" in c["basis"]
    # Half an average run (900 / 3 / 2 = 150 events) replayed: 130 more events than measured.
    assert c["typical_history_events"] == 150
    assert c["miss_wake_ms_typical_history"] == pytest.approx(30 + 130 * 2.0)
    assert c["wakes_per_plan_day"] == 2.0
    assert c["worker_cpu_ms_per_plan_day"] == pytest.approx(2 * 290)
    assert c["worker_cpu_ms_per_plan_day_cached"] == pytest.approx(2 * 10)
    assert c["worker_cpu_s_per_day"] == pytest.approx(50_000 * 580 / 1000)
    assert c["storm_0900_plans"] == 9_500
    assert c["storm_0900_worker_cpu_s"] == pytest.approx(9_500 * 0.29)
    assert c["storm_0900_workers_for_5_min"] == 10  # 2,755 s of CPU, 300 s each
    assert c["storm_0900_s_at_measured_drain_rate"] == pytest.approx(9_500 * 0.2)
    assert c["start_all_minutes_at_measured_rate"] == pytest.approx(50_000 / 10 / 60, abs=0.1)
    assert c["worker_cpu_ms_per_start"] == 50.0
    assert c["start_all_workers_for_20_min"] == 3  # 2,500 s of CPU, 1,200 s each
    assert c["memory_all_cached_gb"] == pytest.approx(50_000 * 0.5 / 1024, abs=0.1)


def test_without_a_plan_year_the_model_keeps_to_what_was_measured() -> None:
    run = {k: v for k, v in FIGURES.items() if k not in ("events_per_plan_year", "workflow_tasks_per_plan_year")}
    c = capacity(run, 1_000)
    assert "worker_cpu_ms_per_plan_day" not in c and "typical_history_events" not in c
    assert c["storm_0900_worker_cpu_s"] == pytest.approx(190 * 0.03)
    assert "no plan-year" in c["note"]


def test_the_text_report_labels_the_capacity_as_projections() -> None:
    report = {
        **FIGURES,
        "duration_s": 1.0,
        "machine": {"cpus": 2},
        "capacity": capacity(FIGURES, 50_000),
    }
    report["targets"] = targets(report)
    text = render(report)
    assert "capacity for 50,000 plans: PROJECTIONS" in text
    assert "wake, plan not cached (CPU)" in text and "30.0 ms" in text


def test_the_targets_are_ratios_to_the_same_runs_yardsticks() -> None:
    run = {
        **FIGURES,
        "start_ratio_vs_trivial": 0.93,
        "start_ratio_spread": 0.04,
        "replay_ratio_vs_floor": 1.4,
        "replay_ms_per_plan_year": 420.0,
        "sdk_floor_ms_per_plan_year": 300.0,
    }
    met = {name: t["met"] for name, t in targets(run).items()}
    assert met == {
        "start_ratio": True,
        "events_per_plan_year": True,  # 900 <= 1,000
        "largest_run_events": None,  # not in this run
        "replay_vs_floor": True,  # 1.4 <= 1.5 x the floor, whatever the milliseconds
        "miss_wake_ms": True,  # 30 ms <= 50 ms
    }
    assert not targets({**run, "start_ratio_spread": 0.15})["start_ratio"]["met"]  # a median alone is not enough
    assert not targets({**run, "start_ratio_vs_trivial": 0.85})["start_ratio"]["met"]
    assert not targets({**run, "replay_ratio_vs_floor": 1.6})["replay_vs_floor"]["met"]


def test_memory_the_storm_and_the_fleet_are_reported_not_judged() -> None:
    found = reported({**FIGURES, "plans": 300, "storm_plans": 300, "worker_max_cached_workflows": 1000})
    assert set(found) == {"memory_per_cached_plan_kb", "storm", "fleet_50k"}
    assert all(t["met"] is None for t in found.values())
    assert found["memory_per_cached_plan_kb"]["measured"] == 512.0
    # 300 storm plans all fit the worker's cache: a 10,000-plan storm cannot, so no projection.
    assert "fit the worker's cache" in found["storm"]["note"]
    assert found["fleet_50k"]["met_on_this_machine"] is False and found["fleet_50k"]["bound"] == "server"


def test_rounds_take_turns_and_report_the_middle() -> None:
    assert [rounds.turns(r, "a", "b") for r in range(3)] == [("a", "b"), ("b", "a"), ("a", "b")]
    # One disturbed round (0.4) counts as one low round: the median and the spread of the
    # middle half (0.92 to 0.94) stay where the other four put them.
    found = rounds.summary([0.92, 0.95, 0.4, 0.93, 0.94])
    assert found["median"] == 0.93
    assert found["spread"] == pytest.approx(0.02)
    assert found["rounds"] == [0.92, 0.95, 0.4, 0.93, 0.94]
    assert rounds.summary([0.9, 1.0])["spread"] == pytest.approx(0.1)
    assert rounds.ratios([2.0, 3.0], [4.0, 3.0]) == [0.5, 1.0]


def test_replay_is_the_median_of_rounds_beside_the_floor() -> None:
    replay = {
        "total_ms": [900.0, 1500.0, 600.0],
        "floor_total_ms": [450.0, 1200.0, 500.0],
        "events": 2700,
        "warmup_ms": 1.0,
    }
    found = replay_figures(replay, years=3.0)
    assert found["replay_ms_per_plan_year"] == 300.0  # median of 300, 500, 200
    assert found["sdk_floor_ms_per_plan_year"] == pytest.approx(500 / 3, abs=0.1)
    # Each round's own ratio (2.0, 1.25, 1.2), then their median: not the ratio of the medians
    # (900 / 500 = 1.8), which would set one round's plan against another round's floor.
    assert found["replay_ratio_vs_floor"] == 1.25
    assert found["replay_ratio_spread"] == pytest.approx(0.4)
    assert found["replay_repeats"] == 3


def test_the_cost_per_child_is_stated_for_a_council_and_a_country() -> None:
    c = cost_per_child(FIGURES)
    assert c["worker_cpu_ms_per_plan_day"] == pytest.approx(580)
    assert c["worker_cpu_s_per_plan_year"] == pytest.approx(580 * 365 / 1000)
    assert c["worker_cpu_ms_per_plan_day_cached"] == pytest.approx(20)
    assert c["council"]["plans"] == 1_500 and c["country"]["plans"] == 50_000
    assert c["council"]["worker_cpu_s_per_day"] == pytest.approx(1_500 * 0.58)
    assert c["council"]["worker_cpu_core_hours_per_day"] == pytest.approx(1_500 * 0.58 / 3600, abs=0.01)
    assert c["country"]["worker_cpu_core_hours_per_day"] == pytest.approx(50_000 * 0.58 / 3600, abs=0.01)
    assert c["country"]["start_all_worker_cpu_min"] == pytest.approx(50_000 * 0.05 / 60, abs=0.1)
    assert "cost per child" in render(
        {**FIGURES, "duration_s": 1.0, "machine": {}, "cost_per_child": c, "targets": targets(FIGURES)}
    )
