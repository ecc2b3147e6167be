"""Which workflow runner the worker uses (`CPPLAN_WORKFLOW_RUNNER`), and the full sandbox that every
test and replay runs under whatever production uses.

- `sandboxed`: Temporal's sandbox, the plan's pure domain modules passed through. Every workflow
  run re-imports the workflow modules, and every payload the workflow converts (arguments,
  results, summaries) is converted by a call into the sandbox (docs/sdk-costs.md).
- `passthrough`: the sandbox with every module passed through: modules are imported once per
  process, but the per-payload calls into the sandbox remain, and so does most of its cost. It
  no longer refuses a passed-through module's own calls that break determinism (a workflow
  module's `datetime.now()` runs: tried on temporalio 1.35), so it protects little more than no
  sandbox at all.
- `unsandboxed` (the default): no sandbox. Nothing refuses non-deterministic code at run time; the
  guard is that every workflow test and replay test runs in the full sandbox (tests/conftest.py
  sets `sandboxed`), so such code fails there before it ships.
"""

from __future__ import annotations

import os

from temporalio.worker import UnsandboxedWorkflowRunner, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

RUNNER_SETTING = "CPPLAN_WORKFLOW_RUNNER"
RUNNERS = ("sandboxed", "passthrough", "unsandboxed")
# Chosen by measurement (README, "The workflow runner"): a plan woken from outside the cache
# costs the worker about half the CPU of the full sandbox, and a cached plan about three
# quarters of the memory.
DEFAULT_RUNNER = "unsandboxed"

PASSTHROUGH_MODULES = (
    "workflows.models",
    "workflows.message_spec",
    "workflows.messages",
    "workflows.engine",
    "workflows.case",
    "workflows.status",
    "workflows.plan_rules",
    "workflows.obligations",
    "workflows.policy",
    "workflows.calendar",
    "workflows.activity_io",
    "workflows.search_attributes",
    "workflows.complaint_rules",
    "workflows.unreadable",
    "workflows.given_context",
    "pydantic",
    "pydantic_core",
    "annotated_types",
    # E-mail addresses checked by syntax only (workflows.models.email_problem): no DNS, no I/O.
    "email_validator",
    "idna",
)


class RunnerSettingError(ValueError):
    pass


def sandbox_runner() -> SandboxedWorkflowRunner:
    """The full workflow sandbox, with the plan's pure domain modules passed through: they are
    deterministic, and one copy of each keeps pydantic's model classes identical inside and
    outside the sandbox. Tests and the Replayer use this one."""
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)
    )


def runner_name() -> str:
    name = (os.environ.get(RUNNER_SETTING) or DEFAULT_RUNNER).strip().lower()
    if name not in RUNNERS:
        raise RunnerSettingError(f"{RUNNER_SETTING}={name!r}: expected one of {', '.join(RUNNERS)}")
    return name


def workflow_runner(name: str | None = None) -> WorkflowRunner:
    """The runner named `name` (default: the setting)."""
    name = name or runner_name()
    if name == "unsandboxed":
        return UnsandboxedWorkflowRunner()
    if name == "passthrough":
        return SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_all_modules())
    return sandbox_runner()
