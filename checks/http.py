"""HTTP check kinds: ``http_health`` (seed checklist 1.4, "/health endpoints respond").

Every request goes through the shared ``ctx.http`` client.
"""

from __future__ import annotations

import asyncio
import functools
import time
from typing import TYPE_CHECKING, Any, ClassVar

import msgspec

from gonogo.config import Service
from gonogo.errors import describe_error
from gonogo.model import Outcome
from gonogo.values import Duration

if TYPE_CHECKING:  # pragma: no cover
    from gonogo.context import CheckContext

FANOUT = 64  # requests in flight per check; the shared pool has at least 100 connections


class HttpHealthParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    service_fields: ClassVar[tuple[str, ...]] = ("services",)  # checked against [[services]]

    services: tuple[str, ...] = ()  # names from [[services]]; empty = every service
    expect_status: tuple[int, ...] = (200,)
    json_field: str = "status"  # dotted path in the JSON body; "" = no body condition
    json_equals: Any = "ok"
    latency_budget: Duration = Duration(1.0)
    # Per request, so that one hung service is named as such while the others are
    # still reported; keep it below the check's own timeout.
    request_timeout: Duration = Duration(5.0)


@functools.lru_cache(maxsize=4096)  # parsing is most of a probe's cost at 1,000 services
def shown_url(url: str) -> str:
    """A URL fit for evidence: no ``user:password@`` and no query (tokens live there)."""
    import httpx  # here and in ``_probe``: loading the config does not need httpx

    try:
        return str(httpx.URL(url).copy_with(userinfo=b"", query=None))
    except (httpx.InvalidURL, TypeError, ValueError):
        return "<unparseable URL>"


def json_path(body: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if isinstance(body, dict) and part in body:
            body = body[part]
        else:
            raise KeyError(dotted)
    return body


class HttpHealth:
    """GET each service's ``/health``: status code, a JSON field condition, latency."""

    kind = "http_health"
    Params = HttpHealthParams

    async def run(self, params: HttpHealthParams, ctx: CheckContext) -> Outcome:
        services = [s for s in ctx.plan.services if not params.services or s.name in params.services]
        missing = set(params.services) - {s.name for s in services}
        if missing:
            return Outcome.errored(f"unknown service(s) in config: {', '.join(sorted(missing))}")
        if not services:
            return Outcome.skipped("no services configured")
        # Many at once: the check takes about as long as the slowest, not the sum. Bounded,
        # so that a thousand services do not make a thousand requests wait on one event
        # loop; each latency is timed from its own request's start (``_probe``).
        fanout = asyncio.Semaphore(FANOUT)

        async def probe(svc: Service) -> tuple[str, dict[str, Any], str]:
            async with fanout:
                return await self._probe(svc, params, ctx)

        probes = await asyncio.gather(*(probe(svc) for svc in services))
        problems = [p for _, _, p in probes if p]
        rows = {name: row for name, row, _ in probes}
        if problems:
            head = problems[0] if len(problems) == 1 else f"{len(problems)}/{len(services)} unhealthy: {problems[0]}"
            return Outcome.failed(head, *problems, services=rows)
        return Outcome.passed(f"{len(services)} service(s) healthy", services=rows)

    async def _probe(
        self, svc: Service, params: HttpHealthParams, ctx: CheckContext
    ) -> tuple[str, dict[str, Any], str]:
        """(service, evidence row, problem or "")."""
        import httpx

        from gonogo.aiotransport import SENT_AT

        url = await ctx.resolver.value(svc.health_url)
        started = time.perf_counter()
        try:
            response = await ctx.http.get(url, timeout=params.request_timeout.seconds)
        except httpx.HTTPError as exc:  # one unreachable service is a finding, not a crash

            return svc.name, {"url": shown_url(url), "error": describe_error(exc)}, f"{svc.name}: {describe_error(exc)}"
        # From when the request got its connection (the transport says when), not from
        # when it was queued behind the others: the service's latency, not the client's.
        sent_at = response.extensions.get(SENT_AT)
        latency = time.perf_counter() - (sent_at if isinstance(sent_at, float) else started)
        row: dict[str, Any] = {
            "url": shown_url(url),
            "status": response.status_code,
            "latency_ms": round(latency * 1000, 1),
        }
        body: Any = None
        try:
            body = response.json()
        except ValueError:
            pass
        if isinstance(body, dict) and "version" in body:
            row["version"] = str(body["version"])
        if response.status_code not in params.expect_status:
            expected = "/".join(map(str, params.expect_status))
            return svc.name, row, f"{svc.name}: HTTP {response.status_code}, expected {expected}"
        if params.json_field:
            try:
                found = json_path(body, params.json_field)
            except KeyError:
                return svc.name, row, f"{svc.name}: body has no {params.json_field!r}"
            if found != params.json_equals:
                return (
                    svc.name,
                    row,
                    f"{svc.name}: {params.json_field}={ctx.redactor.excerpt(repr(found), 120)}, "
                    f"expected {params.json_equals!r}",
                )
        if latency > params.latency_budget.seconds:
            return svc.name, row, f"{svc.name}: {latency * 1000:.0f}ms > budget {params.latency_budget}"
        return svc.name, row, ""


KINDS = [HttpHealth]
