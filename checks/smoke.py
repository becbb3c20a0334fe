"""The ``smoke`` check kind: a scripted HTTP journey (the seed checklist's smoke scenarios, 1.6, run again in the rollout's stages).

Steps run in order against ``base_url`` (default: the public gateway). A step can
capture values from its JSON response (``capture = {tx = "items[0].id"}``) and later
steps use them as ``{tx}`` in their path, headers, body and expectations. Secrets come
from references only: ``secrets = {token = "env:SMOKE_TOKEN"}`` makes ``{token}``
available, and a header value may itself be a reference (``Authorization = "env:X"``).
``{run_id}`` is a fresh random string per run, for unique sign-up e-mails and the like.
"""

from __future__ import annotations

import asyncio
import re
import secrets as _secrets
import time
from typing import Any

import msgspec

from gonogo.context import CheckContext
from gonogo.model import Outcome, Status, TransientError
from gonogo.values import Duration, SecretRef, Value

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_PATH_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
# Captured values with these words in their name (session tokens, API keys) are
# treated as secrets: scrubbed from every output like a resolved reference.
_SECRET_NAME = re.compile(r"token|secret|password|passwd|api_?key|session|cookie", re.I)
BUILTIN_VARS = frozenset({"run_id"})
BODY_EXCERPT = 300
VALUE_EXCERPT = 60


