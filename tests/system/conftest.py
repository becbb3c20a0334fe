"""The system tier: the sandbox fleet, ``gonogo`` as a subprocess, and tmux.

Tests that drive a real terminal (the ``terminal`` fixture) are marked ``e2e``;
without tmux they skip, or fail when GONOGO_REQUIRE_SERVERS=1.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gonogo.sandbox.fleet import FleetThread
from support.fleet import SandboxFiles, start_fleet
from support.servers import need_server
from support.terminal import Terminal

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE) and "terminal" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="module")
def module_fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FleetThread, SandboxFiles]]:
    """One fleet (with its real PostgreSQL/Prometheus/Alertmanager where installed)
    shared by a module's tests; tests switch its scenario and weight."""
    fleet, files = start_fleet(tmp_path_factory.mktemp("sandbox"), speed=60.0)
    try:
        yield fleet, files
    finally:
        fleet.stop()


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Callable[[int, int], Terminal]]:
    """Make tmux terminals of a given size; each is killed after the test. Each
    step's screen is saved under the test's tmp dir (screens/NN-step.txt)."""
    if shutil.which("tmux") is None:
        need_server("tmux is not installed")
    made: list[Terminal] = []
    shots = tmp_path / "screens"
    shots.mkdir()

    def make(width: int, height: int) -> Terminal:
        term = Terminal(f"gonogo-e2e-{uuid.uuid4().hex[:8]}", width, height, shots)
        made.append(term)
        return term

    yield make
    for term in made:
        term.kill()
