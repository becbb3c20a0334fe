"""Delivering notifications, off the rollout's path.

The engine calls ``Notifier`` (a subscriber) after each journal write; it maps the
event (``rules.effects``), keeps the set of conditions still active, and puts what
each target wants on that target's own bounded queue. Nothing there waits on a
network: each target has a background task (``Outbox``) on the event loop that
posts with a short per-attempt deadline, retries what may succeed later (no answer,
5xx, 429) with backoff, and hands a final failure to ``report`` (the engine journals
it as ``notify_failed``). A receiver that hangs or answers 500 therefore costs the
rollout nothing: a stop criterion, a traffic shift and the rollback run as fast as
without it. A full queue drops the newest notification and reports that too.

Secrets: a target's URL and token are references resolved here, when first needed,
and taught to the redactor, so the journal, errors and ``gonogo notify test`` never
show them; errors are written from the exception's kind, never from its text (which
names the URL). Each target's own token goes only to that target.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from gonogo.config import NotifyTarget, Plan, notify_name
from gonogo.context import USER_AGENT
from gonogo.httpcap import CappedTransport
from gonogo.notify import payloads
from gonogo.notify.rules import RANK, End, Notification, Where, effects
from gonogo.rollout.events import NotifyFailed
from gonogo.rollout.journal import Event
from gonogo.rollout.state import RolloutState, apply, initial_state
from gonogo.secrets import Redactor, SecretError, SecretResolver
from gonogo.untrusted import json_safe

__all__ = ["Answer", "Courier", "Outbox", "Notifier", "Send", "Resolve", "TEST_EVENT", "build", "make_client"]

log = logging.getLogger(__name__)
MAX_QUEUE = 256
BACKOFF_S = 0.5  # first retry after this, doubling
MAX_BACKOFF_S = 30.0
DRAIN_S = 5.0  # at close, how long queued notifications may still take
ANSWER_LIMIT = 160
AM_PATH = "/api/v2/alerts"
TEST_EVENT = "notify_test"
TEST_ALERT_S = 300.0  # a test alert ends by itself after five minutes


@dataclass(frozen=True, slots=True)
class Send:
    notification: Notification


@dataclass(frozen=True, slots=True)
class Resolve:
    notification: Notification
    at: float


Item = Send | Resolve
Identity = tuple[str, str, tuple[tuple[str, str], ...]]


@dataclass(frozen=True, slots=True)
class Answer:
    """What a receiver answered (or why there was no answer); never names its URL."""

    ok: bool
    detail: str
    status: int | None = None
    retry: bool = False  # worth another attempt (no answer, 5xx, 408, 429)
    wait_s: float | None = None  # the receiver's Retry-After
    elapsed_s: float = 0.0


def _transport_failure(exc: BaseException, timeout: float) -> str:
    """An HTTP client error in words, from its kind alone (its text names the URL)."""
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return f"no answer within {timeout:g}s"
    if isinstance(exc, httpx.ConnectError):
        return "cannot connect"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the receiver closed the connection without an answer"
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return "url is not an http(s) URL"
    return f"request failed ({type(exc).__name__})"


def _retry_after(resp: httpx.Response) -> float | None:
    raw = resp.headers.get("Retry-After", "")
    try:
        return max(0.0, min(float(raw), MAX_BACKOFF_S))
    except ValueError:
        return None


class Courier:
    """One target's address, credentials and payloads; ``post`` makes one attempt."""

    def __init__(self, index: int, spec: NotifyTarget, plan: Plan, client: httpx.AsyncClient,
                 resolver: SecretResolver, redactor: Redactor) -> None:
        self.index = index
        self.spec = spec
        self.plan = plan
        self.name = notify_name(spec, index)
        self.kind = spec.kind
        self._client = client
        self._resolver = resolver
        self._redactor = redactor
        self._endpoint: tuple[str, dict[str, str], str] | None = None

    def wants(self, n: Notification) -> bool:
        if self.spec.events and n.event not in self.spec.events:
            return False
        return RANK.get(n.severity, 0) >= RANK[self.spec.min_severity]

    async def endpoint(self) -> tuple[str, dict[str, str], str]:
        """The URL, headers and link, resolved once (``SecretError`` says why not)."""
        if self._endpoint is None:
            spec = self.spec
            if spec.url is not None:
                url = await self._resolver.resolve(spec.url)  # a secret: taught to the redactor
            else:
                am = self.plan.integrations.alertmanager
                if am is None:  # config validation refuses this; say so if it slips by
                    raise SecretError("no url and no [integrations.alertmanager]")
                url = await self._resolver.value(am.url)
            url = url.strip()
            if not url.lower().startswith(("http://", "https://")):
                raise SecretError("url is not an http(s) URL")
            if self.kind == "alertmanager" and not url.rstrip("/").endswith(AM_PATH):
                url = url.rstrip("/") + AM_PATH
            headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
            if spec.token is not None:
                token = await self._resolver.resolve(spec.token)
                headers[spec.auth_header] = f"Bearer {token}"
            link = (await self._resolver.value(spec.link)).strip() if spec.link is not None else ""
            self._endpoint = (url, headers, link)
        return self._endpoint

    def body(self, item: Item | Sequence[Notification], link: str) -> Any | None:
        """The JSON a target gets for ``item`` (a batch: alerts re-sent); ``None``:
        nothing (chat targets are told when a condition starts, not when it ends)."""
        if not isinstance(item, Send | Resolve):
            return [payloads.alert(n, starts_at=n.at, link=link) for n in item]
        n = item.notification
        if self.kind == "alertmanager":
            # A condition fires until a Resolve ends it (re-sent meanwhile); a moment
            # fires once and Alertmanager ends it after its resolve_timeout; a test
            # alert says when it ends.
            ends = (item.at if isinstance(item, Resolve)
                    else n.at + TEST_ALERT_S if n.event == TEST_EVENT else None)
            return [payloads.alert(n, starts_at=n.at, ends_at=ends, link=link)]
        if isinstance(item, Resolve):
            return None
        if self.kind == "slack":
            return payloads.slack(n, link=link)
        return payloads.webhook(n, link=link)

    async def post(self, item: Item | Sequence[Notification]) -> Answer:
        timeout = self.spec.timeout.seconds
        started = time.monotonic()
        try:
            url, headers, link = await self.endpoint()
        except SecretError as exc:
            return Answer(False, self._redactor.text(f"url or token: {exc}"))
        body = self.body(item, link)
        if body is None:
            return Answer(True, "nothing to send")
        # every string scrubbed of every known secret, then written with unsafe
        # characters as \\u escapes (the same text to any JSON reader)
        content = json_safe(json.dumps(self._redactor.data(body), ensure_ascii=False)).encode()
        try:
            resp = await asyncio.wait_for(
                self._client.post(url, content=content, headers=headers, timeout=timeout), timeout)
        except (TimeoutError, httpx.HTTPError) as exc:
            return Answer(False, _transport_failure(exc, timeout), retry=True,
                          elapsed_s=time.monotonic() - started)
        elapsed = time.monotonic() - started
        text = self._redactor.excerpt(resp.text, ANSWER_LIMIT, squeeze=True) if resp.content else ""
        status = resp.status_code
        said = f"HTTP {status}" + (f": {text}" if text else "")
        if 200 <= status < 300:
            return Answer(True, said, status, elapsed_s=elapsed)
        if 300 <= status < 400:
            said += " (redirects are not followed)"
        retry = status >= 500 or status in (408, 425, 429)
        return Answer(False, said, status, retry=retry, wait_s=_retry_after(resp), elapsed_s=elapsed)


