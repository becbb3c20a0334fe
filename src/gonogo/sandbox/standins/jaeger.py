"""A Jaeger query-service stand-in: ``/api/services``, operations and ``/api/traces``.

Follows the Jaeger query HTTP JSON API (the one the Jaeger UI uses, documented as
internal but stable): https://www.jaegertracing.io/docs/1.57/apis/#http-json-internal
- ``GET /api/services`` -> ``{"data": ["svc", ...], "total": n, "limit": 0,
  "offset": 0, "errors": null}``
- ``GET /api/services/{service}/operations`` -> ``{"data": ["op", ...], ...}``
- ``GET /api/traces?service=&operation=&lookback=1h&start=<us>&end=<us>&limit=20`` ->
  ``{"data": [{"traceID", "spans": [{"traceID", "spanID", "operationName",
  "references", "startTime" (µs), "duration" (µs), "tags", "logs", "processID"}],
  "processes": {"p1": {"serviceName", "tags"}}}], ...}``; a missing ``service`` is
  400 ``{"errors": [{"code": 400, "msg": "parameter 'service' is required"}]}``.

Each service records a trace per operation every 30 s; services in
``silent_services`` stopped sending spans an hour ago.
"""

from __future__ import annotations

import hashlib
import re
import time
from typing import Any

from aiohttp import web

from gonogo.sandbox.standins.loki import SEED_JOBS

OPERATIONS: dict[str, tuple[str, ...]] = {
    "auth": ("POST /register", "POST /login"),
    "user-profile": ("PATCH /profile",),
    "transactions": ("POST /banking/callback", "GET /transactions"),
    "categorization": ("POST /categorize",),
    "tax-engine": ("POST /tax/calculate", "POST /tax/submit"),
    "documents": ("POST /documents", "GET /search"),
    "documents-worker": ("ocr.process",),
    "qna": ("POST /index",),
    "consent": ("POST /consents", "DELETE /consents/{id}"),
    "partner-registry": ("POST /handoffs", "GET /handoffs"),
}
TRACE_EVERY_S = 30.0
SILENT_FOR_S = 3600.0
_LOOKBACK = re.compile(r"^(\d+)(ms|s|m|h|d)$")
_UNIT = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _envelope(data: Any, status: int = 200, errors: Any = None) -> web.Response:
    total = len(data) if isinstance(data, list) else 0
    return web.json_response(
        {"data": data, "total": total, "limit": 0, "offset": 0, "errors": errors}, status=status
    )


def _bad(msg: str) -> web.Response:
    return _envelope(None, 400, [{"code": 400, "msg": msg}])


def _trace(service: str, operation: str, start_us: int) -> dict[str, Any]:
    trace_id = hashlib.sha1(f"{service}{operation}{start_us}".encode()).hexdigest()[:32]
    span = {
        "traceID": trace_id,
        "spanID": trace_id[:16],
        "flags": 1,
        "operationName": operation,
        "references": [],
        "startTime": start_us,
        "duration": 42_000,
        "tags": [{"key": "span.kind", "type": "string", "value": "server"}],
        "logs": [],
        "processID": "p1",
        "warnings": None,
    }
    return {
        "traceID": trace_id,
        "spans": [span],
        "processes": {"p1": {"serviceName": service, "tags": []}},
        "warnings": None,
    }


def make_app(
    state: Any,
    *,
    services: tuple[str, ...] = SEED_JOBS,
    silent_services: tuple[str, ...] = (),
) -> web.Application:
    def operations_of(service: str) -> tuple[str, ...]:
        return OPERATIONS.get(service, (f"GET /{service}",))

    async def list_services(request: web.Request) -> web.Response:
        return _envelope(sorted(services))

    async def list_operations(request: web.Request) -> web.Response:
        service = request.match_info["service"]
        return _envelope(list(operations_of(service)) if service in services else [])

    async def traces(request: web.Request) -> web.Response:
        service = request.query.get("service", "")
        if not service:
            return _bad("parameter 'service' is required")
        now_us = int(time.time() * 1e6)
        try:
            end = int(request.query.get("end", now_us))
            if "start" in request.query:
                start = int(request.query["start"])
            else:
                m = _LOOKBACK.match(request.query.get("lookback", "1h"))
                if m is None:
                    return _bad("unable to parse param 'lookback'")
                start = end - int(int(m.group(1)) * _UNIT[m.group(2)] * 1e6)
            limit = int(request.query.get("limit", "20"))
        except ValueError:
            return _bad("unable to parse param 'start'/'end'/'limit'")
        if service not in services:
            return _envelope([])
        wanted = request.query.get("operation", "")
        ops = [op for op in operations_of(service) if not wanted or op == wanted]
        last = min(end, now_us) - (int(SILENT_FOR_S * 1e6) if service in silent_services else 0)
        step = int(TRACE_EVERY_S * 1e6)
        found: list[dict[str, Any]] = []
        t = last - last % step
        while t >= start and len(found) < limit and ops:
            for op in ops:
                found.append(_trace(service, op, t))
            t -= step
        return _envelope(found[:limit])

    app = web.Application()
    app.router.add_get("/api/services", list_services)
    app.router.add_get("/api/services/{service}/operations", list_operations)
    app.router.add_get("/api/traces", traces)
    return app
