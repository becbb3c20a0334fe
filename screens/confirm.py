"""Confirmations: advance (shows what will happen), typed confirmations for
destructive actions (rollback, force advance), and quitting mid-rollout."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from gonogo.rollout.phases import AdvancePreview
from gonogo.rollout.state import RolloutState
from gonogo.untrusted import printable
from gonogo.widgets.view import current_stage, fmt_duration, fmt_weight, phase_text

if TYPE_CHECKING:  # pragma: no cover
    from gonogo.app import GonogoApp


def advance_lines(preview: AdvancePreview) -> list[str]:
    """What an advance will do, in the operator's terms."""
    lines = [
        f"Stage:   {preview.from_stage or 'start'} → {preview.to_stage or 'stable'}",
        f"Traffic: {fmt_weight(preview.weight_from)} → {fmt_weight(preview.weight_to)}",
        (f"Hold:    {fmt_duration(preview.hold_elapsed_s)} elapsed of "
         f"{fmt_duration(preview.hold_required_s)}" if preview.hold_required_s > 0 else
         "Hold:    none" + (" (the rollout starts here)" if preview.from_stage is None else "")),
        (f"Checks:  {preview.checks_passed}/{preview.checks_total} exit checks passed"
         if preview.checks_total else "Checks:  no exit checks for this stage"),
    ]
    if preview.blockers:
        lines.append("")
        lines.append("Blocked by:")
        lines.extend(f"  ✘ {b}" for b in preview.blockers)
    if preview.signoffs:
        need = preview.signoffs[0]
        lines.append("")
        lines.append(f"s signs off {need.check_id} here (as you; its owner is {need.who}); "
                     f"or: gonogo signoff {need.check_id} --as NAME --note TEXT")
    return lines


class AdvanceConfirm(ModalScreen[bool]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="confirm_cancel"),
        Binding("y", "confirm", "Advance", id="confirm_yes"),
        Binding("s", "sign_off", "Sign off", id="confirm_sign_off"),
    ]

    def __init__(self, preview: AdvancePreview) -> None:
        super().__init__(classes="dialog-screen")
        self.preview = preview

    def _title(self) -> str:
        return "Advance the rollout?" if self.preview.can_advance else "Cannot advance yet"

    def _body(self) -> Text:
        return Text("\n".join(printable(line) for line in advance_lines(self.preview)))

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self._title(), classes="dialog-title", id="advance-title")
            yield Static(self._body(), id="advance-preview")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Advance (y)", variant="primary", id="yes")
                yield Button("Cancel (esc)", id="no")

    def on_mount(self) -> None:
        self.query_one("#yes", Button).display = self.preview.can_advance

    def show_preview(self, preview: AdvancePreview) -> None:
        """Follow the rollout while open: an exit check finishing, a hold running out or
        a metric starting to breach changes what the dialog offers (y acts on what is
        shown, never on what was true when it opened)."""
        if preview == self.preview:
            return
        self.preview = preview
        self.query_one("#advance-title", Label).update(self._title())
        self.query_one("#advance-preview", Static).update(self._body())
        self.query_one("#yes", Button).display = preview.can_advance

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_confirm(self) -> None:
        if self.preview.can_advance:
            self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)

    def action_sign_off(self) -> None:
        """Offer the sign-off the advance is blocked on: the sign-off dialog, here."""
        if not self.preview.signoffs:
            return
        app = cast("GonogoApp", self.app)
        need = self.preview.signoffs[0]
        try:
            spec = app.plan.check(need.check_id)
            title = spec.title
            instructions = str(getattr(spec.params, "instructions", "") or "")
        except KeyError:
            title, instructions = need.check_id, ""

        def signed(note: str | None) -> None:
            if note:
                app.intent("sign off", app.control.sign_off(need.check_id, note))

        app.push_screen(SignOffDialog(need.check_id, title, need.role, need.owner,
                                      app.control.actor, instructions), signed)


