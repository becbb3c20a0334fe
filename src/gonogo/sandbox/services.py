"""The seed's services as small aiohttp apps sharing one ``Fleet`` context.

Each service answers ``/health`` (JSON status + version) and ``/metrics``
(Prometheus exposition from its own ``CollectorRegistry``), counts requests by
``track`` (canary/baseline, from the gateway's ``X-Gonogo-Track`` header) and
status code, and applies the running scenario's faults to canary requests.
Journey endpoints live in ``journeys.py``.
"""

from __future__ import annotations

import asyncio
import random
import time
import zlib
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from gonogo.sandbox import tokens
from gonogo.sandbox.state import SandboxState

if TYPE_CHECKING:  # pragma: no cover
    import aiohttp

    from gonogo.sandbox.layout import Layout
    from gonogo.sandbox.window import TrafficWindow

TRACK_HEADER = "X-Gonogo-Track"
TRACKS = ("baseline", "canary")
BASELINE_VERSION = "1.41.0"
CANARY_VERSION = "1.42.0"

# The seed's services; internal ones must not be routed publicly by the gateway.
PUBLIC = (
    "auth", "user-profile", "transactions", "compliance", "documents", "consent",
    "analytics", "partner-registry", "tax-engine", "qna", "web-portal",
)  # fmt: skip
INTERNAL = ("calendar", "categorization", "integrations")
WORKERS = ("documents-worker",)  # no HTTP route at all through the gateway
ALL_SERVICES = PUBLIC + INTERNAL + WORKERS
UNHEALTHY_SERVICE = "analytics"  # the one /health failing in `unhealthy-service`
SCRAPE_BROKEN_SERVICE = "analytics"  # the target Prometheus loses in `target-down`

# Inter-service auth propagation (seed 1.4): caller -> callees, and the header carried.
PROPAGATION: dict[str, tuple[str, ...]] = {
    "consent": ("compliance",),
    "partner-registry": ("compliance",),
    "tax-engine": ("calendar", "integrations"),
    "transactions": ("categorization",),
    "documents-worker": ("qna",),
}
BROKEN_PAIR = ("consent", "compliance")  # the pair `auth-outage` breaks
INTERNAL_TOKEN_HEADER = "X-Internal-Token"


def propagation_header(caller: str, callee: str) -> str:
    return INTERNAL_TOKEN_HEADER if (caller, callee) == ("documents-worker", "qna") else "Authorization"


class Dither:
    """Deterministic fault injection: exactly ``p`` of calls return True, evenly spread.

    Random draws would make a 0.5 % baseline look like 0 % or 2 % over a short
    window; error diffusion keeps ratios stable so the demo and tests are readable.
    """

    def __init__(self) -> None:
        self._acc = 0.0

    def __call__(self, p: float) -> bool:
        self._acc += max(0.0, min(1.0, p))
        if self._acc >= 1.0:
            self._acc -= 1.0
            return True
        return False


@dataclass
class FleetContext:
    """What every app of one fleet shares."""

    state: SandboxState
    layout: Layout
    session: aiohttp.ClientSession
    window: TrafficWindow
    dithers: dict[str, Dither] = field(default_factory=dict)
    worker: Any = None  # documents.OcrWorker, set when the worker app is built
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """A background task the fleet cancels on stop (nothing outlives the fleet)."""
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def dither(self, name: str, p: float) -> bool:
        return self.dithers.setdefault(name, Dither())(p)

    def url(self, service: str) -> str:
        return self.layout.services[service].url

    @property
    def scenario(self) -> str:
        return self.state.scenario

    def canary_5xx_probability(self) -> float:
        """canary-regression: as soon as the canary takes traffic (5 %), its 5xx ratio
        climbs to 10x the baseline's."""
        if self.scenario != "canary-regression" or self.state.weight <= 0:
            return 0.0
        ramp = min(1.0, self.state.weight_age() / 120.0)  # two simulated minutes
        return 0.01 + 0.04 * ramp


