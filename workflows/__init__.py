"""cpplan workflows: one durable workflow per child protection plan (docs/contract.md)."""

import os

WORKFLOW_TYPE = "ChildProtectionPlan"
DEFAULT_TASK_QUEUE = "child-protection-plans"


def task_queue() -> str:
    return os.environ.get("CPPLAN_TASK_QUEUE", DEFAULT_TASK_QUEUE)


def workflow_id(plan_id: str) -> str:
    return f"cp-plan-{plan_id}"
