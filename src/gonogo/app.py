"""The Textual app: wiring only. Keys → intents → engine; engine events → widgets.

The panel drives the rollout through ``RolloutControl`` (``gonogo.rollout.control``;
the engine implements it) and nothing else. The engine is the only writer; its
subscribe callback posts a ``StateChanged`` message and screens hand the new
``app.state`` to their widgets, which repaint what changed. Every intent runs
in a worker so the UI never waits on the network; the metric poll re-arms itself
only after the previous tick finished, so a slow endpoint never piles ticks up.

The panel opens live: after its first frame it runs the checklist (``[settings]
run_on_open``; a resumed session whose checklist results are all there and fresh
keeps them; a watcher shows the driver's), and it re-runs the checks behind the
service grid every ``[settings] health_interval``, re-arming after each refresh.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.markup import escape
from textual.notifications import SeverityLevel
from textual.screen import ModalScreen, Screen
from textual.theme import Theme
from textual.timer import Timer

from gonogo.config import Plan
from gonogo.errors import describe_error
from gonogo.rollout.control import EngineRefused, RolloutControl
from gonogo.rollout.events import CheckRecorded, NotifyFailed
from gonogo.rollout.journal import Event
from gonogo.rollout.state import Phase, RolloutState
from gonogo.screens.base import PanelScreen
from gonogo.themes import DEFAULT_THEME, THEME_NAMES, build_themes, stylesheet
from gonogo.untrusted import printable
from gonogo.verdict import stale_reason
from gonogo.widgets.chops import cropped
from gonogo.widgets.keys import (
    DRIVER_ONLY,
    FOOTER_IDS,
    KEYS,
    MODAL_SAFE,
    SCREEN_KEYS,
    display_key,
)
from gonogo.widgets.messages import CheckSelected, IntentFailed, StateChanged
from gonogo.widgets.view import ROLLBACK_PHASES, ChecklistRun, health_title, is_active

WATCHERS_EVERY_S = 5.0
GRID_KINDS = ("http_health", "prometheus_targets")  # the checks the service grid shows
OPEN_RUN_DELAY_S = 0.5  # from the first frame to the checklist run on open

class GonogoApp(App[int]):
    TITLE = "gonogo"
    CSS = stylesheet()
    ENABLE_COMMAND_PALETTE = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(key, action, desc, show=ident in FOOTER_IDS, id=ident,
                key_display={"slash": "/", "colon": ":", "question_mark": "?"}.get(key))
        for ident, key, action, desc in KEYS
    ]

    def __init__(
        self,
        plan: Plan,
        control: RolloutControl,
        *,
        clock: Callable[[], float] = time.time,
        tick_interval: float = 1.0,
        theme: str | None = None,
        session_dir: str = "",
        live: bool = True,
        on_exit_hint: str = "",
        warnings: Iterable[str] = (),
        notices: Iterable[str] = (),
    ) -> None:
        super().__init__()
        self.plan = plan
        self.control = control
        self.now = clock
        self.tick_interval = max(0.05, tick_interval)
        self.session_dir = session_dir
        self.live = live  # False in snapshot tests: no timers, no polling
        # how to resume this session (the quit dialog shows it; the CLI prints it once)
        self.exit_hint = on_exit_hint
        self.state: RolloutState = control.state
        self.verdict = control.verdict()
        self.events: list[Event] = list(control.events())
        self._unsubscribe: Callable[[], None] | None = None
        self._wanted_theme = theme or plan.settings.theme or DEFAULT_THEME
        self._warnings = list(warnings)
        self.watchers: list[str] = []  # who else follows this session (refreshed every few s)
        self._watchers_at = 0.0
        self._notices = list(notices)  # shown once on open (e.g. the sandbox's real servers)
        # the checklist run this panel started, while it runs ("CHECKING n/N")
        self.checklist_run: ChecklistRun | None = None
        self._health_due: float | None = None  # monotonic time of the next grid refresh
        self._health_timer: Timer | None = None
        self.health_running = False
        self._start_theme()

    def _start_theme(self) -> None:
        """The theme in place before the first stylesheet parse: switching it in
        ``on_mount`` re-parsed every stylesheet three more times (~100 ms each here)
        before the first frame. What ``App._watch_theme`` does, less that re-parse."""
        for theme in build_themes():
            self.register_theme(theme)
        name = self._wanted_theme if self._wanted_theme in self.available_themes else DEFAULT_THEME
        self.set_reactive(App.theme, name)
        # nothing is parsed yet: the variables App.__init__ took from its default theme
        self.stylesheet.set_variables(self.get_css_variables())
        dark = self.current_theme.dark
        self.set_class(dark, "-dark-mode", update=False)
        self.set_class(not dark, "-light-mode", update=False)
        self.set_class(True, f"-theme-{name}", update=False)
        refresh_filter = getattr(self, "_refresh_truecolor_filter", None)
        if refresh_filter is not None:  # ANSI colours mapped for a light or dark theme
            refresh_filter(self.ansi_theme)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every toast of the panel (screens' and widgets' too) is plain text, never
        markup: messages carry stop reasons, server errors and names from the config."""
        super().notify(printable(message, newlines=True), title=printable(title),
                       severity=severity, timeout=timeout, markup=False)

    def _display(self, screen: Screen[Any], renderable: Any) -> None:
        # a partial update writes the changed cells only (widgets.chops)
        super()._display(screen, cropped(renderable))

    # start-up ------------------------------------------------------------
    def get_theme_variable_defaults(self) -> dict[str, str]:
        from gonogo.themes import APP_VARIABLES

        return dict(APP_VARIABLES)

    def get_default_screen(self) -> Screen[Any]:
        # the dashboard is the app's first screen, not pushed over an empty default one
        # (whose mount, layout and frame came first)
        from gonogo.screens.dashboard import DashboardScreen

        return DashboardScreen()

    def on_mount(self) -> None:
        if self.theme != self._wanted_theme:
            self.notify(f"settings.theme: unknown theme {self._wanted_theme!r}; "
                        f"using {DEFAULT_THEME}", severity="warning")
        self._apply_keymap(self.plan.doc.keys)
        self.theme_changed_signal.subscribe(self, self._on_theme_changed)
        dashboard = self.screen
        self._unsubscribe = self.control.subscribe(self._on_engine_event)
        for warning in self._warnings:
            self.notify(warning, title="session log", severity="warning", timeout=10)
        for notice in self._notices:
            self.notify(notice, title="sandbox", timeout=8)  # over the dashboard: brief
        if self.live:
            # after the dashboard's first frame: resuming teaches the redactor every
            # secret first (hvac for vault: references, httpx: ~0.2 s of imports)
            dashboard.call_after_refresh(self._go_live)

    def _go_live(self) -> None:
        self.set_interval(1.0, self._refresh_clock)
        # finish what a crash interrupted (a shift, a runbook)
        self.intent("resume session", self.control.recover())
        self.set_timer(0.1, self._tick)
        if self.plan.settings.run_on_open and self.control.driving and self._checklist_wanted():
            # a moment after the first frame: the run's imports (its check kinds' clients,
            # in threads) would otherwise compete with writing that frame to the terminal
            self.set_timer(OPEN_RUN_DELAY_S, self._run_on_open)
        self._arm_health()

    def _run_on_open(self) -> None:
        if self.checklist_run is None and self._checklist_wanted():  # unless r was quicker
            self._run_checklist()

    def _checklist_wanted(self) -> bool:
        """Whether opening should run the checklist: some check has no result yet, or a
        stale one. A resumed session whose results are all there and fresh keeps them
        (each shows its age; ``r`` re-runs): reopening after a dropped connection does
        not re-run every check against production."""
        results, now = self.state.results, self.now()
        for _, spec in self.plan.checklist():
            result = results.get(spec.id)
            if result is None or stale_reason(self.plan, spec, result, now) is not None:
                return True
        return False

    def _apply_keymap(self, keys: dict[str, str]) -> None:
        known = {ident for ident, *_ in KEYS} | {ident for ident, *_ in SCREEN_KEYS}
        unknown = sorted(set(keys) - known)
        for ident in unknown:
            self.notify(f"keys.{ident}: no such binding (known: {', '.join(sorted(known))})",
                        severity="warning")
        self.set_keymap({k: v for k, v in keys.items() if k in known})

    async def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        try:
            await self.control.aclose()
        except Exception:  # closing must not hide the session hint
            pass

    # engine → panel -------------------------------------------------------
    def _on_engine_event(self, event: Event, state: RolloutState) -> None:
        self.events.append(event)
        if self.checklist_run is not None and isinstance(event.body, CheckRecorded):
            self.checklist_run = self.checklist_run.reported(event.body.result.id)
        self.post_message(StateChanged(state, event))
        if isinstance(event.body, NotifyFailed):  # journaled; said where people look too
            self.notify(event.body.describe(), title="notification not delivered",
                        severity="warning", timeout=10)

    def on_state_changed(self, message: StateChanged) -> None:
        before = self.state.phase
        self.state = message.state
        self.verdict = self.control.verdict()
        if not self.screen_stack:  # quitting while checks still report: nothing to draw
            return
        self._rerender()
        after = self.state.phase
        if after in ROLLBACK_PHASES and before not in ROLLBACK_PHASES:
            # a stop criterion (or another driver) started the rollback: show it happening
            self.notify(self.state.stop_reason or "rollback started", title="ROLLBACK",
                        severity="error", timeout=15)
            if not isinstance(self.screen, ModalScreen):
                self.action_runbook()

    def _rerender(self) -> None:
        if not self.screen_stack:  # the panel is closing
            return
        for screen in self.screen_stack:
            if isinstance(screen, PanelScreen) and screen.is_mounted:
                screen.refresh_state()
        self._refresh_advance_dialog()

    def _refresh_advance_dialog(self) -> None:
        from gonogo.screens.confirm import AdvanceConfirm

        if isinstance(self.screen, AdvanceConfirm) and self.screen.is_mounted:
            self.screen.show_preview(self.control.advance_preview())

    def _on_theme_changed(self, _theme: Theme) -> None:
        """Widgets read the theme when they render: repaint them, nothing else."""
        for screen in self.screen_stack:
            for widget in screen.walk_children():
                widget.refresh()

    def _refresh_clock(self) -> None:
        from gonogo.screens.dashboard import DashboardScreen

        if isinstance(self.screen, DashboardScreen):
            self.screen.refresh_clock()
        self._refresh_advance_dialog()  # the hold counts down in the dialog too

    def _tick(self) -> None:
        self.run_worker(self._tick_once(), group="tick", exit_on_error=False)

    async def _tick_once(self) -> None:
        try:
            await self.control.tick()
            if time.monotonic() - self._watchers_at >= WATCHERS_EVERY_S:
                self._watchers_at = time.monotonic()
                self.watchers = list(self.control.watchers())
        except Exception as exc:  # a failed poll is shown; the next tick tries again
            self.post_message(IntentFailed("metrics poll", _describe(exc)))
        finally:
            if self.is_running:
                self.set_timer(self.tick_interval, self._tick)

    def intent(self, name: str, coro: Coroutine[Any, Any, None], group: str = "intent") -> None:
        """Run an engine intent in a worker; refusals and failures become notifications."""

        async def run() -> None:
            try:
                await coro
            except Exception as exc:
                self.post_message(IntentFailed(name, _describe(exc)))

        self.run_worker(run(), group=group, exit_on_error=False)

    def on_intent_failed(self, message: IntentFailed) -> None:
        self.notify(message.reason, title=f"{message.intent}: refused", severity="warning",
                    timeout=8)

    # the guard: confirmations are not bypassed by global keys ------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if isinstance(self.screen, ModalScreen) and action in {a for _, _, a, _ in KEYS}:
            return action in MODAL_SAFE
        if not self.control.driving and action in DRIVER_ONLY:
            return None  # shown, dimmed: the driver's key
        return True

    # actions (each a binding id above) ---------------------------------------
    def action_run_checks(self) -> None:
        if self.checklist_run is not None or any(w.group == "checks" and w.is_running
                                                 for w in self.workers):
            self.notify("checks are already running")
            return
        self._run_checklist()

    def _run_checklist(self) -> None:
        """Run the whole checklist; the verdict reads CHECKING n/N until it is done."""
        ids = frozenset(c.id for _, c in self.plan.checklist())
        if not ids:
            return
        self.checklist_run = ChecklistRun(ids)
        self._rerender()

        async def run() -> None:
            try:
                await self.control.run_checks(None)
            finally:
                # after the last result's StateChanged, already queued: never a frame
                # with the run over but its last result not yet shown
                self.call_later(self._checklist_done)

        self.intent("run checks", run(), group="checks")

    def _checklist_done(self) -> None:
        self.checklist_run = None
        self._arm_health()  # the grid was just checked: its next refresh counts from now
        self._rerender()

    # the service grid's refresh -------------------------------------------------
    def grid_checks(self) -> list[str]:
        """The checklist's checks behind the service grid (its health and scrape columns)."""
        return [c.id for _, c in self.plan.checklist() if c.kind in GRID_KINDS]

    def _arm_health(self) -> None:
        """Schedule the next grid refresh ``[settings] health_interval`` from now (the
        driver's panel only: a watcher shows the driver's results)."""
        if self._health_timer is not None:
            self._health_timer.stop()
            self._health_timer = None
        every = self.plan.settings.health_interval.seconds
        if not self.live or every <= 0 or not self.control.driving or not self.grid_checks():
            self._health_due = None
            return
        self._health_due = time.monotonic() + every
        self._health_timer = self.set_timer(every, self._refresh_health)

    def _refresh_health(self) -> None:
        self._health_timer = None
        if self.checklist_run is not None or self.health_running:
            self._arm_health()  # the run under way re-checks them; count from its end
            return
        self.health_running = True
        self._rerender()

        async def run() -> None:
            try:
                await self.control.run_checks(self.grid_checks())
            except Exception as exc:  # shown; the next refresh tries again
                self.post_message(IntentFailed("service grid refresh", _describe(exc)))
            finally:
                self.call_later(self._health_done)

        self.run_worker(run(), group="health", exit_on_error=False)

    def _health_done(self) -> None:
        self.health_running = False
        self._arm_health()
        self._rerender()

    def health_heading(self) -> str:
        """The service grid's heading: when it is re-checked next."""
        every = self.plan.settings.health_interval.seconds
        due = self._health_due
        return health_title(every, None if due is None else due - time.monotonic(),
                            self.health_running)

    def run_check(self, check_id: str) -> None:
        self.intent(f"re-run {check_id}", self.control.run_checks([check_id]), group="checks")

    def on_check_selected(self, message: CheckSelected) -> None:
        from gonogo.screens.check_detail import CheckDetailScreen

        self.push_screen(CheckDetailScreen(message.check_id))

    def action_advance(self) -> None:
        from gonogo.screens.confirm import AdvanceConfirm

        preview = self.control.advance_preview()

        def done(ok: bool | None) -> None:
            if ok:
                self.intent("advance", self.control.advance())

        self.push_screen(AdvanceConfirm(preview), done)

    def action_force_advance(self) -> None:
        from gonogo.screens.confirm import TypedConfirm

        preview = self.control.advance_preview()
        body = (f"Force {preview.from_stage or 'start'} → {preview.to_stage or 'stable'} past: "
                + ("; ".join(preview.blockers) or "nothing blocks it"))

        def done(reason: str | None) -> None:
            if reason is not None:
                self.intent("force advance", self.control.force_advance(reason))

        self.push_screen(TypedConfirm("Force advance", body, self.plan.release.name), done)

    def action_confirm(self) -> None:
        """Confirm what the engine waits for: a manual traffic shift or a manual runbook step."""
        running = next((st for st in self.state.runbook if st.status == "running"), None)
        step = self.control.steps.get(running.id) if running is not None else None
        if running is not None and step is not None and step.action == "manual":
            self.intent("confirm step", self.control.confirm_step(running.id, ""))
        else:
            self.intent("confirm traffic", self.control.confirm_traffic(""))

    def action_pause(self) -> None:
        if not self.control.driving:
            self.intent("pause request", self.control.pause(f"{self.control.actor} asks for a pause"))
            self.notify("pause requested: the driver decides")
            return
        if self.state.phase is Phase.PAUSED:
            self.intent("resume", self.control.resume())
        else:
            self.intent("pause", self.control.pause())

    def action_rollback(self) -> None:
        from gonogo.screens.confirm import TypedConfirm

        body = (f"Shift all traffic back to {self.plan.release.previous or 'the stable release'} "
                f"and run the {len(self.plan.runbook.steps)}-step rollback runbook.")

        def done(reason: str | None) -> None:
            if reason is not None:
                self.intent("rollback", self.control.rollback(reason))
                self.action_runbook()

        title = "Roll back" if self.control.driving else "Propose a rollback to the driver"
        self.push_screen(TypedConfirm(title, body, self.plan.release.name), done)

    def _show(self, screen_type: type[Screen[Any]], factory: Callable[[], Screen[Any]]) -> None:
        if isinstance(self.screen, screen_type):
            return
        self.push_screen(factory())

    def action_owners(self) -> None:
        from gonogo.screens.owners import OwnersScreen

        self._show(OwnersScreen, OwnersScreen)

    def action_log(self) -> None:
        from gonogo.screens.session_log import SessionLogScreen

        self._show(SessionLogScreen, SessionLogScreen)

    def action_canary(self) -> None:
        from gonogo.screens.canary_detail import CanaryDetailScreen

        self._show(CanaryDetailScreen, CanaryDetailScreen)

    def action_runbook(self) -> None:
        from gonogo.screens.runbook import RunbookScreen

        self._show(RunbookScreen, RunbookScreen)

    def action_help(self) -> None:
        from gonogo.screens.help import HelpScreen

        self._show(HelpScreen, HelpScreen)

    def action_filter(self) -> None:
        from gonogo.screens.dashboard import DashboardScreen

        while len(self.screen_stack) > 1 and not isinstance(self.screen, DashboardScreen):
            self.pop_screen()
        if isinstance(self.screen, DashboardScreen):
            self.screen.open_filter()

    def action_next_theme(self) -> None:
        names = list(THEME_NAMES)
        current = names.index(self.theme) if self.theme in names else -1
        self.theme = names[(current + 1) % len(names)]
        self.notify(f"theme: {self.theme}", timeout=2)

    async def action_quit(self) -> None:
        """ctrl+q and the palette's Quit ask too while a rollout is active."""
        self.action_quit_panel()

    def action_quit_panel(self) -> None:
        if not is_active(self.state) or not self.control.driving:  # a watcher leaves freely
            self.exit(0)
            return
        from gonogo.screens.confirm import QuitConfirm

        def done(ok: bool | None) -> None:
            if ok:
                self.exit(0)  # the command prints the resume hint, once

        self.push_screen(QuitConfirm(self.state, self.session_dir, self.plan.source,
                                     resume=self.exit_hint), done)

    # the command palette offers every action ----------------------------------
    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        keymap = getattr(self, "_keymap", {})
        for ident, key, action, desc in KEYS:
            shown = keymap.get(ident, key)
            # the palette parses its texts as markup; keys come from the config
            yield SystemCommand(desc, escape(printable(f"key {display_key(shown)} · binding id {ident}")),
                                _runner(self, action))
        for name in THEME_NAMES:
            yield SystemCommand(f"Theme: {name}", "switch the colour theme",
                                _setter(self, name))
        yield from super().get_system_commands(screen)




def _runner(app: GonogoApp, action: str) -> Callable[[], Any]:
    return lambda: app.run_action(action)


def _setter(app: GonogoApp, name: str) -> Callable[[], None]:
    def apply() -> None:
        app.theme = name

    return apply


def _describe(exc: BaseException) -> str:
    if isinstance(exc, EngineRefused):
        return str(exc)
    return describe_error(exc)
