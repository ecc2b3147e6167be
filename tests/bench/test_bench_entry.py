"""How the bench is reached: `python -m bench` from a checkout, `cpplan bench` handing its
arguments over, and `cpplan bench` saying plainly where the bench package is absent (the worker
image does not ship it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from starters import cli

CHECKOUT = Path(__file__).resolve().parents[2]


def test_python_m_bench_from_the_checkout_lists_the_new_options() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--help"], capture_output=True, text=True, cwd=CHECKOUT, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    for option in ("--running-plans", "--caseload", "--wake-plans", "--storm-plans", "--repeats", "--json"):
        assert option in done.stdout


def test_cpplan_bench_hands_its_arguments_to_the_bench(monkeypatch: pytest.MonkeyPatch) -> None:
    import bench.cli

    seen: list[tuple[list[str], str]] = []
    monkeypatch.setattr(bench.cli, "main", lambda argv, prog: seen.append((argv, prog)) or 7)
    assert cli.main(["bench", "--plans", "3", "--json"]) == 7
    assert seen == [(["--plans", "3", "--json"], "cpplan bench")]


def test_cpplan_bench_without_the_bench_package_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "bench", None)  # as in the worker image: no bench package
    monkeypatch.delitem(sys.modules, "bench.cli", raising=False)
    assert cli.main(["bench", "--plans", "3"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("cpplan bench: the benchmark is not installed here")
    assert "worker image" in err and "python -m bench" in err


def test_cpplan_help_still_lists_bench(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert "bench" in capsys.readouterr().out
