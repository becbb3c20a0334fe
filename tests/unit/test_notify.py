"""Notifications end to end in-process: the engine on an injected clock, the real
notifier, and loopback receivers standing in for Slack, a JSON webhook and
Alertmanager's API (the real Alertmanager is in tests/integration)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from gonogo.config import NOTIFY_EVENTS, ConfigError, load_plan
from gonogo.notify import attach
from gonogo.notify.delivery import Notifier
from gonogo.rollout.engine import Engine
from gonogo.rollout.events import NotifyFailed
from gonogo.rollout.export import to_json
from gonogo.rollout.journal import read_events
from gonogo.rollout.state import Phase
from support.loopback import serve
from support.receiver import Receiver
from support.rollout import HEALTHY, Clock, ScriptedSource, make_engine, poll_for, write_plan

SLACK_SECRET = "T0SECRET/B0SECRET/xoxbSlackPathSecret42"
HOOK_TOKEN = "hook-token-0f5e3c9d2b7a"
AM_TOKEN = "am-proxy-token-77aa12ff"
BAD = {"http-5xx": (0.05, 0.002), "failed-writes": (0.0, 0.0)}


def targets(*, am: bool = True, extra: str = "", hook: str = "") -> str:
    out = """
[[notify]]
kind = "slack"
name = "team-slack"
url = "env:SLACK_URL"

[[notify]]
kind = "webhook"
name = "ops-hook"
url = "env:HOOK_URL"
token = "env:HOOK_TOKEN"
""" + hook
    if am:
        out += """
