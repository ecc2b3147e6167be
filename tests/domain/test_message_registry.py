"""Each message is declared once (workflows/messages.py) and the workflows register exactly
those: a message cannot be half-added, with a model but no handler, or a handler but no rule."""

from __future__ import annotations

import pytest
from temporalio.workflow import _Definition

from workflows.complaint import ConferenceComplaint
from workflows.complaint_rules import ComplaintEngine
from workflows.engine import PlanEngine
from workflows.messages import COMPLAINT_MESSAGES, PLAN_MESSAGES
from workflows.plan import ChildProtectionPlan

CASES = [(ChildProtectionPlan, PlanEngine, PLAN_MESSAGES), (ConferenceComplaint, ComplaintEngine, COMPLAINT_MESSAGES)]


@pytest.mark.parametrize(("workflow", "engine", "specs"), CASES, ids=["plan", "complaint"])
def test_the_workflow_registers_one_handler_per_declared_message(workflow, engine, specs):
    defn = _Definition.from_class(workflow)
    assert defn is not None
    assert {name for name in defn.updates if name} == {s.name for s in specs if s.kind == "update"}
    assert {name for name in defn.signals if name} == {s.name for s in specs if s.kind == "signal"}
    # Names that are no message reach a handler too (recorded, or refused), never a failed task.
    assert None in defn.signals and None in defn.updates
    for spec in specs:
        assert callable(getattr(engine, spec.name, None)), f"{spec.name} has no rule in {engine.__name__}"
        if spec.kind == "update":
            assert defn.updates[spec.name].validator is not None, f"{spec.name} has no validator"


def test_names_are_unique_and_commands_are_their_dashed_names():
    for specs in (PLAN_MESSAGES, COMPLAINT_MESSAGES):
        names = [s.name for s in specs]
        assert len(names) == len(set(names))
        assert all(s.command == s.name.replace("_", "-") and s.help for s in specs)
