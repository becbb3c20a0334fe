"""Observability check kinds: Prometheus targets, Grafana dashboards, Loki ingest,
Jaeger traces and Alertmanager receivers.

Prometheus goes through prometheus-api-client (synchronous, so in a thread); the
others through the shared ``ctx.http``. "Recent" always means recent by the
server's own clock where the API gives it (Prometheus evaluation time), so that a
sample kept by the 5-minute lookback after its target vanished is seen as stale.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import msgspec

from gonogo.context import CheckContext
from gonogo.errors import describe_error
from gonogo.integrations.prometheus import PrometheusHandle, describe_prometheus_error, query
from gonogo.model import Outcome
from gonogo.values import Duration, format_duration


class ApiProblem(Exception):
    """An HTTP API answered unusably; the message is the operator-facing line."""


async def get_json(ctx: CheckContext, method: str, url: str, what: str, **kw: Any) -> Any:
    import httpx  # with the first request, not with the config (``gonogo.context``)

    try:
        response = await ctx.http.request(method, url, **kw)
    except httpx.HTTPError as exc:

        raise ApiProblem(f"{what}: {describe_error(exc)}") from None
    if response.status_code in (401, 403):
        raise ApiProblem(f"{what}: credentials rejected (HTTP {response.status_code})")
    if response.status_code >= 400:
        raise ApiProblem(f"{what}: HTTP {response.status_code} {ctx.redactor.excerpt(response.text.strip(), 160, squeeze=True)}")
    try:
        return response.json()
    except ValueError:
        raise ApiProblem(f"{what}: answer is not JSON") from None


def _head(problems: list[str], total: int, noun: str) -> str:
    return problems[0] if len(problems) == 1 else f"{len(problems)}/{total} {noun}: {problems[0]}"


# -- Prometheus ------------------------------------------------------------------


class TargetsParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    jobs: tuple[str, ...] = ()  # expected scrape jobs; empty = every job Prometheus has
    instances: tuple[str, ...] = ()  # expected host:port instances (any job)
    max_staleness: Duration = Duration(60.0)  # newest `up` sample older than this = not scraped


def _promql_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


async def _prometheus(ctx: CheckContext) -> PrometheusHandle:
    """The run's one Prometheus client (shared by every Prometheus check)."""
    cfg = ctx.plan.integrations.prometheus
    if cfg is None:
        raise LookupError("no [integrations.prometheus] in the config")
    url = await ctx.resolver.value(cfg.url)
    timeout = ctx.plan.settings.timeout.seconds

    async def build() -> PrometheusHandle:
        return PrometheusHandle(url.rstrip("/"), timeout)

    handle: PrometheusHandle = await ctx.shared("prometheus", build)
    return handle


