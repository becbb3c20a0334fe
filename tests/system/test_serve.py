"""Issue 11 acceptance: `gonogo serve`, the panel in a browser.

- Headless Chromium (Debian's `chromium`, started here with --headless --no-sandbox
  --disable-gpu and driven over the DevTools protocol) loads the served page; its
  screenshot shows the dashboard (decoded: the terminal area is drawn, in many
  colours), and the page's websocket carries the dashboard with the release name.
- A non-loopback bind without an access token is refused (exit 2, saying how).
- With a token, every request needs it (once in the URL, then a cookie; or a bearer
  header); the websocket opens only from the page's own origin; on loopback the Host
  must be a loopback name. The token is never printed.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest

from gonogo.cli.session import open_session
from gonogo.rollout.journal import read_events
from support.browser import Chromium, chromium_binary, decode_png
from support.plans import plan_from_toml
from support.rollout import run_cli
from support.servers import need_server

pytestmark = [pytest.mark.timeout(180), pytest.mark.xdist_group("serve")]
RELEASE = "payments-7.3.1"
PLAN = f"""
[release]
name = "{RELEASE}"
commit = "4be11e0"
environment = "production"

[owners]
release_manager = "Rosa Diaz"

[[gates]]
id = "pre"
title = "Pre-flight"
  [[gates.checks]]
  id = "unit"
  title = "Unit tests pass"
  kind = "command"
  argv = ["true"]
"""
ANSI = re.compile(rb"\x1b(\[[0-9;?$<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")


def session_of(tmp: Path) -> tuple[Path, Path]:
    """A config and a started session (as a driver left it) for the page to show."""
    plan = plan_from_toml(tmp, PLAN)
    opened = open_session(plan, str(tmp / "session"), actor="Rosa Diaz", warn=lambda m: None)
    opened.engine.start()
    opened.journal.close()
    return Path(plan.source), opened.where


class Served:
    """`gonogo serve` as a subprocess this test started; stopped by its own handle."""

    def __init__(self, proc: asyncio.subprocess.Process, url: str, said: str) -> None:
        self.proc, self.url, self.stderr = proc, url, [said]


@asynccontextmanager
async def serve(*args: str, env: dict[str, str] | None = None) -> AsyncIterator[Served]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gonogo", "serve", "--port", "0", *args,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env={**os.environ, **(env or {})})
    assert proc.stderr is not None and proc.stdout is not None
    try:
        said: list[str] = []
        found = None
        while found is None and len(said) < 5:
            said.append((await asyncio.wait_for(proc.stderr.readline(), 60)).decode())
            found = re.search(r"serving .* on (http://\S+?/)[;\s]", said[-1])
        assert found, f"gonogo serve did not say where it serves: {said!r}"
        served = Served(proc, found.group(1), "".join(said))
        pumps = [asyncio.create_task(_pump(proc.stderr, served.stderr)),
                 asyncio.create_task(_pump(proc.stdout, served.stderr))]
        yield served
        proc.terminate()  # SIGTERM: the server asks each page's process to quit
        assert await asyncio.wait_for(proc.wait(), 30) == 0
        await asyncio.gather(*pumps)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def _pump(stream: asyncio.StreamReader, into: list[str]) -> None:
    while line := await stream.readline():
        into.append(line.decode("utf-8", "replace"))


async def screen_text(url: str, *, headers: dict[str, str] | None = None, until: str,
                      timeout: float = 45) -> str:
    """What the page's websocket paints (escape sequences removed) once ``until`` shows."""
    ws_url = url.replace("http://", "ws://") + "ws?width=100&height=30"
    data = b""
    async with aiohttp.ClientSession() as http, http.ws_connect(ws_url, headers=headers) as ws:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                msg = await asyncio.wait_for(ws.receive(), 1.0)
            except TimeoutError:
                continue
            if msg.type == aiohttp.WSMsgType.BINARY:
                data += msg.data
                text = ANSI.sub(b"", data).decode("utf-8", "replace")
                if until in text:
                    return text
            elif msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                break
    raise AssertionError(f"{until!r} never painted; got {ANSI.sub(b'', data)[-1500:]!r}")


