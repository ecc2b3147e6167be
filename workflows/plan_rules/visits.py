"""Statutory visits: the child seen (alone, their bedroom), no access, and the visit
frequency a manager sets (000 9.4.6-7; 002 'Lead Social Worker Role').
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field

from workflows import models as m
from workflows.calendar import local_date
from workflows.message_spec import update
from workflows.plan_rules.base import PlanRules
from workflows.policy import Period


class RecordVisit(m.Message):
    date: m.Day
    seen: m.Flag
    seen_alone: m.Flag = False
    bedroom_seen: m.Flag = False
    location: Literal["home", "parent-home", "other"] = "home"
    parents_refused_seen_alone: m.Flag = False
    by: m.Ref | None = None
    # A second visit on a day that already has one is recorded only when asked for: the same
    # visit typed on the command line and again on a page is otherwise two (their request ids
    # differ), and both would count.
    again: m.Flag = False


RECORD_VISIT = update("record_visit", RecordVisit, "a visit: the child seen (or not), alone, bedroom seen, where")


class SetVisitFrequency(m.Message):
    interval_working_days: m.Count = Field(ge=1, le=60)
    by: m.Ref
    reason_ref: m.Ref | None = None


SET_VISIT_FREQUENCY = update(
    "set_visit_frequency",
    SetVisitFrequency,
    "a manager's authorised change of the visit frequency (000 9.4.7)",
    decided_by="manager",
)


# This subject's messages; `workflows.messages` composes every subject's into the registry.
MESSAGES = (RECORD_VISIT, SET_VISIT_FREQUENCY)


class VisitRules(PlanRules):
    """record_visit and set_visit_frequency."""

    def record_visit(self, raw: Any, now: datetime, apply: bool = True) -> dict[str, Any]:
        msg: RecordVisit = self._parse(RecordVisit, raw)
        self._check_visit(msg, local_date(now))
        if not apply:
            # The validator's check only (validators do not run on replay, and the handler does
            # the same as before), so plans with two visits on one day replay as they ran.
            self._check_not_recorded(msg)
            return {}
        statutory = msg.seen and msg.location in self.profile.visit.statutory_locations
        if self.patches.procedures_3:
            by_someone_else = not self._counts(self.profile.visit.met_by.who, msg.by, msg.date)
        else:
            by_someone_else = self.patches.procedures and not self._visits_for_lead_social_worker(msg.by, msg.date)
        if statutory and by_someone_else:
            # 002 'Lead Social Worker Role': seen at least every 10 working days *by the Lead Social
            # Worker*; a sighting by a health visitor or anyone else is recorded, not a statutory visit.
            statutory = False
            self._log(
                now,
                msg.date,
                "visit-not-statutory",
                by=msg.by,
                note=f"not the lead social worker or their cover ({self.profile.visit.source})"
                if not self.patches.procedures_3
                else f"not whose visit counts ({self.profile.visit.met_by.source})",
            )
        self.state.last_visit_on = msg.date
        self._log(
            now,
            msg.date,
            "visit",
            seen=msg.seen,
            seen_alone=msg.seen_alone,
            bedroom_seen=msg.bedroom_seen,
            location=msg.location,
            statutory=statutory,
            by=msg.by,
        )
        if statutory:
            self.state.consecutive_no_access = 0
            self._meet_and_renew(
                "visit",
                msg.date,
                Period(working_days=self.state.visit_interval_working_days),
                self.profile.visit.source,
            )
        if msg.seen and msg.seen_alone and self.profile.seen_alone:
            alone = self.profile.seen_alone
            if self._counted(now, msg, "seen-alone", alone.met_by.who, alone.met_by.source):
                self._meet_and_renew("seen-alone", msg.date, self._seen_alone_interval(), alone.source)
        if msg.seen and msg.bedroom_seen and self.profile.bedroom_seen:
            rule = self.profile.bedroom_seen
            if self._counted(now, msg, "bedroom-seen", rule.met_by.who, rule.met_by.source):
                self._meet_and_renew("bedroom-seen", msg.date, rule.interval, rule.source)
        if msg.parents_refused_seen_alone:
            # 000 9.4.6: if parents refuse the child being seen alone, the manager must be informed.
            self._alert(
                now,
                "parents-refused-seen-alone",
                [self._team_manager()],
                "parents refused the child being seen alone",
                f"On {msg.date} the parents refused the child being seen alone (000 9.4.6).",
            )
        if not msg.seen:
            self.state.consecutive_no_access += 1
            self._no_access(now, msg.date)
        return {"statutory": statutory, "next_due": self._due_of("visit")}

    def _check_visit(self, msg: RecordVisit, today: date) -> None:
        self._check_active()
        self._check_past("date", msg.date, today, self.state.start.icpc_date)
        if self.state.last_visit_on and msg.date < self.state.last_visit_on:
            raise m.Refusal.one(
                "date",
                f"{msg.date} is before the last recorded visit ({self.state.last_visit_on}); record visits in order",
            )
        if not msg.seen and (msg.seen_alone or msg.bedroom_seen):
            raise m.Refusal.one("seen", "a visit where the child was not seen cannot have seen_alone or bedroom_seen")
        if self.patches.procedures and msg.by is not None and self._person(msg.by) is None:
            raise m.Refusal.one("by", f"{msg.by!r} is not one of this plan's people")
        if msg.by is not None:
            # A visit is made by a member of staff: a parent cannot meet the statutory visit.
            self._check_staff("by", msg.by, "whoever makes the visit")

    def _seen_alone_interval(self) -> Period:
        """000 9.4.6: every six weeks "or at intervals specified by the child protection conference
        plan": the interval a conference set, else the profile's."""
        weeks = self.state.seen_alone_interval_weeks if self.patches.procedures_3 else None
        assert self.profile.seen_alone is not None
        return Period(weeks=weeks) if weeks else self.profile.seen_alone.interval

    def _counted(self, now: datetime, msg: RecordVisit, kind: str, who: str, source: str) -> bool:
        """Whether this visit's sighting meets the clock of `kind`: only where the profile's
        `met_by` names whoever made it (procedures-3). One that does not is recorded, not counted."""
        if not self.patches.procedures_3 or self._counts(who, msg.by, msg.date):
            return True
        self._log(now, msg.date, f"{kind}-not-counted", by=msg.by, note=f"not whose act meets it ({source})")
        return False

    def _counts(self, who: str, by: str | None, on: date) -> bool:
        """Whether an act by `by` is one the profile's `met_by.who` counts. An act recorded without
        `by` is the lead social worker's."""
        if by is None or who == "plan-people":
            return True
        lead = by in (self.state.start.lead_social_worker.id, self.lead_social_worker(on).id)
        if who == "core-group":
            return lead or any(p.id == by for p in self.state.start.core_group)
        return lead

    def _check_not_recorded(self, msg: RecordVisit) -> None:
        """A visit on a day that already has one is refused unless `again` says it is another."""
        if msg.again or self.state.last_visit_on != msg.date:
            return
        by = next(
            (h.detail.get("by") for h in reversed(self.state.history) if h.event == "visit" and h.on == msg.date),
            None,
        )
        # One recorded without a name is counted as the lead social worker's (see below).
        who = (
            f"by {by}"
            if by
            else f"(no name given: counted as the lead social worker's, {self.lead_social_worker(msg.date).id})"
        )
        day = f"{msg.date.day} {msg.date:%B %Y}"
        raise m.Refusal.one(
            "again",
            f"a visit on {day} is already recorded {who}: to record another visit that day, send it again with "
            "again true (--again)",
        )

    def _visits_for_lead_social_worker(self, by: str | None, on: date) -> bool:
        """Whether a visit by `by` counts as the lead social worker's, where the profile says only
        theirs does. A visit recorded without `by` is the lead social worker's."""
        if not self.profile.visit.by_lead_social_worker_only or by is None:
            return True
        return by in (self.state.start.lead_social_worker.id, self.lead_social_worker(on).id)

    def _no_access(self, now: datetime, on: date) -> None:
        rule = self.profile.no_access
        if self.state.consecutive_no_access < rule.consecutive_visits:
            return
        self.state.consecutive_no_access = 0
        ob = self._open("police-action", rule.police_action_within.after(on, self.cal), on, rule.source)
        people = [self._team_manager(), *[p for p in self.state.start.core_group if p.id != self._team_manager().id]]
        if self.patches.honest_records:
            # Action agreed with the police is for the professionals, not the family.
            people = [p for p in people if p.role not in m.FAMILY_ROLES]
        self._alert(
            now,
            "no-access",
            people,
            f"no access to the child on {rule.consecutive_visits} consecutive visits",
            f"The child was not seen on {rule.consecutive_visits} consecutive visits (last {on}). "
            f"Action must be agreed with the police: {ob.describe()}. ({rule.source})",
            obligation_id=ob.id,
        )

    def _meet_and_renew(self, kind: str, on: date, every: Period | None, source: str) -> None:
        """Meet the open clock of `kind` and start the next one from what actually happened."""
        ob = self._find_open(kind)
        if ob:
            ob.met_on = on
        if every is not None:
            self._open(kind, every.after(on, self.cal), on, source)

    def set_visit_frequency(self, raw: Any, now: datetime, apply: bool = True) -> dict[str, Any]:
        msg: SetVisitFrequency = self._parse(SetVisitFrequency, raw)
        self._check_active()
        # 000 9.4.7: a less frequent contact level must be authorised by the LA manager.
        self._check_manager("by", msg.by)
        if not apply:
            return {}
        self.state.visit_interval_working_days = msg.interval_working_days
        base = self.state.last_visit_on or self.state.start.icpc_date
        ob = self._find_open("visit")
        if ob:
            ob.reschedule(self.cal.add_working_days(base, msg.interval_working_days))
        self._log(
            now,
            local_date(now),
            "visit-frequency-set",
            interval_working_days=msg.interval_working_days,
            by=msg.by,
            reason_ref=msg.reason_ref,
        )
        return {"next_due": self._due_of("visit")}
