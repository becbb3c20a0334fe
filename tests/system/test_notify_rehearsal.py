"""Acceptance of notifications, with ``gonogo`` as a user runs it (subprocesses):

- the sandbox fleet's ``canary-regression`` rehearsal leaves a firing alert for the trip
  in a real Alertmanager, resolved after the rollback, labels carrying release and
  stage; a loopback receiver gets its Slack-style and JSON payloads in journal order;
- a healthy rehearsal to stable reaches the same receivers in order, with planted
  secrets in no body, header, journal, export or output line (only each target's own
  Authorization carries its own token);
- a receiver that hangs, or answers 500, does not delay the stop criterion or the
  rollback: measured against the same run without notify targets;
- ``gonogo notify test`` reports each target's answer and exits 1 when one fails.
"""

from __future__ import annotations

import asyncio
import json
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gonogo.rollout.journal import Event, read_events
from gonogo.sandbox.fleet import FleetThread
from gonogo.sandbox.standins.prometheus import AlertmanagerServer
from support.fleet import SandboxFiles, admin, start_fleet, trimmed
from support.loopback import serve
from support.receiver import Receiver
from support.rollout import ScriptedAdmin, run_cli, write_cli_plan
from support.servers import running_alertmanager

pytestmark = pytest.mark.timeout(300)

SLACK_PATH = "/services/T0ROSA/B0DIAZ/slackPathSecret9c41"
HOOK_TOKEN = "hook-token-5b2f1d0e8a77"
SECRETS = (SLACK_PATH.rsplit("/", 1)[-1], HOOK_TOKEN)
TARGETS = """
[[notify]]
kind = "slack"
name = "release-channel"
url = "env:T_SLACK_URL"

[[notify]]
kind = "webhook"
name = "ops-hook"
url = "env:T_HOOK_URL"
token = "env:T_HOOK_TOKEN"
"""
AM_TARGET = """
[[notify]]
kind = "alertmanager"
name = "am"
url = "env:T_AM_URL"
"""


def target_env(base: str, am: str = "") -> dict[str, str]:
    return {"T_SLACK_URL": base + SLACK_PATH, "T_HOOK_URL": base + "/hook",
            "T_HOOK_TOKEN": HOOK_TOKEN, "T_AM_URL": am or base + "/am"}


def notified(events: list[Event]) -> list[int]:
    """The seq of each journal event a notification comes from, in journal order."""
    kinds = {"stage_entered", "hold_completed", "criterion_tripped", "rollback_proposed",
             "rollback_started", "rollback_finished", "release_stable"}
    return [e.seq for e in events if e.kind in kinds]


def assert_secret_free(rx: Receiver, *texts: str) -> None:
    for r in rx.received:
        for name, value in r.headers.items():
            if name.lower() == "authorization":
                assert r.path == "/hook" and value == f"Bearer {HOOK_TOKEN}", (r.path, name)
            else:
                assert not any(s in value for s in SECRETS), (r.path, name)
        assert not any(s in r.text for s in SECRETS), r.path
    for text in texts:
        assert not any(s in text for s in SECRETS)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FleetThread, SandboxFiles]]:
    thread, files = start_fleet(tmp_path_factory.mktemp("sandbox"), speed=120.0)
    try:
        yield thread, files
    finally:
        thread.stop()


