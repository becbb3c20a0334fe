"""Reads that could wait forever or fill memory, made by a real `gonogo check`:
secrets and env files pointing at /dev/zero, a 2 GiB sparse file or a FIFO nobody
writes to, and a /health endpoint whose body never ends. Each is an error naming
what was refused, within the configured timeouts and well under 300 MB."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web

RSS_LIMIT_KB = 300 * 1024


@asynccontextmanager
async def endless_health() -> AsyncIterator[str]:
    async def health(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        await resp.prepare(request)
        chunk = b'{"status": "ok", "pad": "' + b"x" * 65536
        try:
            while True:
                await resp.write(chunk)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        return resp

    app = web.Application()
    app.router.add_get("/health", health)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def hostile_files(tmp: Path) -> dict[str, Path]:
    fifo = tmp / "fifo"
    os.mkfifo(fifo)
    sparse = tmp / "sparse"
    with open(sparse, "wb") as fh:
        fh.truncate(2 * 1024**3)
    return {"fifo": fifo, "sparse": sparse, "zero": Path("/dev/zero")}


# A wrapper that runs one command and reports that command's own peak RSS (its
# RUSAGE_CHILDREN holds nobody else), so the figure is not any earlier child's.
_MEASURE = (
    "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
    "print(f'MAXRSS_KIB={resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}', file=sys.stderr); "
    "sys.exit(r.returncode)"
)


def run_measured(argv: list[str], timeout: float) -> tuple[int, str, str, float, int]:
    """Exit code, stdout, stderr, wall seconds and peak RSS (KiB) of one process."""
    started = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "-c", _MEASURE, *argv], capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"still running after {timeout}s") from exc
    wall = time.monotonic() - started
    err, _, rss = done.stderr.rpartition("MAXRSS_KIB=")
    return done.returncode, done.stdout, err, wall, int(rss.strip())


async def test_hostile_files_and_an_endless_body_are_refused_quickly(tmp_path: Path) -> None:
    files = hostile_files(tmp_path)
    async with endless_health() as base:
        cfg = tmp_path / "gonogo.toml"
        cfg.write_text(f"""
[release]
name = "shop-2.4.0"
commit = "9f1c2ab"

[settings]
timeout = "3s"

[integrations.vault]
url = "http://127.0.0.1:9"
token = "file:{files['zero']}"

[[services]]
name = "auth"
health_url = "{base}/health"

[[services]]
name = "user"
health_url = "file:{files['fifo']}"

[[gates]]
id = "pre"
title = "Pre-flight"
  [[gates.checks]]
  id = "health"
  title = "health: endless body"
  kind = "http_health"
  services = ["auth"]
  [[gates.checks]]
  id = "health-fifo"
  title = "health: URL from a FIFO"
  kind = "http_health"
  services = ["user"]
  [[gates.checks]]
  id = "env"
  title = "env defaults"
  kind = "env_not_default"
  example = "{files['sparse']}"
  [[gates.checks]]
  id = "vault"
  title = "vault token"
  kind = "vault_token"
  [[gates.checks]]
  id = "skipper"
  title = "skip_if from a FIFO"
  kind = "command"
  argv = ["true"]
  skip_if = "file:{files['fifo']}"
""", encoding="utf-8")
        rc, out, err, wall, rss = await asyncio.to_thread(
            run_measured, [sys.executable, "-m", "gonogo", "check", "--config", str(cfg),
                           "--format", "json"], 60)
    assert "Traceback" not in err, err[-2000:]
    assert rc == 1, err
    results = {c["id"]: c for g in json.loads(out)["gates"] for c in g["checks"]}
    health = " ".join([results["health"]["summary"], *results["health"]["details"]])
    assert "over 8192 KiB" in health, health
    assert "is a FIFO" in results["health-fifo"]["summary"]
    assert "is 2147483648 bytes" in results["env"]["summary"]
    assert "is a device" in " ".join([results["vault"]["summary"], *results["vault"]["details"]])
    assert results["skipper"]["status"] == "pass"  # an unreadable skip_if does not skip the check
    assert wall < 2 * 3 + 5, wall  # ~2x the 3 s timeout, plus interpreter start
    assert rss < RSS_LIMIT_KB, f"peak RSS {rss // 1024} MB"
    print(f"hostile gonogo check: {wall:.2f} s, peak RSS {rss // 1024} MB")
