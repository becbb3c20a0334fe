"""http_health against real local services: status, body condition, latency, outages."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest
from aiohttp import web

from gonogo.config import ConfigError
from gonogo.model import Status
from support.loopback import app_with, json_reply, never_answer, serve, status_reply
from support.plans import plan_from_toml, run_check


def fleet_toml(urls: dict[str, str], extra: str = "") -> str:
    services = "".join(
        f'[[services]]\nname = "{name}"\nhealth_url = "{url}"\n\n' for name, url in urls.items()
    )
    return services + f"""
[[gates]]
id = "ops"
title = "Operations"
  [[gates.checks]]
  id = "health"
  title = "/health for all services"
  kind = "http_health"
  latency_budget = "2s"
{extra}"""


def service_app() -> web.Application:
    # over the 2s budget; the budget leaves room for a loaded machine's fast replies
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2.3)
        return web.json_response({"status": "ok"})

    return app_with(
        {
            "/ok/health": json_reply({"status": "ok", "version": "2.4.1"}),
            "/degraded/health": json_reply({"status": "degraded"}),
            "/down/health": status_reply(503, "upstream unavailable"),
            "/html/health": status_reply(200, "<html>ok</html>"),
            "/slow/health": slow,
            "/hung/health": never_answer,
        }
    )


async def test_healthy_services_pass_and_report_versions(tmp_path: Path) -> None:
    async with serve(service_app()) as base:
        plan = plan_from_toml(tmp_path, fleet_toml({"auth": f"{base}/ok/health", "consent": f"{base}/ok/health"}))
        result = await run_check(plan, "health")
    assert result.status == Status.PASS, result.summary
    assert result.summary == "2 service(s) healthy"
    assert result.evidence["services"]["auth"]["version"] == "2.4.1"


async def test_each_kind_of_unhealthy_is_named(tmp_path: Path) -> None:
    urls = {
        "auth": "ok",
        "consent": "degraded",
        "documents": "down",
        "qna": "html",
        "calendar": "slow",
    }
    async with serve(service_app()) as base:
        plan = plan_from_toml(tmp_path, fleet_toml({n: f"{base}/{p}/health" for n, p in urls.items()}))
        result = await run_check(plan, "health")
    assert result.status == Status.FAIL
    assert result.summary == "4/5 unhealthy: consent: status='degraded', expected 'ok'"
    details = list(result.details)
    assert details[1:3] == ["documents: HTTP 503, expected 200", "qna: body has no 'status'"]
    assert details[3].startswith("calendar: ") and details[3].endswith("ms > budget 2s")


async def test_one_hung_and_one_refused_service_are_findings_not_a_timeout(tmp_path: Path) -> None:
    async with serve(service_app()) as base:
        pass
    closed = base  # nothing listens here any more
    async with serve(service_app()) as base:
        plan = plan_from_toml(
            tmp_path,
            fleet_toml(
                {"auth": f"{base}/ok/health", "qna": f"{base}/hung/health", "tax": f"{closed}/ok/health"},
                extra='  request_timeout = "500ms"\n',
            ),
        )
        result = await run_check(plan, "health")
    assert result.status == Status.FAIL
    assert result.summary == f"2/3 unhealthy: qna: timed out waiting for {base}/hung/health"
    assert result.details[1].startswith(f"tax: cannot connect to {closed}/ok/health")
    assert result.duration_ms < 2000  # the probes ran side by side, bounded per request


async def test_custom_body_condition_and_status(tmp_path: Path) -> None:
    async with serve(app_with({"/h": json_reply({"db": {"state": "up"}}, status=202)})) as base:
        extra = '  expect_status = [202]\n  json_field = "db.state"\n  json_equals = "up"\n'
        plan = plan_from_toml(tmp_path, fleet_toml({"db": f"{base}/h"}, extra))
        result = await run_check(plan, "health")
    assert result.status == Status.PASS, result.summary


async def test_unknown_service_name_is_a_config_error(tmp_path: Path) -> None:
    # caught when the config is read (exit 2 from every command), not on release day
    with pytest.raises(ConfigError) as bad:
        plan_from_toml(tmp_path, fleet_toml({"auth": "http://127.0.0.1:1/health"}, '  services = ["atuh"]\n'))
    assert "services[0]: no service 'atuh' in [[services]]; did you mean 'auth'?" in bad.value.render()


async def test_health_url_from_the_environment(tmp_path: Path) -> None:
    async with serve(service_app()) as base:
        plan = plan_from_toml(tmp_path, fleet_toml({"auth": "env:AUTH_HEALTH_URL"}))
        result = await run_check(plan, "health", environ={"AUTH_HEALTH_URL": f"{base}/ok/health"})
        assert result.status == Status.PASS
        missing = await run_check(plan, "health", environ={})
    assert missing.status == Status.ERROR
    assert "AUTH_HEALTH_URL is not set" in missing.summary


async def test_credentials_in_a_health_url_stay_out_of_the_evidence(tmp_path: Path) -> None:
    async with serve(service_app()) as base:
        with_creds = base.replace("http://", "http://monitor:hunter2-basic@") + "/ok/health?token=q-secret-1"
        plan = plan_from_toml(tmp_path, fleet_toml({"auth": with_creds}))
        result = await run_check(plan, "health")
    assert result.status == Status.PASS, result.summary
    assert result.evidence["services"]["auth"]["url"] == f"{base}/ok/health"
    assert "hunter2-basic" not in repr(result.to_dict()) and "q-secret-1" not in repr(result.to_dict())


async def test_a_healthy_fleet_of_a_thousand_is_go_and_a_slow_one_is_still_named(
    tmp_path: Path,
) -> None:
    # Each latency is the service's own, timed from its request's start: a thousand
    # requests queued on one event loop used to make a healthy fleet a false NO-GO
    # ("1000/1000 unhealthy: s0: 3998ms > budget 1s").
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(1.5)
        return web.json_response({"status": "ok"})

    routes = {"/health": json_reply({"status": "ok"}), "/slow/health": slow}
    async with contextlib.AsyncExitStack() as stack:
        bases = [await stack.enter_async_context(serve(app_with(routes))) for _ in range(10)]
        urls = {f"s{i}": f"{bases[i % 10]}/health" for i in range(1000)}
        check = '[[gates]]\nid = "ops"\ntitle = "Ops"\n  [[gates.checks]]\n  id = "health"\n' \
                '  title = "/health"\n  kind = "http_health"\n'
        services = "".join(f'[[services]]\nname = "{n}"\nhealth_url = "{u}"\n\n' for n, u in urls.items())
        healthy = await run_check(plan_from_toml(tmp_path, services + check), "health")
        urls["s500"] = f"{bases[0]}/slow/health"
        services = "".join(f'[[services]]\nname = "{n}"\nhealth_url = "{u}"\n\n' for n, u in urls.items())
        one_slow = await run_check(plan_from_toml(tmp_path, services + check), "health")
    assert healthy.status == Status.PASS, healthy.summary
    assert healthy.summary == "1000 service(s) healthy"
    assert one_slow.status == Status.FAIL
    assert one_slow.summary.startswith("s500: 1") and one_slow.summary.endswith("ms > budget 1s")
