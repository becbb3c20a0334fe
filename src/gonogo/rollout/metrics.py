"""Metrics sources: where the canary and baseline values of each metric come from.

``MetricsSource.poll(metrics, now)`` returns one ``Reading`` per metric id: the
latest canary and baseline values, or ``None`` with an error when the source has
no data, and the canary's request count over the evaluation window for metrics
with a ``min_requests``. It never raises for an unreachable server: that is an
inconclusive reading, judged by the rules, not a crash.

An *empty* Prometheus result (no series) reads per the metric's ``no_data``:
``"zero"`` makes it 0, ``"inconclusive"`` keeps it missing. A ``NaN`` (0/0) is always
missing. An empty request count is 0 requests.

- ``PrometheusSource`` (prometheus-api-client, a blocking client, so every query
  runs in a worker thread): range queries fetched incrementally — the first poll
  reads back over the metric's window, later polls only the steps since the last
  point seen.
- ``SandboxSource``: ``GET /admin/metrics`` on the sandbox gateway's admin address,
  which reports the fleet's current canary and baseline values per metric key, and
  the requests each track served in its window, so it works whether the fleet runs
  in this process or another.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from gonogo.config import CanaryMetric, Plan
from gonogo.context import CheckContext
from gonogo.errors import describe_error

ERROR_LIMIT = 240  # an error's excerpt, redacted before it is cut


@dataclass(frozen=True, slots=True)
class Reading:
    canary: float | None
    baseline: float | None
    error: str = ""
    requests: float | None = None  # canary requests in the evaluation window, when counted


class MetricsSource(Protocol):
    async def poll(self, metrics: Sequence[CanaryMetric], now: float) -> dict[str, Reading]: ...

    async def aclose(self) -> None: ...


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if f == f and f not in (float("inf"), float("-inf")) else None


class SandboxSource:
    def __init__(self, plan: Plan, ctx: CheckContext) -> None:
        self.plan = plan
        self.ctx = ctx

    async def _url(self) -> str:
        c = self.plan.canary
        gw = self.plan.integrations.gateway
        if c.url is not None:
            base = await self.ctx.resolver.value(c.url)
        elif gw is not None and gw.admin_url is not None:
            base = await self.ctx.resolver.value(gw.admin_url)
        else:
            raise ValueError("sandbox metrics: set canary.url or integrations.gateway.admin_url")
        base = base.rstrip("/")
        return base if base.endswith("/admin/metrics") else base + "/admin/metrics"

    async def poll(self, metrics: Sequence[CanaryMetric], now: float) -> dict[str, Reading]:
        try:
            resp = await self.ctx.http.get(await self._url(), timeout=self.plan.canary.interval.seconds)
            resp.raise_for_status()
            payload = resp.json()
            table = payload["metrics"]
        except Exception as exc:
            why = self.ctx.redactor.excerpt(describe_error(exc), ERROR_LIMIT)
            return {m.id: Reading(None, None, why) for m in metrics}
        counts = payload.get("samples") if isinstance(payload, dict) else None
        requests = _num(counts.get("canary")) if isinstance(counts, dict) else None
        out: dict[str, Reading] = {}
        for m in metrics:
            key = m.sandbox or m.id
            row = table.get(key) if isinstance(table, dict) else None
            if not isinstance(row, dict):
                out[m.id] = Reading(None, None, self.ctx.redactor.excerpt(
                    f"the sandbox reports no metric {key!r}", ERROR_LIMIT))
                continue
            out[m.id] = Reading(_num(row.get("canary")), _num(row.get("baseline")), requests=requests)
        return out

    async def aclose(self) -> None:
        return None


class PrometheusSource:
    def __init__(self, plan: Plan, ctx: CheckContext) -> None:
        self.plan = plan
        self.ctx = ctx
        self._client: Any = None
        self._last: dict[str, tuple[float, float]] = {}  # query -> (timestamp, value) last seen

    def _connect(self) -> Any:
        if self._client is None:
            from prometheus_api_client import PrometheusConnect
            from urllib3.util.retry import Retry

            prom = self.plan.integrations.prometheus
            url = self.plan.canary.url or (prom.url if prom else None)
            if url is None:
                raise ValueError("no [integrations.prometheus] url for the canary metrics")
            self._client = PrometheusConnect(
                url=self.ctx.resolver.value_sync(url), disable_ssl=False,
                retry=Retry(total=0), timeout=max(1, int(self.plan.canary.interval.seconds)),
            )
        return self._client

    def _fetch(self, query: str, now: float, window: float) -> tuple[float | None, bool]:
        """Fetch the steps since the last point seen (or the window): the newest value,
        and whether the result was empty (no series at all, rather than a NaN)."""
        client = self._connect()
        step = self.plan.canary.step.seconds
        last = self._last.get(query)
        # Polled faster than the step: still ask (for the point at ``now``), so an
        # outage shows at once instead of hiding behind the last value.
        start = min(now, max(now - window, last[0] + step)) if last else now - window
        data = client.custom_query_range(
            query,
            start_time=dt.datetime.fromtimestamp(start, dt.UTC),
            end_time=dt.datetime.fromtimestamp(now, dt.UTC),
            step=f"{max(step, 0.001):g}s",
        )
        points: list[tuple[float, float]] = []
        for series in data[:1]:
            for t, v in series.get("values", []):
                value = _num(v)
                if value is not None:
                    points.append((float(t), value))
        if points:
            self._last[query] = points[-1]
            return points[-1][1], False
        if last and now - last[0] <= 2 * step:
            return last[1], False
        return None, not data

    def _read(self, m: CanaryMetric, query: str, now: float, cache: dict[str, tuple[float | None, bool]],
              *, zero_if_empty: bool) -> float | None:
        if query not in cache:  # one query per poll, however many metrics share it
            cache[query] = self._fetch(query, now, m.window.seconds)
        value, empty = cache[query]
        return 0.0 if value is None and empty and zero_if_empty else value

    def _poll_sync(self, metrics: Sequence[CanaryMetric], now: float) -> dict[str, Reading]:
        out: dict[str, Reading] = {}
        cache: dict[str, tuple[float | None, bool]] = {}
        canary_cfg = self.plan.canary
        for m in metrics:
            zero = m.no_data == "zero"
            try:
                canary = self._read(m, m.canary, now, cache, zero_if_empty=zero)
                baseline = (self._read(m, m.baseline, now, cache, zero_if_empty=zero)
                            if m.baseline else None)
            except Exception as exc:  # unreachable, bad query, HTTP error: no data, named
                self._last.pop(m.canary, None)
                out[m.id] = Reading(None, None, self.ctx.redactor.excerpt(_prom_error(exc), ERROR_LIMIT))
                continue
            error = "" if canary is not None else (
                "the canary query returned NaN (no traffic in its denominator?)"
                if m.canary in cache and not cache[m.canary][1] else "no data for the canary query")
            requests: float | None = None
            query = canary_cfg.requests_query(m)
            if canary_cfg.min_requests_of(m) > 0 and query:
                try:  # an empty count is no requests at all
                    requests = self._read(m, query, now, cache, zero_if_empty=True)
                except Exception as exc:
                    error = error or self.ctx.redactor.excerpt(
                        "request count: " + _prom_error(exc), ERROR_LIMIT)
            out[m.id] = Reading(canary, baseline, error, requests=requests)
        return out

    async def poll(self, metrics: Sequence[CanaryMetric], now: float) -> dict[str, Reading]:
        # Prometheus is asked about wall-clock time: the engine's clock runs holds (and
        # may be compressed or injected), but the series live in real time.
        return await asyncio.to_thread(self._poll_sync, metrics, time.time())

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None and getattr(client, "_session", None) is not None:
            await asyncio.to_thread(client._session.close)


def _prom_error(exc: BaseException) -> str:
    name = type(exc).__name__
    if "ConnectionError" in name or "MaxRetry" in name or "NewConnection" in str(exc):
        return "Prometheus unreachable"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""  # cut after redaction
    return f"Prometheus query failed: {name}" + (f": {text}" if text else "")


def make_source(plan: Plan, ctx: CheckContext) -> MetricsSource:
    if plan.canary.source == "sandbox":
        return SandboxSource(plan, ctx)
    return PrometheusSource(plan, ctx)
