"""Canary sparklines: per metric, canary against baseline with the threshold and the rule state."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from gonogo.widgets.braille import BrailleChart, value_range
from gonogo.widgets.palette import colour, rule_style
from gonogo.widgets.view import RULE_GLYPH, rule_state_text, rule_values_text


def chart_series(ev: Any) -> tuple[list[float | None], list[float | None], list[float | None]]:
    """(canary, baseline, threshold) series from an evaluation's recent samples."""
    series = getattr(ev, "series", ()) or ()
    canary = [c for _, c, _ in series]
    baseline = [b for _, _, b in series]
    threshold = [ev.threshold] * len(series) if ev.threshold is not None else []
    return canary, baseline, threshold


def metric_chart(app: Any, ev: Any, height: int, width: int | None = None) -> BrailleChart:
    canary, baseline, threshold = chart_series(ev)
    styles = [colour(app, "canary"), colour(app, "threshold"), colour(app, "baseline")]
    # priority: canary over the threshold line over the baseline
    return BrailleChart(
        [canary, threshold, baseline], styles, height=height, width=width,
        y_range=value_range([canary, baseline, threshold]),
    )


class CanaryPanel(Static):
    """One block per ``[[canary.metrics]]``; a metric without data is ``inconclusive``."""

    DEFAULT_CSS = """
    CanaryPanel { height: auto; }
    """


    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._args: tuple[Any, Mapping[str, Any]] | None = None
        self.chart_height = 2
        self._drawn_for: Any = None

    def show(self, plan: Any, evaluations: Mapping[str, Any]) -> None:
        if self._args is not None and self._args[1] is evaluations:
            return  # the fold keeps the same mapping when no sample arrived
        self._args = (plan, evaluations)
        self._draw()

    def redraw(self) -> None:
        if self._args is not None:
            self._draw()

    def on_resize(self) -> None:
        # Redraw for a new terminal size only: a scrollbar coming and going must not
        # start a resize -> redraw -> resize loop.
        if self.app.size != self._drawn_for:
            self.redraw()

    def _draw(self) -> None:
        assert self._args is not None
        plan, evaluations = self._args
        # sized from the terminal, not from this widget's (still settling) layout,
        # so the first frame is already the final one
        term_w, term_h = self.app.size
        self._drawn_for = self.app.size if self.content_size.width else None
        self.chart_height = 1 if term_h < 30 else (2 if term_h < 50 else 3)
        own_w = self.content_size.width or term_w // 2
        chart_w = max(10, min(40, own_w * 9 // 20))
        blocks: list[Any] = []
        legend = Text(no_wrap=True)
        legend.append("━ canary ", style=colour(self.app, "canary"))
        legend.append("━ baseline ", style=colour(self.app, "baseline"))
        legend.append("━ threshold", style=colour(self.app, "threshold"))
        blocks.append(legend)
        for metric in plan.canary.metrics:
            ev = evaluations.get(metric.id)
            title = metric.title or metric.id
            grid = Table.grid(expand=True, padding=(0, 1))
            grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
            grid.add_column(width=chart_w, no_wrap=True)
            head = Text(no_wrap=True, overflow="ellipsis")
            if ev is None:
                head.append(f"? {title}  ", style="bold")
                head.append("inconclusive: no data yet", style=rule_style(self.app, "inconclusive"))
                grid.add_row(head, Text(""))
            else:
                state = str(ev.state)
                style = rule_style(self.app, state)
                head.append(f"{RULE_GLYPH.get(state, '?')} ", style=f"bold {style}")
                head.append(f"{title}  ", style="bold")
                head.append(rule_state_text(ev), style=f"bold {style}")
                values = Text(rule_values_text(ev, metric.unit or getattr(ev, "unit", "")), style="dim", no_wrap=True,
                              overflow="ellipsis")
                if state == "inconclusive" and ev.reason:
                    values = Text(ev.reason, style="dim", no_wrap=True, overflow="ellipsis")
                left = Group(head, values) if self.chart_height > 1 else head
                grid.add_row(left, metric_chart(self.app, ev, self.chart_height))
            blocks.append(grid)
        if not plan.canary.metrics:
            blocks.append(Text("no canary metrics configured", style="dim"))
        self.update(Group(*blocks))
