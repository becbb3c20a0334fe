"""Malformed configs through the real CLI: exit 2, one short line naming file and key.

Each case is a file an operator could plausibly hand to ``gonogo config validate``
(a typo, a pasted secret, a corrupt download); the promise is the same for all of
them: exit code 2, the file and the key path in the message, no traceback.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BASE = """\
[release]
name = "r-1"
commit = "0cab782"

[owners]
release_manager = "Ada"

[[services]]
name = "auth"
health_url = "http://127.0.0.1:9/health"

[[gates]]
id = "ready"
title = "Ready"

  [[gates.checks]]
  id = "health"
  title = "health"
  kind = "http_health"
"""


def gate_check(body: str) -> str:
    return BASE + "\n  [[gates.checks]]\n" + body


# (case id, file bytes, substrings the message must contain)
CASES: list[tuple[str, bytes, list[str]]] = [
    ("syntax-error", b'[release\nname = "x"\n', ["TOML syntax error", "line 1"]),
    ("unclosed-string", (BASE + 'description = "oops\n').encode(), ["TOML syntax error", "line"]),
    ("duplicate-key", BASE.replace('commit = "0cab782"', 'commit = "a"\ncommit = "b"').encode(),
     ["commit", "already exists"]),
    ("unknown-kind", gate_check('id = "x"\ntitle = "x"\nkind = "htp_health"\n').encode(),
     ["gates[0].checks[1].kind", "unknown check kind 'htp_health'", "did you mean 'http_health'"]),
    ("missing-key", BASE.replace('commit = "0cab782"\n', "").encode(),
     ["release.commit", "missing required key"]),
    ("missing-kind", gate_check('id = "x"\ntitle = "x"\n').encode(),
     ["gates[0].checks[1].kind", "missing required key"]),
    ("wrong-type", BASE.replace('name = "r-1"', "name = 42").encode(),
     ["release.name", "expected a string, got an integer"]),
    ("date-for-string", BASE.replace('name = "r-1"', "name = 2026-02-19").encode(),
     ["release.name", "expected a string, got a date"]),
    ("bad-duration", (BASE + "\n[settings]\ntimeout = \"30 minutes\"\n").encode(),
     ["settings.timeout", "bad duration", "'30m'"]),
    ("date-for-duration", (BASE + "\n[settings]\ntimeout = 07:30:00\n").encode(),
     ["settings.timeout", "expected a duration", "time of day"]),
    ("duplicate-check-ids", gate_check('id = "health"\ntitle = "again"\nkind = "manual"\n').encode(),
     ["gates[0].checks[1].id", "duplicate id 'health'"]),
    ("binary-bytes", bytes(range(256)) * 4, ["NUL bytes"]),
    ("invalid-utf8", BASE.replace('"r-1"', '"r-\xe9"').encode("latin-1"), ["not valid UTF-8", "line 2"]),
    ("deep-nesting", (BASE + "\n[rollout.traffic]\nbody = " + "[" * 5000 + "]" * 5000 + "\n").encode(),
     ["nested more than 100 levels"]),
    ("deep-dotted-key", ("release." + ".".join(["x"] * 3000) + " = 1\n").encode(),
     ["nested more than 100 levels"]),
    ("unknown-key-suggestion", BASE.replace("[[services]]\nname", "[[services]]\nhealth_ulr = 'x'\nname").encode(),
     ["services[0].health_ulr", "unknown key", "did you mean 'health_url'"]),
    ("unknown-param-suggestion", gate_check('id = "x"\ntitle = "x"\nkind = "http_health"\nlatency_budjet = "1s"\n').encode(),
     ["gates[0].checks[1].latency_budjet", "did you mean 'latency_budget'"]),
    ("literal-secret", (BASE + '\n[integrations.vault]\nurl = "http://127.0.0.1:8200"\ntoken = "hvs.CAESIJ0123456789"\n').encode(),
     ["integrations.vault.token", "secrets must be references"]),
    ("bad-vault-reference", (BASE + '\n[integrations.vault]\nurl = "http://v"\ntoken = "vault:secret/gonogo"\n').encode(),
     ["integrations.vault.token", "vault:MOUNT/PATH#KEY"]),
    ("bad-env-reference", BASE.replace('"http://127.0.0.1:9/health"', '"env:AUTH URL"').encode(),
     ["services[0].health_url", "bad environment variable name"]),
    ("stage-unknown-check", (BASE + '\n[[rollout.stages]]\nid = "canary"\nweight = 5\nexit_checks = ["helth"]\n').encode(),
     ["rollout.stages[0].exit_checks[0]", "no check or gate 'helth'", "did you mean 'health'"]),
    ("huge-file", b"# " + b"x" * (3 * 1024 * 1024) + b"\n", ["larger than 512 KiB"]),
    ("huge-integer", (BASE + "\n[settings]\nconcurrency = 99999999999999999999999\n").encode(),
     ["settings.concurrency", "out of range"]),
    ("nan-threshold", (BASE + '\n[[canary.metrics]]\nid = "m"\ncanary = "up"\nrule = "above"\nthreshold = nan\n').encode(),
     ["canary.metrics[0].threshold", "nan is not allowed"]),
    ("mixed-array", BASE.replace('health_url = "http://127.0.0.1:9/health"',
                                 'health_url = "http://127.0.0.1:9/health"\nvolumes = ["a", 2, {x = 1}]').encode(),
     ["services[0].volumes[1]", "expected a string, got an integer"]),
    ("bad-literal", (BASE + '\n[rollout]\non_stop = "autom"\n').encode(),
     ["rollout.on_stop", "not one of", "did you mean 'auto'"]),
    ("bad-id", BASE.replace('id = "ready"', 'id = "has space"').encode(),
     ["gates[0].id", "expected an id"]),
    ("control-chars-in-key", BASE.replace('commit = "0cab782"', 'commit = "0cab782"\n"\\u001b[2Jboom" = 1').encode(),
     ['release."\\u001b[2Jboom": unknown key']),
    ("control-chars-in-parser-message", b'[release]\n"\\u001b[2J\xe2\x80\xae" = 1\n"\\u001b[2J\xe2\x80\xae" = 2\n',
     ["already exists", "\\x1b[2J\\u202e"]),
    ("empty-file", b"", ["release", "missing required key"]),
    ("only-a-comment", b"# nothing here\n", ["release", "missing required key"]),
]


def gonogo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gonogo", *args], capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(("case", "raw", "needles"), CASES, ids=[c[0] for c in CASES])
def test_malformed_config_exits_2_with_a_short_message(
    tmp_path: Path, case: str, raw: bytes, needles: list[str]
) -> None:
    path = tmp_path / f"{case}.toml"
    path.write_bytes(raw)
    out = gonogo("config", "validate", str(path))
    assert out.returncode == 2, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    # every problem line names the file; the last line sums up
    assert lines[-1] == f"gonogo: {len(lines) - 1} problem{'s' if len(lines) != 2 else ''} in {path}"
    for line in lines[:-1]:
        assert line.startswith(f"{path}: "), line
        assert len(line) < 300, line  # short: one problem, one line
    for needle in needles:
        assert needle in out.stderr, (needle, out.stderr)
    # nothing from the file reaches the terminal raw
    assert "\x1b" not in out.stderr and "\u202e" not in out.stderr


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = (
        BASE.replace('commit = "0cab782"\n', "")  # missing key
        .replace('name = "auth"', 'name = "auth"\nvolums = []')  # unknown key
        + '\n  [[gates.checks]]\nid = "x"\ntitle = "x"\nkind = "comand"\n'  # unknown kind
        + '\n[settings]\ntimeout = "soon"\n'  # bad duration
    )
    path = tmp_path / "many.toml"
    path.write_text(text)
    out = gonogo("config", "validate", str(path))
    assert out.returncode == 2
    for needle in (
        "release.commit: missing required key",
        "services[0].volums: unknown key; did you mean 'volumes'?",
        "gates[0].checks[1].kind: unknown check kind 'comand'; did you mean 'command'?",
        "settings.timeout: bad duration 'soon'",
    ):
        assert needle in out.stderr, out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith("gonogo: 4 problems")


def test_thousands_of_problems_are_capped_not_flooded(tmp_path: Path) -> None:
    path = tmp_path / "flood.toml"
    owners = "".join(f"role{i} = {i}\n" for i in range(5000))  # each one: not a string
    path.write_text(BASE.replace('release_manager = "Ada"\n', owners))
    out = gonogo("config", "validate", str(path))
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert "… and " in out.stderr and "more problems" in out.stderr
    assert len(out.stderr.splitlines()) < 120
    assert out.stderr.strip().splitlines()[-1].startswith("gonogo: 5000 problems")


def test_check_command_exits_2_on_a_bad_config(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    out = gonogo("check", "--config", str(path), "--format", "json")
    assert out.returncode == 2
    assert out.stdout == ""
    assert str(path) in out.stderr and "Traceback" not in out.stderr


def test_missing_file_and_directory_are_exit_2(tmp_path: Path) -> None:
    missing = gonogo("config", "validate", str(tmp_path / "nope.toml"))
    assert missing.returncode == 2 and "no such file" in missing.stderr
    directory = gonogo("config", "validate", str(tmp_path))
    assert directory.returncode == 2 and "is a directory" in directory.stderr
    assert "Traceback" not in missing.stderr + directory.stderr


def test_one_bad_file_among_good_ones_still_exits_2(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(BASE)
    bad = tmp_path / "bad.toml"
    bad.write_text(BASE.replace('kind = "http_health"', 'kind = "nope"'))
    out = gonogo("config", "validate", str(good), str(bad))
    assert out.returncode == 2
    assert f"{good}: ok" in out.stdout
    assert f"{bad}: gates[0].checks[0].kind" in out.stderr