class PrometheusTargets:
    """Every expected job/instance is up and still being scraped."""

    kind = "prometheus_targets"
    imports = ('requests', 'prometheus_api_client.prometheus_connect')  # loaded off the event loop before the run
    Params = TargetsParams

    async def run(self, params: TargetsParams, ctx: CheckContext) -> Outcome:
        try:
            handle = await _prometheus(ctx)
        except LookupError as exc:
            return Outcome.errored(str(exc))
        selector = ""
        if params.jobs:
            selector = "{job=~" + _promql_string("|".join(re.escape(j) for j in params.jobs)) + "}"
        try:
            # timestamp(up) keeps the sample's own time; its value[0] is the evaluation
            # time (the server's now), so age needs no agreement between clocks.
            up, stamps = await asyncio.gather(
                query(handle, f"up{selector}"), query(handle, f"timestamp(up{selector})")
            )
        except Exception as exc:
            described = describe_prometheus_error(exc, handle.url)
            if described is None:
                raise
            return Outcome.errored(described)
        series: dict[tuple[str, str], dict[str, Any]] = {}
        for item in up:
            m = item.get("metric", {})
            series[(m.get("job", ""), m.get("instance", ""))] = {"up": float(item["value"][1])}
        for item in stamps:
            m = item.get("metric", {})
            row = series.setdefault((m.get("job", ""), m.get("instance", "")), {})
            row["age_s"] = round(float(item["value"][0]) - float(item["value"][1]), 1)
        problems: list[str] = []
        for job in params.jobs:
            if not any(j == job for j, _ in series):
                problems.append(f"job {job!r}: no targets (not scraped in the lookback window)")
        for inst in params.instances:
            if not any(i == inst for _, i in series):
                problems.append(f"instance {inst}: no target")
        for (job, inst), row in sorted(series.items()):
            if row.get("up") != 1.0:
                problems.append(f"{job} {inst}: down (up={row.get('up', 0):g}, expected 1)")
            elif row.get("age_s", 0.0) > params.max_staleness.seconds:
                problems.append(
                    f"{job} {inst}: last scraped {format_duration(row['age_s'])} ago > {params.max_staleness}"
                )
        evidence = {
            "prometheus": handle.url,
            "targets": {f"{j} {i}": row for (j, i), row in sorted(series.items())},
        }
        if not series and not problems:
            return Outcome.failed("Prometheus has no targets (expected at least one)", **evidence)
        if problems:
            return Outcome.failed(_head(problems, max(len(series), 1), "targets"), *problems, **evidence)
        jobs = sorted({j for j, _ in series})
        return Outcome.passed(f"{len(series)} target(s) up in {len(jobs)} job(s)", **evidence)


# -- Grafana ---------------------------------------------------------------------


class DashboardsParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    dashboards: tuple[str, ...]  # titles or uids
    datasources: bool = True  # each panel's datasource answers its health check
    live_data: bool = True  # the first query of each dashboard returns recent data
    window: Duration = Duration(900.0)  # "recent" for live_data


_SKIP_DATASOURCES = {"-- Grafana --", "-- Mixed --", "-- Dashboard --", "grafana"}


def _datasource_uids(dashboard: dict[str, Any]) -> list[str]:
    uids: list[str] = []

    def add(ds: Any) -> None:
        uid = ds.get("uid") if isinstance(ds, dict) else None
        if uid and uid not in _SKIP_DATASOURCES and not str(uid).startswith("$") and uid not in uids:
            uids.append(str(uid))

    for panel in _panels(dashboard):
        add(panel.get("datasource"))
        for target in panel.get("targets", []) or []:
            add(target.get("datasource"))
    return uids


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for panel in dashboard.get("panels", []) or []:
        out.append(panel)
        out.extend(panel.get("panels", []) or [])  # collapsed rows nest their panels
    return out


