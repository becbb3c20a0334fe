"""Pilot tests: each key does what the footer says, on the dashboard and each screen.

Sessions are recorded journals (tests/fixtures/panel) folded by the real fold. Where
a key only asks the engine for something, the intent-recording double is enough;
where the screen must follow what the engine then does, the real engine resumes
the recorded session (``open_engine``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from gonogo.screens.canary_detail import CanaryDetailScreen
from gonogo.screens.check_detail import CheckDetailScreen
from gonogo.screens.confirm import AdvanceConfirm, QuitConfirm, TypedConfirm
from gonogo.screens.dashboard import DashboardScreen
from gonogo.screens.help import HelpScreen
from gonogo.screens.owners import OwnerPrompt, OwnersScreen
from gonogo.screens.runbook import RunbookScreen
from gonogo.screens.session_log import SessionLogScreen
from textual import events
from textual.command import CommandList, CommandPalette
from textual.widgets import Input

from gonogo.app import GonogoApp
from gonogo.rollout.state import Phase
from gonogo.widgets.keys import KEYS
from support.control_double import ControlDouble
from support.panel_fixtures import (
    make_app,
    open_engine,
    plan_with,
    recorded,
    screen_text,
    settle,
    type_text,
    until,
)

SIZE = (120, 40)
RELEASE = "monorepo-2026.02.19"


def footer_entry(key: str, desc: str) -> str:
    return f"{ {'question_mark': '?', 'slash': '/', 'colon': ':'}.get(key, key)} {desc}"


async def test_footer_lists_every_binding_with_its_key_when_there_is_room() -> None:
    app, _ = make_app()
    async with app.run_test(size=(200, 50)) as pilot:
        expected = [(ident, footer_entry(key, desc)) for ident, key, _, desc in KEYS]
        await until(pilot, lambda: all(e in screen_text(app).splitlines()[-1] for _, e in expected),
                    "every binding in the footer")


@pytest.mark.parametrize("width", [80, 120])
async def test_a_narrow_footer_keeps_the_first_keys_and_ends_in_help(width: int) -> None:
    """Nothing cut mid-word: the keys that fit, in order, then ``? more`` (help lists all)."""
    app, _ = make_app()
    async with app.run_test(size=(width, 24)) as pilot:
        await until(pilot, lambda: "? more" in screen_text(app).splitlines()[-1], "? more in the footer")
        footer = screen_text(app).splitlines()[-1].rstrip()
        assert footer.endswith("? more"), footer
        shown = [(ident, footer_entry(key, desc)) for ident, key, _, desc in KEYS
                 if ident != "help" and footer_entry(key, desc) in footer]
        assert len(shown) >= 8, footer
        assert [i for i, _ in shown] == [i for i, *_ in KEYS if i != "help"][:len(shown)], footer
        body = footer.removesuffix("? more").rstrip()
        assert body.endswith(shown[-1][1]), footer  # the last key shown is whole


async def test_r_runs_every_check() -> None:
    app, control = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        await settle(app, pilot)
        assert control.asked("run_checks") == [(None,)]


async def test_enter_opens_check_detail_and_enter_there_reruns_it() -> None:
    app, control = make_app()  # the routing check failed on its second run
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        tree = app.screen.query_one("#checklist")
        for _ in range(20):  # walk the cursor to the failing check
            if tree.selected_check == "internal-not-routed":
                break
            await pilot.press("down")
        assert tree.selected_check == "internal-not-routed"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, CheckDetailScreen)
        text = screen_text(app)
        assert "✘ FAIL" in text and "HTTP 200 from the public gateway for /internal/admin" in text
        history = text[text.index("History"):]
        assert "✔ pass" in history and "✘ fail" in history  # both journalled runs, oldest first
        assert history.index("✔ pass") < history.index("✘ fail")
        await pilot.press("enter")
        await settle(app, pilot)
        assert control.asked("run_checks") == [(("internal-not-routed",),)]
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)


async def test_advance_shows_what_will_happen_and_refuses_while_blocked() -> None:
    app, control = make_app()  # 12:34 into a 15:00 hold; db_owner TBD; a check failing
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, AdvanceConfirm)
        text = screen_text(app)
        assert "Cannot advance yet" in text
        assert "ramp-25 → ramp-50" in text and "25% → 50%" in text
        assert "12:34 elapsed of 15:00" in text
        assert "hold: 2m26s of 15m left" in text
        assert "metric auth-failures breaching" in text
        assert "metric queue-lag inconclusive" in text
        assert "internal-not-routed" in text and "owners.db_owner" in text
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, AdvanceConfirm)  # y does nothing while blocked
        await pilot.press("escape")
        assert control.asked("advance") == []


async def test_advance_confirmed_moves_the_stage_bar(tmp_path: Path) -> None:
    app, engine = open_engine("ready", tmp_path / "s")  # canary's hold done, all green
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "▶ Canary 5%" in screen_text(app)
        await pilot.press("a")
        await pilot.pause()
        assert "Advance the rollout?" in screen_text(app)
        await pilot.press("y")
        await settle(app, pilot)
        assert isinstance(app.screen, DashboardScreen)
        text = screen_text(app)
        assert "▶ 25%" in text and "traffic 25%" in text and "hold 15:00 left of 15:00" in text
    assert engine.state.stage_index == 2


async def test_p_pauses_and_resumes_the_hold(tmp_path: Path) -> None:
    app, engine = open_engine("holding", tmp_path / "s")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p")
        await settle(app, pilot)
        assert "PAUSED" in screen_text(app) and "HELD" in screen_text(app)
        await pilot.press("p")
        await settle(app, pilot)
        assert "HOLDING" in screen_text(app) and "ROLLING OUT 25%" in screen_text(app)
    kinds = [e.kind for e in engine.events()]
    assert kinds[-2:] == ["paused", "resumed"]


@pytest.mark.parametrize("typed", ["", "monorepo", "MONOREPO-2026.02.19", "monorepo-2026.02.19 "])
async def test_rollback_does_nothing_without_the_exact_release_name(typed: str) -> None:
    app, control = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("R")
        await pilot.pause()
        assert isinstance(app.screen, TypedConfirm)
        await type_text(pilot, typed)
        await pilot.press("enter", "enter")  # to the reason box, then submit
        await pilot.pause()
        assert isinstance(app.screen, TypedConfirm)
        assert "nothing was done" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert control.asked("rollback") == []
        assert isinstance(app.screen, DashboardScreen)


async def test_rollback_proceeds_on_exact_name_and_shows_the_runbook(tmp_path: Path) -> None:
    app, engine = open_engine("holding", tmp_path / "s")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("R")
        await pilot.pause()
        await type_text(pilot, RELEASE)
        await pilot.press("enter")
        await type_text(pilot, "5xx")
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, RunbookScreen)
        text = screen_text(app)
        assert "Shift traffic to the previous stable release" in text
        assert "3/3 steps complete" in text and "stop reason: 5xx" in text
        await pilot.press("escape")
        await pilot.pause()
        header = screen_text(app).splitlines()[0]
        assert "ROLLED BACK" in header and "5xx" in header and "GO" not in header.replace("NO-GO", "")
    assert engine.state.phase is Phase.ROLLED_BACK


async def test_runbook_screen_marks_reconciliation_done(tmp_path: Path) -> None:
    app, engine = open_engine("rolled-back", tmp_path / "s")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("b")
        await pilot.pause()
        assert isinstance(app.screen, RunbookScreen)
        assert "… open" in screen_text(app)
        await pilot.press("m")
        await settle(app, pilot)
        assert "✔ done" in screen_text(app) and "… open" not in screen_text(app)
    assert engine.state.reconciliation == {"data-writes": True}


async def test_runbook_screen_retries_a_failed_step_by_decision() -> None:
    app, control = make_app("runbook-failed")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "runbook step confirm-health failed: b, then y retry / s skip" in screen_text(app)
        await pilot.press("b")
        await pilot.pause()
        assert "step 2 · failed: failing: health-all" in screen_text(app)  # opens on the failure
        await pilot.press("up", "y")  # the first step is done: nothing to retry
        await settle(app, pilot)
        assert control.asked("runbook_decision") == []
        await pilot.press("down", "y")
        await settle(app, pilot)
        assert [args[:2] for args in control.asked("runbook_decision")] == [("confirm-health", "retry")]


async def test_owners_editor_sets_an_owner_through_the_engine(tmp_path: Path) -> None:
    app, engine = open_engine("holding", tmp_path / "s")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, OwnersScreen)
        assert "TBD — blocks GO" in screen_text(app)
        await pilot.press("down", "down", "enter")
        await pilot.pause()
        assert isinstance(app.screen, OwnerPrompt)
        await type_text(pilot, "Edgar")
        await pilot.press("enter")
        await settle(app, pilot)
        assert "TBD — blocks GO" not in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        text = screen_text(app)
        assert "Edgar" in text and "owners.db_owner" not in text.splitlines()[0]
    assert engine.state.owners["db_owner"] == "Edgar"


async def test_log_screen_follows_live_and_filters() -> None:
    events = recorded("holding")
    app, control = make_app(upto=len(events) - 2)  # the last two events arrive while watching
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l")
        await pilot.pause()
        assert isinstance(app.screen, SessionLogScreen)
        text = screen_text(app)
        # follows the newest events; metric samples hidden (s shows them)
        shown = "\n".join(text.splitlines()[2:-1])  # the rows: below the title and filter
        assert "owner_set" not in shown and " samples " not in shown
        assert "290 samples hidden" in text
        control.play(events[-2:])  # the routing check's re-run and db_owner → TBD
        await pilot.pause()
        text = screen_text(app)
        assert "check internal-not-routed: fail" in text and "owner db_owner = TBD" in text
        await pilot.press("slash")
        await type_text(pilot, "owner_set")
        await pilot.pause()
        text = screen_text(app)
        assert "owner db_owner = Edgar Codd" in text and "owner db_owner = TBD" in text
        shown = "\n".join(text.splitlines()[2:-1])
        assert " samples " not in shown and " check_result " not in shown


async def test_c_opens_canary_detail_with_rule_states() -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, CanaryDetailScreen)
        text = screen_text(app)
        assert "5xx ratio  ratio_above: limit 2× baseline for 5m" in text
        assert "breaching 1m of 2m" in text  # auth failures above 2% for a minute
        assert "? inconclusive" in text and "no data" in text  # queue lag went blind
        assert any(0x2800 < ord(ch) <= 0x28FF for ch in text)  # a braille chart is drawn


async def test_t_cycles_the_theme() -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        assert app.theme == "gonogo-dark"
        await pilot.press("t")
        assert app.theme == "gonogo-light"
        await pilot.press("t", "t")
        assert app.theme == "gonogo-colorblind"


async def test_slash_filters_the_checklist() -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash")
        await type_text(pilot, "smoke")
        await pilot.pause()
        text = screen_text(app)
        assert "Register, login, profile update" in text
        assert "AUTH_SECRET_KEY" not in text
        await pilot.press("enter", "enter")  # back to the tree, on the first match: open it
        await pilot.pause()
        assert isinstance(app.screen, CheckDetailScreen)
        assert app.screen.check_id == "smoke-login"
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert "AUTH_SECRET_KEY" in screen_text(app)


async def test_a_screen_key_help_lists_can_be_rebound() -> None:
    """Every binding id help lists is accepted by [keys]: the runbook's retry on Y."""
    app, control = make_app("runbook-failed", keys={"runbook_retry": "Y", "edit_owner": "e"})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert not [n for n in app._notifications if "no such binding" in n.message]
        await pilot.press("b")
        await until(pilot, lambda: isinstance(app.screen, RunbookScreen), "the runbook")
        assert "Y Retry step" in screen_text(app).splitlines()[-1]
        await pilot.press("Y")  # opens on the failed step
        await settle(app, pilot)
        assert [args[:2] for args in control.asked("runbook_decision")] == [("confirm-health", "retry")]


