"""The API gateway (public) and its admin API (the sandbox traffic driver).

Public: ``/api/<service>/<path>`` is proxied to the service. Internal services
(calendar, categorization, integrations) answer 404 unless the scenario is
``leaky-gateway``. Each request goes to the canary or the baseline by the weight
(or by an explicit ``X-Gonogo-Track`` header, like nginx-ingress canary-by-header);
the chosen track travels downstream in that header.

Admin (separate address): ``GET /admin/state``, ``POST /admin/weight``,
``POST /admin/scenario``, ``GET /admin/metrics``.
"""

from __future__ import annotations

import json
import time
from typing import Any

import aiohttp
from aiohttp import web

from gonogo.sandbox.services import (
    BASELINE_VERSION,
    INTERNAL,
    PUBLIC,
    TRACK_HEADER,
    TRACKS,
    FleetContext,
)
from gonogo.sandbox.state import SCENARIOS, UnknownScenario

LEAKED = ("calendar",)  # what `leaky-gateway` exposes
HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
    "trailers", "transfer-encoding", "upgrade", "host", "content-length",
}  # fmt: skip


class Gateway:
    def __init__(self, fleet: FleetContext) -> None:
        from prometheus_client import CollectorRegistry, Counter

        self.fleet = fleet
        self._split_acc = 0  # in basis points: integer maths keeps the split exact
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "gateway_requests", "Requests routed, by upstream service, track and code",
            ["service", "track", "code"], registry=self.registry,
        )  # fmt: skip

    def routed(self, service: str) -> bool:
        if service in PUBLIC:
            return True
        return service in INTERNAL and service in LEAKED and self.fleet.scenario == "leaky-gateway"

    def choose_track(self, request: web.Request) -> str:
        forced = request.headers.get(TRACK_HEADER)
        if forced in TRACKS:
            return forced
        # Smooth split: exactly weight % of any run of requests go to the canary
        # (within one request), evenly spread, instead of a random draw per request.
        self._split_acc += round(self.fleet.state.weight * 100)
        if self._split_acc >= 10_000:
            self._split_acc -= 10_000
            return "canary"
        return "baseline"

    async def proxy(self, request: web.Request) -> web.StreamResponse:
        service = request.match_info.get("service", "web-portal")
        tail = request.match_info.get("tail", "")
        if not self.routed(service) or service not in self.fleet.layout.services:
            self.requests.labels(service if service in self.fleet.layout.services else "unknown",
                                 "none", "404").inc()  # fmt: skip
            return web.json_response({"error": "no route", "path": request.path}, status=404)
        track = self.choose_track(request)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        headers[TRACK_HEADER] = track
        url = f"{self.fleet.url(service)}/{tail}"
        body = await request.read() if request.body_exists else None
        try:
            async with self.fleet.session.request(
                request.method, url, params=request.query, data=body, headers=headers
            ) as upstream:
                payload = await upstream.read()
                out = web.Response(status=upstream.status, body=payload)
                for k, v in upstream.headers.items():
                    if k.lower() not in HOP_BY_HOP and k.lower() not in ("date", "server"):
                        out.headers[k] = v
        except (aiohttp.ClientError, TimeoutError, RuntimeError):
            # RuntimeError: the fleet's client session closed under a request in flight
            # while the sandbox stops: a 502, like any upstream gone away, not a traceback
            out = web.json_response({"error": "bad gateway", "service": service}, status=502)
        out.headers[TRACK_HEADER] = track
        self.requests.labels(service, track, str(out.status)).inc()
        return out

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "service": "gateway", "version": BASELINE_VERSION})

    async def metrics(self, request: web.Request) -> web.Response:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        resp = web.Response(body=generate_latest(self.registry))
        resp.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return resp

    def public_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/health", self.health)
        app.router.add_get("/metrics", self.metrics)
        app.router.add_route("*", "/api/{service}/{tail:.*}", self.proxy)
        app.router.add_route("*", "/api/{service}", self.proxy)
        app.router.add_get("/", self.proxy)  # the web portal
        return app


class Admin:
    """The admin API; ``fleet_ops`` applies scenario switches (PostgreSQL reseeding...)."""

    def __init__(self, fleet: FleetContext, set_scenario: Any) -> None:
        self.fleet = fleet
        self.set_scenario = set_scenario

    async def state(self, request: web.Request) -> web.Response:
        snap = self.fleet.state.snapshot()
        return web.json_response({k: snap[k] for k in ("scenario", "weight", "speed", "sim_time")})

    async def _body(self, request: web.Request, example: str) -> dict[str, Any]:
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            raise _bad(f"body must be a JSON object like {example}")
        return body

    async def weight(self, request: web.Request) -> web.Response:
        body = await self._body(request, '{"weight": 25}')
        raw = body.get("weight")
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise _bad("weight must be a number between 0 and 100")
        try:
            w = self.fleet.state.set_weight(raw)
        except ValueError as exc:
            raise _bad(str(exc)) from None
        return web.json_response({"weight": w})

    async def scenario(self, request: web.Request) -> web.Response:
        body = await self._body(request, '{"scenario": "healthy"}')
        name = body.get("scenario")
        if not isinstance(name, str):
            raise _bad(f"scenario must be one of: {', '.join(SCENARIOS)}")
        try:
            await self.set_scenario(name)
        except UnknownScenario as exc:
            raise _bad(str(exc)) from None
        return web.json_response({"scenario": self.fleet.state.scenario})

    async def metrics(self, request: web.Request) -> web.Response:
        state = self.fleet.state
        worker = self.fleet.worker
        lag = {t: worker.lag(t) for t in TRACKS} if worker is not None else {}
        summary = self.fleet.window.summary(state.now(), time.monotonic(), lag)
        return web.json_response(
            {"sim_time": round(state.now(), 3), "weight": state.weight, "scenario": state.scenario,
             **summary}  # fmt: skip
        )

    async def scenarios(self, request: web.Request) -> web.Response:
        return web.json_response({"scenarios": SCENARIOS})

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "service": "gateway-admin"})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/health", self.health)
        app.router.add_get("/admin/state", self.state)
        app.router.add_post("/admin/weight", self.weight)
        app.router.add_post("/admin/scenario", self.scenario)
        app.router.add_get("/admin/metrics", self.metrics)
        app.router.add_get("/admin/scenarios", self.scenarios)
        return app


def _bad(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": message}), content_type="application/json")
