"""Planted secrets never reach any output of ``gonogo check``, even when a check fails
on them: every report format, stdout and stderr, and config error messages.

The planted values are random per run, and the search looks for every 10-character
window of each value, so a value cut in two by the table's line wrapping is still
caught."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
from pathlib import Path

import pytest
from aiohttp import web

from support.loopback import app_with, serve

FORMATS = ("table", "json", "junit", "markdown")


def planted() -> dict[str, str]:
    return {
        "PLANTED_API_KEY": "apikey-" + secrets.token_hex(12),
        "PLANTED_JWT_A": "jwt-a-" + secrets.token_hex(12),
        "PLANTED_JWT_B": "jwt-b-" + secrets.token_hex(12),
        "PLANTED_DB_PASSWORD": "pw-" + secrets.token_hex(4),  # too short: fails on it
        "PLANTED_STAGING_PASSWORD": "stage-" + secrets.token_hex(12),
    }


def windows(value: str, size: int = 10) -> set[str]:
    return {value[i : i + size] for i in range(max(1, len(value) - size + 1))}


def leaks(text: str, values: dict[str, str]) -> list[str]:
    return [name for name, value in values.items() if any(w in text for w in windows(value))]


async def echo_auth(request: web.Request) -> web.Response:
    # A careless service that echoes the credential it was sent in its error body.
    return web.json_response(
        {"error": f"invalid api key {request.headers.get('X-Api-Key')!s}", "auth": request.headers.get("Authorization")},
        status=500,
    )


def write_config(tmp_path: Path, base: str, values: dict[str, str]) -> Path:
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    default = "example-default-" + secrets.token_hex(8)
    values["EXAMPLE_DEFAULT"] = default
    (tmp_path / ".env.example").write_text(f"AUTH_SECRET_KEY={default}\n")
    (env_dir / "auth.env").write_text(f"AUTH_SECRET_KEY={default}\n")
    printer = "import os; print('token is', os.environ['PLANTED_JWT_B'], os.environ['PLANTED_API_KEY']); raise SystemExit(3)"
    config = tmp_path / "planted.toml"
    config.write_text(
        f"""
[release]
name = "redaction"
commit = "abc1234"

[owners]
release_manager = "Ada"

[[services]]
name = "auth"
health_url = "{base}/health"
env_file = "env/auth.env"

[[gates]]
id = "secrets"
title = "Secrets"

  [[gates.checks]]
  id = "smoke-echo"
  title = "smoke step whose token is echoed back"
  kind = "smoke"
  base_url = "{base}"
  secrets = {{ jwt = "env:PLANTED_JWT_A" }}
    [[gates.checks.steps]]
    name = "call with key"
    method = "POST"
    path = "/echo"
    headers = {{ X-Api-Key = "env:PLANTED_API_KEY", Authorization = "Bearer {{jwt}}" }}

  [[gates.checks]]
  id = "jwt-consistent"
  title = "JWT secret identical"
  kind = "secret_consistent"
  secret = "AUTH_SECRET_KEY"
    [[gates.checks.sources]]
    service = "auth"
    ref = "env:PLANTED_JWT_A"
    [[gates.checks.sources]]
    service = "consent"
    ref = "env:PLANTED_JWT_B"

  [[gates.checks]]
  id = "printer"
  title = "a command that prints secrets"
  kind = "command"
  argv = ["{sys.executable}", "-c", "{printer}"]

  [[gates.checks]]
  id = "db-credentials"
  title = "db credentials"
  kind = "db_credentials"
    [[gates.checks.environments]]
    name = "production"
    password = "env:PLANTED_DB_PASSWORD"
    [[gates.checks.environments]]
    name = "staging"
    password = "env:PLANTED_STAGING_PASSWORD"

  [[gates.checks]]
  id = "env-defaults"
  title = "env not default"
  kind = "env_not_default"
""",
        encoding="utf-8",
    )
    return config


async def gonogo(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gonogo", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **env, "COLUMNS": "120"}, cwd=cwd,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode() + "\n" + err.decode()


@pytest.mark.parametrize("fmt", FORMATS)
async def test_no_planted_secret_in_any_report_format(tmp_path: Path, fmt: str) -> None:
    values = planted()
    async with serve(app_with({"/echo": echo_auth})) as base:
        config = write_config(tmp_path, base, values)
        code, text = await gonogo("check", "--config", str(config), "--format", fmt, env=values, cwd=tmp_path)
    assert code == 1, text  # NO-GO: every check here fails on a secret
    assert "Traceback" not in text
    for check_id in ("smoke-echo", "jwt-consistent", "printer", "db-credentials", "env-defaults"):
        assert check_id in text
    # The failures are about the secrets, and say so without showing them.
    assert "HTTP 500, expected 200" in text
    assert "differs across services" in text
    assert "«redacted»" in text  # the echoed key and the printed token were there, scrubbed
    assert leaks(text, values) == []


async def test_no_planted_secret_in_a_report_file(tmp_path: Path) -> None:
    values = planted()
    out = tmp_path / "report.json"
    async with serve(app_with({"/echo": echo_auth})) as base:
        config = write_config(tmp_path, base, values)
        code, text = await gonogo(
            "check", "--config", str(config), "--format", "json", "--out", str(out), env=values, cwd=tmp_path
        )
    assert code == 1
    report = out.read_text()
    assert '"verdict": "NO-GO"' in report
    assert leaks(report + text, values) == []


async def test_config_errors_never_show_values(tmp_path: Path) -> None:
    values = planted()
    literal = "literal-" + secrets.token_hex(12)
    values["LITERAL"] = literal
    config = tmp_path / "bad.toml"
    config.write_text(
        f"""
