"""Log configuration for the worker (and any command that wants the same output).

JSON lines in production (`CPPLAN_ENV=production` or `CPPLAN_LOG_FORMAT=json`), readable
console output otherwise (`CPPLAN_LOG_FORMAT=console` forces it). The standard library's
loggers, the Temporal SDK's among them, go through the same renderer, so one process writes one
format. `CPPLAN_LOG_LEVEL` sets the level (default INFO).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import structlog

from activities.mail import redact

_HANDLER_NAME = "cpplan"
_configured = False


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is when a record is emitted, not when configured: test
    harnesses and daemon wrappers replace it after start-up."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def _wants_json() -> bool:
    fmt = os.environ.get("CPPLAN_LOG_FORMAT", "").strip().lower()
    if fmt in ("json", "console"):
        return fmt == "json"
    return os.environ.get("CPPLAN_ENV", "").strip().lower() == "production"


def _redact_addresses(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """A safety net: the code logs ids only, but a library message might quote an address."""
    for name, value in event_dict.items():
        if isinstance(value, str) and "@" in value:
            event_dict[name] = redact(value)
    return event_dict


def configure_logging(force: bool = False) -> None:
    """Idempotent: a second call changes nothing unless `force` (tests that switch format)."""
    global _configured
    if _configured and not force:
        return
    level = logging.getLevelName(os.environ.get("CPPLAN_LOG_LEVEL", "INFO").strip().upper())
    if not isinstance(level, int):
        level = logging.INFO

    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info if _wants_json() else structlog.processors.StackInfoRenderer(),
    ]
    renderer: Any = structlog.processors.JSONRenderer() if _wants_json() else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[structlog.stdlib.filter_by_level, *shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached: tests capture logs after modules have already fetched their loggers.
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, _redact_addresses, renderer],  # type: ignore[list-item]
    )
    handler = _StderrHandler()
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    _configured = True
