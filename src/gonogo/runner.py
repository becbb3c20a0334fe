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

import msgspec

from gonogo.config import CheckSpec, Gate, Plan
from gonogo.context import CheckContext
from gonogo.errors import describe_error
from gonogo.model import CheckResult, Outcome, TransientError
from gonogo.secrets import SecretError
from gonogo.untrusted import printable
from gonogo.values import SecretRef

BACKOFF_BASE_S = 0.2
BACKOFF_CAP_S = 2.0


def transient() -> tuple[type[BaseException], ...]:
    """The errors worth a retry (httpx imported when a check first runs, not with the
    panel: its first frame does not wait for it)."""
    import httpx

    return (
        TransientError,
        httpx.ConnectError,
        httpx.ConnectTimeout,
        httpx.ReadError,
        httpx.WriteError,
        httpx.RemoteProtocolError,
        httpx.PoolTimeout,
    )


def __getattr__(name: str) -> object:  # ``runner.TRANSIENT``, as before
    if name == "TRANSIENT":
        return transient()
    raise AttributeError(name)


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
            why = Outcome.skipped(reason, f"skip_if = {spec.skip_if}: the config skips this check "
                                          "while that reference has text; it does not block GO")
            return finish(gate, spec, ctx, why, time.perf_counter() - started, 0,
                          skip_if=str(spec.skip_if))
        async with deadline:
            while True:
                attempts += 1
                try:
                    outcome = await kind.run(spec.params, ctx)
                    break
                except transient() as exc:
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
    """The check's ``skip_if`` text (its first line) when it resolves to something, else
    ``None``. The text is the reason, shown as the check's summary."""
    if spec.skip_if is None:
        return None
    try:
        text = ctx.resolver.value_sync(spec.skip_if).strip()
    except SecretError:
        return None  # nothing says to skip: run the check
    return ctx.redactor.excerpt(text.splitlines()[0], 200) if text else None


def finish(
    gate: Gate,
    spec: CheckSpec,
    ctx: CheckContext,
    outcome: Outcome,
    elapsed_s: float,
    attempts: int,
    *,
    skip_if: str = "",
) -> CheckResult:
    red = ctx.redactor
    # Redacted, then made printable: stored and journaled safe (defence in depth; every
    # renderer sanitises again, for journals written before this). Summary and details
    # are the check's own sentences: whole secret values are masked there ("prose"),
    # not fragments of ordinary words; the untrusted text a check quotes in them went
    # through the redactor's excerpt/text first. Evidence is data: masked everywhere.
    evidence: Any = red.data(dict(outcome.evidence))
    return CheckResult(
        check_id=spec.id,
        gate_id=gate.id,
        kind=spec.kind,
        title=spec.title,
        required=spec.required,
        status=outcome.status,
        summary=printable(red.prose(str(outcome.summary))),
        details=tuple(printable(red.prose(str(d)), newlines=True) for d in outcome.details),
        evidence=evidence,
        duration_ms=elapsed_s * 1000.0,
        attempts=attempts,
        finished_at=ctx.wall_clock(),
        skip_if=skip_if,
    )


async def warm_up(kind_names: Iterable[str]) -> None:
    """Import the selected kinds' heavy client libraries in a worker thread first.

    An import on the event loop (psycopg, pandas via prometheus-api-client: 0.1-0.3 s
    each) stalls every check in flight and inflates the latencies they measure.
    Kinds list them in an optional ``imports`` class attribute; aiohttp, under every
    check's HTTP client (``aiotransport``), is always one of them.
    """
    from gonogo.registry import kinds

    registry = kinds()
    modules = sorted(
        {m for name in kind_names if name in registry for m in getattr(registry[name], "imports", ())}
        .union({"aiohttp"}) - set(sys.modules)
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
    await prime(ctx)
    await warm_up({spec.kind for _, spec in selected})
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


def plan_secret_refs(plan: Plan) -> list[SecretRef]:
    """Every secret reference anywhere in the plan, once each: checks (of every gate,
    whatever its scope), integrations, settings, ``[rollout.traffic]``, ``[canary]``,
    ``[runbook]`` — and what a check kind names through its ``secret_refs`` hook
    (smoke headers are ``Value``s that may be references)."""
    from gonogo.registry import kinds

    registry = kinds()
    refs = list(secret_refs(plan.doc))
    for _, spec in plan.checks():
        hook = getattr(registry.get(spec.kind), "secret_refs", None)
        if hook is not None:
            try:
                refs.extend(r for r in hook(spec.params) if isinstance(r, SecretRef))
            except Exception:  # a plugin's broken hook must not stop the run
                pass
    return list(dict.fromkeys(refs))


async def prime(ctx: CheckContext, *, timeout: float | None = None) -> dict[SecretRef, str]:
    """Teach the redactor every secret of the plan before anything runs.

    Results, driver output and runbook output are redacted as they are made; a check
    printing a secret (a command echoing its environment) may finish before the check
    that resolves it, and a resumed rollout re-runs its traffic driver before any check.
    So every reference in the plan is resolved first — ``vault:`` ones too, in a worker
    thread, bounded by ``timeout`` (default: the plan's check timeout). Once per
    context; a reference that cannot be resolved is not fatal here (the check or driver
    using it resolves it again and reports the problem). Returns ``{ref: problem}``
    for those, without values.
    """
    primed = ctx.primed

    async def walk() -> list[SecretRef]:  # the plan is immutable: walk it once per run
        return plan_secret_refs(ctx.plan)

    pending = [r for r in await ctx.shared("plan-secret-refs", walk) if r not in primed]
    vault = [r for r in pending if r.scheme == "vault"]
    for ref in pending:
        if ref.scheme == "vault":
            continue
        try:
            ctx.resolver.resolve_sync(ref)
            primed[ref] = ""
        except SecretError as exc:
            primed[ref] = str(exc)
    if vault:
        for ref in vault:
            primed[ref] = "not resolved in time"

        def resolve_all() -> None:  # a worker thread: hvac blocks
            for ref in vault:
                try:
                    ctx.resolver.resolve_sync(ref)
                    primed[ref] = ""
                except SecretError as exc:
                    primed[ref] = str(exc)

        limit = ctx.plan.settings.timeout.seconds if timeout is None else timeout
        try:
            # after a timeout the thread still finishes (hvac has its own timeout) and
            # still teaches the redactor what it resolves
            await asyncio.wait_for(asyncio.to_thread(resolve_all), limit)
        except TimeoutError:
            pass
    return {ref: why for ref, why in primed.items() if why}


async def run_all(
    ctx: CheckContext, checks: Iterable[tuple[Gate, CheckSpec]] | None = None
) -> dict[str, CheckResult]:
    return {r.check_id: r async for r in run_checks(ctx, checks)}
