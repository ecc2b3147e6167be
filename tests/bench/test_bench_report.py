"""The bench's capacity model: projections computed from a run's figures, labelled as such, and
left out where the run did not measure what they stand on."""

from __future__ import annotations

from typing import Any

import pytest

from bench.report import capacity, render, targets

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
    "phases": {"start_plans": {"worker_cpu_s": 0.5}},
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


def test_the_targets_are_the_second_rounds() -> None:
    found = targets({**FIGURES, "start_ratio_vs_trivial": 0.85, "replay_ms_per_plan_year": 290.0})
    met = {name: t["met"] for name, t in found.items()}
    assert met["start_ratio"] is False  # >= 0.9
    assert met["replay_ms_per_plan_year"] is True  # <= 300 ms
    assert met["miss_wake_ms"] is True  # 30 ms <= 50 ms
    assert met["memory_per_cached_plan_kb"] is False  # 512 KB > 150 KB
    assert found["fleet_50k"]["extrapolated"] is True and found["fleet_50k"]["met"] is False
