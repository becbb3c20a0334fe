"""command, manual and volumes: real processes, real directories and mount points."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from gonogo.config import ConfigError
from gonogo.context import SignOff, make_context
from gonogo.model import Status
from gonogo.runner import run_one
from support.plans import plan_from_toml, run_check

SEED_VOLUMES = ["auth_data", "consent_data", "analytics_data", "calendar_data", "partner_registry_data", "integrations_data"]


def one_check(body: str, services: str = "") -> str:
    return services + '[[gates]]\nid = "g"\ntitle = "g"\n\n  [[gates.checks]]\n' + body


def services_with_volumes() -> str:
    out = ""
    for name in ("auth", "consent", "analytics", "calendar", "partner-registry", "integrations"):
        volume = name.replace("-", "_") + "_data"
        out += f'[[services]]\nname = "{name}"\nhealth_url = "http://127.0.0.1:1/health"\nvolumes = ["{volume}"]\n\n'
    return out


VOLUMES_ROOT = """\
  id = "volumes"
  title = "Persistent volumes exist and are mounted"
  kind = "volumes"
  root = "vols/{name}"
"""


async def test_volumes_default_to_the_services_and_pass_when_present(tmp_path: Path) -> None:
    for name in SEED_VOLUMES:
        (tmp_path / "vols" / name).mkdir(parents=True)
    plan = plan_from_toml(tmp_path, one_check(VOLUMES_ROOT, services_with_volumes()))
    result = await run_check(plan, "volumes")
    assert result.status == Status.PASS, result.summary
    assert result.summary == "6 volume(s) present"
    assert result.evidence["volumes"] == SEED_VOLUMES


async def test_missing_volume_fails_naming_it(tmp_path: Path) -> None:
    for name in SEED_VOLUMES:
        if name != "calendar_data":
            (tmp_path / "vols" / name).mkdir(parents=True)
    plan = plan_from_toml(tmp_path, one_check(VOLUMES_ROOT, services_with_volumes()))
    result = await run_check(plan, "volumes")
    assert result.status == Status.FAIL
    assert result.summary.startswith("1/6 volume(s) missing or unmounted: calendar_data: no directory ")


async def test_plain_directory_is_not_a_mount(tmp_path: Path) -> None:
    (tmp_path / "vols" / "auth_data").mkdir(parents=True)
    body = VOLUMES_ROOT + '  volumes = ["auth_data"]\n  require_mount = true\n'
    plan = plan_from_toml(tmp_path, one_check(body))
    result = await run_check(plan, "volumes")
    assert result.status == Status.FAIL
    assert result.summary.endswith("auth_data is not a mount point")


async def test_real_mount_points_pass(tmp_path: Path) -> None:
    assert os.path.ismount("/proc")
    body = VOLUMES_ROOT.replace("vols/{name}", "/{name}") + '  volumes = ["proc"]\n  require_mount = true\n'
    plan = plan_from_toml(tmp_path, one_check(body))
    result = await run_check(plan, "volumes")
    assert result.status == Status.PASS, result.summary
    assert result.summary == "1 volume(s) mounted"


def inventory_argv(names: list[str], exit_code: int = 0) -> str:
    script = f"import sys; print(*{names!r}, sep=chr(10)); sys.exit({exit_code})"
    return f'  inventory = ["{sys.executable}", "-c", "{script}"]\n'


async def test_inventory_command_lists_volumes(tmp_path: Path) -> None:
    body = VOLUMES_ROOT.replace('  root = "vols/{name}"\n', "") + inventory_argv(SEED_VOLUMES[:4] + ["unrelated"])
    plan = plan_from_toml(tmp_path, one_check(body, services_with_volumes()))
    result = await run_check(plan, "volumes")
    assert result.status == Status.FAIL
    assert result.details == (
        "partner_registry_data: not listed by " + os.path.basename(sys.executable),
        "integrations_data: not listed by " + os.path.basename(sys.executable),
    )
    body = VOLUMES_ROOT.replace('  root = "vols/{name}"\n', "") + inventory_argv(SEED_VOLUMES)
    plan = plan_from_toml(tmp_path, one_check(body, services_with_volumes()))
    result = await run_check(plan, "volumes")
    assert result.status == Status.PASS


async def test_failing_inventory_is_an_error(tmp_path: Path) -> None:
    body = VOLUMES_ROOT.replace('  root = "vols/{name}"\n', "") + inventory_argv(["x"], exit_code=3)
    plan = plan_from_toml(tmp_path, one_check(body, services_with_volumes()))
    result = await run_check(plan, "volumes")
    assert result.status == Status.ERROR
    assert "exited 3" in result.summary


def test_volumes_without_root_or_inventory_is_a_config_error(tmp_path: Path) -> None:
    body = VOLUMES_ROOT.replace('  root = "vols/{name}"\n', "")
    with pytest.raises(ConfigError) as info:
        plan_from_toml(tmp_path, one_check(body))
    assert "gates[0].checks[0]: volumes needs a root path template or an inventory argv" in str(info.value)


# -- command ---------------------------------------------------------------------------


def command(argv: list[str], extra: str = "") -> str:
    quoted = ", ".join(f'"{a}"' for a in argv)
    return f'  id = "cmd"\n  title = "a command"\n  kind = "command"\n  argv = [{quoted}]\n{extra}'


async def test_command_exit_code_decides(tmp_path: Path) -> None:
    ok = plan_from_toml(tmp_path, one_check(command([sys.executable, "-c", "print('migrations at head')"])))
    result = await run_check(ok, "cmd")
    assert (result.status, result.details) == (Status.PASS, ("migrations at head",))
    bad = plan_from_toml(
        tmp_path,
        one_check(command([sys.executable, "-c", "import sys; print('2 pending migrations'); sys.exit(4)"])),
    )
    result = await run_check(bad, "cmd")
    assert result.status == Status.FAIL
    assert result.summary.endswith("exited 4, expected 0: 2 pending migrations")


async def test_command_no_shell_and_not_found(tmp_path: Path) -> None:
    # With no shell, "$HOME" and ";" are plain arguments.
    echo = plan_from_toml(tmp_path, one_check(command([sys.executable, "-c", "import sys; print(sys.argv[1:])", "$HOME;", "ls"])))
    result = await run_check(echo, "cmd")
    assert result.details == ("['$HOME;', 'ls']",)
    missing = plan_from_toml(tmp_path, one_check(command(["/nonexistent/bin/tool"])))
    result = await run_check(missing, "cmd")
    assert (result.status, result.summary) == (Status.ERROR, "command not found: /nonexistent/bin/tool")


async def test_command_deadline_kills_the_process(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    script = f"import os, time; open({str(pidfile)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    plan = plan_from_toml(tmp_path, one_check(command([sys.executable, "-c", script], '  deadline = "500ms"\n')))
    result = await run_check(plan, "cmd")
    assert result.status == Status.ERROR
    assert "still running after 500ms; killed" in result.summary
    pid = int(pidfile.read_text())
    for _ in range(50):  # reaped already; allow the kernel a moment to drop it
        if not Path(f"/proc/{pid}").exists():
            break
        time.sleep(0.01)
    assert not Path(f"/proc/{pid}").exists()


# -- manual ----------------------------------------------------------------------------


async def test_manual_is_pending_until_signed_off(tmp_path: Path) -> None:
    plan = plan_from_toml(
        tmp_path,
        '[owners]\nrelease_manager = "Grace Hopper"\n\n'
        + one_check('  id = "manual-smoke"\n  title = "Manual smoke"\n  kind = "manual"\n  who = "release_manager"\n'),
    )
    gate, spec = next(iter(plan.checks()))
    ctx = make_context(plan, environ={})
    try:
        pending = await run_one(gate, spec, ctx)
        ctx.signoffs["manual-smoke"] = SignOff(actor="Grace Hopper", at=1.0, note="all six journeys ok")
        signed = await run_one(gate, spec, ctx)
    finally:
        await ctx.aclose()
    assert pending.status == Status.PENDING
    assert pending.summary == ("awaiting sign-off by release_manager (Grace Hopper): s on this check "
                               "in the panel, or gonogo signoff manual-smoke --as NAME --note TEXT")
    assert (signed.status, signed.summary) == (Status.PASS, "signed off by Grace Hopper")
