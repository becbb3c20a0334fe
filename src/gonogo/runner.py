"""Runs checks concurrently and streams their results as each completes.

Bounded concurrency (``settings.concurrency``), a deadline per check that covers
its retries, retries with exponential backoff for transient errors only, and
cancellation: cancelling the consumer cancels every check still running. A check
that raises becomes an ``error`` result; nothing a check does can crash the run.
"""

from __future__ import annotations

import asyncio
import importlib
import random
import sys
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

import httpx
import msgspec

from gonogo.config import CheckSpec, Gate, Plan
from gonogo.context import CheckContext
from gonogo.errors import describe_error
from gonogo.model import CheckResult, Outcome, TransientError
from gonogo.secrets import SecretError
from gonogo.values import SecretRef

TRANSIENT = (
    TransientError,
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
    httpx.PoolTimeout,
)
BACKOFF_BASE_S = 0.2
BACKOFF_CAP_S = 2.0


async def run_one(gate: Gate, spec: CheckSpec, ctx: CheckContext) -> CheckResult:
    """Run one check to completion under its deadline; never raises (but cancels)."""
    from gonogo.registry import kinds

    settings = ctx.plan.settings
    timeout = (spec.timeout or settings.timeout).seconds
    retries = settings.retries if spec.retries is None else spec.retries
    ctx = ctx.for_check(spec.id)
    started = time.perf_counter()
    attempts = 0
    outcome: Outcome
    deadline = asyncio.timeout(timeout)
    try:
        kind = kinds()[spec.kind]
        reason = skip_reason(spec, ctx)
        if reason is not None:
            return finish(gate, spec, ctx, Outcome.skipped(reason), time.perf_counter() - started, 0)
        async with deadline:
            while True:
                attempts += 1
                try:
                    outcome = await kind.run(spec.params, ctx)
                    break
                except TRANSIENT as exc:
                    if attempts > retries:
                        outcome = Outcome.errored(
                            describe_error(exc), f"gave up after {attempts} attempts"
                        )
                        break
                    delay = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (attempts - 1))
                    await asyncio.sleep(delay * (0.5 + random.random() / 2))
    except TimeoutError as exc:
        if not deadline.expired():  # a timeout of the check's own making, not ours
            outcome = Outcome.errored(describe_error(exc) if str(exc) else "timed out")
        else:
            outcome = Outcome.errored(
                f"no answer within the {timeout:g}s timeout",
                f"{attempts} attempt(s) started",
            )
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        outcome = Outcome.errored(describe_error(exc))
    if not isinstance(outcome, Outcome):  # a plugin returning junk is an error, not a crash
        outcome = Outcome.errored(f"check kind {spec.kind!r} returned {type(outcome).__name__}")
    return finish(gate, spec, ctx, outcome, time.perf_counter() - started, attempts)


def skip_reason(spec: CheckSpec, ctx: CheckContext) -> str | None:
    """The check's ``skip_if`` text when it resolves to something, else ``None``."""
    if spec.skip_if is None:
        return None
    try:
        text = ctx.resolver.value_sync(spec.skip_if).strip()
    except SecretError:
        return None  # nothing says to skip: run the check
    return f"skipped: {text.splitlines()[0][:200]}" if text else None


def finish(
    gate: Gate,
    spec: CheckSpec,
    ctx: CheckContext,
    outcome: Outcome,
    elapsed_s: float,
    attempts: int,
) -> CheckResult:
    red = ctx.redactor
    evidence: Any = red.data(dict(outcome.evidence))
    return CheckResult(
        check_id=spec.id,
        gate_id=gate.id,
        kind=spec.kind,
        title=spec.title,
        required=spec.required,
        status=outcome.status,
        summary=red.text(outcome.summary),
        details=tuple(red.text(str(d)) for d in outcome.details),
        evidence=evidence,
        duration_ms=elapsed_s * 1000.0,
        attempts=attempts,
        finished_at=time.time(),
    )


