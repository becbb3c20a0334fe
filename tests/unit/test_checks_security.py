"""gateway_not_routed, auth_propagation, weaviate_anonymous_disabled against real
local HTTP servers that behave like a gateway, services and Weaviate."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import web

from gonogo.config import ConfigError
from gonogo.model import Status
from support.loopback import app_with, serve
from support.plans import plan_from_toml, run_check

INTERNAL = '["/api/calendar/", "/api/categorization/", "/api/integrations/"]'


def gateway(leaks: dict[str, int] | None = None) -> web.Application:
    """Public gateway: internal prefixes 404 unless ``leaks`` routes them."""
    leaks = leaks or {}

    async def route(request: web.Request) -> web.Response:
        service = request.match_info["service"]
        if service in leaks:
            return web.json_response({"status": "ok"}, status=leaks[service])
        if service in ("calendar", "categorization", "integrations"):
            return web.Response(status=404, text="not found")
        return web.json_response({"status": "ok"})

    return app_with({"/api/{service}/{tail:.*}": route})


def gateway_plan(tmp_path: Path, base: str, extra: str = "") -> str:
    return f"""
    [integrations.gateway]
    public_url = "{base}"

    [[gates]]
    id = "security"
    title = "Security"

      [[gates.checks]]
      id = "internal-routes"
      title = "Internal APIs not public"
      kind = "gateway_not_routed"
      prefixes = {INTERNAL}
      {extra}
    """


async def test_gateway_closed_for_internal_prefixes_passes(tmp_path: Path) -> None:
    async with serve(gateway()) as base:
        plan = plan_from_toml(tmp_path, gateway_plan(tmp_path, base))
        result = await run_check(plan, "internal-routes")
    assert result.status == Status.PASS, result.summary
    assert "3 internal prefix(es) closed" in result.summary
    assert result.evidence["probes"]["/api/calendar/health"] == 404


async def test_publicly_routed_prefix_fails_naming_prefix_and_status(tmp_path: Path) -> None:
    async with serve(gateway({"integrations": 200})) as base:
        plan = plan_from_toml(tmp_path, gateway_plan(tmp_path, base))
        result = await run_check(plan, "internal-routes")
    assert result.status == Status.FAIL
    assert result.summary.startswith("/api/integrations/* publicly routed: HTTP 200")
    assert "(expected 403/404)" in result.summary
    assert "calendar" not in result.summary


async def test_auth_wall_is_still_a_public_route(tmp_path: Path) -> None:
    # 401 means the gateway forwards the request: the route exists publicly.
    async with serve(gateway({"calendar": 401, "categorization": 502})) as base:
        plan = plan_from_toml(tmp_path, gateway_plan(tmp_path, base))
        result = await run_check(plan, "internal-routes")
    assert result.status == Status.FAIL
    assert result.summary.startswith("2 internal prefixes publicly routed: /api/calendar/*")
    assert any("/api/categorization/* publicly routed: HTTP 502" in d for d in result.details)


async def test_gateway_not_configured_is_an_error(tmp_path: Path) -> None:
    plan = plan_from_toml(
        tmp_path,
        f"""
        [[gates]]
        id = "s"
        title = "s"
          [[gates.checks]]
          id = "internal-routes"
          title = "x"
          kind = "gateway_not_routed"
          prefixes = {INTERNAL}
        """,
    )
    result = await run_check(plan, "internal-routes")
    assert result.status == Status.ERROR
    assert "integrations.gateway" in result.summary


def test_prefix_without_leading_slash_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        plan_from_toml(
            tmp_path,
            """
            [[gates]]
            id = "s"
            title = "s"
              [[gates.checks]]
              id = "internal-routes"
              title = "x"
              kind = "gateway_not_routed"
              prefixes = ["api/calendar/"]
            """,
        )
    assert "gates[0].checks[0]" in str(info.value)
    assert "must start with '/'" in str(info.value)


# -- auth_propagation -----------------------------------------------------------------

TOKENS = {"USER_JWT": "eyJ-user-jwt-for-tests-0001", "QNA_INTERNAL_TOKEN": "qna-internal-7f3a9c2e"}


def services(broken: str = "") -> web.Application:
    """Callers whose endpoint calls the callee, forwarding the caller's credentials."""

    async def call(request: web.Request) -> web.Response:
        pair = request.match_info["pair"]
        if pair == "documents-qna":
            ok = request.headers.get("X-Internal-Token") == TOKENS["QNA_INTERNAL_TOKEN"]
        else:
            ok = request.headers.get("Authorization") == f"Bearer {TOKENS['USER_JWT']}"
        if pair == broken == "consent-compliance":
            ok = True  # the endpoint forgot its auth check
        if pair == broken == "transactions-categorization" and ok:
            return web.json_response({"error": "downstream said 401"}, status=401)
        return web.json_response({"ok": ok}, status=200 if ok else 401)

    return app_with({"/{pair}": call})


AUTH_TOML = """
[[gates]]
id = "security"
title = "Security"

  [[gates.checks]]
  id = "auth-propagation"
  title = "Cross-service auth propagation"
  kind = "auth_propagation"
  base_url = "BASE"

    [[gates.checks.pairs]]
    from = "consent"
    to = ["compliance"]
    path = "/consent-compliance"
    token = "env:USER_JWT"

    [[gates.checks.pairs]]
    from = "transactions"
    to = ["categorization"]
    path = "/transactions-categorization"
    token = "env:USER_JWT"

    [[gates.checks.pairs]]
    from = "tax-engine"
    to = ["calendar", "integrations"]
    path = "/tax-calendar"
    method = "POST"
    json = { year = 2025 }
    token = "env:USER_JWT"

    [[gates.checks.pairs]]
    from = "documents-worker"
    to = ["qna"]
    path = "/documents-qna"
    header = "X-Internal-Token"
    scheme = ""
    token = "env:QNA_INTERNAL_TOKEN"
"""


