"""The one client of cpplan's workflows: used by the command line, the HTTP API and pages, and
the complaint commands alike (and by anything else that talks to plans: a case system's adapter,
tests).

- `messages`: the messages a client may send, projected once from the registry;
- `errors`: typed failures, each with a reason code the command line maps to an exit status and
  the API to an HTTP status (never by reading the words);
- `start`, `reports`, `entitlement`: input checked here first with the workflow's own models and
  rules, so a bad start is refused before anything is sent and a signal (which the workflow
  cannot refuse) is not sent malformed or by someone not entitled to it;
- `send`: one send path, with request ids that make a repeat one record;
- `status`: reading a plan.
"""

from starters.cases.entitlement import (
    CAPACITY,
    CONDITIONAL_MANAGER,
    check_entitled,
    conditional_manager,
    entitled_ids,
    reports_take_by,
)
from starters.cases.errors import (
    REASONS,
    Busy,
    ClientError,
    NoAnswer,
    NotEntitledRefused,
    Reason,
    Refused,
    UnknownPlan,
    reason_of,
)
from starters.cases.messages import COMPLAINTS, PLANS, CaseKind, ClientMessage, check_message
from starters.cases.reports import (
    check_delivery_key,
    check_escalation_to,
    check_report,
    check_report_date,
    today_in_london,
)
from starters.cases.send import (
    BUSY_FIRST_PAUSE_S,
    BUSY_LONGEST_PAUSE_S,
    DEFAULT_TIMEOUT,
    SEND_AGAIN,
    UPDATES_AT_ONCE_PER_PLAN,
    no_answer_text,
    payload_digest,
    request_id,
    send_signal,
    send_update,
)
from starters.cases.start import (
    StartConflict,
    check_complaint_start,
    check_start,
    differing_fields,
    start_complaint,
    start_context,
    start_digest,
    start_plan,
)
from starters.cases.status import (
    QUERY_TIMEOUT,
    PlanReading,
    plan_status,
    query_complaint_status,
    query_status,
    read_status,
)

__all__ = [
    "BUSY_FIRST_PAUSE_S",
    "BUSY_LONGEST_PAUSE_S",
    "CAPACITY",
    "COMPLAINTS",
    "CONDITIONAL_MANAGER",
    "DEFAULT_TIMEOUT",
    "PLANS",
    "QUERY_TIMEOUT",
    "REASONS",
    "SEND_AGAIN",
    "UPDATES_AT_ONCE_PER_PLAN",
    "Busy",
    "CaseKind",
    "ClientError",
    "ClientMessage",
    "NoAnswer",
    "NotEntitledRefused",
    "Reason",
    "Refused",
    "StartConflict",
    "UnknownPlan",
    "check_complaint_start",
    "check_delivery_key",
    "check_entitled",
    "check_escalation_to",
    "check_message",
    "check_report",
    "check_report_date",
    "check_start",
    "conditional_manager",
    "differing_fields",
    "entitled_ids",
    "no_answer_text",
    "payload_digest",
    "PlanReading",
    "plan_status",
    "query_complaint_status",
    "read_status",
    "query_status",
    "reason_of",
    "reports_take_by",
    "request_id",
    "send_signal",
    "send_update",
    "start_context",
    "start_complaint",
    "start_digest",
    "start_plan",
    "today_in_london",
]
