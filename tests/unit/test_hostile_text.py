"""Hostile text from services and configs, as an attacker would send it.

A service body carrying ``ESC[2J ESC[H ESC[31;1mPWNED`` must be shown, escaped, never
acted on: not by ``gonogo check`` in any format, not by the panel. A body or a config
string carrying Rich markup (``[/]``, ``[bold]``, ``[integrations.vault]``) must be shown
as written, never parsed: it crashed ``check --format table`` and the panel, and ate
words out of messages. JUnit must stay well-formed XML whatever the body holds.

The CLI runs as a user runs it (a subprocess against a real loopback service); the
report and panel exits are also fed raw, unsanitised results (a journal written by an
older version holds them), because every exit must be safe on its own.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web

from gonogo.config import load_plan
from gonogo.model import CheckResult, Status

ESC = "\x1b"
ATTACK = "ok\x1b[2J\x1b[H\x1b[31;1mPWNED\x07\x9b1m\u202eDBT\x00\x0b"
MARKUP_TITLE = "[/] [bold]not bold[/bold] needs [integrations.vault]"
HTML = "<img src=x onerror=alert(1)> | [click](javascript:alert(1))"
# What a terminal would act on: ESC, BEL, the one-byte CSI, a bidi override, NUL.
ACTED_ON = ("\x1b", "\x07", "\x9b", "\u202e", "\x00", "\x0b")


def acted_on(text: str) -> list[str]:
    """The characters in ``text`` that a terminal would act on (as escapes, for messages)."""
    return sorted({repr(c) for c in ACTED_ON if c in text})


# -- a real loopback service answering with hostile bodies -----------------------------
async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "[/]", "version": f"1.0{ATTACK}"})


async def grafana_search(request: web.Request) -> web.Response:
    return web.Response(status=500, text=f"upstream said {HTML} {ATTACK}")


async def smoke(request: web.Request) -> web.Response:
    return web.Response(status=500, text=f"<html>{ATTACK}</html> ]]> <!--")


@asynccontextmanager
async def hostile_service() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_get("/grafana/api/search", grafana_search)
    app.router.add_route("*", "/smoke", smoke)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def write_config(tmp_path: Path, base: str) -> Path:
    printer = f"import sys; sys.stdout.write({ATTACK!r} + '\\n'); sys.exit(1)"
    config = tmp_path / "hostile.toml"
    config.write_text(
        f"""
[release]
name = "hostile"
commit = "abc1234"

[[services]]
name = "auth"
health_url = "{base}/health"

[integrations.grafana]
url = "{base}/grafana"

[[gates]]
id = "g"
title = "Gate [/] of [red]hostile[/red] things"

  [[gates.checks]]
  id = "health"
  title = {json.dumps(MARKUP_TITLE)}
  kind = "http_health"

  [[gates.checks]]
  id = "dashboards"
  title = "Grafana dashboards"
  kind = "grafana_dashboards"
  dashboards = ["release"]

  [[gates.checks]]
  id = "journey"
  title = "smoke journey"
  kind = "smoke"
  base_url = "{base}"
    [[gates.checks.steps]]
    name = "call"
    path = "/smoke"

  [[gates.checks]]
  id = "printer"
  title = "a command that prints escapes"
  kind = "command"
  argv = [{json.dumps(sys.executable)}, "-c", {json.dumps(printer)}]

  [[gates.checks]]
  id = "vaulted"
  title = "a secret from a vault nobody configured"
  kind = "smoke"
  base_url = "{base}"
  secrets = {{ token = "vault:secret/app#TOKEN" }}
    [[gates.checks.steps]]
    name = "call"
    path = "/health"
