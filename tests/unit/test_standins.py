"""The stand-ins speak their real APIs' shapes and react to scenarios at run time."""

from __future__ import annotations

import time
from datetime import datetime

import httpx
import pytest

from gonogo.sandbox.standins import github, grafana, jaeger, loki, vault
from gonogo.sandbox.state import SandboxState
from support.loopback import serve


def ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


async def test_vault_errors_and_scenario_switch() -> None:
    state = SandboxState()
    async with serve(vault.make_app(state)) as url, httpx.AsyncClient(base_url=url) as http:
        anonymous = await http.get("/v1/auth/token/lookup-self")
        assert (anonymous.status_code, anonymous.json()) == (403, {"errors": ["permission denied"]})
        auth = {"X-Vault-Token": state.secrets["vault_token"]}
        missing = await http.get("/v1/secret/metadata/monorepo/nope", headers=auth)
        assert (missing.status_code, missing.json()) == (404, {"errors": []})
        me = (await http.get("/v1/auth/token/lookup-self", headers=auth)).json()["data"]
        assert me["renewable"] is True and 0 < me["ttl"] <= vault.TOKEN_TTL_S
        assert ts(me["expire_time"]) == pytest.approx(time.time() + me["ttl"], abs=5)

        async def age(path: str) -> float:
            meta = (await http.get(f"/v1/secret/metadata/{path}", headers=auth)).json()["data"]
            assert meta["versions"][str(meta["current_version"])]["created_time"] == meta["updated_time"]
            return (time.time() - ts(meta["updated_time"])) / 86400

        assert await age("monorepo/weaviate") == pytest.approx(12, abs=0.1)
        state.set_scenario("stale-secret")  # no restart: the next answer reflects it
        assert await age("monorepo/weaviate") == pytest.approx(200, abs=0.1)
        assert await age("monorepo/qna") == pytest.approx(12, abs=0.1)


async def test_github_commit_runs_search_and_rate_headers() -> None:
    state = SandboxState()
    async with serve(github.make_app(state)) as url, httpx.AsyncClient(base_url=url) as http:
        repo = "/repos/example/monorepo"
        sha = (await http.get(f"{repo}/commits/0cab782")).json()["sha"]
        assert len(sha) == 40 and sha.startswith("0cab782")
        unknown = await http.get(f"{repo}/commits/deadbee")
        assert unknown.status_code == 422 and "No commit found" in unknown.json()["message"]
        assert (await http.get("/repos/example/other/actions/workflows")).status_code == 404
        runs = (await http.get(f"{repo}/actions/runs", params={"head_sha": sha})).json()
        assert runs["total_count"] == 2
        other = (await http.get(f"{repo}/actions/runs", params={"head_sha": "f" * 40})).json()
        assert other == {"total_count": 0, "workflow_runs": []}
        first = await http.get("/search/issues", params={"q": "repo:example/monorepo is:issue label:P0"})
        second = await http.get("/search/issues", params={"q": "repo:example/monorepo label:P0 label:P2"})
        assert int(first.headers["x-ratelimit-remaining"]) - 1 == int(second.headers["x-ratelimit-remaining"])
        assert first.json()["total_count"] == 1  # the closed P0
        assert second.json()["total_count"] == 0  # several label: qualifiers are ANDed
        either = await http.get("/search/issues", params={"q": "is:open label:P0,P2"})
        assert [i["number"] for i in either.json()["items"]] == [412]  # a comma is OR
        state.set_scenario("open-p0")
        now = await http.get("/search/issues", params={"q": "is:open label:P0"})
        assert [i["number"] for i in now.json()["items"]] == [431]


async def test_grafana_requires_token_and_answers_queries_with_recent_frames() -> None:
    state = SandboxState()
    async with serve(grafana.make_app(state)) as url, httpx.AsyncClient(base_url=url) as http:
        assert (await http.get("/api/search")).status_code == 401
        auth = {"Authorization": f"Bearer {state.secrets['grafana_token']}"}
        assert (await http.get("/api/dashboards/uid/nope", headers=auth)).json() == {"message": "Dashboard not found"}
        body = {"queries": [{"refId": "B", "datasource": {"uid": "prom-sandbox"}, "expr": "up"}],
                "from": "now-5m", "to": "now"}  # fmt: skip
        answer = (await http.post("/api/ds/query", json=body, headers=auth)).json()
        times = answer["results"]["B"]["frames"][0]["data"]["values"][0]
        assert times and all(time.time() * 1000 - t < 5 * 60 * 1000 for t in times)


async def test_loki_selectors_window_and_errors() -> None:
    async with serve(loki.make_app(SandboxState())) as url, httpx.AsyncClient(base_url=url) as http:
        end = time.time_ns()
        ok = await http.get("/loki/api/v1/query_range", params={
            "query": '{job=~"auth|qna", env!="prod"}', "start": str(end - 60 * 10**9), "end": str(end),
            "direction": "forward"})  # fmt: skip
        streams = ok.json()["data"]["result"]
        assert {s["stream"]["job"] for s in streams} == {"auth", "qna"}
        stamps = [int(v[0]) for v in streams[0]["values"]]
        assert stamps == sorted(stamps) and len(stamps) == 6  # one line per 10 s, oldest first
        bad = await http.get("/loki/api/v1/query_range", params={"query": "job=auth"})
        assert bad.status_code == 400 and bad.text.startswith("parse error")


async def test_jaeger_requires_service_and_honours_lookback() -> None:
    async with serve(jaeger.make_app(SandboxState())) as url, httpx.AsyncClient(base_url=url) as http:
        missing = await http.get("/api/traces")
        assert missing.status_code == 400
        assert missing.json()["errors"] == [{"code": 400, "msg": "parameter 'service' is required"}]
        traces = (await http.get("/api/traces", params={"service": "auth", "lookback": "1m", "limit": 50})).json()
        starts = [t["spans"][0]["startTime"] for t in traces["data"]]
        assert starts and all(time.time() * 1e6 - s <= 60 * 1e6 for s in starts)
        assert traces["data"][0]["processes"]["p1"]["serviceName"] == "auth"
        ops = (await http.get("/api/services/tax-engine/operations")).json()["data"]
        assert ops == ["POST /tax/calculate", "POST /tax/submit"]
        assert (await http.get("/api/traces", params={"service": "nobody"})).json()["data"] == []
