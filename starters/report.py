"""`cpplan report`: obligations met on time, late and outstanding, per team or per profile, over a
period, from the read model (`obligations` joined to `plans`); as CSV and as a chart (PNG).

An obligation counts in the period when its due date is in it (both ends included):
- `met_on_time`: status `met` (met on or before its due date);
- `met_late`: status `met-late`;
- `overdue`: not met, and its due date is before today;
- `not_yet_due`: not met, due today or later (a period reaching past today has these).
`due` is their sum. The team is the
plan's team manager reference (`plans.team_ref`; `(none)` where a plan has none); the profile is
`plans.policy`.

The figure a council returns in the DfE children-in-need census, plans reviewed within
timescale: of the review conferences due in the period whose limit has passed
(`reviews_limit_passed`: the outcome is known), those held within their statutory timescale
(`reviews_within_timescale`): on or before the due date, or, where the plan's
status records a statutory limit later than the date the review was set for, on or before that
limit (a review held after its arranged date but inside the limit is within timescale for the
census, though `met-late` for the plan). A review whose limit is today or later is left out, held
or not: counting the early ones already held would flatter a period still running.
`reviews_within_timescale_pct` is the percentage, one decimal, empty when no review's limit has
passed.

CSV columns, one row per group and a last row for all of them (group `(all)`):
`from,to,by,group,due,met_on_time,met_late,overdue,not_yet_due,reviews_limit_passed,reviews_within_timescale,reviews_within_timescale_pct`.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import sys
from dataclasses import dataclass, fields
from datetime import date
from pathlib import Path
from typing import Any

from starters import cases, render
from starters.cases import today_in_london
from workflows import models as m

ALL = "(all)"  # references cannot contain parentheses, so no team or profile is named this
NO_TEAM = "(none)"
NOT_MET = ("pending", "overdue", "escalated")
REVIEW = "review-conference"
GROUPINGS = ("team", "policy")

HELP = "obligations met on time, met late, overdue and not yet due per team or profile over a period (CSV, PNG chart)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = HELP + (
        ". Counts obligations due in the period (both dates included); 'reviews within timescale' is the "
        "children-in-need census figure: of the review conferences due in the period whose statutory limit has passed, "
        "those held within their timescale."
    )
    p.add_argument("--from", dest="period_from", required=True, metavar="YYYY-MM-DD", help="first day of the period")
    p.add_argument("--to", dest="period_to", required=True, metavar="YYYY-MM-DD", help="last day of the period")
    p.add_argument(
        "--by",
        choices=GROUPINGS,
        default="team",
        help="one row per team (the plan's team manager) or per policy profile (default: team)",
    )
    p.add_argument(
        "--csv",
        metavar="FILE",
        nargs="?",
        const="-",
        help="write the CSV here (no FILE or '-': to stdout). Without --csv or --png: a table on a terminal, "
        "the CSV when piped",
    )
    p.add_argument("--png", metavar="FILE", help="write a chart: stacked bars per team or profile")


@dataclass
class Line:
    group: str
    met_on_time: int = 0
    met_late: int = 0
    overdue: int = 0
    not_yet_due: int = 0
    reviews_limit_passed: int = 0
    reviews_within_timescale: int = 0

    @property
    def due(self) -> int:
        return self.met_on_time + self.met_late + self.overdue + self.not_yet_due

    @property
    def reviews_within_timescale_pct(self) -> float | None:
        if not self.reviews_limit_passed:
            return None
        return round(100 * self.reviews_within_timescale / self.reviews_limit_passed, 1)

    def add(self, other: Line) -> None:
        for f in fields(self):
            if f.name != "group":
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass
class Report:
    period_from: date
    period_to: date
    by: str
    lines: list[Line]  # one per group, by name
    total: Line

    CSV_HEADER = (
        "from",
        "to",
        "by",
        "group",
        "due",
        "met_on_time",
        "met_late",
        "overdue",
        "not_yet_due",
        "reviews_limit_passed",
        "reviews_within_timescale",
        "reviews_within_timescale_pct",
    )

    def rows(self) -> list[list[Any]]:
        out = []
        for line in [*self.lines, self.total]:
            pct = line.reviews_within_timescale_pct
            out.append(
                [
                    self.period_from.isoformat(),
                    self.period_to.isoformat(),
                    self.by,
                    line.group,
                    line.due,
                    line.met_on_time,
                    line.met_late,
                    line.overdue,
                    line.not_yet_due,
                    line.reviews_limit_passed,
                    line.reviews_within_timescale,
                    "" if pct is None else f"{pct:.1f}",
                ]
            )
        return out

    def csv_text(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(self.CSV_HEADER)
        writer.writerows(self.rows())
        return buffer.getvalue()

    def census_sentence(self) -> str:
        t = self.total
        if not t.reviews_limit_passed:
            return "reviews held within timescale: no review conference due in the period has reached its limit yet"
        return (
            f"reviews held within timescale: {t.reviews_within_timescale} of {t.reviews_limit_passed} "
            f"({t.reviews_within_timescale_pct:.1f}%; only reviews whose limit has passed)"
        )


# ---------------------------------------------------------------------- the figures


def build_report(
    period_from: date, period_to: date, by: str = "team", url: str | None = None, today: date | None = None
) -> Report:
    """Read the figures from the read model (blocking). `today` (London's, by default) decides
    what is overdue and which reviews have reached their limit. Longer than most functions: two
    queries and the arithmetic that joins them, kept together so the census rule reads in one
    place."""
    today = today or today_in_london()
    import sqlalchemy as sa

    from activities.db import get_engine, obligations, plans

    if by not in GROUPINGS:
        raise cases.ClientError(f"--by must be one of {', '.join(GROUPINGS)}")
    if period_to < period_from:
        raise m.Refusal.one("to", f"{period_to} is before --from {period_from}")
    o, p = obligations, plans
    group = (p.c.team_ref if by == "team" else p.c.policy).label("grp")

    def count(condition: Any) -> Any:
        return sa.func.sum(sa.case((condition, 1), else_=0))

    in_period = o.c.due.between(period_from, period_to)
    joined = o.join(p, o.c.plan_id == p.c.plan_id)
    totals = (
        sa.select(
            group,
            count(o.c.status == "met").label("met_on_time"),
            count(o.c.status == "met-late").label("met_late"),
            count(sa.and_(o.c.status.in_(NOT_MET), o.c.due < today)).label("overdue"),
            count(sa.and_(o.c.status.in_(NOT_MET), o.c.due >= today)).label("not_yet_due"),
        )
        .select_from(joined)
        .where(in_period)
        .group_by(group)
    )
    reviews = (
        sa.select(group, o.c.plan_id, o.c.obligation_id, o.c.due, o.c.met_on, p.c.status_json)
        .select_from(joined)
        .where(in_period, o.c.kind == REVIEW)
    )
    lines: dict[str, Line] = {}
    with get_engine(url).connect() as conn:
        for row in conn.execute(totals):
            name = row.grp or NO_TEAM
            lines[name] = Line(
                name,
                int(row.met_on_time or 0),
                int(row.met_late or 0),
                int(row.overdue or 0),
                int(row.not_yet_due or 0),
            )
        limits: dict[str, dict[str, date]] = {}
        for review in conn.execute(reviews):
            name = review.grp or NO_TEAM
            line = lines.setdefault(name, Line(name))
            if review.plan_id not in limits:
                limits[review.plan_id] = _statutory_limits(review.status_json)
            limit = max(review.due, limits[review.plan_id].get(review.obligation_id, review.due))
            if limit >= today:
                continue  # its outcome is not known yet
            line.reviews_limit_passed += 1
            if review.met_on is not None and review.met_on <= limit:
                line.reviews_within_timescale += 1
    ordered = sorted(lines.values(), key=lambda line: line.group)
    total = Line(ALL)
    for line in ordered:
        total.add(line)
    return Report(period_from, period_to, by, ordered, total)


def _statutory_limits(status_json: str | None) -> dict[str, date]:
    """Each obligation's statutory limit, from the plan's saved status (`limit`, where it has one)."""
    try:
        status = json.loads(status_json or "{}")
        return {
            str(ob["id"]): date.fromisoformat(ob["limit"])
            for ob in status.get("obligations") or []
            if isinstance(ob, dict) and ob.get("limit")
        }
    except (ValueError, TypeError, KeyError):
        return {}


# ---------------------------------------------------------------------- output


def text_table(report: Report) -> str:
    rows = [
        [
            line.group,
            line.due,
            line.met_on_time,
            line.met_late,
            line.overdue,
            line.not_yet_due,
            f"{line.reviews_within_timescale}/{line.reviews_limit_passed}" if line.reviews_limit_passed else "-",
            f"{line.reviews_within_timescale_pct:.1f}%" if line.reviews_limit_passed else "-",
        ]
        for line in [*report.lines, report.total]
    ]
    head = f"obligations due {report.period_from} to {report.period_to}, by {report.by}"
    headers = [report.by.upper(), "DUE", "ON TIME", "LATE", "OVERDUE", "NOT YET DUE", "REVIEWS IN TIME*", "%"]
    table = render.table(headers, rows)
    note = "* of the reviews due in the period whose statutory limit has passed"
    return f"{head}\n{table}\n{note}\n{report.census_sentence()}"


# Okabe-Ito: colour-blind safe
COLOURS = {"met_on_time": "#009E73", "met_late": "#E69F00", "overdue": "#D55E00", "not_yet_due": "#BBBBBB"}
LABELS = {"met_on_time": "met on time", "met_late": "met late", "overdue": "overdue", "not_yet_due": "not yet due"}


def write_chart(report: Report, path: Path) -> None:
    """Horizontal stacked bars, one per team or profile: on time, late, outstanding; the share
    of reviews held within timescale written beside each bar."""
    # The Figure API draws with the Agg renderer and no pyplot (no GUI backend, no global state).
    from matplotlib.figure import Figure

    lines = list(reversed(report.lines))  # first group at the top
    fig = Figure(figsize=(10, 2.1 + 0.45 * max(len(lines), 3)), dpi=120)
    ax = fig.subplots()
    title = f"Obligations due {report.period_from} to {report.period_to}, by {report.by}"
    fig.suptitle(title, fontsize=13, fontweight="bold", x=0.02, ha="left")
    sentence = report.census_sentence()
    ax.set_title(sentence[:1].upper() + sentence[1:], fontsize=10, loc="left", color="#333333")
    if not lines:
        ax.text(
            0.5, 0.5, "No obligations due in this period", ha="center", va="center", fontsize=12, transform=ax.transAxes
        )
        ax.set_axis_off()
    else:
        names = [line.group for line in lines]
        widest = max(line.due for line in lines) or 1
        left = [0] * len(lines)
        for key, colour in COLOURS.items():
            values = [getattr(line, key) for line in lines]
            bars = ax.barh(names, values, left=left, color=colour, label=LABELS[key], edgecolor="white", height=0.6)
            for bar, value in zip(bars, values):
                if value and bar.get_width() >= widest * 0.06:
                    ax.text(
                        bar.get_x() + bar.get_width() / 2,
                        bar.get_y() + bar.get_height() / 2,
                        str(value),
                        ha="center",
                        va="center",
                        fontsize=9,
                        color="white",
                        fontweight="bold",
                    )
            left = [a + b for a, b in zip(left, values)]
        for y, line in enumerate(lines):
            note = (
                (
                    f"reviews in time {line.reviews_within_timescale}/{line.reviews_limit_passed} "
                    f"({line.reviews_within_timescale_pct:.1f}%)"
                )
                if line.reviews_limit_passed
                else "no review past its limit"
            )
            ax.text(line.due + widest * 0.01, y, note, va="center", fontsize=8.5, color="#333333")
        ax.set_xlim(0, widest * 1.35)
        ax.set_xlabel("obligations due in the period (reviews in time: of those whose statutory limit has passed)")
        ax.spines[["top", "right"]].set_visible(False)
        # Below the axis: above it, four entries run into the census sentence.
        ax.legend(loc="upper left", frameon=False, fontsize=9, ncols=4, bbox_to_anchor=(0, -0.28))
        ax.grid(axis="x", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")


def _day(option: str, text: str) -> date:
    return m.iso_day(option, text)


async def cmd_report(args: argparse.Namespace) -> None:
    period_from, period_to = _day("from", args.period_from), _day("to", args.period_to)
    report = await asyncio.to_thread(build_report, period_from, period_to, args.by)  # blocking database read
    # Neither --csv nor --png: a table for a person at a terminal, the CSV for a pipe or file.
    piped = not sys.stdout.isatty()
    csv_target = args.csv if args.csv is not None else ("-" if args.png is None and not args.json and piped else None)
    if args.json:  # the JSON is stdout; a CSV only to a file
        if csv_target not in (None, "-"):
            _write(Path(csv_target), report.csv_text())
        print(json.dumps([dict(zip(Report.CSV_HEADER, row)) for row in report.rows()], indent=2))
    elif csv_target == "-":
        sys.stdout.write(report.csv_text())
    else:
        if csv_target is not None:
            _write(Path(csv_target), report.csv_text())
        print(text_table(report))
    if args.png is not None:
        try:
            await asyncio.to_thread(write_chart, report, Path(args.png))
        except OSError as err:
            raise cases.ClientError(f"{args.png}: {err.strerror or err}") from None


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="")
    except OSError as err:
        raise cases.ClientError(f"{path}: {err.strerror or err}") from None
