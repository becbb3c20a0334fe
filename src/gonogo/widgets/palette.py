"""Rich styles from the current theme's app-specific variables (declared in gonogo.themes)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gonogo.model import Status

if TYPE_CHECKING:  # pragma: no cover
    from textual.app import App

STATUS_VARIABLE = {
    Status.PASS: "pass",
    Status.FAIL: "fail",
    Status.ERROR: "fail",
    Status.WARN: "warn",
    Status.SKIPPED: "inconclusive",
    Status.PENDING: "inconclusive",
}
RULE_VARIABLE = {"ok": "pass", "breaching": "warn", "tripped": "fail", "inconclusive": "inconclusive"}


def colour(app: App[Any], name: str) -> str:
    """A theme variable's colour, e.g. ``colour(app, "canary")``; '' when undefined."""
    value = app.theme_variables.get(name, "")
    return value.split()[0] if value else ""


def status_style(app: App[Any], status: Status, bold: bool = False) -> str:
    c = colour(app, STATUS_VARIABLE[status])
    return f"bold {c}".strip() if bold else c


def rule_style(app: App[Any], state: str) -> str:
    return colour(app, RULE_VARIABLE.get(state, "inconclusive"))
