"""Who works the plan: a new lead social worker, or cover while they are away (000 9.4.15-16;
002 'Absence of the Lead Social Worker').
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from workflows import models as m
from workflows.calendar import local_date
from workflows.message_spec import update
from workflows.plan_rules.base import PlanRules
from workflows.plan_rules.state import Cover


class ChangeLeadSocialWorker(m.Message):
    person: m.Person
    cover_until: m.MaybeDay = None
    # The manager who agreed it: who the family and the core group write to changes, and with it
    # where every reminder goes (required for plans with the honest-records patch).
    by: m.Ref | None = None


CHANGE_LEAD_SOCIAL_WORKER = update(
    "change_lead_social_worker",
    ChangeLeadSocialWorker,
    "a new lead social worker, or cover while they are away, agreed by a manager",
    decided_by="manager",
)


# This subject's messages; `workflows.messages` composes every subject's into the registry.
MESSAGES = (CHANGE_LEAD_SOCIAL_WORKER,)


class PeopleRules(PlanRules):
    """change_lead_social_worker."""

    def change_lead_social_worker(self, raw: Any, now: datetime, apply: bool = True) -> dict[str, Any]:
        msg: ChangeLeadSocialWorker = self._parse(ChangeLeadSocialWorker, raw)
        today = local_date(now)
        self._check_active()
        if self.patches.honest_records:
            if not msg.person.email:
                raise m.Refusal.one("person.email", "required: the lead social worker is sent every reminder")
            if msg.by is None:
                raise m.Refusal.one(
                    "by", "required: a change of lead social worker is agreed by one of the plan's managers"
                )
            self._check_manager("by", msg.by)
        if self.patches.entitled_senders:
            self._check_new_lead(msg.person)
        if msg.cover_until is not None and msg.cover_until < today:
            raise m.Refusal.one("cover_until", f"{msg.cover_until} is in the past")
        if not apply:
            return {}
        person = msg.person.model_copy(update={"role": "lead-social-worker"})
        if msg.cover_until is None:
            self.state.start = self.state.start.model_copy(update={"lead_social_worker": person})
            self.state.cover = None
            words = f"{person.id} is now the lead social worker"
        else:
            self.state.cover = Cover(person=person, until=msg.cover_until)
            words = f"{person.id} covers as lead social worker until {msg.cover_until}"
        n = self._next_number("letter")
        # 000 9.4.15-16; 002 'Absence of the Lead Social Worker': family and core group told who covers.
        self._letters(
            now, f"letter-{n}", "lead social worker " + ("changed" if msg.cover_until is None else "cover"), words + "."
        )
        self._log(
            now,
            today,
            "lead-social-worker-changed",
            person=person.id,
            cover_until=msg.cover_until.isoformat() if msg.cover_until else None,
            by=msg.by,
        )
        return {"lead_social_worker": person.id}

    def _check_new_lead(self, person: m.Person) -> None:
        """The lead social worker is a member of staff, reachable by e-mail, and not also one of
        the plan's managers (one person, one staff role)."""
        self._check_staff("person.id", person.id, "the lead social worker")
        if person.role in (*m.FAMILY_ROLES, "partnership"):
            raise m.Refusal.one("person.role", f"must be a member of staff, not {person.role!r}")
        if self._is_manager(person.id):
            raise m.Refusal.one("person.id", "is one of this plan's managers: one person, one staff role")
        if person.email and (problem := m.email_problem(person.email)):
            raise m.Refusal.one("person.email", problem)
