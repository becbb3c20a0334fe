"""Pilot tests: each key does what the footer says, on the dashboard and each screen."""

from __future__ import annotations

import pytest
from gonogo.screens.canary_detail import CanaryDetailScreen
from gonogo.screens.check_detail import CheckDetailScreen
from gonogo.screens.confirm import AdvanceConfirm, QuitConfirm, TypedConfirm
from gonogo.screens.dashboard import DashboardScreen
from gonogo.screens.help import HelpScreen
from gonogo.screens.owners import OwnerPrompt, OwnersScreen
from gonogo.screens.runbook import RunbookScreen
from gonogo.screens.session_log import SessionLogScreen
from textual.command import CommandPalette

from gonogo.app import KEYS
from tui_fake import Phase
from tui_support import ALL_OWNED, make_app, screen_text

SIZE = (120, 40)


async def test_footer_lists_every_binding_with_its_key() -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        footer = screen_text(app).splitlines()[-1]
        for ident, key, _, desc in KEYS[:10]:  # the first ten fit in 120 columns
            shown = {"question_mark": "?", "slash": "/", "colon": ":"}.get(key, key)
            assert f"{shown} {desc}" in footer, (ident, footer)


async def test_r_runs_every_check() -> None:
    app, engine = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        await pilot.pause()
        await app.workers.wait_for_complete()
        assert ("run_checks", (None,)) in engine.intents


async def test_enter_opens_check_detail_and_enter_there_reruns_it() -> None:
    app, engine = make_app(failing=["internal-not-routed"])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        tree = app.screen.query_one("#checklist")
        # walk the cursor to the failing check
        for _ in range(20):
            if tree.selected_check == "internal-not-routed":
                break
            await pilot.press("down")
        assert tree.selected_check == "internal-not-routed"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, CheckDetailScreen)
        text = screen_text(app)
        assert "✘ FAIL" in text and "HTTP 503 from /health" in text
        assert "Evidence" in text and "History" in text
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        assert ("run_checks", (("internal-not-routed",),)) in engine.intents
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)


async def test_advance_shows_what_will_happen_and_refuses_while_blocked() -> None:
    app, engine = make_app()  # db_owner is TBD: NO-GO
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, AdvanceConfirm)
        text = screen_text(app)
        assert "Cannot advance yet" in text
        assert "25% → 50%" in text and "12:34 elapsed of 15:00" in text
        assert "owners.db_owner" in text
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, AdvanceConfirm)  # y does nothing while blocked
        await pilot.press("escape")
        assert not any(i[0] == "advance" for i in engine.intents)


async def test_advance_confirmed_moves_the_stage_bar() -> None:
    app, engine = make_app(owners=ALL_OWNED)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")
        await pilot.pause()
        assert "Advance the rollout?" in screen_text(app)
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert ("advance", ()) in engine.intents
        assert isinstance(app.screen, DashboardScreen)
        assert "▶ 50%" in screen_text(app) and "traffic 50%" in screen_text(app)


async def test_p_pauses_and_resumes_the_hold() -> None:
    app, engine = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "PAUSED" in screen_text(app)
        await pilot.press("p")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert [i[0] for i in engine.intents if i[0] in ("pause", "resume")] == ["pause", "resume"]
        assert "HOLDING" in screen_text(app)


@pytest.mark.parametrize("typed", ["", "monorepo", "MONOREPO-2026.02.19", "monorepo-2026.02.19 "])
async def test_rollback_does_nothing_without_the_exact_release_name(typed: str) -> None:
    app, engine = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("R")
        await pilot.pause()
        assert isinstance(app.screen, TypedConfirm)
        for ch in typed:
            await pilot.press(ch if ch != " " else "space")
        await pilot.press("enter", "enter")  # to the reason box, then submit
        await pilot.pause()
        assert isinstance(app.screen, TypedConfirm)
        assert "nothing was done" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert not any(i[0] == "rollback" for i in engine.intents)
        assert isinstance(app.screen, DashboardScreen)


async def test_rollback_proceeds_on_exact_name_and_shows_the_runbook() -> None:
    app, engine = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("R")
        await pilot.pause()
        for ch in "monorepo-2026.02.19":
            await pilot.press(ch)
        await pilot.press("enter")
        for ch in "5xx":
            await pilot.press(ch)
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert ("rollback", ("5xx",)) in engine.intents
        assert isinstance(app.screen, RunbookScreen)
        text = screen_text(app)
        assert "Shift traffic to the previous stable release" in text
        assert "stop reason: 5xx" in text