async def am_alerts(am: AlertmanagerServer, **labels: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(timeout=5) as client:
        resp = await client.get(f"{am.url}/api/v2/alerts",
                                params={"filter": [f'{k}="{v}"' for k, v in labels.items()]})
    resp.raise_for_status()
    return list(resp.json())


async def test_sandbox_canary_regression_alerts_and_tells_every_target_in_order(
    fleet: tuple[FleetThread, SandboxFiles], tmp_path: Path
) -> None:
    thread, files = fleet
    assert admin(thread, "POST", "/admin/scenario", {"scenario": "canary-regression"}).status_code == 200
    plan = trimmed(files, tmp_path / "plan.toml", holds={"staging": "10m", "canary": "10m"})
    # Disabling the canary's artifacts takes 2 s here: the trip's alert fires for at
    # least that long before the rollback finishes and resolves it (the poll sees it).
    text = plan.read_text().replace(
        """command = ["python3", "-c", "print('canary artifacts disabled (sandbox)')"]""",
        """command = ["sh", "-c", "sleep 2; echo canary artifacts disabled"]""")
    assert "sleep 2" in text
    plan.write_text(text + TARGETS + AM_TARGET)
    release = tomllib.loads(text)["release"]["name"]
    rx = Receiver()
    with running_alertmanager() as am:
        async with serve(rx.app) as base:
            seen: list[dict[str, Any]] = []

            async def watch() -> None:
                while True:
                    seen.extend(await am_alerts(am, release=release, event="criterion_tripped"))
                    await asyncio.sleep(0.1)

            watcher = asyncio.create_task(watch())
            try:
                rc, out, err = await run_cli(
                    "rollout", "--config", str(plan), "--session", str(tmp_path / "s"), "--yes", "--auto-signoff",
                    "--speed", "120", "--actor", "Rosa Diaz", env=target_env(base, am.url), timeout=240)
            finally:
                watcher.cancel()
            after = await am_alerts(am, release=release)
    assert rc == 3, f"exit {rc}\n{out[-2000:]}\n{err[-1500:]}"
    firing = [a for a in seen if a["status"]["state"] == "active"]
    events = read_events(tmp_path / "s")
    window = rollback_s(events)
    print(f"the trip's alert was listed firing {len(firing)} times in a {window:.2f} s rollback")
    assert firing, "the trip's alert was never listed as firing"
    labels = firing[0]["labels"]
    assert labels["release"] == release and labels["stage"] == "canary"
    assert labels["alertname"] == "GonogoCriterionTripped" and labels["metric"] == "http-5xx"
    assert [a["labels"]["event"] for a in after] == ["rollback_finished"]  # the trip: resolved
    assert after[0]["labels"]["stage"] == "canary"

    hooks = rx.bodies("/hook")
    slack = rx.bodies(SLACK_PATH)
    seqs = [b["seq"] for b in hooks]
    assert seqs == sorted(seqs) and sorted(set(seqs)) == notified(events)
    assert [b["event"] for b in hooks][-3:] == ["criterion_tripped", "rollback_started", "rollback_finished"]
    assert "signoff_requested" in [b["event"] for b in hooks]  # the staging manual smoke
    assert len(slack) == len(hooks)
    for message, hook in zip(slack, hooks, strict=True):
        assert message["blocks"][0]["text"]["text"] == f"{release}: {hook['title']}"
    incident = hooks[-1]["details"]["incident"]["markdown"]
    assert Path(incident).is_file() and incident.startswith(str(tmp_path / "s"))
    assert not [e for e in events if e.kind == "notify_failed"]
    assert_secret_free(rx, out, err, (tmp_path / "s" / "events.jsonl").read_text())


async def test_a_healthy_rehearsal_tells_slack_and_json_in_order_and_keeps_secrets(tmp_path: Path) -> None:
    admin_api, rx = ScriptedAdmin(), Receiver()
    async with serve(admin_api.app) as admin_base, serve(rx.app) as base:
        plan = write_cli_plan(tmp_path, admin_base)
        plan.write_text(plan.read_text() + TARGETS)
        rc, out, err = await run_cli("rollout", "-c", str(plan), "--session", str(tmp_path / "s"),
                                     "--yes", "--auto-signoff", "--speed", "600", env=target_env(base))
        assert rc == 0, err
        _, exported, _ = await run_cli("log", "export", str(tmp_path / "s"), "--format", "json")
    events = read_events(tmp_path / "s")
    hooks = rx.bodies("/hook")
    seqs = [b["seq"] for b in hooks]  # a sign-off wanted shares its hold's event
    assert seqs == sorted(seqs) and sorted(set(seqs)) == notified(events)
    assert [b["event"] for b in hooks] == [
        "stage_entered", "hold_completed", "signoff_requested", "stage_entered", "hold_completed",
        "stage_entered", "hold_completed", "release_stable"]
    assert [b["stage"] for b in hooks if b["event"] == "stage_entered"] == ["canary", "half", "full"]
    assert [m["blocks"][0]["text"]["text"] for m in rx.bodies(SLACK_PATH)] == [
        f"shop-2.4.0: {b['title']}" for b in hooks]
    assert_secret_free(rx, out, err, exported, (tmp_path / "s" / "events.jsonl").read_text())


def rollback_s(events: list[Event]) -> float:
    """Seconds from the rollback started to the rollback finished (journal times)."""
    started = next(e.time for e in events if e.kind == "rollback_started")
    return next(e.time for e in events if e.kind == "rollback_finished") - started


def timings(events: list[Event]) -> dict[str, float]:
    """Seconds from the first poll seeing the regression to the rollback starting (the
    stop criterion's path), and the rollback's own duration."""
    first_bad = next(e.time for e in events if e.kind == "samples"
                     and (e.data["values"].get("http-5xx") or [0])[0] == 0.05)
    started = next(e.time for e in events if e.kind == "rollback_started")
    return {"detect": started - first_bad, "rollback": rollback_s(events)}


async def test_a_hanging_or_failing_receiver_does_not_delay_the_rollback(tmp_path: Path) -> None:
    rx = Receiver()
    measured: dict[str, dict[str, float]] = {}
    for label in ("none", "hang", "500"):
        for path in ("/hook", SLACK_PATH, "/am/api/v2/alerts"):
            rx.answer(path, hang=label == "hang", status=500 if label == "500" else 200)
        admin_api = ScriptedAdmin(regress_at=50)
        where = tmp_path / label
        where.mkdir()
        async with serve(admin_api.app) as admin_base, serve(rx.app) as base:
            plan = write_cli_plan(where, admin_base)
            if label != "none":
                plan.write_text(plan.read_text() + TARGETS + AM_TARGET)
            began = time.monotonic()
            rc, out, err = await run_cli("rollout", "-c", str(plan), "--session", str(where / "s"),
                                         "--yes", "--auto-signoff", "--speed", "60", env=target_env(base))
            wall = time.monotonic() - began
        assert rc == 3, err
        assert admin_api.weights == [5.0, 50.0, 0.0]
        events = read_events(where / "s")
        measured[label] = {**timings(events), "wall": wall}
        failed = [e for e in events if e.kind == "notify_failed"]
        if label == "none":
            assert not failed
        else:
            assert {e.data["target"] for e in failed} == {"release-channel", "ops-hook", "am"}
            assert "NOT DELIVERED" in out
    print("rollback timings (s):", json.dumps(measured))
    base = measured["none"]
    for label in ("hang", "500"):
        assert measured[label]["detect"] <= base["detect"] + 1.0, measured
        assert measured[label]["rollback"] <= base["rollback"] + 1.0, measured
        assert measured[label]["wall"] <= base["wall"] + 5.0 + 3.0, measured  # + the bounded drain


async def test_notify_test_reports_each_answer_and_fails_when_one_fails(tmp_path: Path) -> None:
    rx = Receiver()
    rx.answer("/hook", status=500, text="internal error")
    rx.answer("/hang", hang=True)
    config = tmp_path / "n.toml"
    base_doc = '[release]\nname = "shop-2.4.0"\ncommit = "9f1c2ab"\n'
    async with serve(rx.app) as base:
        config.write_text(base_doc + TARGETS)
        env = target_env(base)
        rc, out, err = await run_cli("notify", "test", "--config", str(config), env=env)
        assert rc == 1, err
        lines = out.splitlines()
        assert lines[0].startswith("release-channel (slack): OK - HTTP 200: ok (")
        assert lines[1].startswith("ops-hook (webhook): FAILED - HTTP 500: internal error (")
        assert "1 of 2 notify targets answered; 1 FAILED" in err
        assert_secret_free(rx, out, err)
        assert [b["event"] for b in rx.bodies("/hook")] == ["notify_test"]

        config.write_text(base_doc + TARGETS.replace("/hook", "/ok") + """
[[notify]]
kind = "webhook"
name = "hangs"
url = "env:T_HANG_URL"
timeout = "1s"

[[notify]]
kind = "webhook"
name = "unset"
url = "env:T_NOT_SET"
""")
        env["T_HANG_URL"] = base + "/hang"
        began = time.monotonic()
        rc, out, err = await run_cli("notify", "test", "--config", str(config), env=env)
        assert time.monotonic() - began < 10
        assert rc == 1
        assert "hangs (webhook): FAILED - no answer within 1s" in out
        assert "unset (webhook): FAILED - url or token: environment variable T_NOT_SET is not set" in out

        config.write_text(base_doc + TARGETS)
        env["T_HOOK_URL"] = base + "/ok"
        rc, out, err = await run_cli("notify", "test", "--config", str(config), env=env)
        assert rc == 0 and out.count(": OK - HTTP 200") == 2, out + err

    config.write_text(base_doc)
    rc, _, err = await run_cli("notify", "test", "--config", str(config))
    assert rc == 2 and "no [[notify]] targets" in err
