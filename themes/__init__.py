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

# name -> (Theme keyword arguments, overrides of APP_VARIABLES)
_PALETTES: dict[str, tuple[dict[str, object], dict[str, str]]] = {
    "gonogo-dark": (
        dict(primary="#2f81f7", secondary="#1f4f8f", accent="#f5a623", warning="#e0b341",
             error="#e5534b", success="#4ebf71", foreground="#e6e6e6",
             background="#0e1116", surface="#161b22", panel="#1f2630", dark=True),
        {},
    ),
    "gonogo-light": (
        dict(primary="#0958c9", secondary="#5a7fb5", accent="#b35c00", warning="#8a6100",
             error="#b3261e", success="#1a7f37", foreground="#1f2328",
             background="#ffffff", surface="#f3f5f8", panel="#e6eaf0", dark=False),
        {"canary": "#b35c00", "baseline": "#0958c9", "threshold": "#57606a",
         "pass": "#1a7f37", "fail": "#b3261e", "warn": "#8a6100", "inconclusive": "#6f42c1"},
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
    "gonogo-colorblind": (
        dict(primary="#0072b2", secondary="#56b4e9", accent="#e69f00", warning="#e69f00",
             error="#d55e00", success="#009e73", foreground="#f0f0f0",
             background="#101418", surface="#181d23", panel="#222a33", dark=True),
        {"canary": "#e69f00", "baseline": "#56b4e9", "threshold": "#f0f0f0",
         "pass": "#009e73", "fail": "#d55e00", "warn": "#f0e442", "inconclusive": "#cc79a7"},
    ),
}

THEME_NAMES: tuple[str, ...] = tuple(_PALETTES)
DEFAULT_THEME = "gonogo-dark"


def build_themes() -> list[Theme]:
    """The Textual themes; imported lazily so the core never pulls in Textual."""
    from textual.theme import Theme

    themes = []
    for name, (kwargs, overrides) in _PALETTES.items():
        themes.append(Theme(name=name, variables={**APP_VARIABLES, **overrides}, **kwargs))  # type: ignore[arg-type]
    return themes


def stylesheet() -> str:
    """The panel's stylesheet, read through importlib.resources (works from a wheel)."""
    return resources.files(__name__).joinpath("gonogo.tcss").read_text(encoding="utf-8")