async def test_the_checklist_filter_keeps_every_key_of_a_fast_burst() -> None:
    """Keys queued before the panel handles the first, as a terminal delivers a fast
    typist's: the letters typed after a backspace land after it; escape in the box
    clears the filter and hands the keys back to the checklist."""
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash")
        for key in [*"routx", "backspace", *"ed"]:
            app.post_message(events.Key(key, key if len(key) == 1 else None))
        box = app.screen.query_one("#filter", Input)
        await until(pilot, lambda: box.value == "routed", "the filter to read 'routed'")
        await until(pilot, lambda: "AUTH_SECRET_KEY" not in screen_text(app), "the filter applied")
        assert "Internal APIs not publicly routed" in screen_text(app)
        await pilot.press("escape")
        await until(pilot, lambda: "AUTH_SECRET_KEY" in screen_text(app), "the filter cleared")
        assert app.screen.query_one("#checklist").has_focus


async def test_colon_opens_the_palette_which_offers_every_action() -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        titles = {c.title for c in app.get_system_commands(app.screen)}
        for _, _, _, desc in KEYS:
            assert desc in titles
        await pilot.press("colon")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await type_text(pilot, "Canary")
        matches = app.screen.query_one(CommandList)
        await until(pilot, lambda: "Canary" in str(getattr(matches.highlighted_option, "prompt", "")),
                    "the palette to offer Canary")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, CanaryDetailScreen), "the canary detail")
        assert isinstance(app.screen, CanaryDetailScreen)


