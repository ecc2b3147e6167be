"""`cpplan import FILE`: bring an authority's existing caseload in, one plan per row.

FILE is JSON lines (`.jsonl` / `.ndjson`: one `PlanStart` document per line, as for
`cpplan start`) or CSV (`.csv`); `--format` overrides the extension.

CSV: one column per `PlanStart` field (docs/contract.md), header row first. Empty cells are
left out (the field's default applies). People are spread over dotted columns:

    lead_social_worker.id, lead_social_worker.role, lead_social_worker.email
    team_manager.id, ...  service_manager.id, ...  senior_manager.id, ...

and a person's `role` may be left empty: it is then the column's own (`lead-social-worker`,
`team-manager`, `service-manager`, `senior-manager`). The core group is one cell,
`id:role;id:role` with an optional `:email` after each role, e.g.
`hv-1:professional;par-1:parent:par-1@example.org`. A header with an unknown column is refused
before anything is read, naming it.

Each row is checked as `cpplan start` checks a document (`cases.check_start`); `--dry-run` only
checks, without a server. Up to `--concurrency` plans (default 20) are started at once. A bad row is
reported on stderr as `line N: field: reason` (N the file's line number; a CSV record starts on
it) and written to `FILE.errors.jsonl` (one `{"line", "problems", "input"}` per bad row; the file
is removed when a run finds none); the other rows are started. Starts are idempotent
(`cases.start_plan`): a plan already running with the same content is counted as "already
there" and never started twice, so importing the same file again is safe; a row whose plan is
running with other content (the differing fields named) or has ended is a bad row.

Resuming: each row started (or found already there) is appended to `FILE.import-progress` as
`LINE FINGERPRINT` (the fingerprint of the row's content, so an edited row is not skipped). A
run stopped by Ctrl-C or by a server error leaves that file; the next run skips the rows it
lists without asking the server. A run that finishes deletes it. `--restart` ignores it.

Exit status: 0 every row imported (or already there); 2 some rows were bad, every good one
imported; 1 the import stopped (server unreachable or failing, unreadable file): run it again
to resume; 130 interrupted (Ctrl-C): likewise. A progress bar is drawn on stderr when it is a
terminal; the summary (`imported N, already there M, bad K`) goes to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import dataclasses
import hashlib
import io
import json
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO, cast

from temporalio.client import Client

from starters import cases
from starters.progress import ProgressBar
from workflows import models as m
from workflows.policy import PolicyError

EXIT_OK, EXIT_FAILED, EXIT_BAD_ROWS = 0, 1, 2
DEFAULT_CONCURRENCY = 20

# A person column's role when the row leaves it empty: the slot says who they are.
PERSON_SLOTS = {
    "lead_social_worker": "lead-social-worker",
    "team_manager": "team-manager",
    "service_manager": "service-manager",
    "senior_manager": "senior-manager",
}
PERSON_FIELDS = tuple(m.Person.model_fields)
CORE_GROUP = "core_group"
SCALAR_COLUMNS = tuple(f for f in m.PlanStart.model_fields if f not in PERSON_SLOTS and f != CORE_GROUP)
CSV_COLUMNS = (*SCALAR_COLUMNS, *(f"{slot}.{part}" for slot in PERSON_SLOTS for part in PERSON_FIELDS), CORE_GROUP)

HELP = "import a caseload: one plan per row of a JSON lines or CSV file (idempotent, resumable)"
EPILOG = """\
CSV columns are the PlanStart fields; people as lead_social_worker.id / .role / .email (likewise
team_manager, service_manager, senior_manager; an empty role is the column's own); the core group
as one cell "id:role;id:role" (":email" may follow a role). Bad rows are reported as
"line N: field: reason" and written to FILE.errors.jsonl; the others are imported. A plan already
there is never started twice. An interrupted import resumes from FILE.import-progress when run
again (--restart goes through every row). Exit status: 0 all imported; 2 some rows were bad (the
rest imported); 1 the import stopped, 130 interrupted: run the same command again to resume.
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = HELP
    p.epilog = EPILOG
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("file", metavar="FILE", help="the caseload: .jsonl (one PlanStart per line) or .csv")
    p.add_argument("--format", choices=("jsonl", "csv"), help="the file's format (default: from its extension)")
    p.add_argument("--restart", action="store_true", help="ignore FILE.import-progress and go through every row again")
    p.add_argument("--dry-run", action="store_true", help="check every row and report the bad ones; start nothing")
    p.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"plans started at once (default {DEFAULT_CONCURRENCY})",
    )


