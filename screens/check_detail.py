"""Check detail: summary, details, evidence (already redacted), history, re-run."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import ClassVar

from gonogo.screens.base import DetailScreen
from gonogo.screens.confirm import SignOffDialog
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Label, Static

from gonogo.model import CheckResult, Status
from gonogo.rollout.events import CheckRecorded
from gonogo.rollout.journal import Event
from gonogo.untrusted import printable, printable_lines
from gonogo.widgets.checklist import fmt_ms
from gonogo.widgets.keybar import KeyBar
from gonogo.widgets.palette import status_style


def history(events: Sequence[Event], check_id: str) -> list[CheckResult]:
    """Every journalled result of one check, oldest first."""
    return [
        event.body.result.to_result()
        for event in events
        if isinstance(event.body, CheckRecorded) and event.body.result.id == check_id
    ]


class CheckDetailScreen(DetailScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "rerun", "Re-run", id="rerun_check"),
        Binding("s", "sign_off", "Sign off", id="sign_off"),
    ]

    def __init__(self, check_id: str) -> None:
        super().__init__()
        self.check_id = check_id

    def compose(self) -> ComposeResult:
        yield Label("", id="detail-title", classes="screen-title")
        with VerticalScroll(id="detail-body"):
            yield Static(id="detail-summary")
            yield Label("Details", classes="box-title")
            yield Static(id="detail-details")
            yield Label("Evidence", classes="box-title")
            yield Static(id="detail-evidence")
            yield Label("History", classes="box-title")
            yield Static(id="detail-history")
        yield KeyBar()

    def refresh_state(self) -> None:
        plan = self.panel.plan
        try:
            spec = plan.check(self.check_id)
        except KeyError:
            self.query_one("#detail-title", Label).update(Text(printable(f"no check {self.check_id!r}")))
            return
        result = self.panel.state.results.get(self.check_id)
        status = result.status if result else Status.PENDING
        title = Text()
        title.append(f"{status.glyph} {status.value.upper()} ", style=status_style(self.app, status, True))
        title.append(f"{printable(spec.title)}  ", style="bold")
        title.append(printable(f"[{spec.id} · {spec.kind}{'' if spec.required else ' · optional'}]"),
                     style="dim")
        self.query_one("#detail-title", Label).update(title)
        summary = Text()
        if result is None:
            summary.append("Not run yet. Press enter to run it.")
        else:
            summary.append(printable(result.summary) or "(no summary)")
            summary.append(f"\n{fmt_ms(result.duration_ms)} · {result.attempts} attempt(s)", style="dim")
        if spec.description:
            summary.append("\n" + "\n".join(printable_lines(spec.description)), style="italic")
        if spec.seed:
            summary.append(f"\nchecklist item: {printable(spec.seed)}", style="dim")
        signoff = self.panel.state.signoffs.get(self.check_id)
        if signoff is not None:
            who = (f"AUTOMATICALLY ({signoff.rule}), by no person" if signoff.automatic
                   else f"by {signoff.actor}" + (f" as {signoff.role}" if signoff.role else ""))
            said = f"signed off {who}" + (f": {signoff.note}" if signoff.note else "")
            summary.append("\n" + printable(said))
        self.query_one("#detail-summary", Static).update(summary)
        details = ("\n".join(line for d in result.details for line in printable_lines(d))
                   if result and result.details else "–")
        self.query_one("#detail-details", Static).update(Text(details))
        evidence = json.dumps(dict(result.evidence), indent=2, sort_keys=True, default=str) \
            if result and result.evidence else "–"
        self.query_one("#detail-evidence", Static).update(Text(printable(evidence, newlines=True)))
        rows = history(self.panel.events, self.check_id)
        hist = Text()
        for past in rows[-20:]:
            hist.append(f"{past.status.glyph} {past.status.value:<8}", style=status_style(self.app, past.status))
            hist.append(f" {fmt_ms(past.duration_ms):>7}  {printable(past.summary)}\n")
        self.query_one("#detail-history", Static).update(hist if rows else Text("–"))

    def action_rerun(self) -> None:
        self.panel.run_check(self.check_id)
        self.notify(printable(f"re-running {self.check_id}"), timeout=2, markup=False)

    def action_sign_off(self) -> None:
        spec = self.panel.plan.check(self.check_id)
        if spec.kind != "manual":
            self.notify("only manual checks take a sign-off", severity="warning")
            return
        role = str(getattr(spec.params, "who", "") or "")
        owner = self.panel.state.owners.get(role, "") if role else ""
        signer = self.panel.control.actor
        dialog = SignOffDialog(self.check_id, spec.title, role, owner, signer,
                               str(getattr(spec.params, "instructions", "") or ""))

        def signed(note: str | None) -> None:
            if note:
                self.panel.intent("sign off", self.panel.control.sign_off(self.check_id, note))

        self.app.push_screen(dialog, signed)
