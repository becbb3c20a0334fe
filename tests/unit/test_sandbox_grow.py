"""``--services N``: the sandbox config grown to N services (``with_services``), the
checks on its size and port span."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from gonogo.config import load_plan
from gonogo.sandbox.layout import (
    LayoutError,
    builtin_config,
    check_port_base,
    check_services,
    load_layout,
    relocate,
    with_services,
)


def grown(tmp_path: Path, count: int, port_base: int | None = None) -> Path:
    text = with_services(builtin_config().read_text(encoding="utf-8"), count)
    path = tmp_path / "sandbox.toml"
    path.write_text(relocate(text, port_base=port_base, runtime_dir=str(tmp_path / "rt")), encoding="utf-8")
    return path


def test_a_grown_sandbox_lists_every_service_on_a_port_of_its_own(tmp_path: Path) -> None:
    path = grown(tmp_path, 200)
    plan = load_plan(path)  # still a valid plan
    names = [s.name for s in plan.services]
    assert len(names) == len(set(names)) == 200
    assert names[:2] == ["auth", "user-profile"] and names[15] == "svc-016" and names[-1] == "svc-200"
    layout = load_layout(path)  # where the fleet listens: no address shared
    assert len(layout.services) == 200
    assert layout.services["svc-016"].port == 18300 and layout.services["svc-200"].port == 18484
    extra = next(s for s in plan.services if s.name == "svc-200")
    assert extra.env_file == str(tmp_path / "rt" / "env" / "svc-200.env")
    # the health check names no services: it covers all 200
    health = next(c for _, c in plan.checklist() if c.id == "health-all")
    assert not health.params.services


def test_the_generated_services_come_right_after_the_seeds_own(tmp_path: Path) -> None:
    text = grown(tmp_path, 17).read_text(encoding="utf-8")
    assert text.index('name = "web-portal"') < text.index('name = "svc-017"') < text.index("[[gates]]")
    assert text.index('name = "svc-017"') < text.index("# == 1.1 Configuration")
    assert tomllib.loads(text)["gates"][0]["id"] == "config-secrets"


def test_port_base_moves_the_generated_services_too(tmp_path: Path) -> None:
    layout = load_layout(grown(tmp_path, 20, port_base=30000))
    assert layout.services["svc-016"].port == 30300 and layout.services["web-portal"].port == 30115


def test_the_default_size_is_the_config_unchanged() -> None:
    text = builtin_config().read_text(encoding="utf-8")
    assert with_services(text, None) == text and with_services(text, 15) == text


@pytest.mark.parametrize("count", [0, 14, 1001])
def test_a_size_out_of_range_says_the_range(count: int) -> None:
    with pytest.raises(ValueError, match=rf"--services {count}: expected a number from 15 .* to 1000"):
        check_services(count)


def test_a_larger_sandbox_needs_a_wider_port_range() -> None:
    assert check_port_base(65000) == 65000
    with pytest.raises(ValueError, match="from 1024 to 64950 .*585 ports"):
        check_port_base(65000, services=300)
    with pytest.raises(LayoutError, match="at most 1000"):
        with_services(builtin_config().read_text(encoding="utf-8"), 5000)


def test_the_demo_grows_its_own_copy_and_a_resumed_one_keeps_its_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    from gonogo.cli.tui import demo_config

    folder = tmp_path / "demo"
    folder.mkdir(mode=0o700)
    config, runtime = demo_config(folder, None, None, 30)
    assert runtime is not None and len(load_layout(config).services) == 30
    assert f"{runtime}/env/svc-030.env" in config.read_text(encoding="utf-8")
    again, _ = demo_config(folder, None, None, 200)  # resumed: ports, services and all
    assert again == config and len(load_layout(again).services) == 30
    assert "--services ignored" in capsys.readouterr().err
