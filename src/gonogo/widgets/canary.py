"""Canary sparklines: per metric, canary against baseline with the threshold and the rule state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.text import Text
from textual.app import App
from textual.reactive import reactive

from gonogo.config import CanaryMetric
from gonogo.rollout.analysis import SERIES_POINTS, RuleEvaluation
from gonogo.untrusted import printable
from gonogo.widgets.braille import BrailleChart, PagedWindow, paged_plot, value_range
from gonogo.widgets.lines import LineView, columns
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


class CanaryPanel(LineView):
    """One block per ``[[canary.metrics]]``; a metric without data is ``inconclusive``.

    Each chart pages rather than scrolls (``braille.PagedWindow``): a new sample adds a
    column at its right, so an update repaints a few cells per metric, not the panel.
    """

    DEFAULT_CSS = """
    CanaryPanel { height: auto; }
    """

    evaluations: reactive[Mapping[str, RuleEvaluation]] = reactive(dict, repaint=False)
    """The latest judgement per metric id (the fold keeps the same mapping between polls)."""

    def __init__(self, metrics: Sequence[CanaryMetric], *, title: str = "", id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(title=title, id=id, classes=classes)
        self.metrics = tuple(metrics)
        self._windows: dict[str, PagedWindow] = {}

    def watch_evaluations(self) -> None:
        self.changed()

    @property
    def chart_height(self) -> int:
        # from the terminal, not this widget's (still settling) layout: the first
        # frame is already the final one, and a scrollbar cannot start a resize loop
        term_h = self.app.size.height
        return 1 if term_h < 30 else (2 if term_h < 50 else 3)

    def layout_key(self) -> object:
        return self.chart_height

    def lines(self, width: int) -> list[Text]:
        chart_height = self.chart_height
        chart_w = max(10, min(40, width * 9 // 20))
        left_w = max(1, width - chart_w - 1)
        out = [legend(self.app)]
        for metric in self.metrics:
            ev = self.evaluations.get(metric.id)
            title = printable(metric.title or metric.id)
            head = Text(no_wrap=True, overflow="ellipsis")
            if ev is None:
                head.append(f"? {title}  ", style="bold")
                head.append("inconclusive: no data yet", style=rule_style(self.app, "inconclusive"))
                out.append(columns([(head, left_w), (Text(""), chart_w)], gap=1))
                continue
            style = rule_style(self.app, ev.state)
            head.append(f"{RULE_GLYPH.get(ev.state, '?')} ", style=f"bold {style}")
            head.append(f"{title}  ", style="bold")
            head.append(rule_state_text(ev), style=f"bold {style}")
            values = printable(values_line(ev, metric.unit or ev.unit))
            if ev.state == "inconclusive" and ev.reason:
                values = printable(ev.reason)
            left = [head, Text(values, style="dim")] if chart_height > 1 else [head]
            chart = self._chart(metric.id, ev, chart_w, chart_height)
            for row in range(chart_height):
                text = left[row] if row < len(left) else Text("")
                out.append(columns([(text, left_w), (chart[row], chart_w)], gap=1))
        if not self.metrics:
            out.append(Text("no canary metrics configured", style="dim"))
        return out

    def _chart(self, metric_id: str, ev: RuleEvaluation, width: int, height: int) -> list[Text]:
        capacity = min(SERIES_POINTS, 2 * width)
        window = self._windows.get(metric_id)
        if window is None or window.capacity != capacity:
            window = self._windows[metric_id] = PagedWindow(capacity)
        rows = paged_plot(ev.series, ev.threshold, window, width, height)
        styles = [colour(self.app, "canary"), colour(self.app, "threshold"),
                  colour(self.app, "baseline")]
        out = []
        for row in rows:
            text = Text(no_wrap=True)
            for ch, who in row:  # Text merges a run of one style into one span
                text.append(ch, styles[who] if who is not None else None)
            out.append(text)
        return out
