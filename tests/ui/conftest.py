"""The UI tier: the panel through Textual's Pilot and pytest-textual-snapshot, over
recorded sessions (``support.panel_fixtures``), the real fold and, where the screen
must follow the engine, the real engine on an injected clock.

What a developer's shell says about colour or size must not change what the panel
draws here: ``NO_COLOR`` would turn every snapshot and colour assertion monochrome,
``COLUMNS``/``LINES`` would size the console behind the headless screen.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def plain_terminal_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_COLOR", "COLUMNS", "LINES"):
        monkeypatch.delenv(name, raising=False)
