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


def pytest_configure(config: pytest.Config) -> None:
    # pytest-xdist registers it too; here for runs without the plugin (-p no:xdist)
    config.addinivalue_line("markers", "xdist_group(name): run on the same worker as the group")


def _shared_scope(item: pytest.Item) -> str | None:
    """The widest scope (module, class) of a fixture ``item`` uses, if wider than
    a function; session fixtures are per worker whatever the grouping."""
    info = getattr(item, "_fixtureinfo", None)
    scopes = {d.scope for defs in (info.name2fixturedefs.values() if info else ()) for d in defs}
    for scope in ("package", "module", "class"):
        if scope in scopes:
            return scope
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Groups for ``--dist loadgroup``: tests sharing a module's fixture (a server, a
    fleet, a recording) stay on one worker, so it starts once; every other test goes
    to whichever worker is free. A test's own ``xdist_group`` mark wins (to spread a
    long module over workers, each starting its own fixture)."""
    for item in items:
        if item.get_closest_marker("xdist_group") is not None:
            continue
        scope = _shared_scope(item)
        if scope == "class" and item.cls is not None:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.rsplit("::", 1)[0]))
        elif scope is not None:
            item.add_marker(pytest.mark.xdist_group(item.path.relative_to(TESTS).as_posix()))


@pytest.fixture(autouse=True)
def _private_state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own gonogo state directory (the per-release driver locks live
    there): tests rehearsing the same release in parallel must not hold each other's
    role. A test about the lock itself sets the variable explicitly for each process."""
    monkeypatch.setenv("GONOGO_STATE_DIR", str(tmp_path_factory.mktemp("state")))
