"""The organisation's staff directory: who may be escalated to from outside a plan.

`CPPLAN_STAFF_FILE` names a text file, one member of staff a line, `STAFF_ID ROLE` (a space or
a comma between them; `#` starts a comment), the roles those of the sign-in
(`worker.identity.ROLES`). An escalation (`escalate`) goes to one of the plan's managers
or to a manager listed here (team-manager, service-manager or head-of-service); without the
file, to one of the plan's managers only. The HTTP API and the command line read it before an
escalation is sent (the workflow cannot: it reads nothing outside its history); it is read
afresh each time, so an edit counts at once.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

STAFF_FILE_ENV = "CPPLAN_STAFF_FILE"
MANAGER_ROLES = frozenset({"team-manager", "service-manager", "head-of-service"})
_LINE = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._:-]{0,63})\s*[,\s]\s*([a-z-]+)\s*$")


class StaffFileError(Exception):
    """The directory cannot be read; says which line, never its content."""


def directory(path: str | None = None) -> dict[str, str]:
    """Staff id -> role; empty without `CPPLAN_STAFF_FILE`."""
    name = path or os.environ.get(STAFF_FILE_ENV)
    if not name:
        return {}
    try:
        text = Path(name).read_text(encoding="utf-8")
    except OSError as err:
        raise StaffFileError(f"{STAFF_FILE_ENV}: {err.strerror or err}") from None
    staff: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0]
        if not line.strip():
            continue
        found = _LINE.match(line)
        if not found:
            raise StaffFileError(f"{STAFF_FILE_ENV}: line {n} is not `STAFF_ID ROLE`")
        staff[found.group(1)] = found.group(2)
    return staff


def is_manager(staff_id: str) -> bool:
    return directory().get(staff_id) in MANAGER_ROLES
