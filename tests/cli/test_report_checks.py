"""What the command line and the API check of a report against the plan's status before sending
it, and what they send: a plan whose run predates `entitled-senders` is sent no `by`."""

from __future__ import annotations

import pytest

from starters import cases
from tests.helpers.engine_plans import at, new_plan
from workflows import models as m
from workflows.plan_rules.state import Patches
from workflows.status import PlanStatus


def status_of(entitled: bool) -> PlanStatus:
    plan = new_plan("london", cases.today_in_london().isoformat(), now=at(cases.today_in_london().isoformat(), 9))
    plan.patches = Patches(entitled_senders=entitled)
    return plan.status(at(cases.today_in_london().isoformat(), 10))


def test_a_report_names_who_sent_it_when_the_plan_reads_it() -> None:
    today = cases.today_in_london().isoformat()
    status = status_of(entitled=True)
    assert cases.check_report("report_death", {"date": today, "by": "hv-1"}, status)["by"] == "hv-1"
    for by in ("par-1", "sm-other"):
        with pytest.raises(m.NotEntitled, match="is not this plan's lead social worker"):
            cases.check_report("report_death", {"date": today, "by": by}, status)
    # Without `by`: the case system's record.
    assert cases.check_report("report_missing", {"date": today}, status) == {"date": today}


def test_a_plan_started_before_reports_named_their_sender_is_sent_none() -> None:
    today = cases.today_in_london().isoformat()
    status = status_of(entitled=False)
    assert status.entitled is None
    assert cases.check_report("report_death", {"date": today, "by": "sw-1"}, status) == {"date": today}
    # Still checked against the people the status names (its lead social worker and managers).
    with pytest.raises(m.NotEntitled):
        cases.check_report("report_death", {"date": today, "by": "sm-other"}, status)
    # A manager's report keeps its `by`: those plans always read it.
    sent = cases.check_report("escalate", {"by": "tm-1", "to": "sm-1"}, status)
    assert sent["by"] == "tm-1"
