"""Text contrast of at least 4.5:1 (WCAG 2 AA) in every theme, measured on what the panel
draws: each screen is rendered from a recorded session in each theme and every cell
of text is judged on the colours it is drawn in (dim and reverse resolved), so the
theme's derived colours (the focused row, the footer keys, the GO badge) count too.

Borders, tree guides, scrollbars and chart glyphs are graphics, not text: box-drawing,
block and braille characters are left out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from gonogo.themes import THEME_NAMES, build_themes
from rich.color import Color as RichColor
from rich.style import Style
from textual.app import App
from textual.filter import dim_color
from textual.geometry import Region

from support.panel_fixtures import make_app, settle

MINIMUM = 4.5
# (fixture session, keys pressed, what it shows)
SCENES = [
    ("holding", (), "dashboard: a failing check, a TBD owner, a breaching metric"),
    ("ready", (), "dashboard: GO"),
    ("rollback-proposed", (), "dashboard: a rollback proposed"),
    ("rolled-back", (), "dashboard: rolled back"),
    ("holding", ("a",), "the advance dialog"),
    ("rollback-proposed", ("c",), "the canary charts"),
    ("holding", ("l",), "the session log"),
    ("rolled-back", ("l", "slash"), "the session log: alerts, milestones, the cursor unfocused"),
    ("rolled-back", ("l", "f"), "the session log's kind picker"),
    ("rolled-back", ("l", "enter"), "an event in full"),
    ("holding", ("question_mark",), "help"),
    ("runbook-failed", ("b",), "the runbook with a failed step"),
    ("holding", ("o",), "the owners editor"),
    ("holding", ("enter",), "a check's detail"),
]


def luminance(rgb: tuple[int, int, int]) -> float:
    """WCAG 2 relative luminance of an sRGB colour."""
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = rgb
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def is_graphic(ch: str) -> bool:
    code = ord(ch)
    return 0x2500 <= code <= 0x259F or 0x2800 <= code <= 0x28FF or ch.isspace()


@dataclass(frozen=True)
class Cell:
    text: str
    fg: str
    bg: str
    ratio: float
    row: int


def text_cells(app: App[int]) -> Iterator[Cell]:
    """Every run of text the screen draws, with its colours as the terminal shows them.
    Under a dialog only the dialog counts: what it covers is faded on purpose."""
    area: Region | None = None
    dialogs = app.screen.query(".dialog")
    if dialogs:
        area = dialogs.first().region
    for row, strip in enumerate(app.screen._compositor.render_strips()):
        x = 0
        for segment in strip:
            start, x = x, x + segment.cell_length
            if area is not None and not area.contains(start, row):
                continue
            text = "".join(ch for ch in segment.text if not is_graphic(ch))
            if not text or segment.control:
                continue
            style = segment.style or Style()
            fg, bg = style.color, style.bgcolor
            if style.reverse:
                fg, bg = bg, fg
            if fg is None or bg is None or fg.triplet is None or bg.triplet is None:
                continue  # the terminal's own default colours: not the theme's to judge
            if style.dim:
                fg = dim_color(bg, fg)
            assert isinstance(fg, RichColor) and fg.triplet is not None and bg.triplet is not None
            ratio = contrast(tuple(fg.triplet), tuple(bg.triplet))
            yield Cell(text, fg.triplet.hex, bg.triplet.hex, ratio, row)


@pytest.mark.parametrize(("fixture", "keys", "what"), SCENES, ids=[w for _, _, w in SCENES])
async def test_every_text_reads_at_4_5_to_1_in_every_theme(fixture: str, keys: tuple[str, ...],
                                                          what: str) -> None:
    # theme -> colour pair -> its worst text (each pair reported once)
    low: dict[str, dict[tuple[str, str], Cell]] = {t: {} for t in THEME_NAMES}
    app, _ = make_app(fixture)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        for key in keys:
            await pilot.press(key)
            await settle(app, pilot)
        if not keys:
            app.notify("a notice", title="sandbox")
            app.notify("a warning", title="session log", severity="warning")
            app.notify("an error", severity="error")
        for theme in THEME_NAMES:
            app.theme = theme
            # detail screens build their text once: rebuild it as a fresh open would
            await app.screen.recompose()
            await settle(app, pilot)
            for cell in text_cells(app):
                pair = (cell.fg, cell.bg)
                if cell.ratio < MINIMUM and (pair not in low[theme] or cell.ratio < low[theme][pair].ratio):
                    low[theme][pair] = cell
    report = "\n".join(
        f"{theme}:  {c.ratio:.2f}:1  {c.fg} on {c.bg}  {c.text.strip()[:40]!r} (row {c.row})"
        for theme, pairs in low.items() for c in sorted(pairs.values(), key=lambda c: c.ratio))
    assert not report, f"{what}: text below {MINIMUM}:1\n{report}"


def test_the_palettes_base_pairs() -> None:
    """The pairs every screen is made of, straight from the theme colours: text and each
    status colour on the background, surface and panel."""
    for theme in build_themes():
        variables = theme.to_color_system().generate()
        backs = {name: variables[name] for name in ("background", "surface", "panel")}
        fores = {"foreground": theme.foreground or variables["foreground"],
                 **{k: theme.variables[k] for k in ("pass", "fail", "warn", "inconclusive",
                                                     "canary", "baseline", "threshold")}}
        for fname, fore in fores.items():
            for bname, back in backs.items():
                ratio = contrast(_rgb(fore), _rgb(back))
                assert ratio >= MINIMUM, f"{theme.name}: {fname} {fore} on {bname} {back}: {ratio:.2f}:1"


def _rgb(value: str) -> tuple[int, int, int]:
    from textual.color import Color

    c = Color.parse(value)
    return c.r, c.g, c.b
