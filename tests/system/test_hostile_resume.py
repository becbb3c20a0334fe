"""A resumed rollout must not journal the secrets its traffic driver prints.

The attack: ``gonogo rollout`` dies (SIGKILL) between "traffic intended" and "traffic
confirmed". On resume, the engine re-runs the traffic driver before any check — and
the driver prints the router token, a Vault secret and the token base64-encoded. None
of them may reach events.jsonl, ``gonogo log export`` (JSON and TOML), the incident
files the rollback writes, or either run's stdout and stderr.

The crash is exact: the run goes through ``support.killing_journal`` (a journal that
SIGKILLs its own process right after the chosen event is fsync'd).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import sys
import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web

from gonogo.secrets import REDACTED

TESTS = Path(__file__).resolve().parents[1]
# the crash launcher: tests/support/killing_journal.py (found wherever the tiers put it)
KILLER = next(TESTS.rglob("killing_journal.py"))
SPEED = "60"


def windows(value: str, size: int = 10) -> set[str]:
    return {value[i : i + size] for i in range(max(1, len(value) - size + 1))}


def leaks(text: str, secrets_by_name: dict[str, str]) -> list[str]:
    """The names (never the values) of the secrets with any 10-character window in ``text``."""
    return sorted(n for n, v in secrets_by_name.items() if any(w in text for w in windows(v)))


def masked(text: str, secrets_by_name: dict[str, str]) -> str:
    """``text`` fit for an assertion message: every character covered by a window of a
    secret blanked (a leak is reported by name, never shown)."""
    hidden = [False] * len(text)
    for value in secrets_by_name.values():
        for w in windows(value):
            at = text.find(w)
            while at != -1:
                hidden[at : at + len(w)] = [True] * len(w)
                at = text.find(w, at + 1)
    out, i = [], 0
    while i < len(text):
        if hidden[i]:
            while i < len(text) and hidden[i]:
                i += 1
            out.append("<planted>")
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


@asynccontextmanager
async def served(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def regressing_admin() -> web.Application:
    """The sandbox admin API's shape: the canary writes fail from the first poll."""

    async def metrics(request: web.Request) -> web.Response:
        return web.json_response({"metrics": {"failed_writes": {"canary": 1.0, "baseline": 0.0}}})

    app = web.Application()
    app.router.add_get("/admin/metrics", metrics)
    return app


def write_plan(tmp: Path, vault: str, admin: str) -> Path:
    # The driver prints what a careless deploy script prints: its credentials.
    script = ('echo "shifted to {weight} with token=$ROUTER_TOKEN vault=$VAULT_COPY '
              'b64=$(printf %s "$ROUTER_TOKEN" | base64)"')
    plan = tmp / "plan.toml"
    plan.write_text(textwrap.dedent(f"""
        [release]
        name = "resume-hostile"
        commit = "abc1234"
        previous = "resume-hostile-prev"

        [integrations.vault]
        url = "{vault}"
        token = "env:VAULT_TOKEN"

        [integrations.gateway]
        public_url = "{admin}"
        admin_url = "{admin}"
        admin_token = "vault:secret/monorepo/qna#QNA_INTERNAL_TOKEN"

        [[gates]]
        id = "pre"
        title = "Pre-flight"
          [[gates.checks]]
          id = "unit"
          title = "Unit tests"
          kind = "command"
          argv = ["true"]

        [rollout]
        on_stop = "auto"
        [rollout.traffic]
        driver = "command"
        command = ["sh", "-c", {json.dumps(script)}]
        token = "env:ROUTER_TOKEN"

        [[rollout.stages]]
        id = "canary"
        weight = 5
        hold = "1m"

        [[rollout.stages]]
        id = "full"
        weight = 100
        hold = "1m"

        [canary]
        source = "sandbox"
        interval = "12s"

        [[canary.metrics]]
        id = "failed-writes"
        canary = "q"
        sandbox = "failed_writes"
        rule = "nonzero"
        duration = "0s"
        min_samples = 1

        [[runbook.steps]]
        id = "shift"
        title = "Shift traffic back"
        action = "shift_traffic"

        [[runbook.steps]]
        id = "incident"
        title = "Open incident"
        action = "incident"
        """), encoding="utf-8")  # fmt: skip
    return plan


