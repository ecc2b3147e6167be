"""What the `status` query returns (docs/contract.md, "Query `status`"), as typed models.

`as_json()` gives exactly the contract's JSON: optional fields of an obligation, an escalation
or a history entry are left out when they have no value, while the plan's own `ended_on`,
`end_reason` and `next_due` stay, as null. Times are written as `datetime.isoformat()` writes
them (`+00:00`, not `Z`), as they always were.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    PlainSerializer,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from workflows.obligations import Status

IsoTime = Annotated[datetime, PlainSerializer(lambda at: at.isoformat(), return_type=str)]


class _Json(BaseModel):
    def as_json(self) -> dict[str, Any]:
        """The JSON the `status` query gives for it, field for field."""
        return self.model_dump(mode="json")


class _Sparse(_Json):
    """A model whose fields without a value are left out of its JSON."""

    @model_serializer(mode="wrap")
    def _without_nones(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return {k: v for k, v in handler(self).items() if v is not None}


class ObligationStatus(_Sparse):
    id: str
    kind: str
    due: date
    status: Status
    met_on: date | None = None
    limit: date | None = None
    hold_by: date | None = None  # the working day to hold a limit on a non-working day by
    member_id: str | None = None
    responsible: str | None = None
    description: str
    rule: str


class EscalationView(_Sparse):
    kind: str
    level: int
    to: str
    at: IsoTime
    obligation_id: str | None = None


class HistoryView(_Json):
    """One history entry: its details sit beside `at`, `on` and `event` in the JSON."""

    at: IsoTime
    on: date | None = None
    event: str
    detail: dict[str, Any]

    @model_validator(mode="before")
    @classmethod
    def _gather_detail(cls, data: Any) -> Any:
        """Read from the JSON, where the details sit beside `at`, `on` and `event`."""
        if isinstance(data, dict) and "detail" not in data:
            own = {"at", "on", "event"}
            return {**{k: data[k] for k in own if k in data}, "detail": {k: v for k, v in data.items() if k not in own}}
        return data

    @classmethod
    def of(cls, entry: Any) -> HistoryView:
        """The view of a case's history entry (workflows.case.HistoryEntry)."""
        return cls(at=entry.at, on=entry.on, event=entry.event, detail=entry.detail)

    @model_serializer(mode="wrap")
    def _flat(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        detail = data.pop("detail")
        if data["on"] is None:
            del data["on"]
        return {**data, **detail}


class NextDue(BaseModel):
    id: str
    kind: str
    due: date
    description: str


class CaseStatus(_Json):
    """A case's status. Read back from the query's JSON by clients (`model_validate`), a field a
    newer worker adds is kept as it came (extra allowed), so `as_json()` gives what was sent."""

    model_config = ConfigDict(extra="allow")

    # How many history entries there are in all, and by event: the query gives only the newest
    # (`newest_history`); absent in the engine's own status and left out of the JSON then.
    history_total: int | None = None
    history_counts: dict[str, int] | None = None

    @model_serializer(mode="wrap")
    def _counts_when_known(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        for key in ("history_total", "history_counts"):  # last, where `newest_history` puts them
            value = data.pop(key, None)
            if value is not None:
                data[key] = value
        return data


class PlanStatus(CaseStatus):
    plan_id: str
    child_ref: str
    policy: str
    state: Literal["active", "ended"]
    icpc_date: date
    conference_kind: str
    lead_social_worker: str
    team_manager: str
    # Who may take a manager's decision on this plan (team, service and senior manager): what a
    # manager's report is checked against before it is sent (starters.cases.check_report).
    # None only from a run older than the list (it was added after the first release).
    managers: list[str] | None = None
    # Who holds each capacity a message may need on this plan (workflows/message_spec.py):
    # "practitioner", "manager", "service-manager" -> ids. What the HTTP API and the command line
    # check a sender against before anything is sent. Null for a run without entitled-senders.
    entitled: dict[str, list[str]] | None = None
    visit_interval_working_days: int
    reviews_held: int
    missing: bool
    ended_on: date | None
    end_reason: str | None
    obligations: list[ObligationStatus]
    overdue_count: int
    escalations: list[EscalationView]
    next_due: NextDue | None
    history: list[HistoryView]


class ComplaintStatus(CaseStatus):
    complaint_id: str
    plan_id: str
    policy: str
    complainant_ref: str
    aspect: str
    received_date: date
    service_manager: str
    scrutineer: str
    stage: str
    state: Literal["active", "closed"]
    closed_on: date | None
    close_reason: str | None
    obligations: list[ObligationStatus]
    overdue_count: int
    escalations: list[EscalationView]
    next_due: NextDue | None
    waiting_for: str
    history: list[HistoryView]


# History entries the `status` query gives: the newest, so a plan with hundreds of messages
# answers in kilobytes. `history_total` says how many there are; the read model keeps them all
# (`cpplan history`, GET /api/plans/{id}/history).
HISTORY_IN_STATUS = 100


def newest_history(status: dict[str, Any], keep: int = HISTORY_IN_STATUS) -> dict[str, Any]:
    """The status with only its newest `keep` history entries, oldest of them first, beside
    `history_total` (all entries) and `history_counts` (all entries by event). A new dict: the
    status given is not changed (the workflow's may be shared, workflows/status_json.py)."""
    history = status.get("history")
    if not isinstance(history, list):
        return status
    counts: dict[str, int] = {}
    for entry in history:
        event = str(entry.get("event")) if isinstance(entry, dict) else "?"
        counts[event] = counts.get(event, 0) + 1
    return {
        **status,
        "history": history[-keep:] if keep else [],
        "history_total": len(history),
        "history_counts": dict(sorted(counts.items())),
    }