async def test_runbook_screen_marks_reconciliation_done() -> None:
    app, engine = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("b")
        await pilot.pause()
        assert isinstance(app.screen, RunbookScreen)
        assert "… open" in screen_text(app)
        await pilot.press("m")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert ("mark_reconciled", ("data-writes",)) in engine.intents
        assert "✔ done" in screen_text(app)


async def test_owners_editor_sets_an_owner_through_the_engine() -> None:
    app, engine = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, OwnersScreen)
        assert "TBD — blocks GO" in screen_text(app)
        await pilot.press("down", "down", "enter")
        await pilot.pause()
        assert isinstance(app.screen, OwnerPrompt)
        for ch in "Edgar":
            await pilot.press(ch)
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert ("set_owner", ("db_owner", "Edgar")) in engine.intents
        assert "TBD — blocks GO" not in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert "Edgar" in screen_text(app)


async def test_log_screen_follows_live_and_filters() -> None:
    app, engine = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p")  # one event before
        await app.workers.wait_for_complete()
        await pilot.press("l")
        await pilot.pause()
        assert isinstance(app.screen, SessionLogScreen)
        assert "paused" in screen_text(app)
        await engine.resume()  # one event while watching
        await pilot.pause()
        assert "resumed" in screen_text(app)
        await pilot.press("slash")
        for ch in "resumed":
            await pilot.press(ch)
        await pilot.pause()
        text = screen_text(app)
        assert "resumed" in text and " paused " not in text


async def test_c_opens_canary_detail_with_rule_states() -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, CanaryDetailScreen)
        text = screen_text(app)
        assert "5xx ratio" in text and "rule ratio_above > 2× baseline for 5m" in text
        assert "breaching 2m of 2m" in text
        assert "inconclusive" in text
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
        for ch in "smoke":
            await pilot.press(ch)
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


async def test_colon_opens_the_palette_which_offers_every_action() -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        titles = {c.title for c in app.get_system_commands(app.screen)}
        for _, _, _, desc in KEYS:
            assert desc in titles
        await pilot.press("colon")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        for ch in "Canary":
            await pilot.press(ch)
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.2)
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
    app, engine = make_app(keys={"run_checks": "x", "nonsense": "z"})
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.press("r")
        await pilot.pause()
        assert not any(i[0] == "run_checks" for i in engine.intents)
        await pilot.press("x")
        await app.workers.wait_for_complete()
        assert ("run_checks", (None,)) in engine.intents
        assert "x Run" in screen_text(app).splitlines()[-1]
        await pilot.press("question_mark")
        await pilot.pause()
        assert any(line.split()[:3] == ["x", "run", "every"] for line in screen_text(app).splitlines()
                   if line.strip())


async def test_quit_asks_mid_rollout_and_leaves_traffic_alone() -> None:
    app, engine = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, QuitConfirm)
        text = screen_text(app)
        assert "does not stop or roll back" in text and "--session sessions/test" in text
        await pilot.press("escape")
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, DashboardScreen)
        await pilot.press("q", "y")
        await pilot.pause()
    assert app.return_value == 0
    assert not any(i[0] in ("rollback", "pause") for i in engine.intents)


async def test_ctrl_q_also_asks_mid_rollout() -> None:
    app, _ = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, QuitConfirm) and app.is_running
        await pilot.press("escape")


async def test_quit_when_idle_does_not_ask() -> None:
    app, _ = make_app(phase=Phase.IDLE, stage=0)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        await pilot.pause()
    assert app.return_value == 0


async def test_global_keys_do_not_act_inside_a_confirmation() -> None:
    app, engine = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")
        await pilot.pause()
        await pilot.press("r", "p")
        await pilot.pause()
        assert isinstance(app.screen, AdvanceConfirm)
        assert not any(i[0] in ("run_checks", "pause") for i in engine.intents)


async def test_a_rollback_started_by_the_engine_opens_the_runbook() -> None:
    app, engine = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await engine.rollback("stop criterion http-5xx tripped")  # not a key: the engine's own stop
        await pilot.pause()
        assert isinstance(app.screen, RunbookScreen)
        assert any("http-5xx" in n.message for n in app._notifications)
