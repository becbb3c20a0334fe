"""The session log screen (``l``): one readable line per event, metric samples hidden
until ``s``, a filter (words, ``kind:``, ``actor:``) that keeps every key however fast
it is typed, a kind picker (``f``), an event in full on enter, and live following that
leaves a moved cursor where the user put it.

Recorded sessions (tests/fixtures/panel) folded by the real fold; a "long" session is
the holding session followed by a few thousand more of its own recorded metric polls,
the size at which the old screen lost keys (each key re-wrote the whole log).
"""

from __future__ import annotations

import dataclasses
import re

from gonogo.screens.session_log import EventDetailScreen, KindPicker, SessionLogScreen
from textual import events
from textual.widgets import Input

from gonogo.app import GonogoApp
from gonogo.rollout.export import describe
from gonogo.rollout.journal import Event
from gonogo.widgets.eventlog import EventList
from support.control_double import ControlDouble
from support.panel_fixtures import make_app, plan_with, recorded, screen_text, until
from support.panel_journals import T0

SIZE = (120, 40)
SCROLLBAR = re.compile("[▁▂▃▄▅▆▇█▔▀]")


def long_session(polls: int) -> tuple[GonogoApp, list[Event]]:
    """The holding session, then ``polls`` more of its recorded metric polls."""
    base = recorded("holding")
    samples = [e for e in base if e.kind == "samples"]
    more = [dataclasses.replace(samples[i % len(samples)], seq=len(base) + i + 1)
            for i in range(polls)]
    everything = base + more
    plan = plan_with()
    app = GonogoApp(plan, ControlDouble(plan, everything, now=lambda: T0), clock=lambda: T0,
                    live=False, session_dir="sessions/test")
    return app, everything


async def open_log(app: GonogoApp, pilot) -> SessionLogScreen:  # type: ignore[no-untyped-def]
    await pilot.press("l")
    await until(pilot, lambda: isinstance(app.screen, SessionLogScreen), "the session log")
    await pilot.pause()
    assert isinstance(app.screen, SessionLogScreen)
    return app.screen


async def burst(app: GonogoApp, pilot, *keys: str) -> None:  # type: ignore[no-untyped-def]
    """Keys as a terminal delivers a fast typist's burst: all queued before the panel
    handles the first (``pilot.press`` waits for the app between keys)."""
    for key in keys:
        app.post_message(events.Key(key, key if len(key) == 1 else None))
    await pilot.pause()


def rows(app: GonogoApp) -> list[str]:
    """The list's lines as shown (between the filter box and the footer)."""
    lines = screen_text(app).splitlines()
    return [line for line in lines[2:-1] if line.strip()]


def title(app: GonogoApp) -> str:
    return screen_text(app).splitlines()[0]


def visible_kind(events_: list[Event], word: str) -> int:
    """How many events the log shows for a one-word filter (samples hidden)."""
    return sum(1 for e in events_ if e.kind != "samples"
               and word in f"{e.actor}\n{e.kind}\n{describe(e)}".lower())


async def test_samples_are_hidden_until_s_and_the_title_says_how_many() -> None:
    app, _ = make_app("holding")  # 387 events, 290 of them metric polls
    async with app.run_test(size=SIZE) as pilot:
        await open_log(app, pilot)
        assert "97 of 387 events · 290 samples hidden (s shows them)" in title(app)
        assert not any(" samples " in row for row in rows(app))
        assert any(" check_result " in row for row in rows(app))
        await pilot.press("s")
        await pilot.pause()
        assert "387 of 387 events · samples shown (s hides them)" in title(app)
        polls = [row for row in rows(app) if " samples " in row]
        assert polls and all("metrics (canary/baseline): " in row for row in polls)
        await pilot.press("s")
        await pilot.pause()
        assert "97 of 387 events · 290 samples hidden" in title(app)


async def test_each_event_is_one_line_of_time_actor_kind_and_description() -> None:
    app, _ = make_app("rolled-back")
    async with app.run_test(size=SIZE) as pilot:
        await open_log(app, pilot)
        shown = rows(app)
        assert re.fullmatch(r" 14:08:35  gonogo  rollback_finished\s+rollback finished: "
                            r"canary traffic at 0%\s*", shown[-1]), shown[-1]
        assert all(re.match(r" \d\d:\d\d:\d\d  \S+\s+[a-z_]+\s+\S", row) for row in shown), shown
        assert not any("{" in row or '"' in row for row in shown)  # descriptions, not JSON