async def gonogo(*args: str, env: dict[str, str], cwd: Path, kill_at: str | None = None) -> tuple[int, str, str]:
    full = {**os.environ, **env}
    launcher = ["-m", "gonogo"]
    if kill_at is not None:
        launcher = ["-m", f"{KILLER.parent.name}.killing_journal", kill_at]
        full["PYTHONPATH"] = os.pathsep.join(p for p in (str(KILLER.parent.parent), full.get("PYTHONPATH", "")) if p)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, *launcher, *args, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL, env=full, cwd=cwd,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 120)
    except (TimeoutError, asyncio.CancelledError):
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


async def test_a_resumed_shift_journals_no_secret_the_driver_prints(tmp_path: Path) -> None:
    from gonogo.sandbox.standins import vault as vault_standin
    from gonogo.sandbox.state import SandboxState

    state = SandboxState()
    vault_app = vault_standin.make_app(state)
    router_token = "rt-" + os.urandom(12).hex()
    planted = {
        "router token": router_token,
        "vault secret": state.secrets["qna_internal_token"],
        "router token, base64": base64.b64encode(router_token.encode()).decode(),
    }
    env = {"VAULT_TOKEN": state.secrets["vault_token"], "ROUTER_TOKEN": router_token,
           "VAULT_COPY": planted["vault secret"]}  # fmt: skip
    session = tmp_path / "session"
    async with served(vault_app) as vault, served(regressing_admin()) as admin:
        plan = write_plan(tmp_path, vault, admin)
        args = ("rollout", "-c", str(plan), "--session", str(session), "--yes", "--auto-signoff", "--speed", SPEED)
        rc1, out1, err1 = await gonogo(*args, env=env, cwd=tmp_path, kill_at="after:traffic_intended:1")
        assert rc1 == -signal.SIGKILL, masked(err1[-1500:], planted)
        rc2, out2, err2 = await gonogo(*args, env=env, cwd=tmp_path)
    crashed = "Traceback" in err1 + err2
    assert not crashed, masked(err1[-1500:] + err2[-3000:], planted)
    assert rc2 == 3, masked(err2[-3000:], planted)  # resumed, shifted, tripped, rolled back

    journal = (session / "events.jsonl").read_text(encoding="utf-8")
    events = [json.loads(line) for line in journal.splitlines()]
    kinds = [e["kind"] for e in events]
    # The resumed run re-ran the driver: a second intent, then the confirmation.
    assert kinds.count("traffic_intended") >= 2 and "session_resumed" in kinds
    resumed_at = kinds.index("session_resumed")
    confirmed = [e["data"]["detail"] for e in events[resumed_at:] if e["kind"] == "traffic_confirmed"]
    assert confirmed, kinds
    scrubbed = f"token={REDACTED} vault={REDACTED} b64={REDACTED}" in confirmed[0]
    assert scrubbed, masked(confirmed[0], planted)
    assert leaks(journal, planted) == []

    exports = {}
    for fmt in ("json", "toml"):
        rc, out, err = await gonogo("log", "export", str(session), "--format", fmt, env={}, cwd=tmp_path)
        assert rc == 0, masked(err[-1000:], planted)
        exports[fmt] = out + err
        shown = REDACTED in out and "traffic_confirmed" in out
        assert shown, f"{fmt}: the export lacks the (redacted) confirmation"
        assert leaks(exports[fmt], planted) == [], fmt

    incidents = sorted((session / "incidents").glob("incident-*"))
    assert {p.suffix for p in incidents} == {".md", ".json"}
    for path in incidents:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".json":  # written ASCII-only: read what a tool reads
            text += json.dumps(json.loads(text), ensure_ascii=False)
        shown = REDACTED in text and "traffic" in text
        assert shown, path.name
        assert leaks(text, planted) == [], path.name

    for name, text in (("first run", out1 + err1), ("resumed run", out2 + err2)):
        assert leaks(text, planted) == [], name
    seen = f"with token={REDACTED}" in out2  # the event line the operator saw
    assert seen, masked(out2[-2000:], planted)
