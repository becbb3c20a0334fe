"""What every tier shares.

The tiers are directories: ``unit`` (in-process, loopback HTTP at most), ``integration``
(real PostgreSQL, Prometheus, Alertmanager), ``ui`` (Pilot and snapshots), ``system``
(sandbox fleet, CLI subprocesses, tmux). Helpers live in the ``support`` package
(``tests/`` is on ``sys.path``), fixtures in each tier's ``conftest.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
TIERS = ("unit", "integration", "ui", "system")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> None:
    """A test file outside the tiers would run in no tier's command: refuse it."""
    if file_path.parent == TESTS and file_path.name.startswith("test_") and file_path.suffix == ".py":
        raise pytest.UsageError(
            f"{file_path.relative_to(TESTS.parent)}: test files belong in a tier, "
            f"tests/{{{','.join(TIERS)}}}/"
        )


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under ``--dist loadgroup`` each test file is one group (so a module's servers
    start once, as with ``loadfile``) unless its tests name their own ``xdist_group``
    to spread a long file over several workers."""
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(item.path.relative_to(TESTS).as_posix()))