[[notify]]
kind = "alertmanager"
name = "am"
url = "env:AM_URL"
token = "env:AM_TOKEN"
"""
    return out + extra


def env(monkeypatch: pytest.MonkeyPatch, base: str) -> None:
    monkeypatch.setenv("SLACK_URL", f"{base}/services/{SLACK_SECRET}")
    monkeypatch.setenv("HOOK_URL", f"{base}/hook")
    monkeypatch.setenv("HOOK_TOKEN", HOOK_TOKEN)
    monkeypatch.setenv("AM_URL", f"{base}/am")
    monkeypatch.setenv("AM_TOKEN", AM_TOKEN)


def notified(engine: Engine) -> Notifier:
    notifier = attach(engine)
    assert notifier is not None
    return notifier


async def to_rollback(engine: Engine, clock: Clock, source: ScriptedSource) -> None:
    """Start, canary held, advance to half, the 5xx regression trips and rolls back."""
    engine.start(speed=1.0)
    await engine.run_checks()
    await engine.advance()
    await poll_for(engine, clock, 1800)
    await engine.advance()
    assert engine.state.stage is not None and engine.state.stage.id == "half"
    source.values = dict(BAD)
    await poll_for(engine, clock, 900, until=lambda: engine.state.phase == Phase.ROLLED_BACK)
    assert engine.state.phase == Phase.ROLLED_BACK


SEQUENCE = ["stage_entered", "hold_completed", "stage_entered", "criterion_tripped",
            "rollback_started", "rollback_finished"]


async def test_a_rehearsal_reaches_every_target_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rx = Receiver()
    async with serve(rx.app) as base:
        env(monkeypatch, base)
        clock, source = Clock(), ScriptedSource(HEALTHY)
        engine = make_engine(write_plan(tmp_path, extra=targets()), tmp_path / "s", clock, source)
        notified(engine)
        await to_rollback(engine, clock, source)
        await engine.aclose()  # drains the queues
    hooks = rx.bodies("/hook")
    assert [b["event"] for b in hooks] == SEQUENCE
    assert [b["seq"] for b in hooks] == sorted(b["seq"] for b in hooks)
    assert all(b["schema"] == "gonogo.notification/1" and b["release"] == "shop-2.4.0" for b in hooks)
    assert [b["stage"] for b in hooks] == ["canary", "canary", "half", "half", "half", "half"]
    trip = hooks[3]
    assert trip["severity"] == "critical"
    assert trip["details"]["metric"] == "http-5xx"
    assert trip["details"]["canary"] == 0.05 and trip["details"]["baseline"] == 0.002
    assert trip["details"]["threshold"] == pytest.approx(0.004)
    assert trip["details"]["breach_s"] >= trip["details"]["required_s"] == 300
    assert "in breach for" in trip["summary"]
    finished = hooks[-1]
    incident = finished["details"]["incident"]
    assert incident["markdown"].endswith("incidents/incident-shop-2.4.0.md")
    assert Path(incident["markdown"]).is_file() and Path(incident["json"]).is_file()
    assert incident["markdown"] in finished["summary"]
    slack = rx.bodies(f"/services/{SLACK_SECRET}")
    assert len(slack) == len(SEQUENCE)
    for message, hook in zip(slack, hooks, strict=True):
        assert hook["title"] in message["text"] and message["blocks"][0]["type"] == "header"
        assert message["blocks"][1]["text"]["text"].startswith(hook["summary"][:40].replace("&", "&amp;")
                                                               .replace("<", "&lt;").replace(">", "&gt;"))


async def test_alertmanager_alerts_fire_and_resolve_with_the_conditions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rx = Receiver()
    async with serve(rx.app) as base:
        env(monkeypatch, base)
        clock, source = Clock(), ScriptedSource(HEALTHY)
        engine = make_engine(write_plan(tmp_path, extra=targets()), tmp_path / "s", clock, source)
        notified(engine)
        await to_rollback(engine, clock, source)
        await engine.aclose()
    posts = rx.on("/am/api/v2/alerts")
    assert posts and all(p.headers["Authorization"] == f"Bearer {AM_TOKEN}" for p in posts)
    alerts = [a for p in posts for a in p.json]
    state: dict[str, str] = {}
    order: list[tuple[str, str]] = []
    for a in alerts:
        labels = a["labels"]
        assert labels["release"] == "shop-2.4.0" and labels["alertname"].startswith("Gonogo")
        ident = json.dumps(labels, sort_keys=True)
        now = "resolved" if "endsAt" in a else "firing"
        if now == "resolved":
            assert state.get(ident) == "firing", f"resolved before it fired: {labels}"
            assert a["endsAt"] >= a["startsAt"]
        state[ident] = now
        order.append((labels["event"], now))
    trip = next(json.loads(k) for k in state if json.loads(k)["event"] == "criterion_tripped")
    assert trip == {"alertname": "GonogoCriterionTripped", "release": "shop-2.4.0",
                    "environment": "production", "stage": "half", "event": "criterion_tripped",
                    "severity": "critical", "metric": "http-5xx"}
    still = sorted(json.loads(k)["event"] for k, v in state.items() if v == "firing")
    assert still == ["rollback_finished"]  # a moment: Alertmanager ends it by its timeout
    assert order.index(("criterion_tripped", "firing")) < order.index(("rollback_started", "firing"))
    assert order.index(("criterion_tripped", "resolved")) > order.index(("rollback_started", "firing"))


async def test_planted_secrets_reach_only_their_own_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rx = Receiver()
    rx.answer("/hook", status=500, echo=True)  # a hostile receiver quoting its request back
    async with serve(rx.app) as base:
        env(monkeypatch, base)
        clock, source = Clock(), ScriptedSource(HEALTHY)
        plan = write_plan(tmp_path, extra=targets(hook='retries = 0\n'))
        engine = make_engine(plan, tmp_path / "s", clock, source)
        notified(engine)
        await to_rollback(engine, clock, source)
        await engine.aclose()
    secrets = {SLACK_SECRET, HOOK_TOKEN, AM_TOKEN, f"{base}/hook", f"{base}/am"}
    assert len(rx.received) > 10
    for r in rx.received:
        for name, value in r.headers.items():
            allowed = {"/hook": HOOK_TOKEN, "/am/api/v2/alerts": AM_TOKEN}.get(r.path)
            if name.lower() == "authorization":
                assert value == f"Bearer {allowed}"
                continue
            assert not any(s in value for s in secrets), (r.path, name)
        assert not any(s in r.text for s in secrets), r.path
        assert SLACK_SECRET not in r.text and "SLACK_URL" not in r.text
    failed = [e.body for e in read_events(tmp_path / "s") if isinstance(e.body, NotifyFailed)]
    assert [f.target for f in failed] == ["ops-hook"] * len(SEQUENCE)
    assert all(f.error.startswith("HTTP 500") and f.attempts == 1 for f in failed)
    journal = (tmp_path / "s" / "events.jsonl").read_text()
    exported = to_json(read_events(tmp_path / "s"))
    for text in (journal, exported):
        assert not any(s in text for s in (SLACK_SECRET, HOOK_TOKEN, AM_TOKEN)), "secret in the log"
    assert all("Bearer «redacted»" in f.error for f in failed)  # scrubbed where it was echoed


async def test_retries_with_backoff_then_report_what_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rx = Receiver()
    rx.answer("/flaky", status=503, fail_first=2)  # 503, 503, then 200
    rx.answer("/bad", status=400, text="invalid_payload")
    rx.answer("/hang", hang=True)
    extra = """
