"""Canary against baseline: per metric its state, the values judged and a paged chart.

Two views of the same rows: ``CanaryPanel`` (the dashboard's block: two lines of text
per metric and, when the block is wide enough, a small chart with its y-scale beside
them) and ``CanaryDetail`` (the canary screen: the rule in words, the judgement, a
larger chart and a legend with the current values). Both are ``LineView``s: a new
sample repaints the cells that changed, and the charts page rather than scroll.

The words come from the pure functions here and in ``rollout.analysis``
(``fmt_metric``, ``describe_rule``, the evaluation's ``reason``), so the dashboard, the
canary screen and the CLI's ``waiting:`` lines describe a rule the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.app import App
from textual.reactive import reactive

from gonogo.config import CanaryMetric
from gonogo.rollout.analysis import (
    SERIES_POINTS,
    RuleEvaluation,
    describe_rule,
    floor_governs,
    fmt_metric,
    limit_for,
)
from gonogo.untrusted import printable
from gonogo.widgets.braille import (
    LINE_STYLES,
    SERIES_ORDER,
    PagedWindow,
    line_sample,
    paged_plot,
    scale_rows,
    value_range,
)
from gonogo.widgets.lines import LineView, columns
from gonogo.widgets.palette import colour, rule_style
from gonogo.widgets.view import RULE_GLYPH, fmt_span, fmt_value, rule_state_text

MIN_CHART = 10  # cells: narrower than this a chart says nothing; the text gets the width
MAX_CHART = 40  # cells: 80 dot columns, twice the samples an evaluation keeps
TEXT_W = 38  # cells of text beside a chart: "0.002 vs 0.001 from half · limit 0.002"
SCALE_W = 6  # cells of a chart's y-scale ("200ms┤"); a wider label widens it
TITLE_KEPT = 16  # cells of a metric's title kept when a narrow row cuts it
LEGEND_NAMES = {"canary": "canary", "threshold": "limit", "baseline": "baseline"}


# what the rows say (pure) ----------------------------------------------------
def unit_of(metric: CanaryMetric | None, ev: RuleEvaluation) -> str:
    return (metric.unit if metric is not None else "") or ev.unit


def chart_limit(ev: RuleEvaluation) -> float | None:
    """The level a chart draws as the limit line: none for ``rising`` (its threshold is
    a least rise over the window, not a level)."""
    return None if ev.rule == "rising" else ev.threshold


def inconclusive_word(reason: str) -> str:
    """A short word for why a metric cannot be judged (the whole reason is on the canary
    screen): ``no data``, ``no baseline``, ``low traffic``, ``3/6 samples``."""
    if reason.startswith("no data yet"):
        return "no data yet"
    if reason.startswith("no data"):
        return "no data"
    if reason.startswith("no baseline"):
        return "no baseline"
    if reason.startswith("canary saw"):
        return "low traffic"
    if reason.startswith("canary request count unknown"):
        return "traffic unknown"
    words = reason.split()
    if len(words) >= 4 and words[1] == "of" and words[3] == "samples":
        return f"{words[0]}/{words[2]} samples"
    return "inconclusive"


def state_word(ev: RuleEvaluation | None) -> str:
    """``ok``, ``breaching 1m of 2m``, ``TRIPPED``, or why it is inconclusive."""
    if ev is None:
        return "no data yet"
    if ev.state == "inconclusive":
        return inconclusive_word(ev.reason)
    return rule_state_text(ev)


def values_texts(ev: RuleEvaluation, unit: str, metric: CanaryMetric | None = None) -> tuple[str, ...]:
    """The values judged, from the most explicit wording to the most compact (a row takes
    the first that fits): canary, baseline (and the stage it was carried from) and the
    limit, which is called a noise floor when the floor set it."""
    c, b = fmt_value(ev.canary, unit), fmt_value(ev.baseline, unit)
    limit = chart_limit(ev)
    if ev.rule == "rising":
        tail = " · rising" if ev.state in ("breaching", "tripped") else " · not rising"
    elif limit is None:
        tail = ""
    elif metric is not None and floor_governs(metric, ev.baseline):
        tail = f" · noise floor {fmt_value(limit, unit)}"
    else:
        tail = f" · limit {fmt_value(limit, unit)}"
    if ev.baseline_from:
        return (f"baseline from {ev.baseline_from}: {b} · canary {c}{tail}",
                f"{c} vs {b} from {ev.baseline_from}{tail}")
    if ev.baseline is None:
        return (f"canary {c}{tail}",)
    return (f"canary {c} · baseline {b}{tail}", f"{c} vs {b}{tail}")


def rule_line(metric: CanaryMetric, width: int = 0) -> str:
    """``limit 2× baseline for 5m`` (``≤ 2× baseline, 5m`` when that does not fit in
    ``width``), ``dry run · …`` for a metric that never stops."""
    dry = "" if metric.stop else "dry run · "
    text = printable(dry + describe_rule(metric))
    if width and not fits(text, width):
        text = printable(dry + describe_rule(metric, short=True))
    return text


def fits(text: str, width: int) -> bool:
    return cell_len(text) <= width


def cut(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells, an ellipsis marking the cut."""
    shown = Text(text)
    shown.truncate(width, overflow="ellipsis")
    return shown.plain