class GrafanaDashboards:
    """Named dashboards exist, their datasources answer, and they show recent data."""

    kind = "grafana_dashboards"
    Params = DashboardsParams

    async def run(self, params: DashboardsParams, ctx: CheckContext) -> Outcome:
        cfg = ctx.plan.integrations.grafana
        if cfg is None:
            return Outcome.errored("no [integrations.grafana] in the config")
        base = (await ctx.resolver.value(cfg.url)).rstrip("/")
        headers = {"Accept": "application/json"}
        if cfg.token is not None:
            headers["Authorization"] = "Bearer " + await ctx.resolver.resolve(cfg.token)
        try:
            hits = await get_json(ctx, "GET", f"{base}/api/search", "Grafana search",
                                  params={"type": "dash-db", "limit": 5000}, headers=headers)  # fmt: skip
        except ApiProblem as exc:
            return Outcome.errored(str(exc))
        by_key = {}
        for hit in hits if isinstance(hits, list) else []:
            by_key[str(hit.get("uid"))] = hit
            by_key.setdefault(str(hit.get("title", "")).lower(), hit)
        problems: list[str] = []
        rows: dict[str, Any] = {}
        health_cache: dict[str, str | None] = {}
        for wanted in params.dashboards:
            hit = by_key.get(wanted) or by_key.get(wanted.lower())
            if hit is None:
                problems.append(f"dashboard {wanted!r} not found")
                continue
            title = str(hit.get("title", wanted))
            try:
                body = await get_json(ctx, "GET", f"{base}/api/dashboards/uid/{hit['uid']}",
                                      f"dashboard {title!r}", headers=headers)  # fmt: skip
                dashboard = body.get("dashboard", {})
                uids = _datasource_uids(dashboard)
                row: dict[str, Any] = {"uid": hit["uid"], "datasources": uids}
                rows[title] = row
                if params.datasources:
                    for uid in uids:
                        if uid not in health_cache:
                            health_cache[uid] = await self._health(ctx, base, uid, headers)
                        if health_cache[uid]:
                            problems.append(f"dashboard {title!r}: datasource {uid} unhealthy: {health_cache[uid]}")
                if params.live_data:
                    found = await self._live(ctx, base, dashboard, params.window, headers)
                    row["live_data"] = found is None
                    if found is not None:
                        problems.append(f"dashboard {title!r}: {found}")
            except ApiProblem as exc:
                problems.append(str(exc))
        evidence = {"grafana": base, "dashboards": rows}
        if problems:
            return Outcome.failed(_head(problems, len(params.dashboards), "problems"), *problems, **evidence)
        return Outcome.passed(
            f"{len(params.dashboards)} dashboard(s) load"
            + (", datasources healthy" if params.datasources else "")
            + (f", data in the last {params.window}" if params.live_data else ""),
            **evidence,
        )

    async def _health(self, ctx: CheckContext, base: str, uid: str, headers: dict[str, str]) -> str | None:
        import httpx

        try:
            response = await ctx.http.get(f"{base}/api/datasources/uid/{uid}/health", headers=headers)
        except httpx.HTTPError as exc:

            return describe_error(exc)
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code == 200 and str(body.get("status", "")).upper() == "OK":
            return None
        return f"HTTP {response.status_code} {ctx.redactor.excerpt(str(body.get('message', '')), 120)}".strip()

    async def _live(
        self, ctx: CheckContext, base: str, dashboard: dict[str, Any], window: Duration,
        headers: dict[str, str],
    ) -> str | None:  # fmt: skip
        """None when the dashboard's first query returns data in the window, else why not."""
        for panel in _panels(dashboard):
            for target in panel.get("targets", []) or []:
                ds = target.get("datasource") or panel.get("datasource")
                if not isinstance(ds, dict) or not ds.get("uid") or ds["uid"] in _SKIP_DATASOURCES:
                    continue
                query = {**target, "datasource": ds, "refId": target.get("refId", "A")}
                query.setdefault("intervalMs", 15000)
                query.setdefault("maxDataPoints", 100)
                payload = {"queries": [query], "from": f"now-{int(window.seconds)}s", "to": "now"}
                body = await get_json(ctx, "POST", f"{base}/api/ds/query",
                                      f"panel {panel.get('title', '')!r} query", json=payload, headers=headers)  # fmt: skip
                result = (body.get("results") or {}).get(query["refId"], {})
                if result.get("error"):
                    return (f"panel {ctx.redactor.excerpt(repr(panel.get('title', '')), 80)}: "
                            f"query error: {ctx.redactor.excerpt(str(result['error']), 120)}")
                for frame in result.get("frames", []) or []:
                    values = (frame.get("data") or {}).get("values") or []
                    if values and any(len(col) for col in values):
                        return None
                return f"no data in the last {window} (panel {panel.get('title', '')!r})"
        return "no panel with a query to judge live data"


# -- Loki ------------------------------------------------------------------------


class LokiParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    jobs: tuple[str, ...]
    window: Duration = Duration(300.0)
    label: str = "job"  # the stream label naming the job (Promtail's default: job)


class LokiIngest:
    """Each job has log lines in the last ``window``."""

    kind = "loki_ingest"
    Params = LokiParams

    async def run(self, params: LokiParams, ctx: CheckContext) -> Outcome:
        cfg = ctx.plan.integrations.loki
        if cfg is None:
            return Outcome.errored("no [integrations.loki] in the config")
        if not params.jobs:
            return Outcome.skipped("no jobs listed")
        base = (await ctx.resolver.value(cfg.url)).rstrip("/")
        headers = {"X-Scope-OrgID": cfg.tenant} if cfg.tenant else {}
        end_ns = time.time_ns()
        start_ns = end_ns - int(params.window.seconds * 1e9)

        async def newest(job: str) -> tuple[str, float | None]:
            selector = "{" + f"{params.label}={_promql_string(job)}" + "}"
            body = await get_json(
                ctx, "GET", f"{base}/loki/api/v1/query_range", f"Loki query for {job}",
                params={"query": selector, "start": str(start_ns), "end": str(end_ns),
                        "limit": "1", "direction": "backward"},
                headers=headers,
            )  # fmt: skip
            stamps = [int(v[0]) for s in body.get("data", {}).get("result", []) for v in s.get("values", [])]
            return job, ((end_ns - max(stamps)) / 1e9 if stamps else None)

        try:
            answers = await asyncio.gather(*(newest(j) for j in params.jobs))
        except ApiProblem as exc:
            return Outcome.errored(str(exc))
        silent = [job for job, age in answers if age is None]
        evidence = {"loki": base, "newest_line_age_s": {j: (round(a, 1) if a is not None else None) for j, a in answers}}
        if silent:
            return Outcome.failed(
                f"{len(silent)}/{len(answers)} job(s) without log lines in the last {params.window}: "
                + ", ".join(silent),
                **evidence,
            )
        return Outcome.passed(f"{len(answers)} job(s) logging (lines in the last {params.window})", **evidence)


# -- Jaeger ----------------------------------------------------------------------


class JaegerParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    services: tuple[str, ...]
    operations: dict[str, tuple[str, ...]] = {}  # service -> operations that need traces
    window: Duration = Duration(900.0)


class JaegerTraces:
    """Each core service (and named operation) has traces in the last ``window``."""

    kind = "jaeger_traces"
    Params = JaegerParams

    async def run(self, params: JaegerParams, ctx: CheckContext) -> Outcome:
        cfg = ctx.plan.integrations.jaeger
        if cfg is None:
            return Outcome.errored("no [integrations.jaeger] in the config")
        if not params.services:
            return Outcome.skipped("no services listed")
        base = (await ctx.resolver.value(cfg.url)).rstrip("/")
        end_us = time.time_ns() // 1000
        start_us = end_us - int(params.window.seconds * 1e6)
        try:
            known = (await get_json(ctx, "GET", f"{base}/api/services", "Jaeger services")).get("data") or []
            probes = [(s, "") for s in params.services if s in known]
            probes += [(s, op) for s, ops in params.operations.items() if s in known for op in ops]

            async def count(service: str, operation: str) -> int:
                query = {"service": service, "start": str(start_us), "end": str(end_us), "limit": "1"}
                if operation:
                    query["operation"] = operation
                body = await get_json(ctx, "GET", f"{base}/api/traces", f"Jaeger traces for {service}", params=query)
                return len(body.get("data") or [])

            counts = await asyncio.gather(*(count(s, op) for s, op in probes))
        except ApiProblem as exc:
            return Outcome.errored(str(exc))
        problems = [f"{s}: never reported traces to Jaeger" for s in (*params.services, *params.operations) if s not in known]
        problems = list(dict.fromkeys(problems))
        for (service, op), n in zip(probes, counts, strict=True):
            if n == 0:
                what = f"{service} {op!r}" if op else service
                problems.append(f"{what}: no traces in the last {params.window}")
        evidence = {"jaeger": base, "probes": {f"{s} {op}".strip(): n > 0 for (s, op), n in zip(probes, counts, strict=True)}}
        if problems:
            return Outcome.failed(_head(problems, len(params.services), "services"), *problems, **evidence)
        return Outcome.passed(
            f"traces in the last {params.window} for {len(params.services)} service(s)"
            + (f" and {len(probes) - len(params.services)} operation(s)" if len(probes) > len(params.services) else ""),
            **evidence,
        )


# -- Alertmanager ----------------------------------------------------------------

CHANNEL_CONFIGS = {
    "pager": ("pagerduty_configs", "opsgenie_configs", "victorops_configs"),
    "slack": ("slack_configs",),
    "email": ("email_configs",),
    "webhook": ("webhook_configs",),
    "msteams": ("msteams_configs",),
}


class ReceiversParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    channels: tuple[str, ...] = ("pager", "slack", "email")  # each must be configured and routed
    receivers: tuple[str, ...] = ()  # receiver names that must exist and be routed


def routed_receivers(route: Any) -> set[str]:
    """Every receiver the route tree can send to (the root's and every child's)."""
    found: set[str] = set()
    if not isinstance(route, dict):
        return found
    if route.get("receiver"):
        found.add(str(route["receiver"]))
    for child in route.get("routes", []) or []:
        found |= routed_receivers(child)
    return found


class AlertReceivers:
    """Alertmanager (API v2 status): pager, Slack and email receivers configured and routed."""

    kind = "alert_receivers"
    imports = ('yaml',)  # loaded off the event loop before the run
    Params = ReceiversParams

    async def run(self, params: ReceiversParams, ctx: CheckContext) -> Outcome:
        import yaml

        cfg = ctx.plan.integrations.alertmanager
        if cfg is None:
            return Outcome.errored("no [integrations.alertmanager] in the config")
        unknown = [c for c in params.channels if c not in CHANNEL_CONFIGS]
        if unknown:
            return Outcome.errored(f"unknown channel(s) {', '.join(unknown)}; known: {', '.join(CHANNEL_CONFIGS)}")
        base = (await ctx.resolver.value(cfg.url)).rstrip("/")
        try:
            status = await get_json(ctx, "GET", f"{base}/api/v2/status", "Alertmanager status")
        except ApiProblem as exc:
            return Outcome.errored(str(exc))
        try:
            config = yaml.safe_load((status.get("config") or {}).get("original") or "") or {}
        except yaml.YAMLError as exc:
            return Outcome.errored(
                f"Alertmanager config is not YAML: {ctx.redactor.excerpt(str(exc).splitlines()[0], 120)}")
        receivers = {str(r.get("name")): r for r in config.get("receivers", []) or [] if isinstance(r, dict)}
        routed = routed_receivers(config.get("route"))
        kinds = {
            name: sorted(ch for ch, keys in CHANNEL_CONFIGS.items() if any(r.get(k) for k in keys))
            for name, r in receivers.items()
        }
        shown = ", ".join(f"{n}[{'/'.join(k) or 'no channels'}]" for n, k in kinds.items()) or "none"
        problems: list[str] = []
        for channel in params.channels:
            having = [n for n, k in kinds.items() if channel in k]
            if not having:
                problems.append(f"no {channel} receiver configured (receivers: {shown})")
            elif not any(n in routed for n in having):
                problems.append(f"{channel} receiver {having[0]!r} is configured but no route sends to it")
        for name in params.receivers:
            if name not in receivers:
                problems.append(f"receiver {name!r} missing (receivers: {shown})")
            elif name not in routed:
                problems.append(f"receiver {name!r} is not referenced by any route")
        evidence = {
            "alertmanager": base,
            "receivers": kinds,
            "routed": sorted(routed),
            "version": (status.get("versionInfo") or {}).get("version", ""),
        }
        if problems:
            return Outcome.failed(_head(problems, len(params.channels) + len(params.receivers), "requirements"),
                                  *problems, **evidence)  # fmt: skip
        return Outcome.passed(
            f"{', '.join(params.channels)} receivers configured and routed ({len(receivers)} receivers)",
            **evidence,
        )


KINDS = [PrometheusTargets, GrafanaDashboards, LokiIngest, JaegerTraces, AlertReceivers]