[[notify]]
kind = "webhook"
name = "flaky"
url = "env:FLAKY_URL"
events = ["stage_entered"]

[[notify]]
kind = "slack"
name = "bad"
url = "env:BAD_URL"
events = ["stage_entered"]

[[notify]]
kind = "webhook"
name = "hang"
url = "env:HANG_URL"
events = ["stage_entered"]
timeout = "300ms"
retries = 1
"""
    async with serve(rx.app) as base:
        for name in ("flaky", "bad", "hang"):
            monkeypatch.setenv(f"{name.upper()}_URL", f"{base}/{name}")
        clock = Clock()
        engine = make_engine(write_plan(tmp_path, extra=extra), tmp_path / "s", clock)
        notifier = notified(engine)
        for box in notifier.outboxes:
            box._backoff = 0.05  # the schedule itself is 0.5 s doubling; keep the test short
        engine.start(speed=1.0)
        await engine.run_checks()
        started = time.monotonic()
        await engine.advance()  # stage_entered -> three targets
        assert time.monotonic() - started < 0.5  # nothing waited on a receiver
        await asyncio.sleep(1.5)
        await engine.aclose()
    assert len(rx.on("/flaky")) == 3
    assert len(rx.on("/bad")) == 1  # a 4xx is not retried
    assert len(rx.on("/hang")) == 2  # retries = 1
    failed = {e.body.target: e.body for e in read_events(tmp_path / "s") if isinstance(e.body, NotifyFailed)}
    assert set(failed) == {"bad", "hang"}
    assert failed["bad"].error == "HTTP 400: invalid_payload" and failed["bad"].attempts == 1
    assert failed["hang"].error == "no answer within 0.3s" and failed["hang"].attempts == 2
    assert failed["hang"].event == "stage_entered" and failed["hang"].target_kind == "webhook"


async def test_a_hanging_receiver_costs_the_rollback_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rx = Receiver()
    for path in ("/hook", "/am/api/v2/alerts", f"/services/{SLACK_SECRET}"):
        rx.answer(path, hang=True)
    durations = {}
    async with serve(rx.app) as base:
        env(monkeypatch, base)
        for label, extra in (("none", ""), ("hanging", targets())):
            clock, source = Clock(), ScriptedSource(HEALTHY)
            where = tmp_path / label
            where.mkdir()
            engine = make_engine(write_plan(where, extra=extra), where / "s", clock, source)
            if extra:
                notified(engine)
            started = time.monotonic()
            await to_rollback(engine, clock, source)
            durations[label] = time.monotonic() - started
            closing = time.monotonic()
            await engine.aclose()
            durations[f"{label}-close"] = time.monotonic() - closing
    assert durations["hanging"] < durations["none"] + 0.5, durations
    assert durations["hanging-close"] < 5.0 + 1.0, durations  # the drain is bounded
    failed = [e.body for e in read_events(tmp_path / "hanging" / "s") if isinstance(e.body, NotifyFailed)]
    assert {f.target for f in failed} == {"team-slack", "ops-hook", "am"}
    assert any("not delivered" in f.error for f in failed)


async def test_a_full_queue_drops_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rx = Receiver()
    rx.answer("/hook", hang=True)
    async with serve(rx.app) as base:
        env(monkeypatch, base)
        clock, source = Clock(), ScriptedSource(HEALTHY)
        engine = make_engine(write_plan(tmp_path, extra=targets(am=False)), tmp_path / "s", clock, source)
        notifier = notified(engine)
        for box in notifier.outboxes:
            box._max = 2
        await to_rollback(engine, clock, source)
        await engine.aclose()
    failed = [e.body for e in read_events(tmp_path / "s") if isinstance(e.body, NotifyFailed)]
    assert any(f.target == "ops-hook" and f.error.startswith("queue full") for f in failed)


async def test_a_resumed_session_re_sends_what_still_fires_without_new_messages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rx = Receiver()
    async with serve(rx.app) as base:
        env(monkeypatch, base)
        clock, source = Clock(), ScriptedSource(HEALTHY)
        plan = write_plan(tmp_path, on_stop="propose", extra=targets())
        engine = make_engine(plan, tmp_path / "s", clock, source)
        notified(engine)
        engine.start(speed=1.0)
        await engine.run_checks()
        await engine.advance()
        source.values = dict(BAD)
        await poll_for(engine, clock, 900, until=lambda: engine.state.rollback_proposed)
        await engine.aclose()
        before = len(rx.received)
        hooks = len(rx.on("/hook"))
        engine = make_engine(plan, tmp_path / "s", clock, source)
        notified(engine)
        engine.start(speed=1.0)  # session_resumed: no message
        await asyncio.sleep(0.3)
        await engine.aclose()
    again = rx.received[before:]
    assert len(rx.on("/hook")) == hooks  # nobody is told twice
    batch = [a for r in again if r.path == "/am/api/v2/alerts" for a in r.json]
    assert sorted(a["labels"]["event"] for a in batch) == [
        "criterion_tripped", "rollback_proposed", "stage_entered"]
    assert all("endsAt" not in a for a in batch)


# Config --------------------------------------------------------------------------
def _problems(tmp_path: Path, text: str) -> str:
    path = tmp_path / "bad.toml"
    path.write_text('[release]\nname = "r"\ncommit = "c"\n' + text)
    with pytest.raises(ConfigError) as info:
        load_plan(path)
    return info.value.render()


def test_config_refuses_a_literal_url_without_showing_it(tmp_path: Path) -> None:
    out = _problems(tmp_path, '[[notify]]\nkind = "slack"\nurl = "https://hooks.slack.com/services/T/B/zzsecretzz"\n')
    assert "notify[0].url: secrets must be references" in out and "zzsecretzz" not in out


def test_config_names_every_notify_problem(tmp_path: Path) -> None:
    out = _problems(tmp_path, """