# what the rows look like -------------------------------------------------------
def legend(app: App[Any], ev: RuleEvaluation | None = None, unit: str = "",
           metric: CanaryMetric | None = None) -> Text:
    """The line styles, as the charts draw them (colour is never the only difference);
    with ``ev``, each with its current value."""
    text = Text(no_wrap=True)
    samples = dict(zip(SERIES_ORDER, LINE_STYLES, strict=True))
    keys = ["canary", "baseline", "threshold"]
    if ev is not None:
        if ev.baseline is None and (metric is None or not metric.baseline) and not ev.baseline_from:
            keys.remove("baseline")
        if chart_limit(ev) is None:
            keys.remove("threshold")
    for i, key in enumerate(keys):
        if i:
            text.append("  ")
        text.append(_sample(samples[key], 3 if key == "threshold" else 2), style=colour(app, key))
        text.append(f" {LEGEND_NAMES[key]}")
        if ev is None:
            continue
        if key == "canary":
            text.append(f" {fmt_value(ev.canary, unit)}", style="bold")
        elif key == "baseline":
            text.append(f" {fmt_value(ev.baseline, unit)}", style="bold")
            if ev.baseline_from:
                text.append(f" (from {ev.baseline_from})")
        else:
            text.append(f" {fmt_value(chart_limit(ev), unit)}", style="bold")
            if metric is not None and metric.rule == "ratio_above":
                text.append(" (noise floor)" if floor_governs(metric, ev.baseline)
                            else f" ({metric.factor:g}× baseline)")
    return text


_sample = cache(line_sample)  # a legend's key: drawn once per style


def chart_texts(app: App[Any], ev: RuleEvaluation, window: PagedWindow, width: int,
                height: int, unit: str, scale_w: int = 0,
                metric: CanaryMetric | None = None) -> list[Text]:
    """A chart ``width`` cells wide, scale included, and ``height`` rows: its y-scale (top
    and bottom of the range, with the unit, right-aligned in at least ``scale_w`` cells),
    then the lines. A ``ratio_above`` limit follows the baseline sample by sample."""
    lo, hi = window.y_range or _range(ev)
    limit_of = None
    if metric is not None and metric.rule == "ratio_above":
        def limit_of(baseline: float | None) -> float | None:
            return limit_for(metric, baseline)
    # two passes: the scale's width depends on the range the plot settles on
    for _ in range(2):
        scale = scale_rows(fmt_metric(lo, unit), fmt_metric(hi, unit), height, scale_w)
        rows = paged_plot(ev.series, chart_limit(ev), window, max(1, width - cell_len(scale[0])),
                          height, limit_of)
        if window.y_range == (lo, hi):
            break
        lo, hi = window.y_range or (lo, hi)
    styles = [colour(app, name) for name in SERIES_ORDER]
    out = []
    for label, row in zip(scale, rows, strict=True):
        text = Text(no_wrap=True)
        text.append(label, style="dim")
        run, owner = "", None
        for ch, who in row:  # one span per run of a series' cells (fewer styles to render)
            if who != owner and run:
                text.append(run, styles[owner] if owner is not None else None)
                run = ""
            run, owner = run + ch, who
        if run:
            text.append(run, styles[owner] if owner is not None else None)
        out.append(text)
    return out


def scale_width(ev: RuleEvaluation, window: PagedWindow | None, unit: str) -> int:
    """The cells a chart's y-scale takes (so that several charts can line up)."""
    lo, hi = (window.y_range if window is not None else None) or _range(ev)
    return max(cell_len(fmt_metric(lo, unit)), cell_len(fmt_metric(hi, unit))) + 1


