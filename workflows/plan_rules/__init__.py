"""The plan's rules by subject, composed into `workflows.engine.PlanEngine`.

`base.PlanRules` answers the case kernel's questions for a plan (`workflows.case`) and holds the
helpers every rule uses; each other module adds the messages of one subject as a mixin over it.
Pure and deterministic like the kernel: no clock of their own, no I/O.
"""