[[notify]]
kind = "webhook"
events = ["criterion_trip"]

[[notify]]
kind = "alertmanager"

[[notify]]
kind = "slack"
url = "env:A"
name = "x"
auth_header = "Bad Header"

[[notify]]
kind = "slack"
url = "env:B"
name = "x"
min_severity = "warn"
""")
    assert "notify[0].events[0]: 'criterion_trip' is not one of" in out
    assert "did you mean 'criterion_tripped'?" in out
    assert "notify[3].min_severity: 'warn' is not one of 'info', 'warning', 'critical'; did you mean 'warning'?" in out
    out = _problems(tmp_path, """
[[notify]]
kind = "webhook"

[[notify]]
kind = "alertmanager"

[[notify]]
kind = "slack"
url = "env:A"
name = "x"
auth_header = "Bad Header"

[[notify]]
kind = "slack"
url = "env:B"
name = "x"
""")
    assert "notify[0].url: a webhook target needs url" in out
    assert "notify[1].url: an alertmanager target needs url" in out
    assert "notify[2].auth_header: not an HTTP header name" in out
    assert "notify[3].name: duplicate notify target 'x'" in out


def test_an_alertmanager_target_defaults_to_the_integration(tmp_path: Path) -> None:
    path = tmp_path / "ok.toml"
    path.write_text('[release]\nname = "r"\ncommit = "c"\n[integrations.alertmanager]\n'
                    'url = "http://127.0.0.1:9093"\n[[notify]]\nkind = "alertmanager"\n')
    plan = load_plan(path)
    assert plan.notify[0].url is None and plan.notify[0].events == ()


# The one table and the reference docs ---------------------------------------------
def test_every_mapped_event_is_configurable_and_documented() -> None:
    from gonogo.config import NotifyTarget
    from gonogo.notify.rules import RULES, SIGNOFF_RULE

    produced = {r.event for r in RULES.values() if r.event} | {SIGNOFF_RULE.event}
    assert produced == set(NOTIFY_EVENTS)
    docs = (Path(__file__).resolve().parents[2] / "docs" / "notifications.md").read_text()
    for name in (*NOTIFY_EVENTS, "notify_test", "notify_failed"):
        assert f"`{name}`" in docs, name
    for key in NotifyTarget.__struct_fields__:
        assert f"`{key}`" in docs, key


def test_slack_text_cannot_mention_the_channel() -> None:
    from gonogo.notify.payloads import labels, slack, webhook
    from gonogo.notify.rules import Notification

    n = Notification(event="criterion_tripped", severity="critical", title="Stop criterion tripped",
                     summary="<!channel> 5xx & <https://evil.example|click> \x1b[2J", release="r<1>",
                     stage="canary", weight=5.0, key=(("metric", "http-5xx"),))
    body = slack(n)
    text = json.dumps(body)
    assert "<!channel>" not in text and "<https://evil" not in text and "\x1b" not in text
    assert "&lt;!channel&gt; 5xx &amp;" in body["blocks"][1]["text"]["text"]
    assert "\\x1b[2J" in body["blocks"][1]["text"]["text"]  # shown, not acted on
    assert all(len(b["text"]["text"]) <= 150 for b in body["blocks"] if b["type"] == "header")
    import re

    assert all(re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", k) for k in labels(n))
    assert webhook(n)["summary"] == n.summary  # JSON carries the text; its encoder escapes
