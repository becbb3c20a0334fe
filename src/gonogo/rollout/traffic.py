"""Traffic drivers: how a stage's canary weight reaches the real router.

Each driver's ``shift(weight, stage, release)`` returns a ``Shift``: whether the
weight is confirmed set, and what happened (exit code and output, HTTP status), so
the journal records the intended and the confirmed weight separately. A driver never
raises for an operational failure; it reports it.

- ``command``: an argv template (``{weight}``, ``{stable_weight}`` = 100 - weight,
  ``{stage}``, ``{release}``), no shell.
- ``http``: POST a JSON body to a webhook, auth header from a secret reference.
- ``manual``: the operator sets the weight and confirms (``needs_confirmation``).
- ``sandbox``: POST /admin/weight on the sandbox gateway's admin address.

The reality check: ``read(stage, release)`` returns the weight the router really has
(a ``WeightReading``), so that the engine compares it with the journal's before each
shift and on every resume. ``None``: this driver cannot be read (``manual``; an
``http`` driver without ``get_url``; a ``command`` driver without ``get``).

- ``sandbox``: GET /admin/state on the same admin address (its ``weight``).
- ``http``: GET ``get_url`` (same auth header); the weight is the JSON body's
  ``get_field`` (a dotted path, list indexes allowed; "" = the body is the number).
- ``command``: run the ``get`` argv (``{stage}``, ``{release}``; no shell); it prints
  the weight (``5``, ``5.0`` or ``5%``) and exits 0.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from gonogo.config import Plan, TrafficConfig
from gonogo.context import CheckContext
from gonogo.errors import describe_error
from gonogo.procs import run_argv
from gonogo.values import Duration

OUTPUT_LIMIT = 2000


@dataclass(frozen=True, slots=True)
class Shift:
    confirmed: bool
    weight: float
    detail: str


@dataclass(frozen=True, slots=True)
class WeightReading:
    """The weight the router really has, as the driver read it back."""

    weight: float | None  # None: the read failed (``detail`` says why)
    detail: str  # how it was read: "GET http://…/admin/state: weight 5"
    where: str = "router"  # how messages name what was read ("gateway" for the sandbox)


class TrafficDriver(Protocol):
    name: str
    needs_confirmation: bool  # True: the operator must confirm the weight was set

    async def shift(self, weight: float, stage: str, release: str) -> Shift: ...

    async def read(self, stage: str, release: str) -> WeightReading | None:
        """The router's current weight; ``None`` when this driver cannot read it."""
        ...


def parse_weight(value: Any) -> float:
    """A weight read back: a number, or text like ``5``, ``5.0`` or ``5%``, 0 to 100."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{value!r} is not a weight")
    if isinstance(value, str):
        text = value.strip().removesuffix("%").strip()
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"{value.strip()[:40]!r} is not a weight") from None
    if not isinstance(value, int | float) or not math.isfinite(value) or not 0 <= value <= 100:
        raise ValueError(f"{value!r} is not a weight between 0 and 100")
    return float(value)


def field_of(body: Any, dotted: str) -> Any:
    """``body``'s value at a dotted path (``spec.http.0.route.1.weight``); "" = ``body``."""
    for part in dotted.split(".") if dotted else ():
        if isinstance(body, dict) and part in body:
            body = body[part]
        elif isinstance(body, list) and part.isdigit() and int(part) < len(body):
            body = body[int(part)]
        else:
            raise KeyError(part)
    return body


def shown_url(url: str) -> str:
    """A URL fit for a message: no ``user:password@`` and no query (tokens live there)."""
    try:
        return str(httpx.URL(url).copy_with(userinfo=b"", query=None))
    except (httpx.InvalidURL, TypeError, ValueError):
        return "<unparseable URL>"


def _fill(template: str, weight: float, stage: str, release: str) -> str:
    return (template.replace("{weight}", f"{weight:g}")
            .replace("{stable_weight}", f"{100.0 - weight:g}")
            .replace("{stage}", stage).replace("{release}", release))


