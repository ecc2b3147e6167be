"""The progress bar of the command line (`cpplan import`, and the bench in a checkout): one line
redrawn in place on a terminal, never on stdout, which scripts read."""

from __future__ import annotations

import shutil
import time
from typing import TextIO


class ProgressBar:
    """One redrawn line on `stream` while work runs (only on a terminal, or as `enabled` says):
    the label, a bar and done/total when the total is known, the time taken if asked, a note."""

    WIDTH = 30

    def __init__(
        self, total: int | None, stream: TextIO, enabled: bool | None = None, label: str = "", elapsed: bool = False
    ) -> None:
        self.total = total
        self.stream = stream
        self.enabled = stream.isatty() if enabled is None else enabled
        self.label = label
        self.elapsed = elapsed
        self.done = 0
        self.text = ""
        self.started = time.monotonic()
        self._drawn_at = 0.0
        self._line = ""

    def update(self, done: int | None = None, text: str | None = None, force: bool = False) -> None:
        """Redraw with `done` items finished and `text` after the bar (each kept if not given);
        at most ten times a second unless forced or finished."""
        if done is not None:
            self.done = done
        if text is not None:
            self.text = text
        if not self.enabled:
            return
        now = time.monotonic()
        finished = self.total is not None and self.done >= self.total
        if not force and not finished and now - self._drawn_at < 0.1:
            return
        self._drawn_at = now
        self._line = self._render(now)
        self.stream.write("\r\x1b[K" + self._line)
        self.stream.flush()

    def _render(self, now: float) -> str:
        parts = [self.label] if self.label else []
        if self.total is not None:
            filled = self.WIDTH * min(self.done, self.total) // self.total if self.total else self.WIDTH
            parts.append(f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {self.done}/{self.total}")
        if self.elapsed:
            parts.append(f"{now - self.started:6.1f}s")
        line = " ".join(parts) + (f"  {self.text}" if self.text else "")
        width = shutil.get_terminal_size((120, 20)).columns - 1
        return line[:width]

    def note(self, text: str) -> None:
        """A line of its own (a bad row, say), printed above the bar."""
        if self.enabled and self._line:
            self.stream.write("\r\x1b[K" + text + "\n" + self._line)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def finish(self, text: str | None = None) -> None:
        """Draw the bar complete, with `text`, and leave it on its line."""
        if self.total is not None:
            self.done = self.total
        self.update(text=text, force=True)
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
        self._line = ""

    def close(self) -> None:
        """Clear the bar's line (what follows is printed where it was)."""
        if self.enabled and self._line:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
        self._line = ""
