"""Canary detail: larger charts of canary against baseline with the threshold line."""

from __future__ import annotations

from gonogo.screens.base import DetailScreen
from rich.console import Group, RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Label, Static

from gonogo.untrusted import printable
from gonogo.widgets.canary import legend, metric_chart, values_line
from gonogo.widgets.keybar import KeyBar
from gonogo.widgets.palette import rule_style
from gonogo.widgets.view import (
    RULE_GLYPH,
    fmt_span,
    fmt_value,
    rule_state_text,
)


class CanaryDetailScreen(DetailScreen):
    def compose(self) -> ComposeResult:
        yield Label("Canary analysis — canary vs baseline", classes="screen-title")
        yield VerticalScroll(id="canary-charts")
        yield KeyBar()

    def refresh_state(self) -> None:
        box = self.query_one("#canary-charts", VerticalScroll)
        plan, evaluations = self.panel.plan, self.panel.state.evaluations
        statics = list(box.query(Static))
        height = max(3, min(8, (self.size.height - 4) // max(1, len(plan.canary.metrics)) - 3))
        for i, metric in enumerate(plan.canary.metrics):
            ev = evaluations.get(metric.id)
            head = Text()
            head.append(printable(metric.title or metric.id), style="bold")
            head.append(f"  rule {metric.rule}", style="dim")
            if metric.rule == "ratio_above":
                head.append(f" > {metric.factor:g}× baseline for {fmt_span(metric.duration.seconds)}", style="dim")
            elif metric.rule == "above":
                head.append(f" > {printable(fmt_value(metric.threshold, metric.unit))} for "
                            f"{fmt_span(metric.duration.seconds)}", style="dim")
            elif metric.rule == "rising":
                head.append(f" over {fmt_span(metric.window.seconds)}", style="dim")
            if not metric.stop:
                head.append("  (shown only)", style="dim")
            if ev is None:
                body: RenderableType = Group(head, Text("? inconclusive: no data yet",
                                                style=rule_style(self.app, "inconclusive")))
            else:
                state = ev.state
                line = Text()
                line.append(f"{RULE_GLYPH.get(state, '?')} {rule_state_text(ev)}  ",
                            style=f"bold {rule_style(self.app, state)}")
                line.append(printable(values_line(ev, metric.unit or ev.unit)))
                if ev.reason:
                    line.append(f"  — {printable(ev.reason)}", style="dim")
                body = Group(head, line, metric_chart(self.app, ev, height), legend(self.app))
            if i < len(statics):
                statics[i].update(body)
            else:
                box.mount(Static(body, classes="canary-block"))
