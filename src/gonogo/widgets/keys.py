"""The panel's keys: binding ids, default keys, actions and footer labels.

The id is what ``[keys]`` in the config rebinds; the app, the help screen and the
command palette all read this one table.
"""

from __future__ import annotations

# id, key, action, footer description. The id is what [keys] in the config rebinds.
KEYS: tuple[tuple[str, str, str, str], ...] = (
    ("run_checks", "r", "run_checks", "Run"),
    ("advance", "a", "advance", "Advance"),
    ("pause", "p", "pause", "Pause"),
    ("rollback", "R", "rollback", "Rollback"),
    ("canary", "c", "canary", "Canary"),
    ("log", "l", "log", "Log"),
    ("owners", "o", "owners", "Owners"),
    ("help", "question_mark", "help", "Help"),
    ("quit", "q", "quit_panel", "Quit"),
    ("runbook", "b", "runbook", "Runbook"),
    ("theme", "t", "next_theme", "Theme"),
    ("filter", "slash", "filter", "Filter"),
    ("palette", "colon", "command_palette", "Commands"),
    ("force_advance", "F", "force_advance", "Force"),
    ("confirm", "C", "confirm", "Confirm"),
)
# all in the footer, most important first (80 columns show the first ten)
FOOTER_IDS = frozenset(ident for ident, *_ in KEYS)
# allowed while a confirmation dialog is open
MODAL_SAFE = frozenset({"help", "command_palette"})
# what only the driver does: disabled (shown dimmed) in a watcher's panel; a watcher's
# p requests a pause and R proposes a rollback, both journaled by the driver
DRIVER_ONLY = frozenset({"run_checks", "advance", "force_advance", "confirm"})

def display_key(key: str) -> str:
    return {"slash": "/", "colon": ":", "question_mark": "?"}.get(key, key)


# The keys of one screen (binding id, default key, what it does): listed by help and
# rebindable in [keys] like the global ones.
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