async def test_the_filter_keeps_every_key_typed_fast_after_backspaces() -> None:
    """Typed in bursts, as a terminal delivers them, into a log of ~3,400 events: the
    characters typed after backspaces used to land before them (and vanish)."""
    app, everything = long_session(3000)
    async with app.run_test(size=SIZE) as pilot:
        await open_log(app, pilot)
        await pilot.press("slash")
        box = app.screen.query_one("#log-filter", Input)
        for typed, back, then, word in (("stall", 2, "ge", "stage"), ("ownr", 1, "er", "owner"),
                                        ("rolx", 1, "l", "roll"), ("holx", 1, "d", "hold")):
            await burst(app, pilot, *typed, *["backspace"] * back, *then)
            await until(pilot, lambda w=word: box.value == w, f"the filter to read {word!r}")
            shown = rows(app)
            expected = visible_kind(everything, word)
            assert f"{expected} of {len(everything)} events" in title(app), (word, title(app))
            assert shown and all(word in row.lower() for row in shown), (word, shown)
            await burst(app, pilot, *["backspace"] * len(word))
            await until(pilot, lambda: box.value == "", "the filter to empty")
        assert box.has_focus
        assert len(app.screen.query_one(EventList).rows) == visible_kind(everything, "")


async def test_kind_filter_by_syntax_and_from_the_picker() -> None:
    app, _ = make_app("rolled-back")
    async with app.run_test(size=SIZE) as pilot:
        await open_log(app, pilot)
        await pilot.press("slash")
        await burst(app, pilot, *"kind:rollback", "enter")
        await pilot.pause()
        shown = rows(app)
        assert [row.split()[2] for row in shown] == ["rollback_started", "rollback_finished"]
        assert "2 of 386 events" in title(app)
        assert app.screen.query_one(EventList).has_focus  # enter keeps the filter, back to the list
        assert "esc Clear filter" in screen_text(app).splitlines()[-1]
        await pilot.press("escape")  # clears the filter first, as in k9s
        await pilot.pause()
        assert isinstance(app.screen, SessionLogScreen)
        assert app.screen.query_one("#log-filter", Input).value == ""
        assert "105 of 386 events" in title(app)
        assert "esc Back" in screen_text(app).splitlines()[-1]

        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, KindPicker), "the kind picker")
        picker = screen_text(app)
        assert "samples" in picker and "281" in picker and "criterion_tripped" in picker
        options = app.screen.query_one("#kind-options")
        options.highlighted = options.get_option_index("criterion_tripped")  # type: ignore[attr-defined]
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, SessionLogScreen), "the log again")
        await pilot.pause()
        assert app.screen.query_one("#log-filter", Input).value == "kind:criterion_tripped"
        shown = rows(app)
        assert len(shown) == 1 and re.search(r" criterion_tripped +STOP http-5xx", shown[0])

        # samples hidden, but asked for by kind: shown
        app.screen.set_filter("kind:samples")  # type: ignore[attr-defined]
        await pilot.pause()
        assert "281 of 386 events" in title(app) and "hidden" not in title(app)
        app.screen.set_filter("-kind:check_result -kind:traffic")  # type: ignore[attr-defined]
        await pilot.pause()
        assert not any(" check_result " in r or " traffic_" in r for r in rows(app))
        assert "19 of 386 events" in title(app)


async def test_enter_shows_the_whole_event() -> None:
    app, _ = make_app("rolled-back")
    started = next(e for e in recorded("rolled-back") if e.kind == "rollback_started")
    reason = started.data["reason"]
    async with app.run_test(size=(80, 24)) as pilot:
        await open_log(app, pilot)
        await pilot.press("slash")
        await burst(app, pilot, *"kind:rollback_started", "enter")
        await pilot.pause()
        row = rows(app)[0]
        assert row.rstrip().endswith("…")  # 80 columns cut the row...
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, EventDetailScreen), "the event")
        await pilot.pause()
        text = screen_text(app)
        assert re.sub(r"\s+", "", reason) in re.sub(r"\s+", "", text)  # ...the event reads whole
        for line in (rf" seq +{started.seq}", r" time +2026-\S+Z \(\d+\.\d+\)", r" actor +gonogo",
                     r" trigger +criterion", r" snapshot", r"   auth-failures"):
            assert re.search(rf"^{line} *$", text, re.M), line
        await pilot.press("end")  # the rest of a long event: its metrics' series, its hashes
        await pilot.pause()
        flat = re.sub(r"\s+", "", screen_text(app))
        assert started.hash in flat and started.prev_hash in flat
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, SessionLogScreen)
        assert app.screen.query_one("#log-filter", Input).value == "kind:rollback_started"


