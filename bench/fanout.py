"""Figure 4, check fan-out: one ``http_health`` check over 1,000 services on 10
loopback servers (budget 2 s, GO), and 40 checks of 300 ms each (budget 400 ms).

Anchors, measured in the same run: the same 1,000 GETs through a bare
``aiohttp.ClientSession``, 100 in flight (the floor under gonogo's HTTP client on this
machine), and one 300 ms check alone. Each figure is the median of several runs in one
process (the first of them imports aiohttp, as a ``gonogo check`` does)."""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

from common import loopback, median, report

from gonogo.config import load_plan
from gonogo.context import make_context
from gonogo.model import Status
from gonogo.runner import run_all

SERVICES = 1000
SERVERS = 10


def health_config(directory: Path, urls: list[str], *, checks: int, concurrency: int) -> Path:
    """``checks`` == 1: one check over every service; else one check per service."""
    lines = ['[release]\nname = "bench"\ncommit = "abc1234"\n',
             f'[settings]\nconcurrency = {concurrency}\ntimeout = "30s"\nretries = 0\n']
    for i, url in enumerate(urls):
        lines.append(f'[[services]]\nname = "s{i}"\nhealth_url = "{url}"\n')
    lines.append('[[gates]]\nid = "health"\ntitle = "Health"\n')
    if checks == 1:
        lines.append('[[gates.checks]]\nid = "all-health"\ntitle = "/health"\nkind = "http_health"\n')
    else:
        for i in range(len(urls)):
            lines.append(f'[[gates.checks]]\nid = "h{i}"\ntitle = "s{i}"\nkind = "http_health"\n'
                         f'services = ["s{i}"]\n')
    path = directory / "bench.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


async def run_plan(path: Path) -> tuple[float, dict[str, object]]:
    plan = load_plan(path)
    ctx = make_context(plan, environ={})
    try:
        started = time.perf_counter()
        results = await run_all(ctx)
        wall = time.perf_counter() - started
    finally:
        await ctx.aclose()
    return wall, dict(results)


async def bare_aiohttp(urls: list[str]) -> float:
    import aiohttp

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as client:
        sem = asyncio.Semaphore(100)

        async def get(url: str) -> None:
            async with sem, client.get(url) as response:
                response.raise_for_status()
                await response.read()

        started = time.perf_counter()
        await asyncio.gather(*(get(u) for u in urls))
        return time.perf_counter() - started


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, loopback(SERVERS) as ports:
        urls = [f"http://127.0.0.1:{ports[i % SERVERS]}/s{i}/health" for i in range(SERVICES)]
        config = health_config(Path(tmp), urls, checks=1, concurrency=16)
        walls = []
        for _ in range(3):
            wall, results = asyncio.run(run_plan(config))
            walls.append(wall)
        wall = median(walls)
        floor = median([asyncio.run(bare_aiohttp(urls)) for _ in range(3)])
        result = results["all-health"]
        rows = result.evidence.get("services", {})  # type: ignore[attr-defined]
        worst = max((r.get("latency_ms", 0.0) for r in rows.values()), default=float("nan"))
        go = result.status == Status.PASS
        report("4", "1,000 http_health services on loopback", round(wall, 2), "s", "≤ 2 s, GO",
               wall <= 2.0 and go, f"bare aiohttp, 100 in flight: {floor:.2f} s",
               verdict="GO" if go else f"NO-GO: {result.summary}", worst_latency_ms=worst,
               runs_s=[round(w, 2) for w in walls])

    with tempfile.TemporaryDirectory() as tmp, loopback(1, 0.3) as ports:
        urls = [f"http://127.0.0.1:{ports[0]}/s{i}/health" for i in range(40)]
        one_config = health_config(Path(tmp), urls[:1], checks=40, concurrency=64)
        forty_config = health_config(Path(tmp), urls, checks=40, concurrency=64)
        ones, forties = [], []
        for _ in range(5):  # interleaved
            ones.append(asyncio.run(run_plan(one_config))[0])
            wall, results = asyncio.run(run_plan(forty_config))
            forties.append(wall)
        one, wall = median(ones), median(forties)
        passed = all(r.status == Status.PASS for r in results.values())
        report("4", "40 checks of 300 ms (concurrency 64)", round(wall * 1000), "ms", "≤ 400 ms",
               wall <= 0.4 and passed, f"one such check alone: {one * 1000:.0f} ms")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