def page_processes(session: Path) -> list[int]:
    """PIDs whose command line names this test's session (the pages' panels)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if str(session).encode() in cmd and b"serve" not in cmd:
                found.append(int(entry.name))
    return found


async def test_chromium_loads_the_served_panel_and_its_screenshot_shows_the_dashboard(
    tmp_path: Path,
) -> None:
    if chromium_binary() is None:
        need_server("chromium is not installed (Debian package chromium)")
    config, session = session_of(tmp_path)
    async with serve("--config", str(config), "--session", str(session),
                     "--actor", "Grace Hopper") as served:
        assert served.url.startswith("http://127.0.0.1:")
        async with aiohttp.ClientSession() as http:
            async with http.get(served.url) as resp:
                page = await resp.text()
                assert resp.status == 200 and f"gonogo · {RELEASE}" in page
            # loopback only: another Host (DNS rebinding) and another origin are refused
            async with http.get(served.url, headers={"Host": "attacker.example"}) as resp:
                assert resp.status == 403
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await http.ws_connect(served.url + "ws", headers={"Origin": "http://evil.example"})
            assert refused.value.status == 403
        text = await screen_text(served.url, until="WATCHING Rosa Diaz as Grace Hopper")
        assert RELEASE in text  # the header
        assert "Pre-flight" in text and "Unit tests pass" in text  # the checklist tree
        async with Chromium.start(tmp_path, width=1000, height=640) as browser:
            await browser.open(served.url)
            await browser.until("document.body.classList.contains('-first-byte')", 45)
            await asyncio.sleep(3.0)  # the first frames are painted after the first byte
            png = await browser.screenshot()
            title = await browser.evaluate("document.querySelector('.intro div').textContent")
        (tmp_path / "serve.png").write_bytes(png)
        assert title == f"gonogo · {RELEASE}"
        width, height, rows = decode_png(png)
        assert width == 1000 and height > 300  # the viewport (the window less its frame)
        counts = Counter(px for row in rows for px in row)
        ground, most = counts.most_common(1)[0]
        # The terminal covers the page: its background is the panel theme's, not the
        # page's (#0c181f); text is drawn on it, antialiased in many colours. A blank
        # page is one colour; a page whose terminal never drew is the page colour.
        assert ground != (12, 24, 31), counts.most_common(3)
        assert 1 - most / (width * height) > 0.03, counts.most_common(3)
        assert len(counts) >= 50, len(counts)
    assert page_processes(session) == []  # every page's panel quit with the server
    assert "serving the read-only panel" in "".join(served.stderr)
    # the pages watched: nothing was written to the session (a watcher never writes)
    assert [e.kind for e in read_events(session)] == ["session_started"]


async def test_a_non_loopback_bind_without_a_token_is_refused(tmp_path: Path) -> None:
    config, session = session_of(tmp_path)
    for host in ("0.0.0.0", "192.0.2.10"):
        rc, out, err = await run_cli("serve", "--config", str(config), "--session", str(session),
                                     "--host", host, timeout=60)
        assert rc == 2, err
        assert f"serve --host {host}: refusing to serve the panel beyond this machine without an " \
               "access token" in err
        assert "--token-ref env:NAME" in err and "Traceback" not in err
    rc, out, err = await run_cli("serve", "--config", str(config), "--session", str(session),
                                 "--host", "0.0.0.0", "--token-ref", "env:GONOGO_SERVE_TOKEN",
                                 env={"GONOGO_SERVE_TOKEN": "short"}, timeout=60)
    assert rc == 2 and "access token from env:GONOGO_SERVE_TOKEN is 5 characters" in err
    assert "short" not in err.replace("5 characters", "")
    rc, out, err = await run_cli("serve", "--config", str(config), "--session", str(session),
                                 "--token-ref", "literal-token-value", timeout=60)
    assert rc == 2 and "--token-ref: secrets must be references" in err


async def test_with_a_token_every_request_needs_it(tmp_path: Path) -> None:
    config, session = session_of(tmp_path)
    token = secrets.token_hex(16)
    env = {"GONOGO_SERVE_TOKEN": token}
    async with serve("--config", str(config), "--session", str(session), "--host", "0.0.0.0",
                     "--token-ref", "env:GONOGO_SERVE_TOKEN", env=env) as served:
        assert "?token=TOKEN once (TOKEN: the value of env:GONOGO_SERVE_TOKEN)" in served.stderr[0]
        port = served.url.rsplit(":", 1)[1].rstrip("/")
        url = f"http://127.0.0.1:{port}/"
        jar = aiohttp.CookieJar(unsafe=True)  # cookies for an IP address host
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            for path in ("", "static/js/textual.js", f"?token={token[:-1]}x"):
                async with http.get(url + path, allow_redirects=False) as resp:
                    body = await resp.text()
                    assert resp.status == 401, (path, resp.status)
                    assert token not in body
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await http.ws_connect(url + "ws")
            assert refused.value.status == 401
            async with http.get(f"{url}?token={token}&fontsize=14", allow_redirects=False) as resp:
                assert resp.status == 303 and resp.headers["Location"] == "/?fontsize=14"
                cookie = resp.headers["Set-Cookie"]
                assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
            async with http.get(url + "?fontsize=14") as resp:  # the cookie carries it now
                assert resp.status == 200 and f"gonogo · {RELEASE}" in await resp.text()
            async with http.get(url + "static/js/textual.js") as resp:
                assert resp.status == 200
        bearer = {"Authorization": f"Bearer {token}"}
        text = await screen_text(url, headers=bearer, until=RELEASE)
        assert "Pre-flight" in text
        async with aiohttp.ClientSession() as http:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await http.ws_connect(url + "ws", headers={**bearer, "Origin": "http://evil.example"})
            assert refused.value.status == 403
    assert token not in "".join(served.stderr)
