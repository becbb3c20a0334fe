"""The core is headless and start-up stays cheap (the style guide). The layering itself is
held by the import-linter contracts in pyproject.toml (`make lint`); these probes
check what actually gets imported at run time.

Each probe runs in a fresh interpreter, so what pytest or other tests imported
cannot hide a violation."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

UI = ("textual", "rich")
HEAVY = ("hvac", "psycopg", "prometheus_api_client", "pandas", "textual", "rich")


# httpx imports its optional command-line client (click, pygments, rich) whenever those
# happen to be installed, and textual installs rich. That import is httpx's, not ours,
# so the probes block it; any import of rich by gonogo's own modules still shows up.
BLOCK_HTTPX_CLI = "import sys; sys.modules['httpx._main'] = None\n"


def imported_after(code: str, *, block_httpx_cli: bool = True) -> set[str]:
    script = (BLOCK_HTTPX_CLI if block_httpx_cli else "") + textwrap.dedent(code) + textwrap.dedent(
        """
        import json, sys
        print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


# The headless core, by name: a module missing here fails the probe (a rename must
# be followed here, not silently skipped).
CORE = (
    "gonogo.config", "gonogo.model", "gonogo.runner", "gonogo.verdict", "gonogo.context",
    "gonogo.secrets", "gonogo.values", "gonogo.schema", "gonogo.registry", "gonogo.errors",
    "gonogo.procs", "gonogo.integrations.vault", "gonogo.integrations.postgres",
    "gonogo.integrations.prometheus", "gonogo.integrations.github",
    "gonogo.rollout.engine", "gonogo.rollout.journal", "gonogo.rollout.analysis",
    "gonogo.rollout.stages", "gonogo.rollout.state",
)


def test_core_and_every_check_kind_import_without_textual_or_rich() -> None:
    modules = imported_after(
        f"""
        import importlib
        for name in {CORE!r}:
            importlib.import_module(name)  # ModuleNotFoundError fails the probe
        from gonogo.registry import kinds
        assert len(kinds()) >= 11, sorted(kinds())
        """
    )
    assert "gonogo" in modules
    assert not modules & set(UI), sorted(modules & set(UI))


def test_a_missing_core_module_fails_the_probe() -> None:
    # Guards the guard: the probe must not swallow a module that does not exist.
    with pytest.raises(AssertionError, match="ModuleNotFoundError"):
        imported_after("import importlib; importlib.import_module('gonogo.no_such_module')")


# The UI edge: the only places allowed to import Textual (and, for report, Rich); the
# CLI is the composition root, which wires the panel in.
UI_EDGE = ("gonogo.screens", "gonogo.widgets", "gonogo.themes", "gonogo.app", "gonogo.report", "gonogo.cli")
SKIP = UI_EDGE + ("gonogo.__main__",)  # __main__ runs the CLI on import


def test_every_core_module_is_headless() -> None:
    # Walk the whole package, so a new module under rollout/, sandbox/ or
    # integrations/ is held to the rule without anyone listing it here.
    script = BLOCK_HTTPX_CLI + textwrap.dedent(
        f"""
        import importlib, json, pkgutil, sys
        import gonogo
        edge = {SKIP!r}
        blamed, failed = {{}}, {{}}
        for info in pkgutil.walk_packages(gonogo.__path__, "gonogo."):
            if info.name.startswith(edge):
                continue
            before = set(sys.modules)
            try:
                importlib.import_module(info.name)
            except Exception as exc:
                failed[info.name] = repr(exc)
                continue
            hit = {{m.split(".")[0] for m in set(sys.modules) - before}} & {{"textual", "rich"}}
            if hit:
                blamed[info.name] = sorted(hit)
        print(json.dumps({{"blamed": blamed, "failed": failed, "n": len(sys.modules)}}))
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["failed"] == {}
    assert report["blamed"] == {}, "core modules importing a UI library"


def test_no_textual_even_with_httpx_cli_installed() -> None:
    modules = imported_after(
        "from gonogo.registry import kinds; kinds(); import gonogo.runner, gonogo.verdict",
        block_httpx_cli=False,
    )
    assert "textual" not in modules


def test_registry_loading_imports_no_heavy_clients() -> None:
    # Check modules import hvac, psycopg, prometheus-api-client lazily, inside run().
    modules = imported_after("from gonogo.registry import kinds; kinds()")
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))


def test_version_imports_nothing_heavy() -> None:
    modules = imported_after(
        """
        import contextlib, io
        from gonogo.cli import main
        with contextlib.redirect_stdout(io.StringIO()) as out:
            try:
                main(["--version"])
            except SystemExit as exc:
                assert exc.code == 0
        assert out.getvalue().startswith("gonogo "), out.getvalue()
        """
    )
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))


def test_the_probe_can_see_a_violation() -> None:
    # Guards the guard: a probe that always came back empty would pass everything.
    modules = imported_after("import rich.text")
    assert "rich" in modules
