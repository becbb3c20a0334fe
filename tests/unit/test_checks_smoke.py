"""The ``smoke`` kind: a scripted journey against a small in-memory banking API."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from gonogo.checks.smoke import lookup, substitute

from gonogo.config import ConfigError
from gonogo.context import make_context
from gonogo.model import Status
from support.loopback import serve
from support.plans import plan_from_toml, run_check

API_TOKEN = "smoke-api-token-5d1e8c"


def banking_api(*, broken: str = "") -> tuple[web.Application, dict[str, Any]]:
    """register -> login -> import callback -> list transactions -> categorise."""
    users: dict[int, dict[str, Any]] = {}
    sessions: dict[str, int] = {}
    transactions: dict[int, dict[str, Any]] = {}
    ids = itertools.count(100)
    seen: dict[str, Any] = {"emails": []}
    routes = web.RouteTableDef()

    def user_of(request: web.Request) -> int | None:
        auth = request.headers.get("Authorization", "")
        return sessions.get(auth.removeprefix("Bearer "))

    @routes.post("/api/auth/register")
    async def register(request: web.Request) -> web.Response:
        if request.headers.get("X-Api-Key") != API_TOKEN:
            return web.json_response({"error": f"bad api key {request.headers.get('X-Api-Key')}"}, status=403)
        body = await request.json()
        seen["emails"].append(body["email"])
        uid = next(ids)
        users[uid] = {"id": uid, "email": body["email"], "name": body.get("name", "")}
        return web.json_response({"user": {"id": uid}}, status=201)

    @routes.post("/api/auth/login")
    async def login(request: web.Request) -> web.Response:
        body = await request.json()
        uid = next((u for u, d in users.items() if d["email"] == body["email"]), None)
        if uid is None:
            return web.json_response({"error": "unknown user"}, status=401)
        token = f"session-{uid}-abcdef123456"
        sessions[token] = uid
        return web.json_response({"access_token": token, "user_id": uid})

    @routes.post("/api/banking/callback")
    async def callback(request: web.Request) -> web.Response:
        uid = user_of(request)
        body = await request.json()
        if uid is None or body.get("user_id") != uid:  # user_id must arrive as an int
            return web.json_response({"error": "forbidden"}, status=403)
        tid = next(ids)
        transactions[tid] = {"id": tid, "amount": body["amount"], "category": None}
        return web.json_response({"import": {"transactions": [tid]}}, status=202)

    @routes.get("/api/transactions")
    async def listing(request: web.Request) -> web.Response:
        if user_of(request) is None:
            return web.json_response({"error": "unauthorised"}, status=401)
        if broken == "list":
            return web.json_response({"error": "db connection pool exhausted"}, status=500)
        return web.json_response({"items": list(transactions.values())})

    @routes.put("/api/transactions/{tid}/category")
    async def categorise(request: web.Request) -> web.Response:
        tid = int(request.match_info["tid"])
        body = await request.json()
        category = "misc" if broken == "category" else body["category"]
        transactions[tid]["category"] = category
        return web.json_response(transactions[tid])

    app = web.Application()
    app.add_routes(routes)
    return app, seen


JOURNEY = """
[[gates]]
id = "smoke"
title = "Business smoke scenarios"

  [[gates.checks]]
  id = "smoke-banking"
  title = "Banking callback -> import -> transactions/category"
  kind = "smoke"
  base_url = "BASE"
  secrets = { api_key = "env:SMOKE_API_KEY" }
  vars = { email = "smoke-{run_id}@example.test" }

    [[gates.checks.steps]]
    name = "register"
    method = "POST"
    path = "/api/auth/register"
    headers = { X-Api-Key = "{api_key}" }
    json = { email = "{email}", name = "Smoke Test" }
    expect_status = 201
    capture = { uid = "user.id" }

    [[gates.checks.steps]]
    name = "login"
    method = "POST"
    path = "/api/auth/login"
    json = { email = "{email}" }
    capture = { access_token = "access_token" }
    expect = { user_id = "{uid}" }

    [[gates.checks.steps]]
    name = "list transactions (empty)"
    path = "/api/transactions"
    headers = { Authorization = "Bearer {access_token}" }

    [[gates.checks.steps]]
    name = "banking callback"
    method = "POST"
    path = "/api/banking/callback"
    headers = { Authorization = "Bearer {access_token}" }
    json = { user_id = "{uid}", amount = 42.5 }
    expect_status = [200, 202]
    capture = { tx = "import.transactions[0]" }

    [[gates.checks.steps]]
    name = "list transactions"
    path = "/api/transactions"
    headers = { Authorization = "Bearer {access_token}" }
    expect = { "items[0].id" = "{tx}", "items.0.amount" = 42.5 }

    [[gates.checks.steps]]
    name = "categorise"
    method = "PUT"
    path = "/api/transactions/{tx}/category"
    json = { category = "groceries" }
    expect = { category = "groceries" }