class ServiceMetrics:
    """One service's Prometheus metrics in its own registry (never the global one)."""

    def __init__(self, service: str) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "http_requests", "Requests served, by track and status code",
            ["service", "track", "method", "code"], registry=r,
        )  # fmt: skip
        # Server errors are exported at 0 from the start, as a well-instrumented service
        # does: a series born at 1 hides its first increment from rate(), and a canary's
        # first 5xx, spread over services and methods, would go unseen by Prometheus.
        # (Auth failures and failed writes are not: their series appear with the first one,
        # which is what `or vector(0)` and `no_data = "zero"` are for.)
        for track in TRACKS:
            for method in ("GET", "POST"):
                self.requests.labels(service, track, method, "500")
        self.latency = Histogram(
            "http_request_duration_seconds", "Request latency by track", ["service", "track"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5), registry=r,
        )  # fmt: skip
        self.auth_failures = Counter(
            "auth_failures", "Rejected credentials, by track", ["service", "track"], registry=r
        )
        self.auth_attempts = Counter(
            "auth_attempts", "Credentials checked, by track", ["service", "track"], registry=r
        )
        self.failed_writes = Counter(
            "failed_writes", "Writes that did not persist, by track", ["service", "track"], registry=r
        )
        self.build = Gauge(
            "build_info", "Running version per track", ["service", "track", "version"], registry=r
        )
        self.build.labels(service, "baseline", BASELINE_VERSION).set(1)
        self.build.labels(service, "canary", CANARY_VERSION).set(1)
        self.queue_depth = Gauge("worker_queue_depth", "Jobs waiting", ["track"], registry=r)
        self.queue_lag = Gauge(
            "worker_queue_lag_seconds", "Age of the oldest waiting job (simulated s)", ["track"],
            registry=r,
        )  # fmt: skip

    def exposition(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self.registry)


