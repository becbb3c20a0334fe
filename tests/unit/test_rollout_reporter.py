"""`gonogo rollout` never waits silently: off a terminal the waiting line is printed
when what it waits for changes, and at least once a minute while nothing changes."""

from __future__ import annotations

import pytest

from gonogo.cli import rollout


def test_the_waiting_line_repeats_each_minute_and_on_every_change(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    now = [1000.0]
    monkeypatch.setattr(rollout.time, "monotonic", lambda: now[0])
    reporter = rollout.Reporter(tty=False)
    said: list[float] = []
    for second in range(0, 185):  # three minutes of the same wait, polled each second
        now[0] = 1000.0 + second
        reporter.waiting(("holding", "canary"), f"canary 5% · hold {1800 - second}s left")
        if capsys.readouterr().err:
            said.append(second)
    assert said == [0, 60, 120, 180]
    reporter.waiting(("ready", "canary", "sign-off"), "waiting for: sign-off of smoke by sre")
    assert capsys.readouterr().err == "waiting: waiting for: sign-off of smoke by sre\n"