"""

ENV = {"SMOKE_API_KEY": API_TOKEN}


async def test_journey_passes_with_captures_flowing_between_steps(tmp_path: Path) -> None:
    app, seen = banking_api()
    async with serve(app) as base:
        plan = plan_from_toml(tmp_path, JOURNEY.replace("BASE", base))
        result = await run_check(plan, "smoke-banking", environ=ENV)
    assert result.status == Status.PASS, (result.summary, result.details)
    assert result.summary.startswith("6 step(s) passed")
    assert [s["status"] for s in result.evidence["steps"]] == [201, 200, 200, 202, 200, 200]
    # the captured transaction id went into the path of the last step
    assert result.evidence["steps"][-1]["path"] == "/api/transactions/101/category"
    # {run_id} gives each run a fresh identity
    assert len(seen["emails"]) == 1 and seen["emails"][0].startswith("smoke-")
    assert "{run_id}" not in seen["emails"][0]


async def test_failing_step_is_named_with_status_and_expectation(tmp_path: Path) -> None:
    app, _ = banking_api(broken="list")
    async with serve(app) as base:
        plan = plan_from_toml(tmp_path, JOURNEY.replace("BASE", base))
        result = await run_check(plan, "smoke-banking", environ=ENV)
    assert result.status == Status.FAIL
    assert result.summary == "step 3 'list transactions (empty)': HTTP 500, expected 200"
    assert "GET /api/transactions" in result.details
    assert any("db connection pool exhausted" in d for d in result.details)


async def test_wrong_value_in_response_fails_with_found_and_expected(tmp_path: Path) -> None:
    app, _ = banking_api(broken="category")
    async with serve(app) as base:
        plan = plan_from_toml(tmp_path, JOURNEY.replace("BASE", base))
        result = await run_check(plan, "smoke-banking", environ=ENV)
    assert result.status == Status.FAIL
    assert result.summary == "step 6 'categorise': category = 'misc', expected 'groceries'"


async def test_secrets_and_session_tokens_never_appear_in_the_result(tmp_path: Path) -> None:
    # The API key is wrong, and the server echoes it back in its error body.
    app, _ = banking_api()
    async with serve(app) as base:
        plan = plan_from_toml(tmp_path, JOURNEY.replace("BASE", base))
        result = await run_check(plan, "smoke-banking", environ={"SMOKE_API_KEY": "wrong-key-0badc0de"})
    assert result.status == Status.FAIL
    assert result.summary == "step 1 'register': HTTP 403, expected 201"
    text = repr(result.to_dict())
    assert "wrong-key-0badc0de" not in text
    assert "«redacted»" in text  # the echo is there, scrubbed


async def test_captured_session_token_is_redacted(tmp_path: Path) -> None:
    app, _ = banking_api(broken="list")
    async with serve(app) as base:
        plan = plan_from_toml(tmp_path, JOURNEY.replace("BASE", base))
        ctx = make_context(plan, environ=ENV)
        await run_check(plan, "smoke-banking", context=ctx)
    assert ctx.redactor.text("token session-100-abcdef123456") == "token «redacted»"


async def test_unreachable_base_is_an_error_after_retries(tmp_path: Path) -> None:
    app, _ = banking_api()
    async with serve(app) as base:
        pass
    plan = plan_from_toml(tmp_path, "[settings]\nretries = 1\n" + JOURNEY.replace("BASE", base))
    result = await run_check(plan, "smoke-banking", environ=ENV)
    assert result.status == Status.ERROR
    assert result.attempts == 2
    assert "step 1 'register': cannot connect" in result.summary


def test_unknown_variable_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        plan_from_toml(tmp_path, JOURNEY.replace("BASE", "http://x").replace("{tx}/category", "{txn}/category"))
    text = str(info.value)
    assert "gates[0].checks[0]" in text
    assert "{txn}" in text and "'categorise'" in text


def test_unknown_step_key_gets_a_suggestion(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        plan_from_toml(tmp_path, JOURNEY.replace("BASE", "http://x").replace("expect_status = 201", "expect_statu = 201"))
    assert "gates[0].checks[0].steps[0].expect_statu: unknown key; did you mean 'expect_status'?" in str(info.value)


def test_json_paths_and_substitution() -> None:
    doc = {"items": [{"id": 7, "tags": ["a", "b"]}], "user": {"id": "u1"}}
    assert lookup(doc, "items[0].id") == 7
    assert lookup(doc, "items.0.tags[1]") == "b"
    assert lookup(doc, "user.id") == "u1"
    for missing in ("items[3].id", "user.name", "items.x", "nope"):
        with pytest.raises(KeyError):
            lookup(doc, missing)
    env = {"tx": 101, "name": "bob"}
    assert substitute({"id": "{tx}", "path": "/t/{tx}", "who": ["{name}"]}, env) == {
        "id": 101,
        "path": "/t/101",
        "who": ["bob"],
    }


def import_job(ready_after: int) -> tuple[web.Application, dict[str, int]]:
    polls = {"n": 0}

    async def start(request: web.Request) -> web.Response:
        return web.json_response({"import_id": "imp-1"}, status=202)

    async def status(request: web.Request) -> web.Response:
        polls["n"] += 1
        done = polls["n"] >= ready_after
        return web.json_response({"status": "done" if done else "running", "count": 2 if done else 0})

    app = web.Application()
    app.router.add_post("/imports", start)
    app.router.add_get("/imports/{id}", status)
    return app, polls


POLLING = """
[[gates]]
id = "smoke"
title = "smoke"
  [[gates.checks]]
  id = "smoke-import"
  title = "async import"
  kind = "smoke"
  base_url = "BASE"
    [[gates.checks.steps]]
    name = "start import"
    method = "POST"
    path = "/imports"
    expect_status = 202
    capture = { job = "import_id" }
    [[gates.checks.steps]]
    name = "import finished"
    path = "/imports/{job}"
    expect = { status = "done", count = 2 }
    wait = "WAIT"
    interval = "10ms"
