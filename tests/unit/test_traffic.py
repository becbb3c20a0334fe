"""Traffic drivers against real processes and a real local HTTP server."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from aiohttp import web

from gonogo.config import load_plan
from gonogo.context import make_context
from gonogo.rollout.traffic import CommandDriver, HttpDriver, make_driver
from support.loopback import serve
from support.rollout import Clock, make_engine, write_plan

REPO = Path(__file__).resolve().parents[2]
TOKEN = "s3cr3t-traffic-token-value"


def plan_with_traffic(tmp: Path, traffic: str) -> Path:
    path = write_plan(tmp)
    text = path.read_text()
    start = text.index("[rollout.traffic]")
    end = text.index("[[rollout.stages]]")
    path.write_text(text[:start] + traffic + "\n" + text[end:])
    return path


async def test_command_driver_fills_the_argv_without_a_shell(tmp_path: Path) -> None:
    out = tmp_path / "argv.json"
    script = "import json,sys; json.dump(sys.argv[1:], open(sys.argv[1], 'w'))"
    plan = load_plan(plan_with_traffic(tmp_path, f"""
[rollout.traffic]
driver = "command"
command = ["{sys.executable}", "-c", "{script}", "{out}", "w={{weight}}", "s={{stage}}", "{{release}};rm -rf /", "{{stable_weight}}"]
"""))
    ctx = make_context(plan)
    driver = make_driver(plan, ctx)
    assert isinstance(driver, CommandDriver)
    shift = await driver.shift(25.0, "ramp-25", "shop-2.4.0")
    assert shift.confirmed and "exited 0" in shift.detail
    assert json.loads(out.read_text())[1:] == ["w=25", "s=ramp-25", "shop-2.4.0;rm -rf /", "75"]
    await ctx.aclose()


async def test_command_driver_reports_failure_output_and_timeout(tmp_path: Path) -> None:
    plan = load_plan(plan_with_traffic(tmp_path, """
[rollout.traffic]
driver = "command"
timeout = "1s"
command = ["sh", "-c", "echo 'ingress not found' >&2; exit 4"]
"""))
    ctx = make_context(plan)
    shift = await make_driver(plan, ctx).shift(5.0, "canary", "r")
    assert not shift.confirmed and "exited 4" in shift.detail and "ingress not found" in shift.detail
    slow = load_plan(plan_with_traffic(tmp_path, """
[rollout.traffic]
driver = "command"
timeout = "300ms"
command = ["sleep", "30"]
"""))
    shift = await make_driver(slow, ctx).shift(5.0, "canary", "r")
    assert not shift.confirmed and "killed" in shift.detail
    missing = load_plan(plan_with_traffic(tmp_path, """
[rollout.traffic]
driver = "command"
command = ["/nonexistent/kubectl"]
"""))
    shift = await make_driver(missing, ctx).shift(5.0, "canary", "r")
    assert not shift.confirmed and "cannot start" in shift.detail
    await ctx.aclose()


async def test_http_driver_posts_json_with_the_secret_header(tmp_path: Path) -> None:
    seen: list[tuple[dict[str, object], str]] = []

    async def hook(request: web.Request) -> web.Response:
        seen.append((await request.json(), request.headers.get("X-Deploy-Token", "")))
        # A careless server echoing the token must not leak it into the journal.
        return web.json_response({"ok": True, "echo": request.headers.get("X-Deploy-Token")})

    app = web.Application()
    app.router.add_post("/canary", hook)
    async with serve(app) as base:
        plan_path = plan_with_traffic(tmp_path, f"""
[rollout.traffic]
driver = "http"
url = "{base}/canary"
auth_header = "X-Deploy-Token"
token = "env:DEPLOY_TOKEN"
body = {{ service = "shop", percent = "{{weight}}", note = "stage {{stage}}" }}
""")
        plan = load_plan(plan_path)
        clock = Clock()
        engine = make_engine(plan, tmp_path / "s", clock)
        engine._context_factory = lambda: make_context(plan, environ={"DEPLOY_TOKEN": TOKEN})
        assert isinstance(engine.traffic, HttpDriver)
        engine.start()
        await engine.run_checks()
        await engine.advance()
        assert engine.state.weight_confirmed == 5.0
        body, header = seen[0]
        assert header == TOKEN
        assert body == {"weight": 5.0, "stage": "canary", "release": "shop-2.4.0", "service": "shop",
                        "percent": 5.0, "note": "stage canary"}
        await engine.aclose()
    journal = (tmp_path / "s" / "events.jsonl").read_text()
    assert TOKEN not in journal and "redacted" in journal


async def test_http_driver_failure_is_reported_not_raised(tmp_path: Path) -> None:
    async def hook(request: web.Request) -> web.Response:
        return web.Response(status=503, text="mesh control plane down")

    app = web.Application()
    app.router.add_post("/canary", hook)
    async with serve(app) as base:
        plan = load_plan(plan_with_traffic(tmp_path, f"""
[rollout.traffic]
driver = "http"
url = "{base}/canary"
"""))
        ctx = make_context(plan)
        shift = await make_driver(plan, ctx).shift(50.0, "half", "r")
        assert not shift.confirmed and "HTTP 503" in shift.detail and "control plane" in shift.detail
        await ctx.aclose()
    ctx = make_context(plan)
    shift = await make_driver(plan, ctx).shift(50.0, "half", "r")  # server gone
    assert not shift.confirmed and "cannot connect" in shift.detail
    await ctx.aclose()