""",
        encoding="utf-8",
    )
    return config


async def gonogo_check(config: Path, fmt: str, cwd: Path) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gonogo", "check", "--config", str(config), "--format", fmt,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL, env={**os.environ, "COLUMNS": "200"}, cwd=cwd,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 90)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode("utf-8"), err.decode("utf-8")


FORMATS = ("table", "markdown", "junit", "json")


async def test_hostile_bodies_through_every_format_of_gonogo_check(tmp_path: Path) -> None:
    async with hostile_service() as base:
        config = write_config(tmp_path, base)
        runs = await asyncio.gather(*(gonogo_check(config, fmt, tmp_path) for fmt in FORMATS))
    for fmt, (code, out, err) in zip(FORMATS, runs, strict=True):
        # A report, not a crash: NO-GO, something on stdout, no traceback.
        assert code == 1, (fmt, err[-2000:])
        assert out.strip(), (fmt, err[-2000:])
        assert "Traceback" not in err and "MarkupError" not in err, (fmt, err[-2000:])
        # Nothing the terminal would act on, anywhere.
        assert acted_on(out + err) == [], fmt
        # ... and yet the operator sees what the service sent.
        assert "PWNED" in out, fmt
        assert "x1b" in out, fmt  # the escape, shown as text
    table, markdown, junit, report = (out for _, out, _ in runs)

    # The table shows markup as written: not parsed, not eaten.
    assert "[/] [bold]not bold[/bold] needs" in table  # (the column wraps the rest)
    assert "status='[/]'" in table
    assert "Gate [/] of [red]hostile[/red] things" in table
    assert "no [integrations.vault] configured" in table
    assert "\\x1b[2J\\x1b[H\\x1b[31;1mPWNED" in table
    assert "python exited 1, expected 0: ok\\x1b[2J" in table  # command output, escaped

    # Markdown: inert (no raw HTML or link syntax from a body), one table row per check.
    assert re.search(r"(?<!\\)<img", markdown) is None and "\\<img src=x" in markdown
    assert re.search(r"(?<!\\)\[click", markdown) is None and "\\[click\\](javascript" in markdown
    assert "needs \\[integrations.vault\\]" in markdown
    for line in markdown.splitlines():
        if line.startswith("| ") and "Grafana" in line:
            assert line.count(" | ") == 3, line  # the body's pipes cannot add cells

    # JUnit: well-formed XML, with the body's text and the markup as written.
    root = ET.fromstring(junit)
    cases = {c.attrib["name"]: c for c in root.iter("testcase")}
    assert set(cases) >= {"health", "dashboards", "journey", "printer", "vaulted"}
    health_fail = cases["health"].find("failure")
    assert health_fail is not None and "[/]" in health_fail.attrib["message"]
    journey = cases["journey"].find("failure")
    assert journey is not None and journey.text is not None
    assert "PWNED" in journey.text and "\\x1b" in journey.text and "]]>" in journey.text
    suite = next(root.iter("testsuite"))
    assert suite.attrib["name"] == "Gate [/] of [red]hostile[/red] things"

    # JSON: parses, the summaries are there as text.
    data = json.loads(report)
    checks = {c["id"]: c for g in data["gates"] for c in g["checks"]}
    assert checks["health"]["title"] == MARKUP_TITLE
    assert "[/]" in checks["health"]["summary"]
    assert "PWNED" in checks["dashboards"]["summary"]
    assert acted_on(json.dumps(data, ensure_ascii=False)) == []


# -- the report exits on their own: raw results (an older journal, a plugin) -------------
def raw_results(tmp_path: Path) -> tuple[object, dict[str, CheckResult]]:
    config = tmp_path / "raw.toml"
    config.write_text(
        f"""
[release]
name = "raw"
commit = "abc1234"

[[gates]]
id = "g"
title = "Gate"
  [[gates.checks]]
  id = "c1"
  title = {json.dumps(MARKUP_TITLE)}
  kind = "command"
  argv = ["true"]
""",
        encoding="utf-8",
    )
    plan = load_plan(config)
    result = CheckResult(
        check_id="c1", gate_id="g", kind="command", title=MARKUP_TITLE, required=True,
        status=Status.FAIL, summary=f"[/] body: {ATTACK}", details=(f"line {ATTACK}", "[bold]x"),
    )  # fmt: skip
    return plan, {"c1": result}


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_report_format_is_safe_on_raw_results(tmp_path: Path, fmt: str) -> None:
    from gonogo import report
    from gonogo.verdict import decide

    plan, results = raw_results(tmp_path)
    verdict = decide(plan, results)  # type: ignore[arg-type]
    for color in (False, True):
        text = report.render(fmt, plan, results, verdict, color=color)  # type: ignore[arg-type]
        if color and fmt == "table":  # the table's own colours are SGR escapes; strip them
            text = re.sub(r"\x1b\[[0-9;]*m", "", text)
        assert acted_on(text) == [], (fmt, color)
        if fmt == "json":  # lossless: JSON escapes, the same text to a JSON reader
            data = json.loads(text)
            assert data["gates"][0]["checks"][0]["summary"] == results["c1"].summary
            continue
        assert "PWNED" in text and "x1b" in text
        assert "\\x1b[31;1mPWNED" in text or "\\x1b\\[31;1mPWNED" in text  # escaped, not stripped
    if fmt == "junit":
        root = ET.fromstring(text)
        failure = next(root.iter("failure"))
        assert failure.text is not None and "[bold]x" in failure.text
    if fmt == "table":
        assert "[/] [bold]not bold[/bold]" in text and "[/] body:" in text


# -- the panel ------------------------------------------------------------------------
PANEL_PLAN = f"""
[release]
name = "panel-hostile"
commit = "abc1234"