def track_of(request: web.Request) -> str:
    track = request.headers.get(TRACK_HEADER, "baseline")
    return track if track in TRACKS else "baseline"


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Service:
    """One service: common endpoints, metrics, auth and scenario faults."""

    def __init__(self, name: str, fleet: FleetContext) -> None:
        self.name = name
        self.fleet = fleet
        self.metrics = ServiceMetrics(name)
        self.rng = random.Random(zlib.crc32(name.encode()))  # stable across runs
        self.items: list[dict[str, Any]] = [
            {"id": f"{name}-{i}", "name": f"{name} record {i}"} for i in range(5)
        ]

    # -- auth ------------------------------------------------------------
    @property
    def auth_key(self) -> str:
        return self.fleet.state.secrets["auth_secret_key"]

    def authenticate(self, request: web.Request) -> dict[str, Any]:
        """The caller's JWT claims, or raise 401 (counted as an auth failure)."""
        track = track_of(request)
        self.metrics.auth_attempts.labels(self.name, track).inc()
        token = tokens.bearer(request.headers.get("Authorization"))
        reason = "missing bearer token"
        if token is not None:
            try:
                claims = tokens.verify(self.auth_key, token)
            except tokens.InvalidToken as exc:
                reason = str(exc)
            else:
                rejects = track == "canary" and self.fleet.scenario == "auth-failures"
                if not (rejects and self.fleet.dither("canary-auth", 0.06)):
                    return claims
                reason = "token validation failed"  # the canary's broken key rotation
        self.metrics.auth_failures.labels(self.name, track).inc()
        raise web.HTTPUnauthorized(
            text=f'{{"error": "unauthorized", "reason": "{reason}"}}',
            content_type="application/json",
            headers={"WWW-Authenticate": "Bearer"},
        )

    def check_internal_token(self, request: web.Request) -> None:
        self.metrics.auth_attempts.labels(self.name, track_of(request)).inc()
        given = request.headers.get(INTERNAL_TOKEN_HEADER, "")
        expected = self.fleet.state.secrets["qna_internal_token"]
        import hmac

        if not given or not hmac.compare_digest(given.encode(), expected.encode()):
            self.metrics.auth_failures.labels(self.name, track_of(request)).inc()
            raise web.HTTPUnauthorized(
                text='{"error": "unauthorized", "reason": "bad or missing X-Internal-Token"}',
                content_type="application/json",
            )

    def write_fails(self, request: web.Request) -> bool:
        """failed-writes: 10 % of canary writes do not persist."""
        if track_of(request) != "canary" or self.fleet.scenario != "failed-writes":
            return False
        return self.fleet.dither("canary-writes", 0.10)

    def failed_write(self, request: web.Request) -> web.Response:
        self.metrics.failed_writes.labels(self.name, track_of(request)).inc()
        return web.json_response(
            {"error": "write failed", "service": self.name},
            status=500,
            headers={"X-Write-Failed": "1"},
        )

    # -- common endpoints ---------------------------------------------------
    async def health(self, request: web.Request) -> web.Response:
        canary = track_of(request) == "canary"
        body = {
            "status": "ok",
            "service": self.name,
            "version": CANARY_VERSION if canary else BASELINE_VERSION,
            "commit": self.fleet.state.commit if canary else "previous",
        }
        if self.fleet.worker is not None and self.fleet.worker.svc is self:
            body["queue"] = self.fleet.worker.health()
        if self.fleet.scenario == "unhealthy-service" and self.name == UNHEALTHY_SERVICE:
            body.update(status="degraded", reason="database connection pool exhausted")
            return web.json_response(body, status=503)
        return web.json_response(body)

    async def metrics_endpoint(self, request: web.Request) -> web.Response:
        if self.fleet.scenario == "target-down" and self.name == SCRAPE_BROKEN_SERVICE:
            return web.Response(status=503, text="exporter unavailable\n")
        from prometheus_client import CONTENT_TYPE_LATEST

        resp = web.Response(body=self.metrics.exposition())
        resp.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return resp

    async def list_items(self, request: web.Request) -> web.Response:
        self.authenticate(request)
        await self.think(request)
        return web.json_response({"items": self.items[-20:]})

    async def create_item(self, request: web.Request) -> web.Response:
        self.authenticate(request)
        body = await json_body(request)
        await self.think(request)
        if self.write_fails(request):
            return self.failed_write(request)
        item = {"id": f"{self.name}-{len(self.items)}", "name": str(body.get("name", ""))[:80]}
        self.items.append(item)
        del self.items[:-200]  # bounded: the generator writes forever
        return web.json_response(item, status=201)

    async def think(self, request: web.Request) -> None:
        """Model service time: a few ms, longer on a regressing canary."""
        base = 0.004 * self.rng.lognormvariate(0.0, 0.5)
        if track_of(request) == "canary" and self.fleet.canary_5xx_probability() > 0:
            base *= 3
        await asyncio.sleep(base)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in ("/health", "/metrics"):
            return await handler(request)
        track = track_of(request)
        started = time.perf_counter()
        try:
            p = self.fleet.canary_5xx_probability() if track == "canary" else 0.0
            if track == "canary" and p and self.fleet.dither(f"5xx-{track}", p):
                response: web.StreamResponse = web.json_response(
                    {"error": "internal error", "service": self.name}, status=500
                )
            else:
                response = await handler(request)
        except web.HTTPException as exc:
            response = exc
        code = str(response.status)
        self.metrics.requests.labels(self.name, track, request.method, code).inc()
        self.metrics.latency.labels(self.name, track).observe(time.perf_counter() - started)
        response.headers[TRACK_HEADER] = track
        if isinstance(response, web.HTTPException):
            raise response
        return response

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self.middleware])
        app.router.add_get("/health", self.health)
        app.router.add_get("/metrics", self.metrics_endpoint)
        app.router.add_get("/items", self.list_items)
        app.router.add_post("/items", self.create_item)
        return app


async def json_body(request: web.Request) -> dict[str, Any]:
    if not request.body_exists:
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(
            text='{"error": "body is not JSON"}', content_type="application/json"
        ) from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text='{"error": "expected a JSON object"}', content_type="application/json")
    return body