class SmokeStep(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    name: str
    method: str = "GET"
    path: str
    json: Any = None  # request body, sent as JSON
    headers: dict[str, Value] = {}
    expect_status: int | tuple[int, ...] = 200
    capture: dict[str, str] = {}  # var -> JSON path in the response ("items[0].id")
    expect: dict[str, Any] = {}  # JSON path -> expected value
    # Asynchronous pipelines (an import job, an OCR worker) finish later: repeat the
    # request every ``interval`` until status and expectations hold, for up to ``wait``.
    wait: Duration = Duration(0.0)
    interval: Duration = Duration(1.0)

    def __post_init__(self) -> None:
        from gonogo.checks.security import METHODS

        if self.method.upper() not in METHODS:
            raise ValueError(f"method: {self.method[:20]!r} is not one of {', '.join(sorted(METHODS))}")

    @property
    def statuses(self) -> tuple[int, ...]:
        return (self.expect_status,) if isinstance(self.expect_status, int) else self.expect_status


class SmokeParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    steps: tuple[SmokeStep, ...]
    base_url: Value | None = None  # default: [integrations.gateway].public_url
    secrets: dict[str, SecretRef] = {}
    vars: dict[str, str] = {}

    def __post_init__(self) -> None:
        # Catch a misspelt {var} when the config loads, not halfway through a journey.
        if not self.steps:
            raise ValueError("steps: a smoke journey needs at least one step")
        known = set(BUILTIN_VARS) | set(self.secrets)
        for name, text in self.vars.items():
            unknown_var = sorted(set(placeholders(text)) - known)
            if unknown_var:
                raise ValueError(f"vars.{name} uses unknown {{{unknown_var[0]}}}")
            known.add(name)
        for i, step in enumerate(self.steps, 1):
            used = set(placeholders(step.path)) | set(placeholders(step.json))
            used |= set(placeholders(step.expect))
            for value in step.headers.values():
                if value.literal is not None:
                    used |= set(placeholders(value.literal))
            unknown = sorted(used - known)
            if unknown:
                raise ValueError(
                    f"steps[{i - 1}] ({step.name!r}) uses {{{unknown[0]}}} before any step "
                    "captures it (define it in vars, secrets or an earlier capture)"
                )
            known |= set(step.capture)


def placeholders(value: Any) -> list[str]:
    if isinstance(value, str):
        return _PLACEHOLDER.findall(value)
    if isinstance(value, dict):
        return [n for k, v in value.items() for n in placeholders(k) + placeholders(v)]
    if isinstance(value, list | tuple):
        return [n for v in value for n in placeholders(v)]
    return []


def substitute(value: Any, env: dict[str, Any]) -> Any:
    """Fill ``{var}`` in strings, recursively; a lone ``"{var}"`` keeps the value's type."""
    if isinstance(value, str):
        whole = _PLACEHOLDER.fullmatch(value)
        if whole and not isinstance(env.get(whole.group(1)), str):
            return env[whole.group(1)]
        return _PLACEHOLDER.sub(lambda m: str(env[m.group(1)]), value)
    if isinstance(value, dict):
        return {substitute(k, env): substitute(v, env) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [substitute(v, env) for v in value]
    return value


def lookup(body: Any, path: str) -> Any:
    """``items[0].id`` or ``items.0.id`` in a JSON document; ``KeyError`` if absent."""
    node = body
    for name, index in _PATH_TOKEN.findall(path):
        key: Any = int(index) if index else name
        if isinstance(node, list) and (index or name.isdigit()):
            i = int(key)
            if not -len(node) <= i < len(node):
                raise KeyError(path)
            node = node[i]
        elif isinstance(node, dict) and str(key) in node:
            node = node[str(key)]
        else:
            raise KeyError(path)
    return node


def excerpt(ctx: CheckContext, value: Any, limit: int) -> str:
    """A body or value as a bounded one-line excerpt: redacted before it is cut."""
    text = value if isinstance(value, str) else repr(value)
    return ctx.redactor.excerpt(text, limit, squeeze=True)


class Smoke:
    """Run a journey step by step; the first broken step fails the check and is named."""

    kind = "smoke"
    Params = SmokeParams

    @staticmethod
    def secret_refs(params: SmokeParams) -> list[SecretRef]:
        """Header references are secrets too (the runner primes its redactor with them)."""
        return [v.ref for step in params.steps for v in step.headers.values() if v.ref is not None]

    async def run(self, params: SmokeParams, ctx: CheckContext) -> Outcome:
        if params.base_url is not None:
            base = await ctx.resolver.value(params.base_url)
        elif ctx.plan.integrations.gateway is not None:
            base = await ctx.resolver.value(ctx.plan.integrations.gateway.public_url)
        else:
            return Outcome.errored("no base_url and no [integrations.gateway] public_url")
        env: dict[str, Any] = {"run_id": _secrets.token_hex(4)}
        for name, ref in params.secrets.items():
            env[name] = await ctx.resolver.resolve(ref)
        for name, text in params.vars.items():
            env[name] = substitute(text, env)
        trail: list[dict[str, Any]] = []
        started = time.perf_counter()
        for number, step in enumerate(params.steps, 1):
            label = f"step {number} '{step.name}'"
            outcome = await self._until(ctx, base, step, env, label, trail, first=number == 1)
            if outcome is not None:
                return outcome
        total_ms = (time.perf_counter() - started) * 1000
        return Outcome.passed(
            f"{len(params.steps)} step(s) passed in {total_ms:.0f}ms", steps=trail
        )

    async def _until(
        self,
        ctx: CheckContext,
        base: str,
        step: SmokeStep,
        env: dict[str, Any],
        label: str,
        trail: list[dict[str, Any]],
        *,
        first: bool,
    ) -> Outcome | None:
        deadline = time.monotonic() + step.wait.seconds
        polls = 0
        while True:
            polls += 1
            outcome = await self._step(ctx, base, step, env, label, trail, first=first)
            # Only a failed expectation is worth waiting out; errors end the journey.
            if outcome is None or outcome.status != Status.FAIL:
                return outcome
            if time.monotonic() + step.interval.seconds > deadline:
                if polls > 1:
                    waited = f" (still so after {polls} tries over {step.wait})"
                    return Outcome(outcome.status, outcome.summary + waited, outcome.details, outcome.evidence)
                return outcome
            trail.pop()  # keep one row per step in the evidence
            await asyncio.sleep(step.interval.seconds)

    async def _step(
        self,
        ctx: CheckContext,
        base: str,
        step: SmokeStep,
        env: dict[str, Any],
        label: str,
        trail: list[dict[str, Any]],
        *,
        first: bool,
    ) -> Outcome | None:
        import httpx  # with the first request, not with the config

        path = substitute(step.path, env)
        url = path if path.startswith(("http://", "https://")) else base.rstrip("/") + "/" + path.lstrip("/")
        headers: dict[str, str] = {}
        for name, value in step.headers.items():
            if value.ref is not None:
                headers[name] = await ctx.resolver.resolve(value.ref)
            else:
                headers[name] = substitute(value.literal or "", env)
        body = substitute(step.json, env) if step.json is not None else None
        row: dict[str, Any] = {"step": step.name, "method": step.method.upper(), "path": path}
        trail.append(row)
        began = time.perf_counter()
        try:
            response = await ctx.http.request(step.method.upper(), url, headers=headers, json=body)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            if first:  # nothing has happened yet, so the runner may safely retry the journey
                raise TransientError(f"{label}: cannot connect to {base}") from exc
            return Outcome.errored(f"{label}: cannot connect to {base}", steps=trail)
        except httpx.TimeoutException:
            return Outcome.errored(f"{label}: no answer from {path} in time", steps=trail)
        except httpx.HTTPError as exc:
            return Outcome.errored(f"{label}: {type(exc).__name__} on {path}", steps=trail)
        row["status"] = response.status_code
        row["ms"] = round((time.perf_counter() - began) * 1000, 1)
        if response.status_code not in step.statuses:
            expected = "/".join(map(str, step.statuses))
            return Outcome.failed(
                f"{label}: HTTP {response.status_code}, expected {expected}",
                f"{step.method.upper()} {path}",
                f"response: {excerpt(ctx, response.text, BODY_EXCERPT)}" if response.text else "empty response",
                steps=trail,
            )
        if not step.capture and not step.expect:
            return None
        try:
            data = response.json()
        except ValueError:
            return Outcome.failed(
                f"{label}: response is not JSON, cannot check or capture values",
                f"response: {excerpt(ctx, response.text, BODY_EXCERPT)}",
                steps=trail,
            )
        for var, where in step.capture.items():
            try:
                env[var] = lookup(data, where)
            except KeyError:
                return Outcome.failed(f"{label}: response has no {where!r} to capture as {{{var}}}", steps=trail)
            if _SECRET_NAME.search(var) and isinstance(env[var], str):
                ctx.redactor.add(env[var])
        for where, wanted in step.expect.items():
            expected = substitute(wanted, env)
            try:
                found = lookup(data, where)
            except KeyError:
                return Outcome.failed(f"{label}: response has no {where!r}", steps=trail)
            if found != expected:
                return Outcome.failed(
                    f"{label}: {where} = {excerpt(ctx, repr(found), VALUE_EXCERPT)}, "
                    f"expected {excerpt(ctx, repr(expected), VALUE_EXCERPT)}",
                    steps=trail,
                )
        return None


KINDS = [Smoke]