async def test_all_pairs_propagate(tmp_path: Path) -> None:
    async with serve(services()) as base:
        plan = plan_from_toml(tmp_path, AUTH_TOML.replace("BASE", base))
        result = await run_check(plan, "auth-propagation", environ=TOKENS)
    assert result.status == Status.PASS, result.summary
    assert result.summary == "4 pair(s) propagate auth"
    row = result.evidence["pairs"]["tax-engine -> calendar + integrations"]
    assert (row["with"], row["without"]) == (200, 401)


async def test_unprotected_endpoint_fails_naming_the_pair(tmp_path: Path) -> None:
    async with serve(services(broken="consent-compliance")) as base:
        plan = plan_from_toml(tmp_path, AUTH_TOML.replace("BASE", base))
        result = await run_check(plan, "auth-propagation", environ=TOKENS)
    assert result.status == Status.FAIL
    assert result.summary == (
        "consent -> compliance: without credentials HTTP 200 (expected 401/403) — endpoint not protected"
    )


async def test_token_not_forwarded_fails_naming_the_pair(tmp_path: Path) -> None:
    async with serve(services(broken="transactions-categorization")) as base:
        plan = plan_from_toml(tmp_path, AUTH_TOML.replace("BASE", base))
        result = await run_check(plan, "auth-propagation", environ=TOKENS)
    assert result.status == Status.FAIL
    assert result.summary.startswith("transactions -> categorization: with credentials HTTP 401")


async def test_wrong_internal_token_fails_and_is_never_shown(tmp_path: Path) -> None:
    wrong = {**TOKENS, "QNA_INTERNAL_TOKEN": "stale-token-from-last-quarter"}
    async with serve(services()) as base:
        plan = plan_from_toml(tmp_path, AUTH_TOML.replace("BASE", base))
        result = await run_check(plan, "auth-propagation", environ=wrong)
    assert result.status == Status.FAIL
    assert result.summary.startswith("documents-worker -> qna: with credentials HTTP 401")
    assert "stale-token-from-last-quarter" not in repr(result.to_dict())


async def test_missing_token_env_is_an_error_naming_the_variable(tmp_path: Path) -> None:
    async with serve(services()) as base:
        plan = plan_from_toml(tmp_path, AUTH_TOML.replace("BASE", base))
        result = await run_check(plan, "auth-propagation", environ={})
    assert result.status == Status.ERROR
    assert "USER_JWT is not set" in result.summary


# -- weaviate_anonymous_disabled -----------------------------------------------------


def weaviate(*, anonymous: bool, key: str = "wv-admin-key-123456") -> web.Application:
    async def schema(request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        if auth == f"Bearer {key}" or (anonymous and not auth):
            return web.json_response({"classes": []})
        return web.json_response(
            {"error": [{"message": "anonymous access not enabled, please provide an auth scheme"}]},
            status=401,
        )

    return app_with({"/v1/schema": schema})


def weaviate_toml(base: str) -> str:
    return f"""
    [integrations.weaviate]
    url = "{base}"
    api_key = "env:WEAVIATE_API_KEY"

    [[gates]]
    id = "security"
    title = "Security"
      [[gates.checks]]
      id = "weaviate-anon"
      title = "Weaviate anonymous access disabled"
      kind = "weaviate_anonymous_disabled"
    """


async def test_weaviate_refusing_anonymous_and_accepting_key_passes(tmp_path: Path) -> None:
    async with serve(weaviate(anonymous=False)) as base:
        plan = plan_from_toml(tmp_path, weaviate_toml(base))
        result = await run_check(plan, "weaviate-anon", environ={"WEAVIATE_API_KEY": "wv-admin-key-123456"})
    assert result.status == Status.PASS, result.summary
    assert result.evidence["probes"]["/v1/schema"] == {"anonymous": 401, "with_key": 200}


async def test_weaviate_anonymous_enabled_fails(tmp_path: Path) -> None:
    async with serve(weaviate(anonymous=True)) as base:
        plan = plan_from_toml(tmp_path, weaviate_toml(base))
        result = await run_check(plan, "weaviate-anon", environ={"WEAVIATE_API_KEY": "wv-admin-key-123456"})
    assert result.status == Status.FAIL
    assert result.summary == (
        "anonymous access enabled: GET /v1/schema HTTP 200 without a key (expected 401/403)"
    )


async def test_weaviate_refusing_the_configured_key_fails(tmp_path: Path) -> None:
    async with serve(weaviate(anonymous=False)) as base:
        plan = plan_from_toml(tmp_path, weaviate_toml(base))
        result = await run_check(plan, "weaviate-anon", environ={"WEAVIATE_API_KEY": "rotated-away-key-999"})
    assert result.status == Status.FAIL
    assert "the configured API key is refused" in result.summary
    assert "rotated-away-key-999" not in repr(result.to_dict())


async def test_weaviate_down_is_an_error_not_a_pass(tmp_path: Path) -> None:
    async with serve(weaviate(anonymous=False)) as base:
        pass  # stopped: nothing listens there any more
    plan = plan_from_toml(tmp_path, weaviate_toml(base).replace("[[gates.checks]]", "[[gates.checks]]\n      retries = 0"))
    result = await run_check(plan, "weaviate-anon", environ={"WEAVIATE_API_KEY": "wv-admin-key-123456"})
    assert result.status == Status.ERROR
    assert "cannot connect" in result.summary