Report = Callable[[NotifyFailed], None]


class Outbox:
    """One target's queue and its background task: deliveries in order, retried with
    backoff; Alertmanager alerts that still fire are re-sent every ``resend``."""

    def __init__(self, courier: Courier, report: Report, *, max_queue: int = MAX_QUEUE,
                 backoff_s: float = BACKOFF_S) -> None:
        self.courier = courier
        self._report = report
        self._max = max_queue
        self._backoff = backoff_s
        self._queue: collections.deque[Item] = collections.deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._busy: Item | None = None
        self.firing: dict[Identity, Notification] = {}
        self._sent_at: dict[Identity, float] = {}  # when each firing alert was last posted
        self.delivered = 0
        self.failed = 0

    # the engine's side (synchronous, never waits) ------------------------------
    def put(self, item: Item) -> None:
        if self._closing:
            return
        if len(self._queue) >= self._max:
            self.failed += 1
            self._tell(item, 0, f"queue full ({self._max} waiting for this target): not sent")
            return
        self._queue.append(item)
        self._wake.set()
        self.start()

    def adopt(self, n: Notification) -> None:
        """A condition that was firing before this process (a resumed session):
        re-sent with the next batch, without a new message."""
        if self.courier.kind == "alertmanager":
            self.firing[n.identity] = n
            self._sent_at[n.identity] = 0.0  # due at once
            self._wake.set()

    def start(self) -> None:
        if (self._task is not None and not self._task.done()) or (not self._queue and not self.firing):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop yet (an event journaled before the panel runs): next put
        self._task = loop.create_task(self._run(), name=f"notify:{self.courier.name}")

    # the background task ------------------------------------------------------
    async def _run(self) -> None:
        resend = self.courier.spec.resend.seconds
        while True:
            due = self._due(resend)
            if due and not self._closing:
                await self._resend(due)
            if not self._queue:
                if self._closing:
                    return
                self._wake.clear()
                wait = (max(0.0, min(self._sent_at.values()) + resend - time.monotonic())
                        if self.firing else None)
                try:
                    await asyncio.wait_for(self._wake.wait(), wait)
                except TimeoutError:
                    pass
                continue
            item = self._queue.popleft()
            self._busy = item
            try:
                await self._deliver(item)
            except Exception as exc:  # a bug here must not end this target's deliveries
                log.exception("delivering to %s", self.courier.name)
                self._tell(item, 0, f"internal error ({type(exc).__name__})")
            self._busy = None

    async def _deliver(self, item: Item) -> None:
        n = item.notification
        if self.courier.kind == "alertmanager":
            if isinstance(item, Resolve):
                self.firing.pop(n.identity, None)
                self._sent_at.pop(n.identity, None)
            elif n.lasting:
                self.firing[n.identity] = n
                self._sent_at[n.identity] = time.monotonic()
        retries = self.courier.spec.retries
        answer = Answer(False, "not sent")
        for attempt in range(retries + 1):
            answer = await self.courier.post(item)
            if answer.ok:
                self.delivered += 1
                return
            if not answer.retry or attempt == retries:
                break
            delay = min(MAX_BACKOFF_S, self._backoff * 2 ** attempt)
            await asyncio.sleep(max(delay, answer.wait_s or 0.0))
        self.failed += 1
        self._tell(item, attempt + 1, answer.detail)

    def _due(self, resend: float) -> list[Notification]:
        now = time.monotonic()
        return [n for ident, n in self.firing.items() if now - self._sent_at.get(ident, 0.0) >= resend]

    async def _resend(self, due: list[Notification]) -> None:
        now = time.monotonic()
        for n in due:
            self._sent_at[n.identity] = now
        try:
            answer = await self.courier.post(due)
        except Exception as exc:  # as in _run: log, and keep going
            answer = Answer(False, f"internal error ({type(exc).__name__})")
        if not answer.ok:  # the next event's own delivery reports a lasting outage
            log.warning("re-sending %d firing alert(s) to %s: %s", len(due),
                        self.courier.name, answer.detail)

    def _tell(self, item: Item, attempts: int, error: str) -> None:
        n = item.notification
        event = n.event + (" (resolved)" if isinstance(item, Resolve) else "")
        try:
            self._report(NotifyFailed(target=self.courier.name, target_kind=self.courier.kind,
                                      event=event, attempts=attempts, error=error))
        except Exception:  # a journal that cannot be written must not stop deliveries
            log.exception("reporting a failed notification to %s", self.courier.name)

    async def close(self, deadline: float) -> None:
        """Deliver what is queued until ``deadline`` (loop time), then report the rest."""
        self._closing = True
        self._wake.set()
        if self._task is None and self._queue:
            self.start()
        task = self._task
        if task is not None and not task.done():
            remaining = max(0.0, deadline - asyncio.get_running_loop().time())
            done, _ = await asyncio.wait({task}, timeout=remaining)
            if not done:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        left = ([self._busy] if self._busy is not None else []) + list(self._queue)
        self._queue.clear()
        if left:
            self.failed += len(left)
            names = ", ".join(dict.fromkeys(i.notification.event for i in left))
            self._tell(left[0], 0, f"gonogo stopped with {len(left)} notification(s) to this "
                                   f"target not delivered ({names})")


