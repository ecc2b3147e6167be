"""A plan's status as JSON, kept cheap for the workflow's every task.

The workflow computes its status in nearly every workflow task, to keep the read model in step
(`ChildProtectionPlan._publish`), and a replayed plan-year does so about 120 times over a
history that only grows. Most of that status is the same as last time: history entries never
change once written, and an obligation's view changes only with the obligation or the day. This
keeps each one's JSON from the last call while what it is made of is unchanged, so a task builds
only what is new. What comes out is exactly `PlanEngine.status(now).as_json()`
(tests/domain/test_status_json.py holds it to that); the JSON is shared between calls, so it is
read, never changed.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from workflows.case import HistoryEntry

Json = dict[str, Any]


class StatusJsonCache:
    def __init__(self) -> None:
        self._views: dict[Hashable, Json] = {}
        self._history: list[tuple[HistoryEntry, Json]] = []

    def view(self, key: Hashable, make: Callable[[], Json], live: int) -> Json:
        """The JSON `make()` gives for `key`, made once. `live`: how many keys are in use now,
        so that keys of views no longer shown (a day gone by) are let go."""
        found = self._views.get(key)
        if found is None:
            if len(self._views) > 2 * live + 64:
                self._views.clear()
            found = self._views[key] = make()
        return found

    def history(self, entries: list[HistoryEntry], make: Callable[[HistoryEntry], Json]) -> list[Json]:
        """Each entry's JSON, in order: those already made are the same objects as before (an
        entry is never changed once written), the rest are made now."""
        kept = self._history
        same = 0
        for entry, (known, _) in zip(entries, kept, strict=False):
            if entry is not known:
                break
            same += 1
        del kept[same:]
        kept.extend((entry, make(entry)) for entry in entries[same:])
        return [json for _, json in kept]
