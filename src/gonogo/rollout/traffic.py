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
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Protocol

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


class TrafficDriver(Protocol):
    name: str
    needs_confirmation: bool  # True: the operator must confirm the weight was set

    async def shift(self, weight: float, stage: str, release: str) -> Shift: ...


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


class SandboxDriver(HttpDriver):
    """The sandbox gateway's admin API: POST /admin/weight {"weight": w}."""

    name = "sandbox"

    def __init__(self, cfg: TrafficConfig, ctx: CheckContext, plan: Plan) -> None:
        super().__init__(cfg, ctx)
        self.plan = plan

    async def _url(self) -> str:
        gw = self.plan.integrations.gateway
        if self.cfg.url is not None:
            base = await self.ctx.resolver.value(self.cfg.url)
        elif gw is not None and gw.admin_url is not None:
            base = await self.ctx.resolver.value(gw.admin_url)
        else:
            raise ValueError("sandbox driver: set rollout.traffic.url or integrations.gateway.admin_url")
        base = base.rstrip("/")
        return base if base.endswith("/admin/weight") else base + "/admin/weight"

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


def make_driver(plan: Plan, ctx: CheckContext) -> TrafficDriver:
    cfg = plan.rollout.traffic
    if cfg.driver == "command":
        return CommandDriver(cfg, ctx)
    if cfg.driver == "http":
        return HttpDriver(cfg, ctx)
    if cfg.driver == "sandbox":
        return SandboxDriver(cfg, ctx, plan)
    return ManualDriver()


__all__ = ["Shift", "TrafficDriver", "make_driver", "CommandDriver", "HttpDriver",
           "SandboxDriver", "ManualDriver"]
