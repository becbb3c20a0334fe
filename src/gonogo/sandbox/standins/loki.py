"""A Loki stand-in: ``GET /loki/api/v1/query_range`` for log stream selectors.

Follows https://grafana.com/docs/loki/latest/reference/loki-http-api/#query-logs-within-a-range-of-time :
``query`` (a LogQL stream selector such as ``{job="auth"}`` or ``{job=~"auth|qna"}``),
``start``/``end`` (nanosecond unix epoch or RFC3339), ``limit``, ``direction``
(``backward`` default); the answer is ``{"status": "success", "data": {"resultType":
"streams", "result": [{"stream": {labels}, "values": [["<ns>", "<line>"], ...]}],
"stats": {...}}}``. A malformed query is 400 with a plain-text parse error, as Loki
does. Metric queries (``count_over_time``) are not implemented: 400.

Each job in ``jobs`` logs a line every 10 s; jobs in ``silent_jobs`` have not logged
for an hour (a broken Promtail pipeline).
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Any

from aiohttp import web

SEED_JOBS = (
    "auth", "user-profile", "transactions", "compliance", "documents", "documents-worker",
    "consent", "analytics", "calendar", "partner-registry", "integrations", "tax-engine",
    "categorization", "qna", "web-portal", "api-gateway",
)  # fmt: skip
LINE_EVERY_S = 10.0
SILENT_FOR_S = 3600.0
_SELECTOR = re.compile(r"^\s*\{(?P<body>[^{}]*)\}\s*(?P<rest>.*)$", re.S)
_MATCHER = re.compile(r'\s*(?P<label>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<op>=~|!~|!=|=)\s*"(?P<value>(?:[^"\\]|\\.)*)"\s*(,|$)')


class LogQLError(ValueError):
    pass


def parse_selector(query: str) -> list[tuple[str, str, str]]:
    """``{job="a", env!="x"}`` -> [("job", "=", "a"), ("env", "!=", "x")]."""
    m = _SELECTOR.match(query)
    if m is None:
        raise LogQLError(f"parse error : syntax error: unexpected input, expecting {{ in {query[:60]!r}")
    body, rest = m.group("body"), m.group("rest").strip()
    if rest and not rest.startswith("|"):
        raise LogQLError(f"parse error : syntax error: unexpected {rest[:20]!r}")
    matchers = []
    pos = 0
    while pos < len(body.strip()):
        mm = _MATCHER.match(body, pos)
        if mm is None:
            raise LogQLError(f"parse error : bad label matcher near {body[pos:pos + 20]!r}")
        matchers.append((mm.group("label"), mm.group("op"), mm.group("value").replace('\\"', '"')))
        pos = mm.end()
    if not matchers:
        raise LogQLError("parse error : queries require at least one regexp or equality matcher")
    return matchers


def matches(labels: dict[str, str], matchers: list[tuple[str, str, str]]) -> bool:
    for label, op, value in matchers:
        have = labels.get(label, "")
        if op == "=" and have != value:
            return False
        if op == "!=" and have == value:
            return False
        if op in ("=~", "!~"):
            hit = re.fullmatch(value, have) is not None
            if hit != (op == "=~"):
                return False
    return True


def parse_time_ns(text: str | None, default_ns: int) -> int:
    if not text:
        return default_ns
    try:
        value = float(text)
    except ValueError:
        try:
            return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1e9)
        except ValueError:
            raise LogQLError(f"could not parse time {text[:40]!r}") from None
    return int(value * 1e9) if value < 1e12 else int(value)  # seconds or nanoseconds


def make_app(
    state: Any, *, jobs: tuple[str, ...] = SEED_JOBS, silent_jobs: tuple[str, ...] = ()
) -> web.Application:
    async def query_range(request: web.Request) -> web.Response:
        now_ns = int(time.time() * 1e9)
        try:
            matchers = parse_selector(request.query.get("query", ""))
            end = parse_time_ns(request.query.get("end"), now_ns)
            start = parse_time_ns(request.query.get("start"), end - int(3600 * 1e9))
            limit = int(request.query.get("limit", "100"))
        except (LogQLError, ValueError) as exc:
            return web.Response(status=400, text=str(exc))
        backward = request.query.get("direction", "backward") == "backward"
        result = []
        for job in jobs:
            labels = {"job": job, "env": "sandbox", "filename": f"/var/log/{job}.log"}
            if not matches(labels, matchers):
                continue
            last = min(end, now_ns) - (int(SILENT_FOR_S * 1e9) if job in silent_jobs else 0)
            step = int(LINE_EVERY_S * 1e9)
            values: list[list[str]] = []
            t = last - last % step
            while t >= start and len(values) < limit:
                line = f'level=info service={job} msg="request served" status=200 trace_id={t % 10**12:012x}'
                values.append([str(t), line])
                t -= step
            if not backward:
                values.reverse()
            if values:
                result.append({"stream": labels, "values": values})
        lines = sum(len(s["values"]) for s in result)
        return web.json_response(
            {
                "status": "success",
                "data": {
                    "resultType": "streams",
                    "result": result,
                    "stats": {"summary": {"totalLinesProcessed": lines, "execTime": 0.001}},
                },
            }
        )

    async def ready(request: web.Request) -> web.Response:
        return web.Response(text="ready\n")

    app = web.Application()
    app.router.add_get("/loki/api/v1/query_range", query_range)
    app.router.add_get("/ready", ready)
    return app