class TypedConfirm(ModalScreen[str | None]):
    """Proceeds only when the operator types ``expected`` exactly; returns the reason."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="confirm_cancel"),
    ]

    def __init__(self, title: str, body: str, expected: str) -> None:
        super().__init__(classes="dialog-screen")
        self.title_text = title
        self.body = body
        self.expected = expected

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog danger"):
            yield Label(Text(printable(self.title_text)), classes="dialog-title")
            yield Static(Text(printable(self.body, newlines=True)))
            yield Label(Text(f"Type the release name ({printable(self.expected)}) to confirm:"))
            yield Input(placeholder=printable(self.expected), id="typed")
            yield Label("Reason (goes into the session log):")
            yield Input(placeholder="why", id="reason")
            yield Static("", id="typed-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button(Text(printable(self.title_text)), variant="error", id="yes")
                yield Button("Cancel (esc)", id="no")

    def on_mount(self) -> None:
        self.query_one("#typed", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "typed":
            self.query_one("#reason", Input).focus()
        else:
            self._try()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "yes":
            self._try()
        else:
            self.dismiss(None)

    def _try(self) -> None:
        typed = self.query_one("#typed", Input).value
        if typed != self.expected:
            self.query_one("#typed-error", Static).update(
                Text(printable(f"✘ that is not {self.expected!r}; nothing was done")))
            self.query_one("#typed", Input).focus()
            return
        reason = self.query_one("#reason", Input).value.strip() or "operator decision"
        self.dismiss(reason)

    def action_cancel(self) -> None:
        self.dismiss(None)


class SignOffDialog(ModalScreen[str | None]):
    """A sign-off needs a note; the dialog says who signs and for which role."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="confirm_cancel"),
    ]

    def __init__(self, check_id: str, title: str, role: str, owner: str, signer: str,
                 instructions: str = "") -> None:
        super().__init__(classes="dialog-screen")
        self.check_id = check_id
        self.lines = [f"{title}  [{check_id}]"]
        if role:
            self.lines.append(f"Signed by its owner role {role}: {owner or 'no owner named yet'}.")
        self.lines.append(f"You sign as {signer}.")
        if instructions:
            self.lines.append(f"To do: {instructions}")

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(printable(f"Sign off {self.check_id}")), classes="dialog-title")
            yield Static(Text("\n".join(printable(line) for line in self.lines)))
            yield Label("Note (required; goes into the session log): what was checked, and how")
            yield Input(placeholder="e.g. walked the six journeys on staging, all fine", id="note")
            yield Static("", id="note-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Sign off (enter)", variant="primary", id="yes")
                yield Button("Cancel (esc)", id="no")

    def on_mount(self) -> None:
        self.query_one("#note", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._try()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "yes":
            self._try()
        else:
            self.dismiss(None)

    def _try(self) -> None:
        note = self.query_one("#note", Input).value.strip()
        if not note:
            self.query_one("#note-error", Static).update(Text("✘ a sign-off needs a note"))
            return
        self.dismiss(note)

    def action_cancel(self) -> None:
        self.dismiss(None)


class QuitConfirm(ModalScreen[bool]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Stay", id="confirm_cancel"),
        Binding("y", "confirm", "Quit", id="confirm_yes"),
    ]

    def __init__(self, state: RolloutState, session_dir: str, config: str, *,
                 resume: str = "") -> None:
        super().__init__(classes="dialog-screen")
        self.state = state
        self.session_dir = session_dir
        self.config = config
        self.resume = resume  # the command that resumes this session, when the CLI knows it

    def compose(self) -> ComposeResult:
        stage = current_stage(self.state)
        where = f"{stage.title or stage.id}" if stage else "the start"
        text = (
            f"The rollout is {phase_text(self.state.phase).lower()} at {where} "
            f"with {fmt_weight(self.state.weight_confirmed)} of traffic.\n"
            "Quitting does not stop or roll back the rollout: traffic stays where it is.\n"
            + (f"Resume with:  {self.resume}" if self.resume else
               f"Resume from the journal with:  gonogo tui --config {self.config or '<config>'}"
               + (f" --session {self.session_dir}" if self.session_dir else ""))
        )
        with Vertical(classes="dialog"):
            yield Label("Quit while a rollout is active?", classes="dialog-title")
            yield Static(Text(printable(text, newlines=True)))
            with Horizontal(classes="dialog-buttons"):
                yield Button("Quit (y)", variant="warning", id="yes")
                yield Button("Stay (esc)", id="no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
