"""End to end in a real terminal (tmux): `gonogo demo --scenario canary-regression`
driven by keys, and the time to first frame with sample-configs/monorepo.toml.

Each step's screen is saved under the test's tmp dir (screens/NN-step.txt) and
asserted on. The demo runs on a copy of the sandbox config with free ports
(support.fleet.relocate), so a demo or sandbox already running elsewhere does not
collide with it. The ``terminal`` fixture and the e2e marker come from tests/system/conftest.py.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

from support.fleet import relocate

ROOT = Path(__file__).resolve().parents[2]
GONOGO = [sys.executable, "-m", "gonogo"]
RELEASE = "monorepo-2026.02.19-sandbox"


def journal_kinds(session: Path) -> list[str]:
    path = session / "journal" / "events.jsonl"
    if not path.exists():
        return []
    return [json.loads(line)["kind"] for line in path.read_text().splitlines() if line.strip()]


def test_demo_canary_regression_trips_and_rolls_back(terminal, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    files = relocate(tmp_path)
    session = tmp_path / "demo"
    term = terminal(120, 40)
    term.diagnose = lambda: "journal tail: " + ", ".join(journal_kinds(session)[-8:])
    term.start(GONOGO + ["demo", "--scenario", "canary-regression", "--speed", "120",
                         "--session", str(session), "--config", str(files.config)],
               env={"GONOGO_SANDBOX_DIR": str(files.runtime_dir), "TERM": "xterm-256color"}, cwd=tmp_path)

    # 1. the panel opens on the sandbox and runs the checklist by itself ([settings]
    # run_on_open): NOT CHECKED, then CHECKING n/N as results come in, never NO-GO
    first = term.wait_for_screen(lambda s: "Stable" in s and "IDLE" in s, "the dashboard", timeout=120)
    assert "NO-GO" not in first
    assert "IDLE" in first and "1.1 Configuration and secrets" in first
    term.shot("opened")

    # 2. no key pressed: every check runs; results stream into the tree
    from gonogo.config import load_plan

    total = sum(1 for _ in load_plan(files.config).checklist())  # stage gates run in their stage
    term.wait_for_screen(lambda s: journal_kinds(session).count("check_result") >= total, "all check results",
                         timeout=120)
    ran = term.shot("checks-run")
    assert "✔ 1.1 Configuration and secrets  5/5" in ran

    # 3. sign off the staging manual smoke (a stage sign-off) from the check's detail screen
    term.keys("/")
    term.keys("staging-manual", literal=True)
    term.keys("Enter", "Enter")  # back to the tree (cursor on the first match), open it
    term.wait_for_screen(lambda s: "staging-manual-smoke · manual" in s and "s Sign off" in s,
                         "the check detail and its keys")
    term.keys("s")  # the demo's operator plays the release manager, who owns this sign-off
    term.wait_for_screen(lambda s: "Sign off staging-manual-smoke" in s and "You sign as Rosa Diaz" in s,
                         "the sign-off dialog")
    term.keys("walked the six journeys by hand", literal=True)
    term.keys("Enter")
    signed = term.wait_for_screen(lambda s: "signed off by Rosa Diaz as release_manager" in s,
                                  "the sign-off")
    term.shot("signed-off")
    assert "Manual smoke scenarios from 1.6 signed off on staging" in signed
    term.keys("Escape", "Escape")

    # 4. advance through staging into the 5% canary, each confirmed in the dialog
    for stage, marker in (("staging", "▶ Staging"), ("canary", "▶ Canary 5%")):
        for attempt in range(3):
            ready = term.wait_for_screen(lambda s: "IDLE" in s or "READY" in s, f"ready to leave for {stage}",
                                         timeout=120)
            if " GO " in ready.splitlines()[0]:
                break
            # an exit check failed (on a busy machine a smoke journey can miss its 5 s
            # timeout): re-run the checklist, as the operator would, and look again
            term.shot(f"no-go-before-{stage}-{attempt}")
            before = journal_kinds(session).count("check_result")
            term.keys("r")
            term.wait_for_screen(lambda s, b=before: journal_kinds(session).count("check_result") >= b + total,
                                 "the re-run", timeout=120)
        else:
            raise AssertionError(f"still NO-GO before {stage}:\n{ready}")
        term.keys("a")
        dialog = term.wait_for_screen(lambda s: "Advance the rollout?" in s, f"the advance dialog for {stage}")
        assert "Traffic:" in dialog and "Checks:" in dialog and "Hold:" in dialog
        term.shot(f"advance-to-{stage}")
        term.keys("y")
        # at 120x the canary's regression may trip before the screen shows it holding
        term.wait_for_screen(lambda s, m=marker: (m in s and "HOLDING" in s) or "ROLLING BACK" in s
                             or "ROLLED BACK" in s, f"holding in {stage}", timeout=60)
        term.shot(f"holding-{stage}")

    # 5. at 5% the canary's 5xx climbs past 2x baseline: the stop criterion trips,
    #    the runbook runs on its own and the panel shows it
    # (at 120x speed the 5 minute breach lasts 2.5 s: the screen may already show the runbook)
    term.wait_for_screen(lambda s: "breaching" in s or "TRIPPED" in s or "Rollback runbook" in s,
                         "the 5xx rule breaching", timeout=90)
    term.shot("breaching")
    runbook = term.wait_for_screen(lambda s: "Rollback runbook" in s and "steps complete" in s
                                   and "5/5 steps complete" in s, "the runbook to finish", timeout=120)
    assert "stop criterion http-5xx" in runbook
    assert "✔ done" in runbook and "Shift traffic to previous stable release" in runbook
    term.shot("rolled-back")
    kinds = journal_kinds(session)
    assert "criterion_tripped" in kinds and kinds[-1] == "rollback_finished"

    # 6. quit: nothing is active any more, so no question; the session is kept
    term.keys("q")
    done = term.wait_for_screen(lambda s: "GONOGO-EXIT=" in s, "the panel to exit", timeout=60)
    term.shot("quit")
    # the hint's line wraps at the pane's width wherever the (tmp) path puts it, and a
    # wrap on a space loses that space (tmux trims line ends): compare without spaces
    flat = "".join(done.split())
    assert "GONOGO-EXIT=0" in done and f"resumewith:gonogodemo--session{session}" in flat
    assert flat.count("resumewith:") == 1, "the resume hint is printed once"


def test_time_to_first_frame_monorepo_120x40(terminal, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Five cold starts in a real terminal: each first frame is the whole dashboard of a
    fresh session (IDLE; its checklist starts after that frame), and quitting exits 0. The
    median time is printed and kept in the tmp dir."""
    config = ROOT / "sample-configs" / "monorepo.toml"
    times = []
    for i in range(5):
        term = terminal(120, 40)
        started = time.monotonic()
        term.start(GONOGO + ["tui", "--config", str(config), "--session", str(tmp_path / f"s{i}")],
                   env={"TERM": "xterm-256color"}, cwd=tmp_path)
        # the checklist starts running once the first frame is drawn (run_on_open): the
        # frame caught may already read CHECKING, or NO-GO (this machine lacks monorepo's
        # systems and its environment variables)
        first = term.wait_for_screen(lambda s: "Stable" in s and "Run" in s
                                     and "1.1 Configuration and secrets" in s,
                                     "the first frame",
                                     timeout=60)
        times.append(time.monotonic() - started)
        term.shot(f"first-frame-{i}")
        assert "monorepo-2026.02" in first  # the release being driven
        assert "IDLE" in first  # nothing started
        assert "Staging" in first  # the stage bar
        term.keys("q")
        done = term.wait_for_screen(lambda s: "GONOGO-EXIT=" in s, "exit", timeout=30)
        assert "GONOGO-EXIT=0" in done
        term.kill()
    median = statistics.median(times)
    report = f"time to first frame, monorepo.toml at 120x40, 5 runs: median {median:.2f}s " \
             f"(runs: {', '.join(f'{t:.2f}' for t in times)})"
    (tmp_path / "first-frame.txt").write_text(report + "\n")
    print(report)
