"""Webhook delivery from the durable outbox, with retries and exponential backoff.

Every alert message is written to the outbox, once per subscriber, in the same
transaction that records it (:meth:`twin.live.store.Store.record_cycle`). One worker
per subscriber sends that subscriber's messages **in issue order for each low point
and level** (an Update never overtakes its Alert, a Cancel never its Update), the
chains of different points concurrently (``delivery.concurrency`` at a time): it POSTs
the oldest pending message of a chain, marks it delivered **as soon as** its 2xx
arrives (before the next message of the chain goes out), and otherwise records the
failure, holds the rest of that chain, and tries again after

``delay(n) = min(retry_max, retry_base · 2^(n-1)) · (1 + u) / 2``

for the ``n``-th failed attempt, with ``u`` uniform in [0, 1) drawn from a generator
seeded by the outbox row and attempt (jitter that spreads retries, reproducibly). A
message still undelivered ``give_up_after`` seconds after it was queued is parked as
``failed`` (logged, counted, listed at ``GET /outbox?state=failed``, shown by
``/health`` as ``degraded``, and put back by ``POST /outbox/retry``; a parked message
whose alert has since had a later message delivered is dropped instead, so an old
Alert or Update never arrives after its own Cancel).

Delivery is **at least once**. The outbox lives in the store, so a restart resumes
where the last commit left off; a message is re-sent only if its 2xx was not recorded:

- a crash (even ``kill -9``) during a POST re-sends the messages in flight then: at
  most one per chain, ``delivery.concurrency`` in all, each still in its chain's order;
- a receiver that answers after ``delivery.timeout`` (or not at all) is counted as a
  failure and gets the message again at each retry: as many copies as attempts.

Receivers de-duplicate by the CAP ``identifier`` (also sent as the ``Idempotency-Key``
header). Nothing of a receiver's answer but its status is kept: ``GET /outbox`` shows
``HTTP 503`` or ``ReadTimeout``, never a response body.

Each request carries ``Content-Type: application/cap+xml`` (or ``application/json``),
``Idempotency-Key``, ``X-Twin-Delivery`` (the outbox row), ``X-Twin-Attempt`` and,
when the subscriber has a signing key, ``X-Twin-Signature: sha256=<HMAC-SHA256 of the
body, hex>``. The key is read from the environment variable the subscriber names
(``secret_env``), which must start with ``TWIN_WEBHOOK_SECRET_``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
import random

import httpx

from twin import __version__
from twin.live.config import WEBHOOK_SECRET_PREFIX, DeliveryConfig
from twin.live.events import Broadcast
from twin.live.metrics import LiveMetrics
from twin.live.records import AlertRecord, Delivery, Subscriber, now_ms
from twin.live.store import Store

__all__ = ["Deliverer", "backoff_seconds", "payload", "signature"]

logger = logging.getLogger(__name__)


def backoff_seconds(attempt: int, *, base: float, cap: float, key: int = 0) -> float:
    """Delay before retrying after the ``attempt``-th failure [s] (see the module doc)."""
    u = random.Random(f"{key}:{attempt}").random()
    return float(min(cap, base * 2.0 ** max(0, attempt - 1)) * (1.0 + u) / 2.0)


def signature(body: bytes, secret: str) -> str:
    """``sha256=<hex HMAC-SHA256 of the body>`` with the subscriber's key."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def payload(alert: AlertRecord, fmt: str) -> tuple[bytes, str]:
    """The body and content type of a message in a subscriber's format."""
    if fmt == "cap-json":
        return alert.cap_json.encode("utf-8"), "application/json"
    return alert.cap_xml.encode("utf-8"), "application/cap+xml; charset=utf-8"