class CommandDriver:
    name = "command"
    needs_confirmation = False

    def __init__(self, cfg: TrafficConfig, ctx: CheckContext) -> None:
        self.cfg = cfg
        self.ctx = ctx

    async def shift(self, weight: float, stage: str, release: str) -> Shift:
        argv = [_fill(a, weight, stage, release) for a in self.cfg.command]
        ok, detail = await run_command(argv, self.ctx, self.cfg.timeout)
        return Shift(ok, weight, detail)

    async def read(self, stage: str, release: str) -> WeightReading | None:
        if not self.cfg.get:
            return None
        argv = [a.replace("{stage}", stage).replace("{release}", release) for a in self.cfg.get]
        run = await run_argv(argv, cwd=self.ctx.base_dir, timeout=self.cfg.timeout.seconds,
                             merge_stderr=False)
        red = self.ctx.redactor
        name = red.excerpt(os.path.basename(argv[0]), 80)
        if run.start_error is not None:
            why = run.start_error.strerror or run.start_error
            return WeightReading(None, red.excerpt(f"cannot start {argv[0]}: {why}", OUTPUT_LIMIT))
        if run.timed_out:
            return WeightReading(None, f"{name} still running after {self.cfg.timeout}; killed")
        out = run.output.strip()
        if run.exit_code != 0:
            text = red.excerpt((run.errors or out).strip(), OUTPUT_LIMIT, tail=True, squeeze=True)
            return WeightReading(None, f"{name} exited {run.exit_code}" + (f": {text}" if text else ""))
        try:
            weight = parse_weight(out)
        except ValueError as exc:
            return WeightReading(None, red.excerpt(f"{name} printed {exc}", OUTPUT_LIMIT))
        return WeightReading(weight, f"{name} printed {weight:g}")


async def run_command(
    argv: list[str], ctx: CheckContext, timeout: Duration, limit: int = OUTPUT_LIMIT
) -> tuple[bool, str]:
    """Run a driver or runbook command: (exited 0, a one-line account of it).

    The output's tail is redacted before it is cut and made printable after
    (``Redactor.excerpt``): it is journaled, printed and shown in the panel."""
    run = await run_argv(argv, cwd=ctx.base_dir, timeout=timeout.seconds)
    if run.start_error is not None:
        why = run.start_error.strerror or run.start_error
        return False, ctx.redactor.excerpt(f"cannot start {argv[0]}: {why}", limit)
    if run.timed_out:
        return False, ctx.redactor.excerpt(f"{argv[0]} still running after {timeout}; killed", limit)
    text = ctx.redactor.excerpt(run.output.strip(), limit, tail=True, squeeze=True)
    name = ctx.redactor.excerpt(os.path.basename(argv[0]), 80)
    detail = f"{name} exited {run.exit_code}" + (f": {text}" if text else "")
    return run.exit_code == 0, detail


class HttpDriver:
    name = "http"
    needs_confirmation = False
    where = "router"  # how the reality check names what it read

    def __init__(self, cfg: TrafficConfig, ctx: CheckContext) -> None:
        self.cfg = cfg
        self.ctx = ctx

    def _body(self, weight: float, stage: str, release: str) -> dict[str, Any]:
        def fill(v: Any) -> Any:
            if isinstance(v, str):
                if v == "{weight}":
                    return weight
                return _fill(v, weight, stage, release)
            if isinstance(v, dict):
                return {k: fill(x) for k, x in v.items()}
            if isinstance(v, list):
                return [fill(x) for x in v]
            return v

        body = {"weight": weight, "stage": stage, "release": release}
        body.update(fill(dict(self.cfg.body)))
        return body

    async def _headers(self) -> dict[str, str]:
        if self.cfg.token is None:
            return {}
        token = await self.ctx.resolver.resolve(self.cfg.token)
        value = token if self.cfg.auth_header.lower() != "authorization" or " " in token else f"Bearer {token}"
        return {self.cfg.auth_header: value}

    async def _url(self) -> str:
        assert self.cfg.url is not None
        return await self.ctx.resolver.value(self.cfg.url)

    async def shift(self, weight: float, stage: str, release: str) -> Shift:
        red = self.ctx.redactor
        try:
            url = await self._url()
            resp = await self.ctx.http.post(
                url, json=self._body(weight, stage, release), headers=await self._headers(),
                timeout=self.cfg.timeout.seconds,
            )
        except Exception as exc:  # any failure is a reported, unconfirmed shift
            return Shift(False, weight, red.excerpt(describe_error(exc), OUTPUT_LIMIT))
        text = red.excerpt(resp.text.strip(), OUTPUT_LIMIT, squeeze=True)
        ok = 200 <= resp.status_code < 300
        return Shift(ok, weight, f"HTTP {resp.status_code}" + (f": {text}" if text else ""))

    async def _read_url(self) -> str | None:
        return None if self.cfg.get_url is None else await self.ctx.resolver.value(self.cfg.get_url)

    def _read_field(self) -> str:
        return self.cfg.get_field

    async def read(self, stage: str, release: str) -> WeightReading | None:
        red = self.ctx.redactor
        where = self.where
        try:
            url = await self._read_url()
            if url is None:
                return None
            shown = red.excerpt(shown_url(url), 200)
            resp = await self.ctx.http.get(url, headers=await self._headers(),
                                           timeout=self.cfg.timeout.seconds)
        except Exception as exc:  # a failed read is reported; the engine shifts nothing
            return WeightReading(None, red.excerpt(describe_error(exc), OUTPUT_LIMIT), where)
        if not 200 <= resp.status_code < 300:
            text = red.excerpt(resp.text.strip(), 200, squeeze=True)
            return WeightReading(None, f"GET {shown}: HTTP {resp.status_code}"
                                 + (f": {text}" if text else ""), where)
        path = self._read_field()
        try:
            weight = parse_weight(field_of(resp.json(), path))
        except KeyError:
            return WeightReading(None, f"GET {shown}: the answer has no {path!r}", where)
        except ValueError as exc:  # not JSON, or not a weight
            return WeightReading(None, red.excerpt(f"GET {shown}: {path or 'body'}: {exc}", 300), where)
        return WeightReading(weight, f"GET {shown}: {path or 'body'} {weight:g}", where)