async def test_question_mark_lists_every_binding() -> None:
    app, _ = make_app()
    async with app.run_test(size=(120, 50)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        for ident, *_ in KEYS:
            assert ident in text


async def test_keys_from_the_config_rebind() -> None:
    app, control = make_app(keys={"run_checks": "x", "nonsense": "z"})
    async with app.run_test(size=(200, 50)) as pilot:
        # asked first: the warning expires after a few seconds, which a loaded machine reaches
        assert any("keys.nonsense" in n.message for n in app._notifications)
        await pilot.press("r")
        await pilot.pause()
        assert control.asked("run_checks") == []
        await pilot.press("x")
        await settle(app, pilot)
        assert control.asked("run_checks") == [(None,)]
        assert "x Run" in screen_text(app).splitlines()[-1]
        await pilot.press("question_mark")
        await pilot.pause()
        assert any(line.split()[:3] == ["x", "run", "every"] for line in screen_text(app).splitlines()
                   if line.strip())


async def test_quit_asks_mid_rollout_and_leaves_traffic_alone() -> None:
    app, control = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, QuitConfirm)
        text = screen_text(app)
        assert "holding at 25%" in text and "with 25% of traffic" in text
        assert "Quitting does not stop or roll back the rollout" in text
        assert "--session" in text and "sessions/test" in text
        await pilot.press("escape")
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, DashboardScreen)
        await pilot.press("q", "y")
        await pilot.pause()
    assert app.return_value == 0
    assert control.asked("rollback") == [] and control.asked("pause") == []


