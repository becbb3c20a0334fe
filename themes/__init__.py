"""gonogo's themes: Textual ``Theme`` objects plus the app-specific variables.

The app-specific variables (canary, baseline, threshold, pass, fail, warn,
inconclusive) are declared once, in ``APP_VARIABLES``; each theme overrides only
what it must. Every status is also shown by a glyph, so no theme relies on
colour alone, and ``NO_COLOR`` makes Textual render monochrome.
"""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from textual.theme import Theme

# Declared once: the defaults (dark palette) every theme starts from.
APP_VARIABLES: dict[str, str] = {
    "canary": "#f5a623",
    "baseline": "#5fa8d3",
    "threshold": "#d0d0d0",
    "pass": "#4ebf71",
    "fail": "#e5534b",
    "warn": "#e0b341",
    "inconclusive": "#a277ff",
}



# Textual's own design variables a theme may set besides APP_VARIABLES.
TEXTUAL_VARIABLES = frozenset({"block-cursor-background", "block-cursor-foreground"})


def _cursor(background: str) -> dict[str, str]:
    """Textual's focused-row colours: white on ``background`` (Textual's default, the
    primary colour, left dimmed text at 2.2:1)."""
    return {"block-cursor-background": background, "block-cursor-foreground": "#ffffff"}


# name -> (Theme keyword arguments, overrides of APP_VARIABLES)
_PALETTES: dict[str, tuple[dict[str, object], dict[str, str]]] = {
    # Text reads at 4.5:1 or more on every background it is drawn on, dimmed text and
    # the focused row included (tests/ui/test_contrast.py measures the rendered panel):
    # the focused row is a dark blue under white text, and primary buttons are dark
    # enough for their text (Textual draws it at 87 % over the primary colour).
    "gonogo-dark": (
        dict(primary="#1860d0", secondary="#1f4f8f", accent="#f5a623", warning="#e0b341",
             error="#ff7b72", success="#4ebf71", foreground="#e6e6e6",
             background="#0e1116", surface="#161b22", panel="#1f2630", dark=True,
             variables=_cursor("#1f4f8f")),
        {"fail": "#ff7b72"},
    ),
    "gonogo-light": (
        dict(primary="#0958c9", secondary="#5a7fb5", accent="#953800", warning="#7a5600",
             error="#b3261e", success="#116329", foreground="#1f2328",
             background="#ffffff", surface="#f3f5f8", panel="#e6eaf0", dark=False,
             variables=_cursor("#09438a")),
        {"canary": "#953800", "baseline": "#0958c9", "threshold": "#57606a",
         "pass": "#116329", "fail": "#b3261e", "warn": "#7a5600", "inconclusive": "#6f42c1"},
    ),
    "gonogo-high-contrast": (
        dict(primary="#ffff00", secondary="#00ffff", accent="#ffff00", warning="#ffff00",
             error="#ff5555", success="#00ff00", foreground="#ffffff",
             background="#000000", surface="#000000", panel="#1a1a1a", dark=True,
             luminosity_spread=0.0),
        {"canary": "#ffff00", "baseline": "#00ffff", "threshold": "#ffffff",
         "pass": "#00ff00", "fail": "#ff5555", "warn": "#ffff00", "inconclusive": "#ff00ff"},
    ),
    # Okabe-Ito palette: distinguishable with deuteranopia, protanopia and tritanopia.
    # (vermillion and bluish green lifted a little, and the panel darkened, for 4.5:1)
    "gonogo-colorblind": (
        dict(primary="#0068a8", secondary="#56b4e9", accent="#e69f00", warning="#e69f00",
             error="#f07b3f", success="#00b386", foreground="#f0f0f0",
             background="#101418", surface="#171c22", panel="#1d232b", dark=True,
             variables=_cursor("#004f7c")),
        {"canary": "#e69f00", "baseline": "#56b4e9", "threshold": "#f0f0f0",
         "pass": "#00b386", "fail": "#f07b3f", "warn": "#f0e442", "inconclusive": "#cc79a7"},
    ),
}

THEME_NAMES: tuple[str, ...] = tuple(_PALETTES)
DEFAULT_THEME = "gonogo-dark"


def build_themes() -> list[Theme]:
    """The Textual themes; imported lazily so the core never pulls in Textual."""
    from textual.theme import Theme

    themes = []
    for name, (kwargs, overrides) in _PALETTES.items():
        options = dict(kwargs)
        textual_vars = dict(options.pop("variables", {}))  # type: ignore[call-overload]
        themes.append(Theme(name=name, variables={**APP_VARIABLES, **overrides, **textual_vars},
                            **options))  # type: ignore[arg-type]
    return themes


def stylesheet() -> str:
    """The panel's stylesheet, read through importlib.resources (works from a wheel)."""
    return resources.files(__name__).joinpath("gonogo.tcss").read_text(encoding="utf-8")