class SandboxDriver(HttpDriver):
    """The sandbox gateway's admin API: POST /admin/weight {"weight": w}."""

    name = "sandbox"
    where = "gateway"

    def __init__(self, cfg: TrafficConfig, ctx: CheckContext, plan: Plan) -> None:
        super().__init__(cfg, ctx)
        self.plan = plan

    async def _base(self) -> str:
        gw = self.plan.integrations.gateway
        if self.cfg.url is not None:
            base = await self.ctx.resolver.value(self.cfg.url)
        elif gw is not None and gw.admin_url is not None:
            base = await self.ctx.resolver.value(gw.admin_url)
        else:
            raise ValueError("sandbox driver: set rollout.traffic.url or integrations.gateway.admin_url")
        return base.rstrip("/").removesuffix("/admin/weight")

    async def _url(self) -> str:
        return await self._base() + "/admin/weight"

    async def _read_url(self) -> str | None:
        return await self._base() + "/admin/state"

    def _read_field(self) -> str:
        return "weight"

    async def _headers(self) -> dict[str, str]:
        gw = self.plan.integrations.gateway
        ref = self.cfg.token or (gw.admin_token if gw else None)
        if ref is None:
            return {}
        return {self.cfg.auth_header: f"Bearer {await self.ctx.resolver.resolve(ref)}"}

    def _body(self, weight: float, stage: str, release: str) -> dict[str, Any]:
        return {"weight": weight}

    async def shift(self, weight: float, stage: str, release: str) -> Shift:
        result = await super().shift(weight, stage, release)
        if not result.confirmed:
            return result
        return Shift(True, weight, result.detail)


class ManualDriver:
    name = "manual"
    needs_confirmation = True

    async def shift(self, weight: float, stage: str, release: str) -> Shift:
        return Shift(False, weight, f"set the canary weight to {weight:g}% and confirm")

    async def read(self, stage: str, release: str) -> WeightReading | None:
        return None  # nothing to read: the operator confirms every weight by hand


def make_driver(plan: Plan, ctx: CheckContext) -> TrafficDriver:
    cfg = plan.rollout.traffic
    if cfg.driver == "command":
        return CommandDriver(cfg, ctx)
    if cfg.driver == "http":
        return HttpDriver(cfg, ctx)
    if cfg.driver == "sandbox":
        return SandboxDriver(cfg, ctx, plan)
    return ManualDriver()


__all__ = ["Shift", "WeightReading", "TrafficDriver", "make_driver", "CommandDriver", "HttpDriver",
           "SandboxDriver", "ManualDriver", "parse_weight", "field_of"]