async def test_ctrl_q_also_asks_mid_rollout() -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, QuitConfirm) and app.is_running
        await pilot.press("escape")


async def test_quit_when_idle_does_not_ask() -> None:
    app, _ = make_app("idle")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        await pilot.pause()
    assert app.return_value == 0


async def test_global_keys_do_not_act_inside_a_confirmation() -> None:
    app, control = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")
        await pilot.pause()
        await pilot.press("r", "p")
        await settle(app, pilot)
        assert isinstance(app.screen, AdvanceConfirm)
        assert control.asked("run_checks") == [] and control.asked("pause") == []


async def test_a_rollback_started_by_the_engine_opens_the_runbook() -> None:
    events = recorded("rolled-back")
    started = next(i for i, e in enumerate(events) if e.kind == "rollback_started")
    app, control = make_app("rolled-back", upto=started)  # the criterion has just tripped
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        control.play(events[started:])  # not a key: the engine's own stop and runbook
        await pilot.pause()
        assert isinstance(app.screen, RunbookScreen)
        assert "3/3 steps complete" in screen_text(app)
        assert any("http-5xx" in n.message and n.title == "ROLLBACK" for n in app._notifications)


async def test_the_advance_dialog_follows_the_rollout_while_open() -> None:
    """Pressed a moment before the hold ran out (or an exit check came back), the dialog
    must not stay 'Cannot advance yet' forever: it follows the state, and y then works."""
    events = recorded("ready")
    last = events[-1]
    assert last.kind == "hold_completed"
    plan = plan_with()
    clock = [last.time - 60.0]
    control = ControlDouble(plan, events[:-1], now=lambda: clock[0])
    app = GonogoApp(plan, control, clock=lambda: clock[0], live=False, session_dir="sessions/test")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, AdvanceConfirm)
        text = screen_text(app)
        assert "Cannot advance yet" in text and "hold: 1m of 30m left" in text
        await pilot.press("y")
        await pilot.pause()
        assert control.asked("advance") == []  # blocked: y does nothing
        clock[0] = last.time
        control.play([last])  # the hold completes while the dialog is open
        await pilot.pause()
        text = screen_text(app)
        assert "Advance the rollout?" in text and "Advance (y)" in text, text
        await pilot.press("y")
        await pilot.pause()
        assert not isinstance(app.screen, AdvanceConfirm)
    assert control.asked("advance") == [()]