# ---------------------------------------------------------------------- reading rows


@dataclass
class Row:
    line: int  # the file's line number the row starts on (1-based)
    input: Any  # what was read: the JSON value (or the raw text), or a CSV record's non-empty cells
    doc: dict[str, Any] | None = None
    problems: list[tuple[str, str]] = field(default_factory=list)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.doc if self.doc is not None else self.input)


def fingerprint(doc: Any) -> str:
    """A short hash of a row's content: the progress file skips a line only while it is unchanged."""
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def detect_format(path: Path, given: str | None) -> str:
    if given:
        return given
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    raise cases.ClientError(f"{path}: cannot tell the format from the extension; use --format jsonl or --format csv")


def read_rows(path: Path, fmt: str) -> list[Row]:
    try:
        text = path.read_text(encoding="utf-8-sig")  # a spreadsheet's CSV often starts with a BOM
    except OSError as err:
        raise cases.ClientError(f"{path}: {err.strerror or err}") from None
    except UnicodeDecodeError as err:
        raise cases.ClientError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    return read_jsonl(text) if fmt == "jsonl" else read_csv(text, path)


def read_jsonl(text: str) -> list[Row]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as err:
            rows.append(Row(number, line, problems=[("(line)", f"not valid JSON: {err.msg} at column {err.colno}")]))
            continue
        except RecursionError:
            rows.append(Row(number, line, problems=[("(line)", "not a plan start: its JSON nests too deeply")]))
            continue
        if not isinstance(value, dict):
            rows.append(
                Row(number, value, problems=[("(line)", f"expected a JSON object, got {type(value).__name__}")])
            )
            continue
        rows.append(Row(number, value, doc=value))
    return rows


def read_csv(text: str, path: Path) -> list[Row]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return []
    except csv.Error as err:
        raise cases.ClientError(f"{path}: line 1: {err}") from None
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown or len(set(header)) != len(header):
        reason = f"unknown column(s) {', '.join(repr(h) for h in unknown)}" if unknown else "a column is named twice"
        raise cases.ClientError(f"{path}: line 1: {reason}; the columns are: {', '.join(CSV_COLUMNS)}")
    rows = []
    last_line = reader.line_num
    while True:
        number = last_line + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as err:
            raise cases.ClientError(f"{path}: line {number}: {err}") from None
        last_line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if len(record) > len(header):
            rows.append(Row(number, record, problems=[("(row)", f"{len(record)} cells, the header has {len(header)}")]))
            continue
        cells = {h: c.strip() for h, c in zip(header, record) if c.strip()}
        try:
            rows.append(Row(number, cells, doc=doc_from_cells(cells)))
        except m.Refusal as err:
            rows.append(Row(number, cells, problems=err.problems))
    return rows


# Columns whose cells are whole numbers (the start document takes JSON numbers there).
WHOLE_NUMBER_COLUMNS = ("visit_interval_working_days", "core_group_interval_weeks")


def doc_from_cells(cells: dict[str, str]) -> dict[str, Any]:
    """One CSV record's non-empty cells as a PlanStart document (still to be checked)."""
    doc: dict[str, Any] = {}
    for column, value in cells.items():
        if column == CORE_GROUP:
            doc[CORE_GROUP] = parse_core_group(value)
        elif "." in column:
            slot, part = column.split(".", 1)
            doc.setdefault(slot, {})[part] = value
        elif column in WHOLE_NUMBER_COLUMNS:
            # CSV cells are text; a whole number written as one is read as one, anything else
            # is left as text for the start check to refuse by name.
            doc[column] = int(value) if value.strip().isdigit() else value
        else:
            doc[column] = value
    for slot, role in PERSON_SLOTS.items():
        if isinstance(doc.get(slot), dict):
            doc[slot].setdefault("role", role)
    return doc