async def test_follows_new_events_unless_the_cursor_was_moved() -> None:
    events_ = recorded("rolled-back")
    cut = len(events_) - 8  # the rollback's last eight events arrive while watching
    app, control = make_app("rolled-back", upto=cut)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_log(app, pilot)
        log = screen.query_one(EventList)
        control.play(events_[cut:cut + 2])
        await pilot.pause()
        assert "following" in title(app)
        assert log.current is not None and log.current.event is events_[cut + 1]
        assert describe(events_[cut + 1])[:30] in rows(app)[-1]

        await pilot.press("up", "up")
        await pilot.pause()
        held = log.current
        assert held is not None and held.event is events_[cut - 1]
        before = rows(app)
        control.play(events_[cut + 2:])
        await pilot.pause()
        assert log.current is held  # the cursor stays on its event, the view where it was
        assert [r[:-1] for r in rows(app)] == [r[:-1] for r in before]  # (the scrollbar shrinks)
        assert "6 new below (end follows)" in title(app)

        await pilot.press("end")
        await pilot.pause()
        assert "following" in title(app)
        assert "rollback finished: canary traffic at 0%" in rows(app)[-1]


async def test_escape_leaves_the_filter_box_then_the_screen() -> None:
    app, _ = make_app("holding")
    async with app.run_test(size=SIZE) as pilot:
        await open_log(app, pilot)
        await pilot.press("slash")
        await burst(app, pilot, *"owner")
        await pilot.press("escape")  # clears and leaves the box
        await pilot.pause()
        assert isinstance(app.screen, SessionLogScreen)
        assert app.screen.query_one("#log-filter", Input).value == ""
        assert app.screen.query_one(EventList).has_focus
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, SessionLogScreen)


async def test_its_keys_are_in_the_footer_and_in_help() -> None:
    app, _ = make_app("holding")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_log(app, pilot)
        footer = screen_text(app).splitlines()[-1]
        assert footer.startswith("⏎ Show event esc Back / Filter f Kind s Samples"), footer
    app, _ = make_app("holding")
    async with app.run_test(size=(160, 60)) as pilot:
        await open_log(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        text = screen_text(app)
        for ident in ("log_filter", "log_kind", "log_samples", "log_open", "log_follow"):
            assert ident in text, ident


async def test_rows_use_the_width_they_have() -> None:
    """A row is cut (with an ellipsis at the last column) only when its description is
    longer than the room left; a list that fits draws no scrollbar."""
    summaries = {describe(e) for e in recorded("rolled-back")}
    for width, height in ((80, 24), (120, 40), (200, 50)):
        app, _ = make_app("rolled-back")
        async with app.run_test(size=(width, height)) as pilot:
            await open_log(app, pilot)
            for row in rows(app):
                body = row[:width - 1].rstrip()  # the last column is the scrollbar's
                if body.endswith("…"):
                    assert len(body) == width - 1, (width, row)
                else:
                    assert re.sub(r"^ \S+\s+\S+\s+\S+\s+", "", body) in summaries, row
            app.screen.set_filter("kind:rollback")  # type: ignore[attr-defined]
            await pilot.pause()
            assert all(not SCROLLBAR.search(row) for row in rows(app)), rows(app)


async def test_its_keys_can_be_rebound() -> None:
    app, _ = make_app("holding", keys={"log_samples": "S", "log_kind": "K"})
    async with app.run_test(size=SIZE) as pilot:
        await open_log(app, pilot)
        assert not [n for n in app._notifications if "no such binding" in n.message]
        assert "S Samples" in screen_text(app).splitlines()[-1]
        await pilot.press("S")
        await pilot.pause()
        assert "387 of 387 events" in title(app)
        await pilot.press("K")
        await until(pilot, lambda: isinstance(app.screen, KindPicker), "the kind picker")
