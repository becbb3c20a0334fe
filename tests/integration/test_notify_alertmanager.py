"""Notifications against a real Alertmanager (the machine's binary): a canary
regression rehearsal — the headless driver in-process, the sandbox admin API scripted
to regress at 50 % — fires an alert for the trip whose labels carry the release and the
stage, and after the rollback the alert is resolved: gone from ``GET /api/v2/alerts``,
and Alertmanager's own webhook receiver is sent its resolution (``send_resolved``).
``gonogo notify test`` posts a test alert Alertmanager lists."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from gonogo.cli import main
from gonogo.cli.rollout import Reporter, _drive
from gonogo.cli.session import open_session
from gonogo.config import load_plan
from gonogo.sandbox.standins.prometheus import AlertmanagerServer
from support.loopback import serve
from support.receiver import Receiver
from support.rollout import ScriptedAdmin, write_cli_plan

ROUTE_TO = """
route:
  receiver: hook
  group_by: ['alertname', 'release']
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: '{url}'
        send_resolved: true
"""
NOTIFY = """
[[notify]]
kind = "alertmanager"
name = "am"
url = "env:GONOGO_TEST_AM_URL"
resend = "2s"
"""


async def alerts(am: AlertmanagerServer, **labels: str) -> list[dict[str, Any]]:
    matchers = [f'{k}="{v}"' for k, v in labels.items()]
    async with httpx.AsyncClient(timeout=5) as client:
        resp = await client.get(f"{am.url}/api/v2/alerts", params={"filter": matchers})
    resp.raise_for_status()
    return list(resp.json())


async def test_a_canary_regression_fires_an_alert_that_the_rollback_resolves(
    alertmanager: AlertmanagerServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = Receiver()
    admin = ScriptedAdmin(regress_at=50)
    async with serve(hook.app) as hook_base, serve(admin.app) as admin_base:
        alertmanager.set_config(ROUTE_TO.format(url=f"{hook_base}/am-hook"))
        monkeypatch.setenv("GONOGO_TEST_AM_URL", alertmanager.url)
        # Disabling the canary's artifacts takes 2 s here: the window in which the
        # trip's alert fires before the rollback finishes and resolves it.
        path = write_cli_plan(tmp_path, admin_base, disable_argv='["sleep", "2"]')
        path.write_text(path.read_text() + NOTIFY)
        opened = open_session(load_plan(path), str(tmp_path / "s"), actor="Rosa Diaz",
                              warn=lambda m: None)
        seen: list[dict[str, Any]] = []

        async def watch() -> None:
            while True:
                seen.extend(await alerts(alertmanager, release="shop-2.4.0",
                                         event="criterion_tripped"))
                await asyncio.sleep(0.1)

        watcher = asyncio.create_task(watch())
        try:
            code = await _drive(opened.engine, 60.0, True, True, Reporter(tty=False))
        finally:
            watcher.cancel()
        assert code == 3  # rolled back
        firing = [a for a in seen if a["status"]["state"] == "active"]
        assert firing, "the trip's alert was never listed as firing"
        labels = firing[0]["labels"]
        assert labels == {"alertname": "GonogoCriterionTripped", "release": "shop-2.4.0",
                          "environment": "production", "stage": "half", "event": "criterion_tripped",
                          "severity": "critical", "metric": "http-5xx"}
        assert "canary 0.05 vs baseline 0.002" in firing[0]["annotations"]["summary"]
        # Resolved: no longer listed (it would be for Alertmanager's 5m resolve_timeout
        # had gonogo not ended it) ...
        assert await alerts(alertmanager, release="shop-2.4.0", event="criterion_tripped") == []
        assert await alerts(alertmanager, release="shop-2.4.0", event="rollback_started") == []
        left = await alerts(alertmanager, release="shop-2.4.0")
        assert [(a["labels"]["event"], a["labels"]["stage"]) for a in left] == [("rollback_finished", "half")]
        # ... and Alertmanager itself sent the resolution to its receiver.
        deadline = time.monotonic() + 15
        states: list[str] = []
        while time.monotonic() < deadline:
            states = [a["status"] for body in hook.bodies("/am-hook") for a in body["alerts"]
                      if a["labels"].get("event") == "criterion_tripped"]
            if "resolved" in states:
                break
            await asyncio.sleep(0.2)
        assert states[0] == "firing" and "resolved" in states, states


def test_notify_test_posts_an_alert_alertmanager_lists(
    alertmanager: AlertmanagerServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    alertmanager.set_config("route:\n  receiver: default\nreceivers:\n  - name: default\n")
    monkeypatch.setenv("GONOGO_TEST_AM_URL", alertmanager.url + "/")
    path = tmp_path / "n.toml"
    path.write_text('[release]\nname = "billing-7.1"\ncommit = "abc"\n' + NOTIFY)
    assert main(["notify", "test", "--config", str(path), "--actor", "Rosa Diaz"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("am (alertmanager): OK - HTTP 200")
    assert alertmanager.url not in out
    (listed,) = asyncio.run(alerts(alertmanager, release="billing-7.1"))
    assert listed["labels"]["alertname"] == "GonogoNotifyTest"
    assert listed["status"]["state"] == "active"
    assert "Rosa Diaz" == listed["annotations"]["actor"]
    ends = listed["endsAt"]
    assert ends > time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() + 240))

