"""Canary detail: per metric the rule in words, the judgement, a chart of canary against
baseline and the limit with its y-scale, and a legend with the current values."""

from __future__ import annotations

from gonogo.screens.base import DetailScreen
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Label

from gonogo.widgets.canary import CanaryDetail
from gonogo.widgets.keybar import KeyBar


class CanaryDetailScreen(DetailScreen):
    def compose(self) -> ComposeResult:
        yield Label("Canary analysis — canary vs baseline", classes="screen-title")
        with VerticalScroll(id="canary-charts"):
            yield CanaryDetail(self.panel.plan.canary.metrics, id="canary-detail")
        yield KeyBar()

    def refresh_state(self) -> None:
        # the LineView repaints only the cells that changed
        self.query_one(CanaryDetail).evaluations = self.panel.state.evaluations