def parse_core_group(cell: str) -> list[dict[str, str]]:
    members = []
    for number, item in enumerate((part.strip() for part in cell.split(";")), start=1):
        if not item:
            continue
        parts = [p.strip() for p in item.split(":")]
        if len(parts) > 3 or not parts[0]:
            raise m.Refusal.one(CORE_GROUP, f"member {number} {item!r}: write id:role or id:role:email")
        member = {"id": parts[0]}
        if len(parts) > 1 and parts[1]:
            member["role"] = parts[1]
        if len(parts) > 2 and parts[2]:
            member["email"] = parts[2]
        members.append(member)
    return members


def check(row: Row) -> None:
    """The `cpplan start` check; a problem is recorded on the row, field by field."""
    if row.doc is None or row.problems:
        return
    try:
        cases.check_start(row.doc)
    except (m.Refusal, PolicyError) as err:
        row.problems = row_problems(err) or []


def row_problems(error: Exception) -> list[tuple[str, str]] | None:
    """What is wrong with the row, if `error` is about the row (else None: the server's fault)."""
    if isinstance(error, m.Refusal):
        return list(error.problems)
    if isinstance(error, PolicyError):
        return [("policy", str(error).removeprefix("policy: "))]
    return None


# ---------------------------------------------------------------------- progress


class ProgressFile:
    """`FILE.import-progress`: `LINE FINGERPRINT` per row done, appended as each one finishes."""

    def __init__(self, path: Path):
        self.path = path
        self._out: TextIO | None = None

    def load(self) -> dict[int, str]:
        done: dict[int, str] = {}
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return done
        for line in lines:
            parts = line.split()
            if len(parts) == 2 and parts[0].isdigit():  # a line cut short by a crash is ignored
                done[int(parts[0])] = parts[1]
        return done

    def record(self, row: Row) -> None:
        if self._out is None:
            new = not self.path.exists()
            self._out = _private(self.path, "a")
            if new:
                self._out.write(
                    "# cpplan import: rows done (line fingerprint); delete this file or use --restart to go through every row again\n"
                )
        self._out.write(f"{row.line} {row.fingerprint}\n")
        self._out.flush()

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None

    def remove(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)


# ---------------------------------------------------------------------- the import


@dataclass
class Counts:
    imported: int = 0
    already_there: int = 0
    bad: int = 0
    skipped: int = 0  # done in an earlier, interrupted run

    def as_json(self, dry_run: bool = False) -> str:
        return json.dumps({**dataclasses.asdict(self), "dry_run": dry_run})

    def summary(self, dry_run: bool = False) -> str:
        first = f"would import {self.imported}" if dry_run else f"imported {self.imported}"
        text = f"{first}, already there {self.already_there}, bad {self.bad}"
        if self.skipped:
            text += f", skipped {self.skipped} done in an earlier run"
        return text


def report_bad(row: Row, bar: ProgressBar) -> None:
    for name, reason in row.problems:
        bar.note(f"line {row.line}: {name}: {reason}")


