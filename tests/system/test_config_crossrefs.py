"""`gonogo config validate` on references a check makes to the rest of the config: a
misspelt service or owner role is a bad config (exit 2, file, key, did-you-mean) on the
day it is written, not a NO-GO on release day."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CONFIG = """
[release]
name = "shop-2.4.0"
commit = "9f1c2ab"
[owners]
release_manager = "Ada Lovelace"
[[services]]
name = "hello"
health_url = "http://127.0.0.1:9/health"
[[gates]]
id = "pre"
title = "Pre-flight"
  [[gates.checks]]
  id = "health"
  title = "health"
  kind = "http_health"
  services = [{services}]
  [[gates.checks]]
  id = "smoke-by-hand"
  title = "smoke by hand"
  kind = "manual"
  who = "{who}"
"""


def validate(tmp_path: Path, *, services: str = '"hello"', who: str = "release_manager") -> subprocess.CompletedProcess[str]:
    cfg = tmp_path / "gonogo.toml"
    cfg.write_text(CONFIG.format(services=services, who=who), encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "gonogo", "config", "validate", str(cfg)],
                          capture_output=True, text=True, timeout=60)


def test_a_misspelt_service_is_a_config_error(tmp_path: Path) -> None:
    res = validate(tmp_path, services='"hello", "helo"')
    assert res.returncode == 2
    assert "gates[0].checks[0].services[1]: no service 'helo' in [[services]]; did you mean 'hello'?" in res.stderr


def test_a_misspelt_owner_role_is_a_config_error(tmp_path: Path) -> None:
    res = validate(tmp_path, who="release_manger")
    assert res.returncode == 2
    assert "gates[0].checks[1].who: no owner role 'release_manger' in [owners]" in res.stderr
    assert "did you mean 'release_manager'?" in res.stderr


def test_real_roles_services_and_people_pass(tmp_path: Path) -> None:
    for who in ("release_manager", "Ada Lovelace", "grace"):
        res = validate(tmp_path, who=who)
        assert res.returncode == 0, (who, res.stderr)