[owners]
release_manager = "Ada"

[[gates]]
id = "g"
title = "Gate [/] [bold]"
  [[gates.checks]]
  id = "c1"
  title = {json.dumps(MARKUP_TITLE)}
  kind = "command"
  argv = ["true"]
  [[gates.checks]]
  id = "c2"
  title = "[/]"
  kind = "manual"

[rollout]
[[rollout.stages]]
id = "canary"
title = "Canary [/]"
weight = 5
hold = "30m"

[[runbook.steps]]
id = "shift"
title = "Shift [/] back"
action = "shift_traffic"
"""


def screen_text(app: object) -> str:
    strips = app.screen._compositor.render_strips()  # type: ignore[attr-defined]
    return "\n".join(strip.text for strip in strips)


async def test_the_panel_shows_hostile_text_without_acting_on_it(tmp_path: Path) -> None:
    from gonogo.app import GonogoApp
    from gonogo.rollout.engine import Engine
    from gonogo.rollout.events import CheckRecorded, CheckResultRecord, OwnerSet, Paused
    from gonogo.rollout.journal import FileJournal
    from gonogo.widgets.messages import IntentFailed

    config = tmp_path / "panel.toml"
    config.write_text(PANEL_PLAN, encoding="utf-8")
    plan = load_plan(config)
    session = tmp_path / "session"
    engine = Engine(plan, FileJournal(session), clock=lambda: 1_800_000_000.0,
                    actor=f"mallory{ATTACK}", session_dir=str(session))  # fmt: skip
    engine.start()
    # Raw text straight into the journal, as an older version recorded it.
    engine.emit(CheckRecorded(result=CheckResultRecord(
        id="c1", gate="g", title=MARKUP_TITLE, kind="command", status=Status.FAIL,
        summary=f"[/] {ATTACK}", details=(f"detail {ATTACK}", "[/]"),
        evidence={"body": ATTACK, "[/]": "[bold]"}, finished_at=1_800_000_000.0,
    )))  # fmt: skip
    engine.emit(OwnerSet(role="release_manager", name=f"[/]{ATTACK}"))
    engine.emit(Paused(reason=f"[/] {ATTACK}"))
    app = GonogoApp(plan, engine, clock=lambda: 1_800_000_000.0, live=False,
                    session_dir=f"{session}[/]")  # fmt: skip
    seen: dict[str, str] = {}
    async with app.run_test(size=(160, 45), notifications=True) as pilot:
        await pilot.pause()
        seen["dashboard"] = screen_text(app)
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        seen["dashboard 80x24"] = screen_text(app)
        await pilot.resize_terminal(160, 45)
        app.post_message(IntentFailed(f"pause [/]{ATTACK}", f"refused: [/] {ATTACK}"))
        await pilot.pause()
        await pilot.pause(0.2)
        seen["toast"] = screen_text(app)
        await pilot.press("enter")  # the cursor is on the first check: its detail
        await pilot.pause()
        seen["check detail"] = screen_text(app)
        await pilot.press("escape")
        for key, name in (("l", "session log"), ("o", "owners"), ("b", "runbook"),
                          ("question_mark", "help")):
            await pilot.press(key)
            await pilot.pause()
            seen[name] = screen_text(app)
            await pilot.press("escape")
            await pilot.pause()
        assert app.is_running
    assert app.return_code in (None, 0)
    for name, text in seen.items():
        assert acted_on(text) == [], name
    dashboard = seen["dashboard"]
    assert "✔ [/]ok\\x1b[2J" in dashboard  # the owner's name: shown, escaped
    assert "malloryok\\x1b[2J" in dashboard  # the actor, in the activity box
    assert "[/] [bold]not bold[/bold]" in dashboard  # the title, as written
    assert "Gate [/] [bold]" in dashboard
    assert "\\x1b[2J" in seen["dashboard 80x24"]
    assert "refused: [/]" in seen["toast"]
    detail = seen["check detail"]
    assert MARKUP_TITLE in detail and "detail ok\\x1b[2J" in detail
    assert "PWNED" in seen["session log"] and "mallory" in seen["session log"]
    assert "[/]" in seen["owners"]
    assert "Shift [/] back" in seen["runbook"]