"""


async def test_a_step_can_wait_for_an_asynchronous_job(tmp_path: Path) -> None:
    app, polls = import_job(ready_after=4)
    async with serve(app) as base:
        plan = plan_from_toml(tmp_path, POLLING.replace("BASE", base).replace("WAIT", "5s"))
        result = await run_check(plan, "smoke-import")
    assert result.status == Status.PASS, result.summary
    assert polls["n"] == 4
    assert len(result.evidence["steps"]) == 2  # one row per step, not per poll


async def test_a_job_that_never_finishes_fails_after_its_wait(tmp_path: Path) -> None:
    app, polls = import_job(ready_after=10**6)
    async with serve(app) as base:
        plan = plan_from_toml(tmp_path, POLLING.replace("BASE", base).replace("WAIT", "100ms"))
        result = await run_check(plan, "smoke-import")
    assert result.status == Status.FAIL
    assert result.summary.startswith("step 2 'import finished': status = 'running', expected 'done' (still so after ")
    assert result.summary.endswith("tries over 100ms)")
    assert polls["n"] > 1


def test_unknown_method_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        plan_from_toml(tmp_path, JOURNEY.replace("BASE", "http://x").replace('method = "PUT"', 'method = "PUTT"'))
    assert "gates[0].checks[0].steps[5]: method: 'PUTT' is not one of" in str(info.value)
