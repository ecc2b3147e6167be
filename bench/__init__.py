"""The cpplan benchmark: how the plan workflow behaves at scale (`python -m bench`, or
`cpplan bench` in a checkout). It ships with the repository, not in the product package or the
worker image. The method is at the top of `bench/harness.py`.

- harness.py    servers, the worker process, this process's environment, clocks, progress
- workloads.py  plan documents, many starts timed to their first wait, rounds of wakes
- storm.py      the reminder storm on the dev server's real clock
- year.py       a plan-year on the time-skipping server, and its replay
- floor.py      the SDK's floor the plan-year's replay is judged against
- rounds.py     repeated, interleaved rounds: turns, medians, spreads
- processes.py  the child processes: the bench worker, the replayer
- yardstick.py  BenchTrivial, the one-timer workflow starts are compared with
- report.py     targets, the capacity model, JSON order, the text report
- cli.py        arguments and the run
- runners.py    `python -m bench.runners`: the workflow runners compared, A/B interleaved
- sdk_costs.py  `python -m bench.sdk_costs`: the SDK's per-task costs, reproduced without cpplan
"""
