"""Help: every key, its binding id (for [keys] in the config) and what it does."""

from __future__ import annotations

from gonogo.screens.base import DetailScreen
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Label, Static

from gonogo.untrusted import printable
from gonogo.widgets.keybar import KeyBar
from gonogo.widgets.keys import KEYS, display_key

# What each global key does, in full (the footer shows the short label).
LONG = {
    "run_checks": "run every check of the checklist (results stream in)",
    "advance": "advance to the next stage; the dialog shows weight, hold and checks first",
    "pause": "pause or resume the current stage's hold",
    "rollback": "roll back: type the release name to confirm; runs the runbook",
    "canary": "canary detail: canary vs baseline charts with thresholds",
    "log": "session log (filterable, follows live)",
    "owners": "owners editor (written back to the config, comments kept)",
    "help": "this help",
    "quit": "quit (asks while a rollout is active; the journal lets you resume)",
    "runbook": "rollback runbook: steps, outcomes, reconciliation",
    "theme": "next colour theme",
    "filter": "filter the checklist",
    "palette": "command palette: every action and theme",
    "force_advance": "force the next stage past its blockers (typed confirmation)",
    "confirm": "confirm a manual traffic shift or manual runbook step",
}

SCREEN_KEYS = (
    ("open_check", "enter", "open the selected check (dashboard); re-run it (check detail)"),
    ("rerun_check", "enter", "re-run the check (check detail)"),
    ("sign_off", "s", "sign off a manual check (check detail)"),
    ("runbook_retry", "y", "retry the failed runbook step (runbook)"),
    ("runbook_skip", "s", "skip the failed runbook step (runbook)"),
    ("reconcile", "m", "mark a reconciliation item done (runbook)"),
    ("edit_owner", "enter", "edit the selected owner (owners)"),
    ("log_filter", "slash", "filter the events: words, kind:NAME, actor:NAME, -word excludes; "
                            "enter keeps it, escape clears it (session log)"),
    ("log_kind", "f", "pick one kind of event to show (session log)"),
    ("log_samples", "s", "show or hide the metric samples, hidden at first (session log)"),
    ("log_open", "enter", "show the event under the cursor in full (session log)"),
    ("log_follow", "end,G", "go to the newest event and follow new ones (session log)"),
    ("clear_filter", "escape", "clear the filter (checklist, session log)"),
    ("back", "escape", "back to the previous screen"),
)


def help_table(keymap: dict[str, list[str] | str]) -> Table:
    table = Table(expand=True, box=None, padding=(0, 2))
    table.add_column("key", no_wrap=True, style="bold")
    table.add_column("does")
    table.add_column("binding id", style="dim", no_wrap=True)

    def key_of(ident: str, default: str) -> str:
        keys = keymap.get(ident, default)
        if isinstance(keys, list):
            keys = ",".join(keys)
        return ", ".join(display_key(k.strip()) for k in str(keys).split(","))

    # Text cells: a str cell is parsed as Rich markup, and keys come from the config
    for ident, key, _, desc in KEYS:
        table.add_row(Text(printable(key_of(ident, key))), Text(LONG.get(ident, desc)), Text(ident))
    for ident, key, desc in SCREEN_KEYS:
        table.add_row(Text(printable(key_of(ident, key))), Text(desc), Text(ident))
    return table


class HelpScreen(DetailScreen):
    def compose(self) -> ComposeResult:
        yield Label(Text('Keys — rebind any in the config\'s [keys] table: binding_id = "key"'),
                    classes="screen-title")
        with VerticalScroll():
            yield Static(id="help-keys")
            yield Static("Statuses: ✔ pass  ✘ fail  ▲ warn  ! error  – skipped  … pending  "
                         "? inconclusive", id="help-glyphs")
        yield KeyBar()

    def refresh_state(self) -> None:
        self.query_one("#help-keys", Static).update(help_table(getattr(self.app, "_keymap", {})))
