"""Every message a case workflow accepts (docs/contract.md, "Messages"), composed from the rule
modules that declare them.

Each rule module declares its messages beside their rules: the payload model, then its
`MessageSpec` (`workflows.message_spec`), and a module-level `MESSAGES`. The rule a message feeds
is the engine method of the same name (`PlanEngine.record_visit`, ...). Everything else is
derived from these tables: the workflows' handlers (`workflows.runtime.message_handlers`), the
clients' one projection of them (`starters.cases.messages`: the command line's sub-commands
and options, the HTTP API's routes and the pages' forms, the complaint commands), the bad-input, replay-coverage and documentation tests. A test
compares each table with the handlers its workflow definition registers, so a message cannot be
half-added (docs/adding-a-message.md).
"""

from __future__ import annotations

from workflows import complaint_rules
from workflows.message_spec import MessageSpec
from workflows.plan_rules import (
    completions,
    core_groups,
    deliveries,
    endings,
    incidents,
    meetings,
    people,
    reviews,
    visits,
)

# The plan's subjects in the order the command line lists their messages: every update, then
# every signal (a report), each in its subject's order.
PLAN_RULE_MODULES = (visits, core_groups, meetings, reviews, incidents, people, completions, endings, deliveries)

PLAN_MESSAGES: tuple[MessageSpec, ...] = tuple(
    sorted((spec for module in PLAN_RULE_MODULES for spec in module.MESSAGES), key=lambda spec: spec.kind != "update")
)

COMPLAINT_MESSAGES: tuple[MessageSpec, ...] = complaint_rules.MESSAGES