[release]
name = "bad"
commit = "abc1234"

[integrations.vault]
url = "http://127.0.0.1:8200"
token = "{literal}"

[[gates]]
id = "g"
title = "g"
  [[gates.checks]]
  id = "c1"
  title = "typo in a key next to a reference"
  kind = "secret_consistent"
  secret = "AUTH_SECRET_KEY"
  sourcse = [{{ service = "a", ref = "env:PLANTED_JWT_A" }}]

  [[gates.checks]]
  id = "c2"
  title = "bad reference"
  kind = "db_credentials"
    [[gates.checks.environments]]
    name = "production"
    password = "{values['PLANTED_DB_PASSWORD']}"
""",
        encoding="utf-8",
    )
    for args in (("config", "validate", str(config)), ("check", "--config", str(config))):
        code, text = await gonogo(*args, env=values, cwd=tmp_path)
        assert code == 2, text
        assert "Traceback" not in text
        assert "integrations.vault.token" in text
        assert "sourcse" in text
        assert "environments[0].password" in text
        assert leaks(text, values) == []


async def test_output_of_a_check_finishing_first_is_scrubbed_of_later_checks_secrets(tmp_path: Path) -> None:
    """The runner learns the run's secrets before any check finishes, so a fast check
    printing a secret is scrubbed even though the check using it has not resolved it yet."""
    from gonogo.context import make_context
    from gonogo.runner import run_checks
    from support.plans import plan_from_toml

    token = "slow-" + secrets.token_hex(12)
    release = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        await release.wait()
        return web.json_response({"ok": True})

    async with serve(app_with({"/slow": slow})) as base:
        plan = plan_from_toml(
            tmp_path,
            f"""
            [[gates]]
            id = "g"
            title = "g"
              [[gates.checks]]
              id = "printer"
              title = "prints the token"
              kind = "command"
              argv = ["{sys.executable}", "-c", "import os; print(os.environ['SLOW_TOKEN'])"]
              [[gates.checks]]
              id = "slow-smoke"
              title = "uses the token, later"
              kind = "smoke"
              base_url = "{base}"
                [[gates.checks.steps]]
                name = "slow call"
                path = "/slow"
                [[gates.checks.steps]]
                name = "authorised call, resolved only now"
                path = "/slow"
                headers = {{ Authorization = "env:SLOW_TOKEN" }}
            """,
        )
        os.environ["SLOW_TOKEN"] = token  # the command inherits the process environment
        ctx = make_context(plan, environ={"SLOW_TOKEN": token})
        try:
            stream = run_checks(ctx)
            first = await anext(stream)
            release.set()
            rest = [r async for r in stream]
        finally:
            del os.environ["SLOW_TOKEN"]
            await ctx.aclose()
    assert first.check_id == "printer"
    assert first.details == ("«redacted»",)
    assert [r.check_id for r in rest] == ["slow-smoke"]
    assert token not in repr(first.to_dict()) + repr(rest[0].to_dict())


async def test_the_session_log_scrubs_free_text_and_keeps_plan_identifiers(tmp_path: Path) -> None:
    """A secret in anything typed or printed (a reason, a note, a command's output) never
    reaches the journal; identifiers from the plan are recorded as they are, even when a
    secret happens to be the same word (a stage called like a password stays findable)."""
    from gonogo.rollout.journal import EVENTS_FILE
    from support.rollout import Clock, make_engine, write_plan

    secret = "canary"  # also the id of the plan's first stage
    token = "tok-" + secrets.token_hex(8)
    plan = write_plan(tmp_path, disable=("sh", "-c", f"echo {token}; exit 1"))
    engine = make_engine(plan, tmp_path / "s", Clock())
    engine.ctx.redactor.add(secret)
    engine.ctx.redactor.add(token)
    engine.start()
    await engine.run_checks()
    await engine.set_owner("security", f"Alan ({token})")
    await engine.advance()
    await engine.pause(f"the canary looks odd; token {token} leaked in chat")
    await engine.rollback(f"rolling back the canary, {token} rotated")
    await engine.aclose()
    text = (tmp_path / "s" / EVENTS_FILE).read_text()
    assert token not in text
    events = [json.loads(line) for line in text.splitlines()]
    by_kind: dict[str, dict[str, object]] = {}
    for e in events:
        by_kind.setdefault(e["kind"], e["data"])  # the first of each kind
    assert by_kind["stage_entered"]["stage"] == "canary"
    assert by_kind["traffic_intended"]["stage"] == "canary"
    assert by_kind["advance_confirmed"]["to_stage"] == "canary"
    assert by_kind["paused"]["reason"] == "the «redacted» looks odd; token «redacted» leaked in chat"
    assert by_kind["owner_set"] == {"role": "security", "name": "Alan («redacted»)"}
    assert by_kind["rollback_started"]["reason"] == "rolling back the «redacted», «redacted» rotated"
    failed = [e["data"] for e in events if e["kind"] == "runbook_step_finished"
              and e["data"]["step"] == "disable"]
    assert failed and "«redacted»" in failed[0]["detail"] and failed[0]["status"] == "failed"
