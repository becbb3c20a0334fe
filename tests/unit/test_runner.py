"""The runner's acceptance tests: concurrency, per-check timeout,
retries for transient errors only, cancellation — against real local HTTP servers."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections import Counter
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from aiohttp import web

from gonogo import runner
from gonogo.context import CheckContext, make_context
from gonogo.model import Outcome, Status, TransientError
from gonogo.registry import kinds
from gonogo.runner import run_all, run_checks, select
from support.loopback import app_with, never_answer, serve
from support.plans import plan_from_toml


def slow_health(delay_s: float) -> web.Application:
    async def health(request: web.Request) -> web.Response:
        await asyncio.sleep(delay_s)
        return web.json_response({"status": "ok"})

    return app_with({"/health": health})


def health_checks_toml(urls: list[str], *, concurrency: int = 64, timeout: str = "5s") -> str:
    services = "".join(
        f'[[services]]\nname = "svc{i}"\nhealth_url = "{url}/health"\n\n' for i, url in enumerate(urls)
    )
    checks = "".join(
        f'  [[gates.checks]]\n  id = "health-{i}"\n  title = "svc{i} /health"\n'
        f'  kind = "http_health"\n  services = ["svc{i}"]\n\n'
        for i in range(len(urls))
    )
    return (
        f'[settings]\nconcurrency = {concurrency}\ntimeout = "{timeout}"\nretries = 0\n\n'
        + services
        + '[[gates]]\nid = "health"\ntitle = "Health"\n\n'
        + checks
    )


async def test_forty_slow_checks_run_concurrently(tmp_path: Path) -> None:
    async with AsyncExitStack() as stack:
        urls = [await stack.enter_async_context(serve(slow_health(0.3))) for _ in range(40)]
        plan = plan_from_toml(tmp_path, health_checks_toml(urls))
        ctx = make_context(plan, environ={})
        try:
            started = time.perf_counter()
            results = await run_all(ctx)
            wall = time.perf_counter() - started
        finally:
            await ctx.aclose()
    assert len(results) == 40
    assert {r.status for r in results.values()} == {Status.PASS}, [
        r.summary for r in results.values() if r.status != Status.PASS
    ]
    # Each answered after 300 ms: sequentially that is 12 s; together well under 1 s.
    assert all(r.duration_ms >= 300 for r in results.values())
    print(f"40 checks of 300 ms: {wall:.3f}s wall")
    assert wall < 1.0, f"40 checks of 300 ms took {wall:.2f}s"


async def test_a_server_that_never_answers_is_an_error_at_its_timeout(tmp_path: Path) -> None:
    hung_started = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        hung_started.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async with AsyncExitStack() as stack:
        urls = [await stack.enter_async_context(serve(slow_health(0.3))) for _ in range(5)]
        urls.append(await stack.enter_async_context(serve(app_with({"/health": hang}))))
        body = health_checks_toml(urls).replace(
            'id = "health-5"\n', 'id = "health-5"\n  timeout = "1s"\n'
        )
        plan = plan_from_toml(tmp_path, body)
        ctx = make_context(plan, environ={})
        order: list[str] = []
        results = {}
        try:
            async for result in run_checks(ctx):
                order.append(result.check_id)
                results[result.check_id] = result
        finally:
            await ctx.aclose()
    assert hung_started.is_set()
    hung = results["health-5"]
    assert hung.status == Status.ERROR
    assert "no answer within the 1s timeout" in hung.summary
    assert 1000 <= hung.duration_ms < 1500
    # The others were not held up: they all streamed out before the hung one.
    assert order[-1] == "health-5"
    assert all(results[f"health-{i}"].status == Status.PASS for i in range(5))
    assert all(results[f"health-{i}"].duration_ms < 1000 for i in range(5))


class ProbeParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    url: str


class StatusProbe:
    """Test kind: a 503 is transient (retry), a 500 is a plain error (no retry)."""

    kind = "status_probe"
    Params = ProbeParams

    async def run(self, params: ProbeParams, ctx: CheckContext) -> Outcome:
        response = await ctx.http.get(params.url)
        if response.status_code == 503:
            raise TransientError("service unavailable (503)")
        if response.status_code >= 500:
            raise RuntimeError(f"server error {response.status_code}")
        return Outcome.passed(f"HTTP {response.status_code}")


@pytest.fixture
def status_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(kinds(), "status_probe", StatusProbe())
    monkeypatch.setattr(runner, "BACKOFF_BASE_S", 0.01)  # keep the test quick


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_retries_only_transient_errors(tmp_path: Path, status_probe: None) -> None:
    hits: Counter[str] = Counter()

    async def respond(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        hits[name] += 1
        if name.startswith("always-503") or (name == "flaky" and hits[name] <= 2):
            return web.Response(status=503)
        if name == "boom":
            return web.Response(status=500)
        return web.Response(text="ok")

    closed = free_port()  # nothing listens here: connection refused is transient too
    async with serve(app_with({"/{name}": respond})) as base:
        plan = plan_from_toml(
            tmp_path,
            f"""
            [settings]
            retries = 2

            [integrations.gateway]
            public_url = "http://127.0.0.1:{closed}"

            [[gates]]
            id = "g"
            title = "Retries"

              [[gates.checks]]
              id = "flaky"
              title = "503 twice, then 200"
              kind = "status_probe"
              url = "{base}/flaky"

              [[gates.checks]]
              id = "always-503"
              title = "503 forever"
              kind = "status_probe"
              url = "{base}/always-503"

              [[gates.checks]]
              id = "no-retry"
              title = "503 forever, retries off"
              kind = "status_probe"
              retries = 0
              url = "{base}/always-503-b"

              [[gates.checks]]
              id = "boom"
              title = "500 is not transient"
              kind = "status_probe"
              url = "{base}/boom"

              [[gates.checks]]
              id = "refused"
              title = "gateway down"
              kind = "gateway_not_routed"
              prefixes = ["/api/calendar/"]
            """,
        )
        ctx = make_context(plan, environ={})
        try:
            results = await run_all(ctx)
        finally:
            await ctx.aclose()
    assert results["flaky"].status == Status.PASS
    assert (results["flaky"].attempts, hits["flaky"]) == (3, 3)
    assert results["always-503"].status == Status.ERROR
    assert (results["always-503"].attempts, hits["always-503"]) == (3, 3)
    assert "gave up after 3 attempts" in results["always-503"].details
    assert results["no-retry"].status == Status.ERROR
    assert (results["no-retry"].attempts, hits["always-503-b"]) == (1, 1)
    assert results["boom"].status == Status.ERROR
    assert (results["boom"].attempts, hits["boom"]) == (1, 1)
    assert "server error 500" in results["boom"].summary
    assert results["refused"].status == Status.ERROR
    assert results["refused"].attempts == 3
    assert "cannot connect" in results["refused"].summary


async def test_cancelling_the_consumer_cancels_running_checks(tmp_path: Path) -> None:
    abandoned = 0
    all_abandoned = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        nonlocal abandoned
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:  # aiohttp cancels the handler when the client leaves
            abandoned += 1
            if abandoned == 3:
                all_abandoned.set()
            raise
        raise AssertionError("unreachable")

    async with AsyncExitStack() as stack:
        fast = await stack.enter_async_context(serve(slow_health(0.0)))
        hung = await stack.enter_async_context(
            serve(app_with({"/a/health": hang, "/b/health": hang, "/c/health": hang}))
        )
        urls = [fast, f"{hung}/a", f"{hung}/b", f"{hung}/c"]
        plan = plan_from_toml(tmp_path, health_checks_toml(urls, timeout="60s"))
        ctx = make_context(plan, environ={})
        got: list[Any] = []
        first = asyncio.Event()

        async def consume() -> None:
            async for result in run_checks(ctx, select(plan)):
                got.append(result)
                first.set()

        consumer = asyncio.create_task(consume())
        await asyncio.wait_for(first.wait(), 10)
        consumer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await consumer
        try:
            await asyncio.wait_for(all_abandoned.wait(), 10)
        finally:
            await ctx.aclose()
    assert [r.check_id for r in got] == ["health-0"]
    leftovers = [t for t in asyncio.all_tasks() if t.get_name().startswith("check:")]
    assert leftovers == []
    assert abandoned == 3


async def test_leaving_the_stream_early_cancels_the_rest(tmp_path: Path) -> None:
    # The panel stops listening when the operator quits: aclosing() must tear down.
    async with AsyncExitStack() as stack:
        fast = await stack.enter_async_context(serve(slow_health(0.0)))
        hung = await stack.enter_async_context(serve(app_with({"/h/health": never_answer})))
        plan = plan_from_toml(tmp_path, health_checks_toml([fast, f"{hung}/h"], timeout="60s"))
        ctx = make_context(plan, environ={})
        try:
            async with contextlib.aclosing(run_checks(ctx)) as stream:
                async for result in stream:
                    assert result.check_id == "health-0"
                    break
            leftovers = [t for t in asyncio.all_tasks() if t.get_name().startswith("check:")]
            assert leftovers == []
        finally:
            await ctx.aclose()


async def test_a_crashing_check_is_an_error_result_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Crash:
        kind = "crash"

        class Params(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
            pass

        async def run(self, params: Any, ctx: CheckContext) -> Outcome:
            raise ZeroDivisionError("division by zero")

    class Junk(Crash):
        kind = "junk"

        async def run(self, params: Any, ctx: CheckContext) -> Any:
            return {"status": "pass"}

    monkeypatch.setitem(kinds(), "crash", Crash())
    monkeypatch.setitem(kinds(), "junk", Junk())
    plan = plan_from_toml(
        tmp_path,
        """
        [[gates]]
        id = "g"
        title = "g"
          [[gates.checks]]
          id = "crash"
          title = "raises"
          kind = "crash"
          [[gates.checks]]
          id = "junk"
          title = "returns junk"
          kind = "junk"
        """,
    )
    ctx = make_context(plan, environ={})
    try:
        results = await run_all(ctx)
    finally:
        await ctx.aclose()
    assert results["crash"].status == Status.ERROR
    assert results["crash"].summary == "ZeroDivisionError: division by zero"
    assert results["junk"].status == Status.ERROR
    assert "returned dict" in results["junk"].summary


def test_describe_error_hides_credentials_in_urls() -> None:
    request = httpx.Request("GET", "http://admin:hunter2-pass@127.0.0.1:1/x?token=abc123")
    exc = httpx.ConnectError("refused", request=request)
    text = runner.describe_error(exc)
    assert "hunter2-pass" not in text and "abc123" not in text
    assert "127.0.0.1:1/x" in text