class _GroupCommit:
    """Marks deliveries done in as few transactions as possible, each awaited.

    A chain awaits the mark of its message before it sends the next one (so the marks
    of one chain are committed in order); marks that arrive while a commit runs go
    together in the next one, so a burst over many chains costs a few transactions,
    not one per message.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._pending: list[tuple[tuple[int, int, int], asyncio.Future[None]]] = []
        self._task: asyncio.Task[None] | None = None

    async def mark(self, delivery_id: int, attempts: int, at_ms: int) -> None:
        """Mark one delivery done; returns once it is committed (raises if it failed)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append(((delivery_id, attempts, at_ms), future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._commit())
        await future

    async def _commit(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                await asyncio.to_thread(self.store.mark_delivered, [m for m, _ in batch])
            except Exception as exc:  # the store is down: each chain learns it
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
            else:
                for _, future in batch:
                    if not future.done():
                        future.set_result(None)


class Deliverer:
    """Runs one delivery worker per active subscriber (see the module docstring).

    Parameters
    ----------
    store
        The outbox.
    config
        Timeouts and retry settings.
    metrics
        Where deliveries are counted.
    wake
        Signalled when messages are queued or subscribers change.
    """

    def __init__(
        self, store: Store, config: DeliveryConfig, metrics: LiveMetrics, wake: Broadcast
    ) -> None:
        self.store = store
        self.config = config
        self.metrics = metrics
        self.wake = wake
        self._workers: dict[str, tuple[Subscriber, asyncio.Task[None]]] = {}
        self._marks = _GroupCommit(store)

    async def run(self) -> None:
        """Keep one worker per active subscriber until cancelled."""
        timeout = httpx.Timeout(self.config.timeout)
        headers = {"User-Agent": f"twin-live/{__version__}"}
        async with httpx.AsyncClient(timeout=timeout, headers=headers) as client:
            try:
                while True:
                    seen = self.wake.version
                    try:
                        subs = await asyncio.to_thread(self.store.subscribers)
                    except Exception:
                        logger.exception("cannot list subscribers; retrying")
                        await asyncio.sleep(2.0)
                        continue
                    self._reconcile(subs, client)
                    await self.wake.wait(timeout=10.0, seen=seen)
            finally:
                for _, task in self._workers.values():
                    task.cancel()
                await asyncio.gather(
                    *(t for _, t in self._workers.values()), return_exceptions=True
                )
                self._workers.clear()

    def _reconcile(self, subs: list[Subscriber], client: httpx.AsyncClient) -> None:
        wanted = {s.name: s for s in subs}
        for name, (sub, task) in list(self._workers.items()):
            if wanted.get(name) != sub or task.done():
                task.cancel()
                del self._workers[name]
        for name, sub in wanted.items():
            if name not in self._workers:
                task = asyncio.create_task(self._worker(sub, client), name=f"deliver:{name}")
                self._workers[name] = (sub, task)

    async def _worker(self, sub: Subscriber, client: httpx.AsyncClient) -> None:
        """Deliver a subscriber's outbox in rounds (see :meth:`_round`)."""
        while True:
            seen = self.wake.version
            try:
                items = await asyncio.to_thread(self.store.next_deliveries, sub.name, limit=500)
                wait_ms = await self._round(sub, items, client) if items else 5000
            except asyncio.CancelledError:
                raise
            except Exception:  # the store is down, most likely: try again soon
                logger.exception("delivery to %s failed; retrying", sub.name)
                await asyncio.sleep(2.0)
                continue
            if wait_ms is not None:
                await self.wake.wait(timeout=min(5.0, wait_ms / 1000), seen=seen)

    async def _round(
        self, sub: Subscriber, items: list[Delivery], client: httpx.AsyncClient
    ) -> int | None:
        """Send one round of pending messages; how long until the next is due [ms].

        Messages of one low point and level (one alert's Alert → Update → Cancel, then
        the next alert's) form a chain, sent strictly in order and stopped at the first
        failure; chains go out concurrently (``delivery.concurrency``). Each message is
        marked delivered as soon as its 2xx arrives, before the next of its chain is
        sent. A chain whose oldest message waits for its retry time is left for a later
        round.
        """
        give_up_ms = round(self.config.give_up_after * 1000)
        now = now_ms()
        chains: dict[tuple[str, str], list[Delivery]] = {}
        blocked: set[tuple[str, str]] = set()
        next_due: int | None = None
        for item in items:
            key = (item.alert.point, item.alert.level)
            if key in blocked:
                continue
            if key not in chains and item.next_attempt_ms > now:
                blocked.add(key)
                wait = item.next_attempt_ms - now
                next_due = wait if next_due is None else min(next_due, wait)
                continue
            chains.setdefault(key, []).append(item)
        if not chains:
            return next_due
        gate = asyncio.Semaphore(self.config.concurrency)

        async def send_chain(chain: list[Delivery]) -> None:
            async with gate:
                try:
                    for item in chain:
                        if now_ms() - item.created_ms > give_up_ms:
                            await self._give_up(sub, item)
                            continue
                        if not await self._attempt(sub, item, client):
                            return
                except Exception:  # the store failed: the chain waits for a later round
                    logger.exception("delivery to %s stopped; retrying later", sub.name)

        await asyncio.gather(*(send_chain(c) for c in chains.values()))
        return None

    async def _give_up(self, sub: Subscriber, item: Delivery) -> None:
        logger.error(
            "giving up on %s to %s after %d attempts (%s)",
            item.alert.identifier,
            sub.name,
            item.attempts,
            item.last_error,
        )
        await asyncio.to_thread(
            self.store.mark_failed,
            item.id,
            attempts=item.attempts,
            error=f"gave up: {item.last_error}",
        )
        self.metrics.deliveries.labels(sub.name, "failed").inc()

    def _signing_error(self, sub: Subscriber, body: bytes, headers: dict[str, str]) -> str:
        """Sign the body into ``headers``; what is wrong with the key, or ``""``."""
        if not sub.secret_env:
            return ""
        if not sub.secret_env.startswith(WEBHOOK_SECRET_PREFIX):
            return (
                f"signing key variable {sub.secret_env} does not start with "
                f"{WEBHOOK_SECRET_PREFIX}; re-add the subscriber with such a name"
            )
        secret = os.environ.get(sub.secret_env)
        if not secret:
            return f"signing key {sub.secret_env} is not set"
        headers["X-Twin-Signature"] = signature(body, secret)
        return ""

    async def _post(
        self, sub: Subscriber, body: bytes, headers: dict[str, str], client: httpx.AsyncClient
    ) -> str:
        """POST a message; ``""`` on a 2xx, else what went wrong (never the answer's body)."""
        try:
            async with client.stream("POST", sub.url, content=body, headers=headers) as response:
                status = response.status_code
        except httpx.TimeoutException as exc:
            return f"{type(exc).__name__}: no answer within {self.config.timeout:g} s"
        except Exception as exc:  # connection refused, bad URL, TLS: a failed attempt
            return type(exc).__name__
        return "" if 200 <= status < 300 else f"HTTP {status}"

    async def _attempt(self, sub: Subscriber, item: Delivery, client: httpx.AsyncClient) -> bool:
        """POST one message; True on a 2xx (marked delivered now), else schedule a retry."""
        body, ctype = payload(item.alert, sub.format)
        attempts = item.attempts + 1
        headers = {
            "Content-Type": ctype,
            "Idempotency-Key": item.alert.identifier,
            "X-Twin-Delivery": str(item.id),
            "X-Twin-Attempt": str(attempts),
        }
        error = self._signing_error(sub, body, headers)
        if not error:
            error = await self._post(sub, body, headers, client)
        at = now_ms()
        if not error:
            await self._marks.mark(item.id, attempts, at)
            self.metrics.deliveries.labels(sub.name, "delivered").inc()
            self.metrics.delivery_latency.observe(max(0.0, (at - item.alert.trigger_ms) / 1000))
            return True
        delay = backoff_seconds(
            attempts, base=self.config.retry_base, cap=self.config.retry_max, key=item.id
        )
        logger.warning(
            "delivery of %s to %s failed (attempt %d: %s); retrying in %.1f s",
            item.alert.identifier,
            sub.name,
            attempts,
            error,
            delay,
        )
        await asyncio.to_thread(
            self.store.mark_retry,
            item.id,
            attempts=attempts,
            next_ms=at + round(delay * 1000),
            error=error,
        )
        self.metrics.deliveries.labels(sub.name, "retry").inc()
        return False
