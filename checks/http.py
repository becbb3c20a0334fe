"""HTTP check kinds: ``http_health``.

Every request goes through the shared ``ctx.http`` client.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec

from gonogo.context import CheckContext
from gonogo.model import Outcome, TransientError
from gonogo.values import Duration


class HttpHealthParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    services: tuple[str, ...] = ()  # names from [[services]]; empty = every service
    expect_status: tuple[int, ...] = (200,)
    json_field: str = "status"  # dotted path in the JSON body; "" = no body condition
    json_equals: Any = "ok"
    latency_budget: Duration = Duration(1.0)


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
        problems: list[str] = []
        rows: dict[str, Any] = {}
        for svc in services:
            url = await ctx.resolver.value(svc.health_url)
            started = time.perf_counter()
            try:
                response = await ctx.http.get(url)
            except TransientError:
                raise
            except Exception as exc:  # one unreachable service is a finding, not a crash
                from gonogo.runner import describe_error

                problems.append(f"{svc.name}: {describe_error(exc)}")
                rows[svc.name] = {"url": url, "error": describe_error(exc)}
                continue
            latency = time.perf_counter() - started
            row: dict[str, Any] = {
                "url": url,
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
            rows[svc.name] = row
            if response.status_code not in params.expect_status:
                problems.append(
                    f"{svc.name}: HTTP {response.status_code}, expected "
                    + "/".join(map(str, params.expect_status))
                )
                continue
            if params.json_field:
                try:
                    found = json_path(body, params.json_field)
                except KeyError:
                    problems.append(f"{svc.name}: body has no {params.json_field!r}")
                    continue
                if found != params.json_equals:
                    problems.append(
                        f"{svc.name}: {params.json_field}={found!r}, expected {params.json_equals!r}"
                    )
                    continue
            if latency > params.latency_budget.seconds:
                problems.append(
                    f"{svc.name}: {latency * 1000:.0f}ms > budget {params.latency_budget}"
                )
        if problems:
            head = problems[0] if len(problems) == 1 else f"{len(problems)}/{len(services)} unhealthy: {problems[0]}"
            return Outcome.failed(head, *problems, services=rows)
        return Outcome.passed(f"{len(services)} service(s) healthy", services=rows)


KINDS = [HttpHealth]
