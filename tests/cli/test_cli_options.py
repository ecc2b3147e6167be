"""How the command line reads what people type: connection options and --json before or after
the sub-command, explicit --seen/--no-seen, help for every option, refusals in words, and no
traceback when the reader of its output goes away."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from starters import cli
from starters.cli import MESSAGE_COMMANDS, build_parser, main, parse_args
from tests.cli.test_cli_offline import NOWHERE

SCRIPT = str(Path(sys.executable).parent / "cpplan")


@pytest.mark.parametrize(
    "argv",
    [
        ["--address", "h:7", "--namespace", "ns", "status", "p-1"],
        ["status", "p-1", "--address", "h:7", "--namespace", "ns"],
        ["status", "--address", "h:7", "p-1", "--namespace", "ns"],
        ["complaint", "start", "c.json", "--address", "h:7", "--namespace", "ns"],
        ["--address", "h:7", "complaint", "--namespace", "ns", "status", "c-1"],
        ["record-visit", "p-1", "--date", "2026-01-05", "--seen", "--address", "h:7", "--namespace", "ns"],
    ],
)
def test_connection_options_before_or_after_the_command(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", "from-env:1")
    args = parse_args(argv)
    assert (args.address, args.namespace) == ("h:7", "ns")


def test_connection_options_default_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", "from-env:1")
    monkeypatch.delenv("TEMPORAL_NAMESPACE", raising=False)
    args = parse_args(["status", "p-1"])
    assert (args.address, args.namespace, args.json) == ("from-env:1", None, False)
    # A bench only uses a server it is pointed at.
    assert parse_args(["bench"]).address is None


@pytest.mark.parametrize("where", ["before", "after"])
def test_json_before_or_after(where: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["policies"]
    argv = ["--json", *argv] if where == "before" else [*argv, "--json"]
    assert main(argv) == 0
    assert {"london", "darlington"} <= {p["id"] for p in json.loads(capsys.readouterr().out)}


def test_every_command_that_prints_takes_json() -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    for name, sub in commands.items():
        if name in cli._NO_JSON:  # they run until stopped
            continue
        if name == "bench":  # listed for --help only: the bench package's own parser has --json
            continue
        assert any("--json" in a.option_strings for a in sub._actions), name


def test_a_visit_must_say_whether_the_child_was_seen(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["record-visit", "p-1", "--date", "2026-01-05", "--address", NOWHERE])
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert "--seen/--no-seen" in err and len(err.strip().splitlines()) == 1


def test_every_message_option_has_help() -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    for spec in MESSAGE_COMMANDS.values():
        for action in commands[spec.command]._actions:
            if action.option_strings and action.dest != "help":
                assert action.help, f"{spec.command} {action.option_strings}"


def test_record_completion_help_is_whole(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["record-completion", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "police action, conference administration)" in out


def test_dev_help_explains_its_ports(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["dev", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--port PORT port of the Temporal server's frontend" in out
    assert "--ui-port UI_PORT port of the Temporal web UI" in out


def test_a_reference_refused_in_words(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["escalate", "p-1", "--by", "jane@example.org", "--to", "sm-1", "--address", NOWHERE]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.strip() == (
        "cpplan escalate: refused: by: must be an opaque reference: letters, digits and . _ : -, "
        "up to 64 characters, no spaces or @"
    )
    assert "pattern" not in err


def test_an_unknown_policy_and_a_bad_field_are_named_together(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    doc = json.loads((Path(__file__).resolve().parents[2] / "starters" / "demo_plan.json").read_text())
    doc.update(policy="atlantis", category="boredom")
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert main(["start", str(path), "--address", NOWHERE]) == 1
    err = capsys.readouterr().err
    assert "category: Input should be" in err
    assert "policy: unknown profile 'atlantis' (known: " in err and "policy: policy" not in err


def test_no_traceback_when_the_reader_goes_away(tmp_path: Path) -> None:
    """`cpplan ... | head -1`: the reader closes the pipe before the command has written."""
    env = {**os.environ, "CPPLAN_DATABASE_URL": f"sqlite:///{tmp_path / 'cpplan.db'}"}
    for argv in (["policy", "london", "--json"], ["overdue", "--json"]):
        read_end, write_end = os.pipe()
        os.close(read_end)  # nobody will read: the first write fails with EPIPE
        done = subprocess.run([SCRIPT, *argv], stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60, env=env)
        os.close(write_end)
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr
