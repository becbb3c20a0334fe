"""A Grafana HTTP API stand-in: dashboard search, dashboard by uid, datasource health
and datasource queries.

Follows https://grafana.com/docs/grafana/latest/developers/http_api/ :
- ``GET /api/search?query=&type=dash-db`` (folder_dashboard_search)
- ``GET /api/dashboards/uid/{uid}`` -> ``{"dashboard": {...}, "meta": {...}}``, 404
  ``{"message": "Dashboard not found"}`` (dashboard)
- ``GET /api/datasources/uid/{uid}/health`` -> ``{"status": "OK", "message": ...}``,
  400 with ``"status": "ERROR"`` when the backend fails (data_source)
- ``POST /api/ds/query`` -> ``{"results": {refId: {"status": 200, "frames": [...]}}}``
  with data frames as ``{"schema": {...}, "data": {"values": [[times], [values]]}}``
  (query_data)
Authentication is a service-account token: ``Authorization: Bearer <token>``, else
401 ``{"message": "Unauthorized"}``. The token is ``state.secrets["grafana_token"]``.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from gonogo.sandbox.standins import demo_secret

DATASOURCES = {
    "prom-sandbox": {"id": 1, "name": "Prometheus", "type": "prometheus"},
    "loki-sandbox": {"id": 2, "name": "Loki", "type": "loki"},
}
DASHBOARDS: dict[str, dict[str, Any]] = {
    "monorepo-overview": {
        "title": "Monorepo overview",
        "tags": ["monorepo", "slo"],
        "panels": [("Request rate", "prom-sandbox", "sum by (service) (rate(http_requests_total[1m]))")],
    },
    "api-gateway": {
        "title": "API gateway",
        "tags": ["gateway"],
        "panels": [("Routed requests", "prom-sandbox", "sum by (route) (rate(gateway_requests_total[1m]))")],
    },
    "canary": {
        "title": "Canary vs baseline",
        "tags": ["rollout"],
        "panels": [("5xx ratio", "prom-sandbox", "sum by (track) (rate(http_requests_total{code=~\"5..\"}[1m]))")],
    },
    "workers": {
        "title": "Workers and queues",
        "tags": ["workers"],
        "panels": [
            ("Queue lag", "prom-sandbox", "max(worker_queue_lag_seconds)"),
            ("Worker logs", "loki-sandbox", "{job=\"documents-worker\"}"),
        ],
    },
}


def _dashboard_json(uid: str) -> dict[str, Any]:
    spec = DASHBOARDS[uid]
    panels = []
    for i, (title, ds_uid, expr) in enumerate(spec["panels"], start=1):
        ds = {"type": DATASOURCES[ds_uid]["type"], "uid": ds_uid}
        panels.append(
            {
                "id": i,
                "type": "timeseries" if ds["type"] == "prometheus" else "logs",
                "title": title,
                "datasource": ds,
                "gridPos": {"h": 8, "w": 12, "x": 0, "y": 8 * (i - 1)},
                "targets": [{"refId": "A", "datasource": ds, "expr": expr}],
            }
        )
    return {
        "id": list(DASHBOARDS).index(uid) + 1,
        "uid": uid,
        "title": spec["title"],
        "tags": spec["tags"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 7,
        "panels": panels,
    }


def make_app(
    state: Any,
    *,
    failing_datasources: tuple[str, ...] = (),
    empty_datasources: tuple[str, ...] = (),
) -> web.Application:
    """``failing_datasources``: uids whose health check fails and whose queries error;
    ``empty_datasources``: healthy, but their queries return no data (nothing ingested)."""
    token = demo_secret(state, "grafana_token")

    @web.middleware
    async def auth(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == "/api/health":
            return await handler(request)
        if request.headers.get("Authorization", "") != f"Bearer {token}":
            return web.json_response({"message": "Unauthorized"}, status=401)
        return await handler(request)

    async def search(request: web.Request) -> web.Response:
        query = request.query.get("query", "").lower()
        kind = request.query.get("type", "")
        if kind and kind != "dash-db":
            return web.json_response([])
        hits = []
        for uid, spec in DASHBOARDS.items():
            if query and query not in spec["title"].lower():
                continue
            slug = spec["title"].lower().replace(" ", "-")
            hits.append(
                {
                    "id": list(DASHBOARDS).index(uid) + 1,
                    "uid": uid,
                    "title": spec["title"],
                    "uri": f"db/{slug}",
                    "url": f"/d/{uid}/{slug}",
                    "slug": "",
                    "type": "dash-db",
                    "tags": spec["tags"],
                    "isStarred": False,
                    "folderUid": "monorepo",
                    "folderTitle": "Monorepo",
                }
            )
        return web.json_response(hits)

    async def dashboard(request: web.Request) -> web.Response:
        uid = request.match_info["uid"]
        if uid not in DASHBOARDS:
            return web.json_response({"message": "Dashboard not found"}, status=404)
        meta = {"type": "db", "canSave": False, "slug": uid, "url": f"/d/{uid}",
                "folderUid": "monorepo", "folderTitle": "Monorepo", "provisioned": True}  # fmt: skip
        return web.json_response({"dashboard": _dashboard_json(uid), "meta": meta})

    async def ds_health(request: web.Request) -> web.Response:
        uid = request.match_info["uid"]
        if uid not in DATASOURCES:
            return web.json_response({"message": "Data source not found"}, status=404)
        if uid in failing_datasources:
            return web.json_response(
                {"status": "ERROR", "message": "Post \"http://backend/api/v1/query\": dial tcp: connection refused"},
                status=400,
            )
        kind = DATASOURCES[uid]["type"]
        message = (
            "Successfully queried the Prometheus API."
            if kind == "prometheus"
            else "Data source successfully connected."
        )
        return web.json_response({"status": "OK", "message": message})

    async def ds_query(request: web.Request) -> web.Response:
        try:
            body = await request.json()
            queries = list(body["queries"])
        except (ValueError, KeyError, TypeError):
            return web.json_response({"message": "bad request data"}, status=400)
        now_ms = int(time.time() * 1000)
        results: dict[str, Any] = {}
        for q in queries:
            ref = str(q.get("refId", "A"))
            ds = (q.get("datasource") or {}).get("uid", "")
            if ds not in DATASOURCES or ds in failing_datasources:
                results[ref] = {"status": 500, "error": f"datasource {ds!r} unavailable", "frames": []}
                continue
            times = [] if ds in empty_datasources else [now_ms - 15_000 * k for k in range(8, 0, -1)]
            frame = {
                "schema": {"refId": ref, "fields": [{"name": "Time", "type": "time"},
                                                     {"name": "Value", "type": "number"}]},
                "data": {"values": [times, [1.0 + 0.1 * k for k in range(len(times))]]},
            }  # fmt: skip
            results[ref] = {"status": 200, "frames": [frame]}
        return web.json_response({"results": results})

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"database": "ok", "version": "10.4.0-standin"})

    app = web.Application(middlewares=[auth])
    app.router.add_get("/api/health", health)
    app.router.add_get("/api/search", search)
    app.router.add_get("/api/dashboards/uid/{uid}", dashboard)
    app.router.add_get("/api/datasources/uid/{uid}/health", ds_health)
    app.router.add_post("/api/ds/query", ds_query)
    return app
