"""`gonogo config validate` on references a check makes to the rest of the config: a
misspelt service or owner role is a bad config (exit 2, file, key, did-you-mean) on the
day it is written, not a NO-GO on release day."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

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


ROLLOUT = CONFIG.format(services='"hello"', who="release_manager") + """
  [[gates.checks]]
  id = "deploy"
  title = "deploy"
  kind = "command"
  argv = ["true"]
[[gates]]
id = "post"
title = "Post-deploy"
scope = "stage"
  [[gates.checks]]
  id = "post-health"
  title = "health again"
  kind = "http_health"
[[rollout.stages]]
id = "canary"
weight = 5
entry_checks = [{entry}]
exit_checks = [{exit}]
signoff = "{signoff}"
[[runbook.steps]]
id = "confirm"
title = "confirm health"
action = "checks"
checks = [{runbook}]
[[runbook.reconciliation]]
id = "reconcile"
title = "reconcile"
service = "{service}"
"""
GOOD = {"entry": '"deploy"', "exit": '"health", "post"', "signoff": "smoke-by-hand",
        "runbook": '"post"', "service": "hello"}


def validate_rollout(tmp_path: Path, **changes: str) -> subprocess.CompletedProcess[str]:
    cfg = tmp_path / "gonogo.toml"
    cfg.write_text(ROLLOUT.format(**{**GOOD, **changes}), encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "gonogo", "config", "validate", str(cfg)],
                          capture_output=True, text=True, timeout=60)


def test_the_rollout_and_runbook_references_pass_when_right(tmp_path: Path) -> None:
    res = validate_rollout(tmp_path)
    assert res.returncode == 0, res.stderr


@pytest.mark.parametrize(("change", "line"), [
    ({"entry": '"deplyo"'}, "rollout.stages[0].entry_checks[0]: no check or gate 'deplyo'; "
                            "did you mean 'deploy'?"),
    ({"exit": '"health", "pots"'}, "rollout.stages[0].exit_checks[1]: no check or gate 'pots'; "
                                   "did you mean 'post'?"),
    ({"signoff": "smoke-by-hnd"}, "rollout.stages[0].signoff: no check 'smoke-by-hnd' to sign off; "
                                  "did you mean 'smoke-by-hand'?"),
    ({"signoff": "deploy"}, "rollout.stages[0].signoff: 'deploy' is a command check; a sign-off is "
                            "given on a manual check"),
    ({"runbook": '"post-helth"'}, "runbook.steps[0].checks[0]: no check or gate 'post-helth'; "
                                  "did you mean 'post-health'?"),
    ({"runbook": ""}, "runbook.steps[0].checks: a checks step needs the check or gate ids it runs"),
    ({"service": "helo"}, "runbook.reconciliation[0].service: no service 'helo' in [[services]]; "
                          "did you mean 'hello'?"),
], ids=["entry_checks", "exit_checks", "signoff", "signoff-not-manual", "runbook-checks",
        "runbook-no-checks", "reconciliation-service"])
def test_a_broken_reference_is_a_config_error_naming_file_key_and_fix(
        tmp_path: Path, change: dict[str, str], line: str) -> None:
    res = validate_rollout(tmp_path, **change)
    assert res.returncode == 2, res.stderr
    assert f"{tmp_path / 'gonogo.toml'}: {line}" in res.stderr
    assert "Traceback" not in res.stderr
