"""Every message a case workflow accepts, declared once (docs/contract.md, "Messages").

A `MessageSpec` names the message, says whether it is an update (validated, refused with a
reason) or a signal (a report that must never be lost), gives its payload model and who may
decide it. Everything else is derived from these tables: the workflows' handlers
(`workflows.runtime.message_handlers`), the command line's sub-commands and options
(`starters.plans`), the bad-input and replay-coverage tests. A test compares each table with the
handlers its workflow definition registers, so a message cannot be half-added.

The rule a message feeds is the engine method of the same name (`PlanEngine.record_visit`, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from workflows import models as m
from workflows.complaint_rules import CloseComplaint, Dated

Kind = Literal["update", "signal"]
# Who may send it: anyone working on the plan, or only one of the plan's managers (the `by`
# field names them and the engine checks it against the plan's people).
DecidedBy = Literal["practitioner", "manager"]


@dataclass(frozen=True)
class MessageSpec:
    name: str
    kind: Kind
    model: type[BaseModel]
    help: str
    decided_by: DecidedBy = "practitioner"

    @property
    def command(self) -> str:
        """The command line's sub-command and the HTTP API's path segment."""
        return self.name.replace("_", "-")


def _update(name: str, model: type[BaseModel], help: str, decided_by: DecidedBy = "practitioner") -> MessageSpec:
    return MessageSpec(name, "update", model, help, decided_by)


def _signal(name: str, model: type[BaseModel], help: str, decided_by: DecidedBy = "practitioner") -> MessageSpec:
    return MessageSpec(name, "signal", model, help, decided_by)


PLAN_MESSAGES: tuple[MessageSpec, ...] = (
    _update("record_visit", m.RecordVisit, "a visit: the child seen (or not), alone, bedroom seen, where"),
    _update(
        "set_visit_frequency",
        m.SetVisitFrequency,
        "a manager's authorised change of the visit frequency (000 9.4.7)",
        "manager",
    ),
    _update("record_core_group", m.RecordCoreGroup, "a core group meeting held, and the next one's date"),
    _update("record_notes_circulated", m.RecordNotesCirculated, "the core group notes and written agreement sent out"),
    _update("record_signature", m.RecordSignature, "one core group member's signed written agreement returned"),
    _update("schedule_meeting", m.ScheduleMeeting, "a core group or review conference arranged or moved"),
    _update("record_review_conference", m.RecordReviewConference, "a review conference held, and its outcome"),
    _update(
        "authorise_early_review",
        m.AuthoriseEarlyReview,
        "a manager brings the review conference forward (000 9.4.14)",
        "manager",
    ),
    _update("decline_early_review", m.DeclineEarlyReview, "a manager decides against an early review", "manager"),
    _update(
        "change_lead_social_worker",
        m.ChangeLeadSocialWorker,
        "a new lead social worker, or cover while they are away, agreed by a manager",
        "manager",
    ),
    _update(
        "record_completion",
        m.RecordMeeting,
        "a one-off task done: child-in-need meeting, police action, conference administration",
    ),
    _signal("report_incident", m.ReportIncident, "a new incident or change: asks a manager about an early review"),
    _signal("escalate", m.Escalate, "a manager escalates the plan to someone", "manager"),
    _signal("report_missing", m.ReportMissing, "the child is missing"),
    _signal("report_found", m.ReportFound, "the missing child is found"),
    _signal("report_death", m.ReportDeath, "the child has died: the plan ends"),
)

COMPLAINT_MESSAGES: tuple[MessageSpec, ...] = (
    _update("record_response", Dated, "the service manager's response sent to the complainant"),
    _update("close", CloseComplaint, "the complainant is satisfied: the complaint closes"),
    _update("escalate_to_scrutineer", Dated, "the complainant is not satisfied: to the independent scrutineer"),
    _update("record_acknowledgement", Dated, "the scrutineer's written acknowledgement sent"),
    _update("record_consideration", Dated, "the scrutineer has considered the documents"),
    _update("record_written_response", Dated, "the scrutineer's written response sent"),
    _update("request_appeal", Dated, "the complainant appeals: an appeal subcommittee is arranged"),
    _update("record_appeal_meeting", Dated, "the appeal subcommittee met"),
    _update("record_appeal_outcome", Dated, "the appeal outcome sent: the complaint ends"),
)


def by_name(specs: tuple[MessageSpec, ...]) -> dict[str, MessageSpec]:
    return {spec.name: spec for spec in specs}
