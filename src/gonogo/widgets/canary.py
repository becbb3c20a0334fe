"""Canary sparklines: per metric, canary against baseline with the threshold and the rule state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import App
from textual.reactive import reactive
from textual.widget import Widget

from gonogo.config import CanaryMetric
from gonogo.rollout.analysis import RuleEvaluation
from gonogo.untrusted import printable
from gonogo.widgets.braille import BrailleChart, value_range
from gonogo.widgets.palette import colour, rule_style
from gonogo.widgets.view import RULE_GLYPH, fmt_value, rule_state_text, rule_values_text

Series = list[float | None]


def chart_series(ev: RuleEvaluation) -> tuple[Series, Series, Series]:
    """(canary, baseline, threshold) series from an evaluation's recent samples."""
    canary: Series = [c for _, c, _ in ev.series]
    baseline: Series = [b for _, _, b in ev.series]
    threshold: Series = [ev.threshold] * len(ev.series) if ev.threshold is not None else []
    return canary, baseline, threshold


def values_line(ev: RuleEvaluation, unit: str = "") -> str:
    """The values behind a judgement. A baseline carried over from an earlier stage (at
    100 % none gets baseline traffic) comes first, with the stage that measured it, so
    that a narrow column still shows where it came from."""
    if not ev.baseline_from:
        return rule_values_text(ev, unit)
    text = (f"baseline from {ev.baseline_from}: {fmt_value(ev.baseline, unit)} · "
            f"canary {fmt_value(ev.canary, unit)}")
    if ev.threshold is not None:
        text += f" · limit {fmt_value(ev.threshold, unit)}"
    return text


def metric_chart(app: App[Any], ev: RuleEvaluation, height: int,
                 width: int | None = None) -> BrailleChart:
    canary, baseline, threshold = chart_series(ev)
    styles = [colour(app, "canary"), colour(app, "threshold"), colour(app, "baseline")]
    # priority: canary over the threshold line over the baseline
    return BrailleChart(
        [canary, threshold, baseline], styles, height=height, width=width,
        y_range=value_range([canary, baseline, threshold]),
    )


def legend(app: App[Any]) -> Text:
    text = Text(no_wrap=True)
    text.append("━ canary ", style=colour(app, "canary"))
    text.append("━ baseline ", style=colour(app, "baseline"))
    text.append("━ threshold", style=colour(app, "threshold"))
    return text


class CanaryPanel(Widget):
    """One block per ``[[canary.metrics]]``; a metric without data is ``inconclusive``."""

    DEFAULT_CSS = """
    CanaryPanel { height: auto; }
    """

    evaluations: reactive[Mapping[str, RuleEvaluation]] = reactive(dict)
    """The latest judgement per metric id (the fold keeps the same mapping between polls)."""

    def __init__(self, metrics: Sequence[CanaryMetric], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.metrics = tuple(metrics)

    def watch_evaluations(self, old: Mapping[str, RuleEvaluation],
                          new: Mapping[str, RuleEvaluation]) -> None:
        # a metric's first data turns one line into two: only then does the height change
        if set(old) != set(new):
            self.refresh(layout=True)

    @property
    def chart_height(self) -> int:
        # from the terminal, not this widget's (still settling) layout: the first
        # frame is already the final one, and a scrollbar cannot start a resize loop
        term_h = self.app.size.height
        return 1 if term_h < 30 else (2 if term_h < 50 else 3)

    def render(self) -> RenderableType:
        chart_height = self.chart_height
        own_w = self.content_size.width or self.app.size.width // 2
        chart_w = max(10, min(40, own_w * 9 // 20))
        blocks: list[RenderableType] = [legend(self.app)]
        for metric in self.metrics:
            ev = self.evaluations.get(metric.id)
            title = printable(metric.title or metric.id)
            grid = Table.grid(expand=True, padding=(0, 1))
            grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
            grid.add_column(width=chart_w, no_wrap=True)
            head = Text(no_wrap=True, overflow="ellipsis")
            if ev is None:
                head.append(f"? {title}  ", style="bold")
                head.append("inconclusive: no data yet", style=rule_style(self.app, "inconclusive"))
                grid.add_row(head, Text(""))
            else:
                style = rule_style(self.app, ev.state)
                head.append(f"{RULE_GLYPH.get(ev.state, '?')} ", style=f"bold {style}")
                head.append(f"{title}  ", style="bold")
                head.append(rule_state_text(ev), style=f"bold {style}")
                values = Text(printable(values_line(ev, metric.unit or ev.unit)), style="dim",
                              no_wrap=True, overflow="ellipsis")
                if ev.state == "inconclusive" and ev.reason:
                    values = Text(printable(ev.reason), style="dim", no_wrap=True, overflow="ellipsis")
                left: RenderableType = Group(head, values) if chart_height > 1 else head
                grid.add_row(left, metric_chart(self.app, ev, chart_height))
            blocks.append(grid)
        if not self.metrics:
            blocks.append(Text("no canary metrics configured", style="dim"))
        return Group(*blocks)