def _private(path: Path, mode: str) -> TextIO:
    """Open a file only this user can read: the rows it copies name children and families."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if mode == "a" else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    os.fchmod(fd, 0o600)  # one left by an earlier run may have been readable by others
    return cast(TextIO, open(fd, mode, encoding="utf-8"))  # the caller closes it


def write_errors(path: Path, bad: list[Row]) -> None:
    if not bad:
        path.unlink(missing_ok=True)
        return
    with _private(path, "w") as out:
        for row in sorted(bad, key=lambda r: r.line):
            out.write(
                json.dumps(
                    {
                        "line": row.line,
                        "problems": [{"field": f, "reason": r} for f, r in row.problems],
                        "input": row.input,
                    },
                    default=str,
                )
                + "\n"
            )


async def import_file(
    path: Path,
    get_client: Callable[[], Awaitable[Client]],
    *,
    fmt: str | None = None,
    restart: bool = False,
    dry_run: bool = False,
    as_json: bool = False,
    concurrency: int = DEFAULT_CONCURRENCY,
    err: TextIO | None = None,
    out: TextIO | None = None,
    show_progress: bool | None = None,
) -> int:
    """Import every row of `path`; returns the exit status (module docstring). The progress bar
    is drawn on `err` when it is a terminal (or as `show_progress` says). Longer than most
    functions: the loop that starts rows, keeps the progress file and counts outcomes shares its
    state in one place."""
    err = err or sys.stderr
    out = out or sys.stdout
    if concurrency < 1:
        raise cases.ClientError("--concurrency must be at least 1")
    rows = read_rows(path, detect_format(path, fmt))
    progress = ProgressFile(path.with_name(path.name + ".import-progress"))
    errors_path = path.with_name(path.name + ".errors.jsonl")
    if restart and not dry_run:
        progress.remove()
    done_before = {} if (restart or dry_run) else progress.load()

    counts = Counts()
    todo: list[Row] = []
    bad: list[Row] = []
    for row in rows:
        if row.doc is not None and done_before.get(row.line) == row.fingerprint:
            counts.skipped += 1
            continue
        todo.append(row)

    bar = ProgressBar(len(todo), err, enabled=show_progress, label="importing")
    finished = 0

    def settle(row: Row, outcome: str) -> None:
        nonlocal finished
        finished += 1
        if outcome == "bad":
            counts.bad += 1
            bad.append(row)
            report_bad(row, bar)
        elif outcome == "imported":
            counts.imported += 1
        else:
            counts.already_there += 1
        bar.update(finished, f"imported {counts.imported}, already there {counts.already_there}, bad {counts.bad}")

    stopped: str | None = None
    try:
        client = await get_client() if todo and not dry_run else None
        waiting = iter(todo)  # shared by the starters: each takes the next row

        async def starter() -> None:
            # Each row is checked as it is taken, so the bar moves and Ctrl-C is honoured from
            # the start; `start_plan` checks it again (cheap next to the round trip).
            nonlocal stopped
            while stopped is None:
                row = next(waiting, None)
                if row is None:
                    return
                check(row)
                if row.problems:
                    settle(row, "bad")
                    continue
                if client is None:  # --dry-run
                    settle(row, "imported")
                    await asyncio.sleep(0)
                    continue
                assert row.doc is not None
                try:
                    _, created = await cases.start_plan(client, row.doc)
                except Exception as failure:
                    problems = row_problems(failure)  # checked already, but a profile may change meanwhile
                    if problems is None:  # the server, not the row: stop here, resume later
                        stopped = stopped or f"line {row.line}: {_one_line(failure)}"
                        return
                    row.problems = problems
                    settle(row, "bad")
                    continue
                progress.record(row)
                settle(row, "imported" if created else "already there")

        await asyncio.gather(*(starter() for _ in range(min(concurrency, len(todo)))))
    except asyncio.CancelledError:  # Ctrl-C
        bar.close()
        print(
            f"cpplan import: interrupted after {finished} of {len(todo)} rows ({counts.summary()}); "
            f"run the same command again to resume",
            file=err,
        )
        raise
    finally:
        bar.close()
        progress.close()
        write_errors(errors_path, bad)  # also when the server cannot be reached at all

    if stopped is not None:
        print(
            f"cpplan import: stopped: {stopped}; {len(todo) - finished} rows not started. "
            f"Run the same command again to resume ({progress.path.name} lists the rows done)",
            file=err,
        )
        print(counts.as_json() if as_json else counts.summary(), file=out)
        return EXIT_FAILED
    if not dry_run:
        progress.remove()  # complete: a later run checks every row with the server again
    if bad:
        print(f"{counts.bad} bad row(s), listed in {errors_path.name}", file=err)
    print(counts.as_json(dry_run) if as_json else counts.summary(dry_run), file=out)
    return EXIT_BAD_ROWS if bad else EXIT_OK


def _one_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return " ".join(text.split())


async def cmd_import(args: argparse.Namespace, get_client: Callable[[], Awaitable[Client]]) -> int:
    return await import_file(
        Path(args.file),
        get_client,
        fmt=args.format,
        restart=args.restart,
        dry_run=args.dry_run,
        concurrency=args.concurrency,
        as_json=args.json,
    )