@dataclass
class Notifier:
    """The engine subscriber: events in, deliveries queued per target."""

    where: Where
    outboxes: list[Outbox]
    client: httpx.AsyncClient
    active: dict[Identity, Notification] = field(default_factory=dict)

    def __call__(self, event: Event, state: RolloutState) -> None:
        for box in self.outboxes:  # the first event on the event loop starts the deliveries
            box.start()
        for effect in effects(event, state, self.where):
            if isinstance(effect, End):
                self._end(effect, event.time)
                continue
            if effect.lasting:
                if effect.identity in self.active:
                    continue  # already told; still going on
                self.active[effect.identity] = effect
            for box in self.outboxes:
                if box.courier.wants(effect):
                    box.put(Send(effect))

    def _end(self, end: End, at: float) -> None:
        for ident, n in list(self.active.items()):
            if end.ends(n):
                del self.active[ident]
                for box in self.outboxes:  # chat targets hear of the end from the next event
                    if box.courier.kind == "alertmanager" and box.courier.wants(n):
                        box.put(Resolve(n, at))

    def catch_up(self, events: Iterable[Event]) -> None:
        """Rebuild the active conditions from a resumed session's journal without
        telling anyone again; Alertmanager targets re-send those still firing."""
        plan = self.where.plan
        state = initial_state(plan)
        for event in events:
            state = apply(state, event, plan)
            for effect in effects(event, state, self.where):
                if isinstance(effect, End):
                    for ident, n in list(self.active.items()):
                        if effect.ends(n):
                            del self.active[ident]
                elif effect.lasting:
                    self.active.setdefault(effect.identity, effect)
        for n in self.active.values():
            for box in self.outboxes:
                if box.courier.wants(n):
                    box.adopt(n)

    async def aclose(self, drain_s: float = DRAIN_S) -> None:
        deadline = asyncio.get_running_loop().time() + drain_s
        try:
            await asyncio.gather(*(box.close(deadline) for box in self.outboxes))
        finally:
            await self.client.aclose()


def make_client() -> httpx.AsyncClient:
    """The notifications' own client: its pool is not the checks' (a hanging receiver
    must not hold the connections a health check or a traffic shift needs)."""
    return httpx.AsyncClient(
        transport=CappedTransport(httpx.AsyncHTTPTransport(), max_bytes=64 * 1024),
        headers={"User-Agent": USER_AGENT}, follow_redirects=False, trust_env=False,
    )


def build(plan: Plan, session_dir: Path, resolver: SecretResolver, redactor: Redactor,
          report: Report, *, client: httpx.AsyncClient | None = None,
          backoff_s: float = BACKOFF_S) -> Notifier:
    http = client or make_client()
    boxes = [Outbox(Courier(i, spec, plan, http, resolver, redactor), report, backoff_s=backoff_s)
             for i, spec in enumerate(plan.notify)]
    return Notifier(Where(plan, session_dir), boxes, http)
