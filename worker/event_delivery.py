"""The delivery loop: posts each pending event to its endpoint, signed as Standard Webhooks, until
the endpoint answers 2xx (README, "Events out").

Runs in every worker process beside the worker (worker/main.py). Every delivery is a row
(activities/event_outbox.py): a loop claims one for a lease before posting it, so two workers do
not post it at once, and a worker that dies mid-post leaves the claim to lapse and the event to be
posted again, with the same `webhook-id`: at least once, never lost. A failed attempt (no answer,
refused, anything but 2xx) is tried again later, waiting twice as long each time up to a ceiling;
a delivery still failing after `CPPLAN_WEBHOOK_GIVE_UP` hours is `failed`, reported by
`cpplan doctor` and sent again by `cpplan events redeliver`.
"""

from __future__ import annotations

import asyncio
import os
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp
import structlog
from sqlalchemy.engine import Engine
from standardwebhooks import Webhook

from activities import event_outbox
from activities.db import get_engine
from activities.event_facts import CONTENT_TYPE
from activities.webhook_endpoints import Endpoint, endpoints

log = structlog.get_logger("cpplan.events")

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_POLL_S = 2.0
DEFAULT_GIVE_UP_HOURS = 24.0
BATCH = 100  # deliveries read at once; a full batch delivered, the next round starts at once


def _setting(name: str, default: float, unit: str) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of {unit}, not {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be above 0, not {raw!r}")
    return value


@dataclass(frozen=True)
class Retry:
    """When a failed delivery is tried again: `first` after the first failure, doubling to at
    most `longest`, a fifth either way so that many events do not retry in step; given up when
    still failing `give_up_after` its first failure."""

    first: timedelta = timedelta(seconds=10)
    longest: timedelta = timedelta(minutes=10)
    give_up_after: timedelta = timedelta(hours=DEFAULT_GIVE_UP_HOURS)

    def wait(self, failures: int) -> timedelta:
        base = min(self.first * (2 ** max(failures - 1, 0)), self.longest)
        return base * random.uniform(0.8, 1.2)

    @classmethod
    def from_environment(cls) -> Retry:
        return cls(give_up_after=timedelta(hours=_setting("CPPLAN_WEBHOOK_GIVE_UP", DEFAULT_GIVE_UP_HOURS, "hours")))


def signed_headers(endpoint: Endpoint, event_id: str, body: bytes, now: datetime) -> dict[str, str]:
    """The Standard Webhooks headers, signed with the endpoint's own secret."""
    return {
        "content-type": CONTENT_TYPE,
        "webhook-id": event_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(endpoint.secret).sign(event_id, now, body),
        "user-agent": "cpplan-events",
    }


def _reason(err: BaseException, timeout: float) -> str:
    """Why a post failed, in a line that never holds the URL (it may carry a token)."""
    if isinstance(err, asyncio.TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(err, aiohttp.ClientConnectorError):
        code = err.os_error.errno
        return f"cannot connect: {os.strerror(code) if code else type(err.os_error).__name__}"
    return type(err).__name__


class EventDelivery:
    """Delivers pending events to the configured endpoints (`endpoints()` unless given)."""

    def __init__(
        self,
        targets: list[Endpoint] | None = None,
        *,
        url: str | None = None,
        retry: Retry | None = None,
        timeout: float | None = None,
        poll: float | None = None,
    ):
        self.targets = {e.name: e for e in (endpoints() if targets is None else targets)}
        self.url = url
        self.retry = retry or Retry.from_environment()
        self.timeout = timeout or _setting("CPPLAN_WEBHOOK_TIMEOUT", DEFAULT_TIMEOUT_S, "seconds")
        self.poll = poll or _setting("CPPLAN_WEBHOOK_POLL", DEFAULT_POLL_S, "seconds")
        # Longer than one post can take: a claim left by a loop that died holds its event back
        # for this long, then another loop posts it again.
        self.lease = timedelta(seconds=2 * self.timeout + 5)

    def _engine(self) -> Engine:
        return get_engine(self.url)

    async def deliver_due(self, session: aiohttp.ClientSession) -> int:
        """One round: every delivery due now; returns how many were delivered. After a failure
        an endpoint is left for this round (its other events wait their own turn)."""
        engine = await asyncio.to_thread(self._engine)
        due = await asyncio.to_thread(event_outbox.due, engine, list(self.targets), datetime.now(UTC), BATCH)
        delivered, failing = 0, set()
        for d in due:
            if d.endpoint in failing:
                continue
            claimed = await asyncio.to_thread(
                event_outbox.claim, engine, d.event_id, d.endpoint, datetime.now(UTC), self.lease
            )
            if not claimed:
                continue
            if await self._post(session, engine, d):
                delivered += 1
            else:
                failing.add(d.endpoint)
        return delivered

    async def _post(self, session: aiohttp.ClientSession, engine: Engine, d: event_outbox.Due) -> bool:
        endpoint = self.targets[d.endpoint]
        body = d.body.encode("utf-8")
        reason = None
        try:
            headers = signed_headers(endpoint, d.event_id, body, datetime.now(UTC))
            async with session.post(
                endpoint.url,
                data=body,
                headers=headers,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as answer:
                await answer.read()
                if not 200 <= answer.status < 300:
                    reason = f"HTTP {answer.status}"
        except (TimeoutError, aiohttp.ClientError, OSError) as err:
            reason = _reason(err, self.timeout)
        now = datetime.now(UTC)
        if reason is None:
            await asyncio.to_thread(event_outbox.mark_delivered, engine, d.event_id, d.endpoint, now)
            log.info("event delivered", event_id=d.event_id, endpoint=d.endpoint, attempts=d.attempts + 1)
            return True
        first_failed = d.first_failed_at or now
        give_up = now - first_failed >= self.retry.give_up_after
        await asyncio.to_thread(
            event_outbox.note_failure,
            engine,
            d.event_id,
            d.endpoint,
            reason,
            now=now,
            next_attempt_at=now + self.retry.wait(d.attempts + 1),
            give_up=give_up,
        )
        log.warning(
            "event not delivered, given up" if give_up else "event not delivered, will retry",
            event_id=d.event_id,
            endpoint=d.endpoint,
            attempts=d.attempts + 1,
            reason=reason,
        )
        return False

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Deliver until `stop` is set (or the task is cancelled); a round that fails (the
        database busy) is logged and the next one tries again."""
        stop = stop or asyncio.Event()
        if not self.targets:
            return
        log.info("event delivery started", endpoints=sorted(self.targets, key=int))
        async with aiohttp.ClientSession() as session:
            while not stop.is_set():
                try:
                    if await self.deliver_due(session) >= BATCH:
                        continue
                except Exception as err:  # the worker goes on; the rows keep what is owed
                    log.warning("event delivery round failed", error=type(err).__name__, reason=str(err)[:200])
                try:
                    await asyncio.wait_for(stop.wait(), timeout=self.poll)
                except TimeoutError:
                    pass