async def warm_up(kind_names: Iterable[str]) -> None:
    """Import the selected kinds' heavy client libraries in a worker thread first.

    An import on the event loop (psycopg, pandas via prometheus-api-client: 0.1-0.3 s
    each) stalls every check in flight and inflates the latencies they measure.
    Kinds list them in an optional ``imports`` class attribute.
    """
    from gonogo.registry import kinds

    registry = kinds()
    modules = sorted(
        {m for name in kind_names if name in registry for m in getattr(registry[name], "imports", ())}
        - set(sys.modules)
    )
    if not modules:
        return

    def load() -> None:
        for module in modules:
            try:
                importlib.import_module(module)
            except ImportError:
                pass  # the check itself reports a missing client library

    await asyncio.to_thread(load)


def select(plan: Plan, ids: Iterable[str] | None = None) -> list[tuple[Gate, CheckSpec]]:
    """The (gate, check) pairs to run: the checklist, or those named by check or gate id."""
    if ids is None:
        return list(plan.checklist())
    wanted = set(plan.expand(ids))
    return [(g, c) for g, c in plan.checks() if c.id in wanted]


async def run_checks(
    ctx: CheckContext,
    checks: Iterable[tuple[Gate, CheckSpec]] | None = None,
) -> AsyncIterator[CheckResult]:
    """Yield each check's result as soon as it completes."""
    selected = list(checks) if checks is not None else select(ctx.plan)
    await warm_up({spec.kind for _, spec in selected})
    prime_redactor(ctx, selected)
    limit = asyncio.Semaphore(ctx.plan.settings.concurrency)
    queue: asyncio.Queue[CheckResult] = asyncio.Queue()

    async def guarded(gate: Gate, spec: CheckSpec) -> None:
        started = time.perf_counter()
        try:
            async with limit:
                result = await run_one(gate, spec, ctx)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a result for every check, or the consumer waits forever
            outcome = Outcome.errored(f"internal error: {describe_error(exc)}")
            result = finish(gate, spec, ctx, outcome, time.perf_counter() - started, 0)
        queue.put_nowait(result)

    tasks = [asyncio.create_task(guarded(g, c), name=f"check:{c.id}") for g, c in selected]
    try:
        for _ in tasks:
            yield await queue.get()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def secret_refs(value: Any) -> Iterator[SecretRef]:
    """Every ``SecretRef`` inside a config value (structs, tables, arrays)."""
    if isinstance(value, SecretRef):
        yield value
    elif isinstance(value, msgspec.Struct):
        for name in value.__struct_fields__:
            yield from secret_refs(getattr(value, name))
    elif isinstance(value, dict):
        for item in value.values():
            yield from secret_refs(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from secret_refs(item)


def prime_redactor(ctx: CheckContext, selected: Iterable[tuple[Gate, CheckSpec]]) -> None:
    """Teach the redactor the run's env/file secrets before any check finishes.

    Results are redacted as each check finishes; without this, a check that prints a
    secret (a command echoing its environment) could finish before the check that
    resolves the same secret, and its output would go out unscrubbed. Vault
    references are left to the checks that use them (resolving needs the network).
    """
    from gonogo.registry import kinds

    registry = kinds()
    refs = list(secret_refs(ctx.plan.integrations)) + list(secret_refs(ctx.plan.settings))
    for _, spec in selected:
        refs.extend(secret_refs(spec.params))
        # A kind may hold secrets in fields typed otherwise (smoke headers are
        # ``Value``s that may be references); it names them through this hook.
        hook = getattr(registry.get(spec.kind), "secret_refs", None)
        if hook is not None:
            try:
                refs.extend(hook(spec.params))
            except Exception:  # a plugin's broken hook must not stop the run
                pass
    for ref in dict.fromkeys(refs):
        if ref.scheme == "vault":
            continue
        try:
            ctx.resolver.resolve_sync(ref)
        except SecretError:
            pass  # the check using it reports the missing secret itself


async def run_all(
    ctx: CheckContext, checks: Iterable[tuple[Gate, CheckSpec]] | None = None
) -> dict[str, CheckResult]:
    return {r.check_id: r async for r in run_checks(ctx, checks)}