def _range(ev: RuleEvaluation) -> tuple[float, float]:
    return value_range([[p[1] for p in ev.series], [p[2] for p in ev.series], [chart_limit(ev)]])


def has_points(ev: RuleEvaluation | None) -> bool:
    return ev is not None and any(c is not None or b is not None for _, c, b in ev.series)


def window_for(windows: dict[str, PagedWindow], metric_id: str, width: int) -> PagedWindow:
    capacity = min(SERIES_POINTS, 2 * width)
    window = windows.get(metric_id)
    if window is None or window.capacity != capacity:
        window = windows[metric_id] = PagedWindow(capacity)
    return window


class MetricLines(LineView):
    """Lines about the canary metrics, redrawn when their judgements change; each
    metric's chart keeps its own paged window."""

    evaluations: reactive[Mapping[str, RuleEvaluation]] = reactive(dict, repaint=False)
    """The latest judgement per metric id (the fold keeps the same mapping between polls)."""

    def __init__(self, metrics: Sequence[CanaryMetric], *, title: str = "", id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(title=title, id=id, classes=classes)
        self.metrics = tuple(metrics)
        self._windows: dict[str, PagedWindow] = {}

    def watch_evaluations(self) -> None:
        self.changed()


class CanaryPanel(MetricLines):
    """The dashboard's block: one entry per ``[[canary.metrics]]``.

    Per metric two lines — ``✔ 5xx ratio  ok`` and ``0.2% vs 0.18% · limit 0.42%`` (the
    wordier ``canary 0.2% · baseline 0.18% · limit 0.42%`` when it fits) — and, when the
    block leaves at least ``MIN_CHART`` cells beside the text, a chart with its y-scale.
    From 50 rows a third line says the rule. A metric without data gives its text the
    whole width (an empty chart says nothing). Each chart pages rather than scrolls
    (``braille.PagedWindow``): a new sample adds a column at its right, so an update
    repaints a few cells per metric, not the panel.
    """

    DEFAULT_CSS = """
    CanaryPanel { height: auto; }
    """

    @property
    def rows_per_metric(self) -> int:
        # from the terminal, not this widget's (still settling) layout: the first
        # frame is already the final one, and a scrollbar cannot start a resize loop
        return 3 if self.app.size.height >= 50 else 2

    def layout_key(self) -> object:
        return self.rows_per_metric

    def lines(self, width: int) -> list[Text]:
        height = self.rows_per_metric
        if not self.metrics:
            return [Text("no canary metrics configured", style="dim")]
        entries = [(m, self.evaluations.get(m.id)) for m in self.metrics]
        # Where the chart starts depends on the block's width only (and on a scale wider
        # than SCALE_W, which changes with a page): a value or a state that grows by a
        # digit must not move every chart, or each poll would repaint the whole block.
        charted = [(m, ev) for m, ev in entries if ev is not None and has_points(ev)]
        scale_w = max([SCALE_W] + [scale_width(ev, self._windows.get(m.id), unit_of(m, ev))
                                   for m, ev in charted])
        text_w = max(TEXT_W, width - 1 - MAX_CHART - scale_w)
        charts = bool(charted) and width - text_w - 1 - scale_w >= MIN_CHART
        chart_w = width - text_w - 1 if charts else 0
        text_w = text_w if charts else width
        # one wording for every row: the most explicit that fits them all
        wordings = [self._texts(m, ev) for m, ev in entries]
        pick = next((i for i in range(2) if all(fits(t[min(i, len(t) - 1)], text_w)
                                                for t in wordings if len(t) > 1)), 1)
        out = [legend(self.app)] if charts else []
        for (metric, ev), texts in zip(entries, wordings, strict=True):
            head = self._head(metric, ev, text_w)
            if ev is None:  # not polled yet (before the canary stage): one line
                out.append(head)
                continue
            second = texts[min(pick, len(texts) - 1)]
            lines = [head, Text(second, style="" if ev.state == "inconclusive" else "dim")]
            if height >= 3:
                lines.append(Text(rule_line(metric, text_w), style="dim"))
            if not charts or not has_points(ev):
                out.extend(lines)
                continue
            window = window_for(self._windows, metric.id, chart_w - scale_w)
            chart = chart_texts(self.app, ev, window, chart_w, height, unit_of(metric, ev), scale_w,
                                metric)
            out.extend(columns([(text, text_w), (row, chart_w)], gap=1)
                       for text, row in zip(lines, chart, strict=True))
        return out

    def _head(self, metric: CanaryMetric, ev: RuleEvaluation | None, width: int) -> Text:
        """``✔ 5xx ratio  ok``: the state is never cut (``breach 1m/2m`` where
        ``breaching 1m of 2m`` does not fit); the title is, to TITLE_KEPT cells at least."""
        title = printable(metric.title or metric.id)
        state = "inconclusive" if ev is None else ev.state
        word = printable(state_word(ev))
        if 4 + min(cell_len(title), TITLE_KEPT) + cell_len(word) > width and ev is not None \
                and ev.state == "breaching":
            word = f"breach {fmt_span(ev.breach_s)}/{fmt_span(ev.required_s)}"
        room = max(TITLE_KEPT, width - 4 - cell_len(word))
        if cell_len(title) > room:
            title = cut(title, room)
        style = rule_style(self.app, state)
        head = Text(no_wrap=True, overflow="ellipsis")
        head.append(f"{RULE_GLYPH.get(state, '?')} ", style=f"bold {style}")
        head.append(f"{title}  ", style="bold")
        head.append(word, style=f"bold {style}")
        return head

    @staticmethod
    def _texts(metric: CanaryMetric, ev: RuleEvaluation | None) -> tuple[str, ...]:
        """The second line's wordings, longest first."""
        if ev is None:
            return ("",)
        if ev.state == "inconclusive":
            return (printable(ev.reason),)
        return tuple(printable(t) for t in values_texts(ev, unit_of(metric, ev), metric))


class CanaryDetail(MetricLines):
    """The canary screen's body: per metric the rule in words, the judgement with its
    reason, a chart of ``chart_height`` rows with its y-scale, and a legend that gives
    each line's style and current value."""

    DEFAULT_CSS = """
    CanaryDetail { height: auto; }
    """

    @property
    def chart_height(self) -> int:
        # each block: title, judgement, chart, legend, a blank line; the screen keeps
        # two rows (title bar, footer). Two rows at least, eight at most; more scroll.
        per_metric = (self.app.size.height - 2) // max(1, len(self.metrics))
        return max(2, min(8, per_metric - 4))

    def layout_key(self) -> object:
        return self.chart_height

    def lines(self, width: int) -> list[Text]:
        height = self.chart_height
        out: list[Text] = []
        for i, metric in enumerate(self.metrics):
            if i:
                out.append(Text(""))
            ev = self.evaluations.get(metric.id)
            head = Text(no_wrap=True)
            head.append(printable(metric.title or metric.id), style="bold")
            head.append(f"  {metric.rule}: {printable(describe_rule(metric))}", style="dim")
            if not metric.stop:
                head.append("  (dry run: never stops the rollout)", style="dim")
            out.extend(self._wrapped(head, width))
            state = "inconclusive" if ev is None else ev.state
            style = rule_style(self.app, state)
            judged = Text(no_wrap=True)
            judged.append(f"{RULE_GLYPH.get(state, '?')} ", style=f"bold {style}")
            if ev is None:
                judged.append("inconclusive", style=f"bold {style}")
                judged.append(" — no data yet: the canary has not been polled")
                out.extend(self._wrapped(judged, width))
                continue
            judged.append(rule_state_text(ev), style=f"bold {style}")
            if ev.reason:
                judged.append(f" — {printable(ev.reason)}")
            out.extend(self._wrapped(judged, width))
            unit = unit_of(metric, ev)
            if has_points(ev):
                window = window_for(self._windows, metric.id, width - 7)
                scale_w = scale_width(ev, window, unit)
                out.extend(chart_texts(self.app, ev, window, width, height, unit, scale_w, metric))
                key = Text(" " * scale_w, no_wrap=True)
            else:
                key = Text(no_wrap=True)
            key.append_text(legend(self.app, ev, unit, metric))
            out.append(key)
        if not self.metrics:
            out.append(Text("no canary metrics configured", style="dim"))
        return out

    def _wrapped(self, text: Text, width: int) -> list[Text]:
        """``text`` on as many lines as it needs (a reason is never cut on this screen)."""
        text.no_wrap = False
        return list(text.wrap(self.app.console, max(10, width)))

