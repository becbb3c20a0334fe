"""Attacks on redaction: a secret echoed back in a form other than the one gonogo sent.

A careless (or hostile) service echoes the credential it received JSON-escaped, URL-
encoded or base64-encoded; a body is cut right through a secret; a Vault secret is
printed by an unrelated command before any check has read it from Vault; a secret is
only 3 characters long. In every case what the operator can read — every report format
of ``gonogo check`` — must not let them (or the CI log the report lands in) recover it.

Secrets are random per run; leaks are searched as any 10-character window of the
secret (or of its encoded form), so half a secret left by a cut counts as a leak.
Assertion messages name the case, never the value.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import sys
import textwrap
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gonogo.config import load_plan
from gonogo.secrets import REDACTED, Redactor

FORMATS = ("table", "json", "junit", "markdown")


def windows(value: str, size: int = 10) -> set[str]:
    return {value[i : i + size] for i in range(max(1, len(value) - size + 1))}


def leaked(text: str, value: str, size: int = 10) -> bool:
    return any(w in text for w in windows(value, size))


def has(text: str, needle: str) -> bool:
    """``needle in text``, out of the assertion: pytest would print ``text`` on failure,
    and ``text`` is where a secret may have leaked."""
    return needle in text


# -- a service echoing what it was sent, in the encoding asked for ----------------------
async def echo(request: web.Request) -> web.Response:
    key = request.headers.get("X-Key", "")
    mode = request.query.get("mode", "")
    if mode == "json":  # a JSON error body: the key's quotes and backslashes escaped
        return web.json_response({"error": "invalid key", "key": key, "nested": json.dumps({"k": key})},
                                 status=401)  # fmt: skip
    if mode == "url":  # a redirect carrying the key in a query string
        return web.Response(status=401, text=(
            f"retry at https://login.example/?key={urllib.parse.quote_plus(key)}"
            f"&again={urllib.parse.quote(key, safe='')}"))  # fmt: skip
    if mode == "b64":  # basic-auth style and urlsafe, padded and not
        basic = base64.b64encode(f"svc:{key}".encode()).decode()
        urlsafe = base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")
        return web.Response(status=401, text=f"got Authorization: Basic {basic} / token {urlsafe}")
    if mode == "straddle":  # the key right where a 300-character excerpt is cut
        return web.Response(status=500, text="x" * 272 + f" auth=Bearer {key} (rejected)")
    if mode == "short":
        return web.Response(status=401, text=f"unknown key {key} for tenant acme, see docs")
    return web.Response(status=400, text="unknown mode")


@asynccontextmanager
async def echo_service() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_route("*", "/echo", echo)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def smoke_plan(tmp_path: Path, base: str, mode: str) -> Path:
    path = tmp_path / f"{mode}.toml"
    path.write_text(textwrap.dedent(f"""
        [release]
        name = "redaction-{mode}"
        commit = "abc1234"

        [[gates]]
        id = "g"
        title = "Echoes"
          [[gates.checks]]
          id = "echo-{mode}"
          title = "a service echoing its credential ({mode})"
          kind = "smoke"
          base_url = "{base}"
            [[gates.checks.steps]]
            name = "call"
            path = "/echo?mode={mode}"
            headers = {{ X-Key = "env:ECHOED_KEY" }}
        """), encoding="utf-8")  # fmt: skip
    return path


async def reports(config: Path, environ: dict[str, str]) -> str:
    """Every report format of a checklist run, as ``gonogo check`` renders them."""
    from gonogo import report
    from gonogo.context import make_context
    from gonogo.runner import run_all
    from gonogo.verdict import decide

    plan = load_plan(config)
    ctx = make_context(plan, environ=environ)
    try:
        results = await run_all(ctx)
    finally:
        await ctx.aclose()
    verdict = decide(plan, results)
    return "\n".join(report.render(fmt, plan, results, verdict) for fmt in FORMATS)


async def echoed(tmp_path: Path, mode: str, key: str) -> str:
    async with echo_service() as base:
        return await reports(smoke_plan(tmp_path, base, mode), {"ECHOED_KEY": key})


async def test_a_key_echoed_json_escaped_is_redacted(tmp_path: Path) -> None:
    key = secrets.token_hex(12) + '"q\\z' + secrets.token_hex(4)  # quotes and backslashes
    text = await echoed(tmp_path, "json", key)
    reported = has(text, "HTTP 401") and has(text, REDACTED)
    assert reported, "no failure with a redacted echo in the reports"
    once = json.dumps(key)[1:-1]
    twice = json.dumps(once)[1:-1]
    for name, form in (("raw", key), ("json-escaped", once), ("escaped twice", twice)):
        leak = leaked(text, form)
        assert not leak, f"the key leaked {name}"


async def test_a_key_echoed_url_encoded_is_redacted(tmp_path: Path) -> None:
    key = secrets.token_hex(8) + " /+=&" + secrets.token_hex(8)
    text = await echoed(tmp_path, "url", key)
    reported = has(text, "retry at https://login.example/?key=") and has(text, REDACTED)
    assert reported, "the echo is not in the reports, redacted"
    for name, form in (("quote_plus", urllib.parse.quote_plus(key)),
                       ("quote", urllib.parse.quote(key, safe="")), ("raw", key)):
        leak = leaked(text, form)
        assert not leak, f"the key leaked URL-encoded ({name})"


async def test_a_key_echoed_in_base64_is_redacted(tmp_path: Path) -> None:
    key = secrets.token_urlsafe(24)
    text = await echoed(tmp_path, "b64", key)
    reported = has(text, "Basic") and has(text, REDACTED)
    assert reported, "the echo is not in the reports, redacted"
    basic = base64.b64encode(f"svc:{key}".encode()).decode()
    urlsafe = base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")
    # the first characters of ``basic`` encode "svc:", not the key
    for name, form in (("inside a Basic credential", basic[6:]),
                       ("urlsafe-base64-encoded", urlsafe), ("as is", key)):
        leak = leaked(text, form)
        assert not leak, f"the key leaked {name}"


async def test_a_key_straddling_the_excerpt_limit_leaves_no_half_behind(tmp_path: Path) -> None:
    key = secrets.token_hex(16)
    text = await echoed(tmp_path, "straddle", key)
    shown = has(text, "auth=Bearer")
    assert shown, "the excerpt is not shown"  # up to the cut
    leak = leaked(text, key, size=8)
    assert not leak, "the head of the key survived the cut"


async def test_a_three_character_secret_withholds_the_excerpt(tmp_path: Path) -> None:
    key = secrets.choice("BCDFGHJKLMNPQRSTVWXZ") + "~" + secrets.choice("bcdfghjkmnpqrstvwxz")
    text = await echoed(tmp_path, "short", key)
    told = has(text, "HTTP 401") and has(text, "withheld") and has(text, "too short")
    assert told, "the operator is not told the excerpt was withheld, and why"
    around = has(text, "tenant acme")
    assert not around, "the body around the short secret was shown"
    leak = has(text, key)
    assert not leak, "the short secret was shown"


# -- a Vault secret, printed by an unrelated command before any check reads it ----------
async def test_a_vault_secret_printed_by_an_unrelated_command_is_redacted(tmp_path: Path) -> None:
    from gonogo.sandbox.standins import vault as vault_standin
    from gonogo.sandbox.state import SandboxState

    state = SandboxState()
    app = vault_standin.make_app(state)
    value = state.secrets["qna_internal_token"]
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    config = tmp_path / "vault.toml"
    printer = "import os; print('deploy token is', os.environ['LEAKY_COPY']); raise SystemExit(1)"
    config.write_text(textwrap.dedent(f"""
        [release]
        name = "vault-leak"
        commit = "abc1234"

        [integrations.vault]
        url = "{url}"
        token = "env:VAULT_TOKEN"

        [[gates]]
        id = "pre"
        title = "Pre-flight"
          [[gates.checks]]
          id = "printer"
          title = "a script that prints more than it should"
          kind = "command"
          argv = [{json.dumps(sys.executable)}, "-c", {json.dumps(printer)}]

        [[gates]]
        id = "later"
        title = "Run in a stage only (not by this gonogo check)"
        scope = "stage"
          [[gates.checks]]
          id = "qna-smoke"
          title = "uses the token from Vault"
          kind = "smoke"
          base_url = "{url}"
          secrets = {{ qna = "vault:secret/monorepo/qna#QNA_INTERNAL_TOKEN" }}
            [[gates.checks.steps]]
            name = "call"
            path = "/v1/sys/health"
            headers = {{ Authorization = "Bearer {{qna}}" }}
        """), encoding="utf-8")  # fmt: skip
    env = {**os.environ, "VAULT_TOKEN": state.secrets["vault_token"], "LEAKY_COPY": value,
           "COLUMNS": "200"}  # fmt: skip
    try:
        outs = []
        for fmt in ("table", "json"):
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "gonogo", "check", "--config", str(config), "--format", fmt,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                stdin=asyncio.subprocess.DEVNULL, env=env, cwd=tmp_path,
            )  # fmt: skip
            out, err = await asyncio.wait_for(proc.communicate(), 90)
            assert proc.returncode == 1, fmt  # NO-GO: the printer failed
            outs.append(out.decode() + err.decode())
    finally:
        await runner.cleanup()
    text = "\n".join(outs)
    crashed = has(text, "Traceback")
    assert not crashed, "gonogo check crashed"
    scrubbed = has(text, f"deploy token is {REDACTED}")
    assert scrubbed, "the printed line is not shown, redacted"
    leak = leaked(text, value)
    assert not leak, "the Vault secret was printed"


# -- the redactor itself, against any secret and any surrounding text --------------------
def echoed_forms(secret: str) -> dict[str, str]:
    raw = secret.encode()
    return {
        "as is": secret,
        "JSON-escaped": json.dumps(secret)[1:-1],
        "JSON-escaped, not ASCII": json.dumps(secret, ensure_ascii=False)[1:-1],
        "quote": urllib.parse.quote(secret, safe=""),
        "quote_plus": urllib.parse.quote_plus(secret),
        "base64": base64.b64encode(raw).decode(),
        "base64, unpadded": base64.b64encode(raw).decode().rstrip("="),
        "urlsafe base64": base64.urlsafe_b64encode(raw).decode(),
        "urlsafe base64, unpadded": base64.urlsafe_b64encode(raw).decode().rstrip("="),
    }


@settings(max_examples=60, deadline=None)
@given(secret=st.text(min_size=4, max_size=40), before=st.text(max_size=12), after=st.text(max_size=12))
def test_no_echoed_form_of_a_secret_survives(secret: str, before: str, after: str) -> None:
    assume(secret.strip() and not set(secret) & set("«»"))
    redactor = Redactor()
    redactor.add(secret)
    for name, form in echoed_forms(secret).items():
        assume(form not in REDACTED)
        out = redactor.text(before + form + after)
        survived = form in out
        assert not survived, f"the secret survived {name}"
        cut = redactor.excerpt(before + form + after, max(1, len(before) + len(form) // 2))
        half = form[: len(form) // 2]
        kept = len(half) >= 4 and half in cut and half not in before
        assert not kept, f"half the secret survived an excerpt cut through it ({name})"
