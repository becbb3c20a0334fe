"""The config's value types, validator and loader, in-process.

The CLI-level promises (exit 2, file named, no traceback) live in
tests/system/test_config_malformed.py; here are the finer points an operator relies on: the
exact key paths, the suggestions, the typed and frozen result, and that start-up
stays light.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from gonogo.config import (
    MAX_PROBLEMS_SHOWN,
    ConfigError,
    Plan,
    load_plan,
    parse_document,
    validate,
)
from gonogo.schema import Problem, key_text
from gonogo.values import Duration, SecretRef, Value
from support.plans import plan_from_toml

ROOT = Path(__file__).resolve().parents[2]

BASE = """\
[release]
name = "r-1"
commit = "0cab782"

[[services]]
name = "auth"
health_url = "env:AUTH_HEALTH_URL"

[[gates]]
id = "ready"
title = "Ready"

  [[gates.checks]]
  id = "health"
  title = "health"
  kind = "http_health"

  [[gates.checks]]
  id = "signoff"
  title = "sign-off"
  kind = "manual"
"""


def load_text(text: str) -> Plan:
    return plan_from_toml(None, text, name="t.toml")


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load_text(text)
    assert err.value.source == "t.toml"
    return [str(p) for p in err.value.problems]


# -- durations ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30m", 1800), ("5m", 300), ("1h30m", 5400), ("250ms", 0.25), ("45s", 45),
     ("1d", 86400), ("1h 30m", 5400), ("90", 90), (90, 90), (1.5, 1.5), ("0s", 0)],
)
def test_durations_parse(text: str | int, seconds: float) -> None:
    if text == "90":
        with pytest.raises(ValueError, match="bad duration"):  # a bare string needs a unit
            Duration.parse(text)
        return
    assert Duration.parse(text).seconds == seconds


@pytest.mark.parametrize("text", ["", "m", "-5m", "5x", "30 minutes", "1h30", "h1"])
def test_bad_durations_say_how_to_write_one(text: str) -> None:
    with pytest.raises(ValueError, match="30m|empty"):
        Duration.parse(text)


@pytest.mark.parametrize("value", [True, [1], {"a": 1}, None, float("nan"), float("inf"),
                                   -1, 10**30, "99999999h"])
def test_durations_refuse_non_durations(value: object) -> None:
    with pytest.raises(ValueError):
        Duration.parse(value)  # type: ignore[arg-type]


def test_durations_print_the_way_they_are_written() -> None:
    assert [str(Duration.parse(t)) for t in ("1h30m", "250ms", "45s", "0s")] == [
        "1h30m", "250ms", "45s", "0s"]


# -- secret references ---------------------------------------------------------


def test_secret_references_parse() -> None:
    assert SecretRef.parse("env:VAULT_TOKEN") == SecretRef("env", "VAULT_TOKEN")
    assert SecretRef.parse("file:secrets/token") == SecretRef("file", "secrets/token")
    ref = SecretRef.parse("vault:kv/production/qna#QNA_INTERNAL_TOKEN")
    assert ref.vault_parts == ("kv", "production/qna", "QNA_INTERNAL_TOKEN")
    assert str(ref) == "vault:kv/production/qna#QNA_INTERNAL_TOKEN"


@pytest.mark.parametrize(
    "text", ["hvs.CAESIJsecret", "env:", "env:MY SECRET VALUE", "vault:kv/path", "vault:#k",
             "http://x", "ENV:X"],
)
def test_bad_secret_references_never_echo_the_value(text: str) -> None:
    with pytest.raises(ValueError) as err:
        SecretRef.parse(text)
    message = str(err.value)
    assert "env:NAME" in message or "vault:MOUNT/PATH#KEY" in message or "env:" in message
    secret_part = text.partition(":")[2] if ":" in text else text
    if len(secret_part) > 3:
        assert secret_part not in message


def test_values_are_literal_or_reference() -> None:
    assert Value.parse("http://127.0.0.1:8080").literal == "http://127.0.0.1:8080"
    assert Value.parse("env:GATEWAY_URL").ref == SecretRef("env", "GATEWAY_URL")
    with pytest.raises(ValueError, match="vault:MOUNT"):
        Value.parse("vault:nokey")


def test_a_literal_secret_in_the_config_is_refused_without_being_shown() -> None:
    text = BASE + '\n[integrations.vault]\nurl = "env:VAULT_ADDR"\ntoken = "hvs.TOPSECRET123"\n'
    found = problems(text)
    assert found == [
        "integrations.vault.token: secrets must be references, not literal values: "
        "write 'env:NAME', 'file:PATH' or 'vault:MOUNT/PATH#KEY'"
    ]
    with pytest.raises(ConfigError) as err:
        load_text(text)
    assert "TOPSECRET" not in err.value.render()


# -- the loader -------------------------------------------------------------------


def test_a_valid_plan_is_typed_and_frozen() -> None:
    plan = load_text(BASE)
    gate, check = next(iter(plan.checks()))
    assert (gate.id, check.id, check.kind, check.required) == ("ready", "health", "http_health", True)
    assert check.params.latency_budget == Duration(1.0)  # the kind's own default
    assert plan.services[0].health_url.ref == SecretRef("env", "AUTH_HEALTH_URL")
    with pytest.raises(AttributeError):
        check.id = "other"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        plan.doc.release.name = "x"  # type: ignore[misc]


def test_all_problems_are_reported_with_their_key_paths() -> None:
    text = (
        BASE.replace('commit = "0cab782"\n', "")
        .replace('kind = "manual"', 'kind = "manaul"')
        .replace('name = "auth"', 'name = "auth"\nvolumes = "auth_data"')
        + '\n[settings]\nconcurency = 4\nretries = -1\n'
    )
    assert problems(text) == [
        "release.commit: missing required key",
        "settings.concurency: unknown key; did you mean 'concurrency'?",
        "settings.retries: expected an integer >= 0",
        "services[0].volumes: expected an array, got a string",
        "gates[0].checks[1].kind: unknown check kind 'manaul'; did you mean 'manual'?",
    ]


@pytest.mark.parametrize(
    ("written", "meant"),
    [("htp", "'http_health'"), ("health", "'http_health'"), ("smoek", "'smoke'"),
     ("manaul", "'manual'"), ("migration", "'migrations'"),
     ("secret", "'secret_consistent' or 'vault_secret_age'")],
)
def test_unknown_kinds_get_a_suggestion(written: str, meant: str) -> None:
    (found,) = problems(BASE.replace('kind = "manual"', f'kind = "{written}"'))
    assert found == f"gates[0].checks[1].kind: unknown check kind {written!r}; did you mean {meant}?"


def test_no_suggestion_for_nonsense() -> None:
    (found,) = problems(BASE.replace('kind = "manual"', 'kind = "qqqqqq"'))
    assert found == "gates[0].checks[1].kind: unknown check kind 'qqqqqq'"


def test_unknown_kind_params_are_not_reported_as_unknown_keys() -> None:
    # the misspelt kind is the one problem; its parameters cannot be judged
    text = BASE.replace('kind = "http_health"', 'kind = "http_helth"\njson_field = "status"')
    assert problems(text) == [
        "gates[0].checks[0].kind: unknown check kind 'http_helth'; did you mean 'http_health'?"
    ]


def test_nested_params_get_full_paths_and_suggestions() -> None:
    text = BASE + """
  [[gates.checks]]
  id = "pairs"
  title = "auth pairs"
  kind = "auth_propagation"
  pairs = [
    { from = "consent", to = ["compliance"], path = "/x", token = "env:T" },
    { from = "tax", to = ["calendar"], path = "/y", tokn = "env:T" },
  ]
"""
    assert problems(text) == [
        "gates[0].checks[2].pairs[1].tokn: unknown key; did you mean 'token'?",
        "gates[0].checks[2].pairs[1].token: missing required key",
    ]


def test_a_kinds_own_consistency_rule_is_reported_at_the_check() -> None:
    text = BASE + '\n  [[gates.checks]]\n  id = "vols"\n  title = "v"\n  kind = "volumes"\n'
    (found,) = problems(text)
    assert found.startswith("gates[0].checks[2]: volumes needs a root path template")


def test_cross_references_are_checked() -> None:
    text = BASE + """
[[gates]]
id = "ready"
title = "again"

[[rollout.stages]]
id = "canary"
weight = 5
exit_checks = ["helth", "ready"]
signoff = "sign-off"

[[runbook.steps]]
id = "confirm"
title = "confirm"
action = "checks"
checks = ["signof"]

[[runbook.steps]]
id = "disable"
title = "disable"
action = "command"

[[runbook.steps]]
id = "disable"
title = "again"
action = "manual"

[[runbook.reconciliation]]
id = "tx"
title = "tx"

[[runbook.reconciliation]]
id = "tx"
title = "tx again"

[canary]
[[canary.metrics]]
id = "m"
canary = "up"
rule = "ratio_above"

[owners]
rm = ""
"""
    assert problems(text) == [
        "gates[1].id: duplicate gate id 'ready' (also gates[0])",
        "rollout.stages[0].exit_checks[0]: no check or gate 'helth'; did you mean 'health'?",
        "rollout.stages[0].signoff: no check 'sign-off' to sign off; did you mean 'signoff'?",
        "canary.metrics[0].baseline: ratio_above needs a baseline query",
        "runbook.steps[0].checks[0]: no check or gate 'signof'; did you mean 'signoff'?",
        "runbook.steps[1].command: a command step needs argv",
        "runbook.steps[2].id: duplicate step 'disable'",
        "runbook.reconciliation[1].id: duplicate item 'tx'",
        "owners.rm: empty owner; write 'TBD' until known",
    ]


def test_type_errors_read_in_toml_terms() -> None:
    text = BASE + """
  [[gates.checks]]
  id = "s"
  title = "smoke"
  kind = "smoke"
  steps = [{ name = "a", path = "/", expect_status = "200" }]

[rollout]
on_stop = true
"""
    assert problems(text) == [
        "rollout.on_stop: true is not one of 'auto', 'propose'",
        "gates[0].checks[2].steps[0].expect_status: expected an integer or an array, got a string",
    ]


def test_reference_problems_come_with_the_others() -> None:
    # one run shows both the bad parameter and the stage naming a missing check,
    # but a stage naming the check that has the bad parameter is not blamed
    text = BASE.replace('kind = "manual"', 'kind = "manual"\nwho = 3') + """
[[rollout.stages]]
id = "canary"
weight = 5
exit_checks = ["signoff", "helth"]
"""
    assert problems(text) == [
        "gates[0].checks[1].who: expected a string, got an integer",
        "rollout.stages[0].exit_checks[1]: no check or gate 'helth'; did you mean 'health'?",
    ]


def test_gate_ids_expand_to_their_checks() -> None:
    plan = load_text(BASE)
    assert plan.expand(["ready", "health", "other"]) == ["health", "signoff", "other"]


def test_dates_and_non_finite_numbers_are_named() -> None:
    text = BASE.replace('name = "r-1"', "name = 2026-02-19") + (
        "\n[settings]\ntimeout = 2026-02-19T10:00:00Z\n"
        "\n[[canary.metrics]]\nid = 'm'\ncanary = 'up'\nrule = 'above'\nthreshold = inf\n"
    )
    with pytest.raises(ConfigError) as err:
        load_text(text)
    # non-finite numbers are refused while parsing, before the schema is consulted
    assert [str(p) for p in err.value.problems] == [
        "canary.metrics[0].threshold: inf is not allowed here; write a finite number"
    ]
    text = text.replace("threshold = inf", "threshold = 0.5")
    assert problems(text) == [
        "release.name: expected a string, got a date",
        "settings.timeout: expected a duration like '30m' or '1h30m', got a date-time",
    ]


def test_hostile_keys_are_quoted_and_cut() -> None:
    assert key_text("plain_key-1") == "plain_key-1"
    assert key_text("has space") == '"has space"'
    assert key_text("\x1b[31mred") == '"\\u001b[31mred"'
    assert key_text("\u202eevil") == '"\\u202eevil"'
    assert len(key_text("k" * 10_000)) < 50


def test_rendering_caps_a_flood_of_problems() -> None:
    err = ConfigError("f.toml", [Problem(f"k{i}", "bad") for i in range(MAX_PROBLEMS_SHOWN + 7)])
    lines = err.render().splitlines()
    assert len(lines) == MAX_PROBLEMS_SHOWN + 1
    assert lines[-1] == "f.toml: … and 7 more problems"
    assert len(err.problems) == MAX_PROBLEMS_SHOWN + 7  # all kept for callers


def test_bom_and_crlf_files_load() -> None:
    raw = ("\ufeff" + BASE.replace("\n", "\r\n")).encode("utf-8")
    plan = validate(parse_document(raw, "w.toml"), "w.toml")
    assert plan.release.name == "r-1"


def test_the_sample_configs_load() -> None:
    for name in ("minimal.toml", "monorepo.toml"):
        plan = load_plan(ROOT / "sample-configs" / name)
        assert plan.source.endswith(name)
    minimal = load_plan(ROOT / "sample-configs" / "minimal.toml")
    assert len(minimal.services) == 1 and sum(1 for _ in minimal.checks()) == 3


# -- start-up ---------------------------------------------------------------------

HEAVY = ("textual", "hvac", "psycopg", "prometheus_api_client", "pandas", "pydantic")


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print('\\n'.join(k for k, m in sys.modules.items() if m is not None))"],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    return {line.split(".")[0] for line in out.stdout.splitlines()}


def test_version_imports_nothing_heavy() -> None:
    loaded = _modules_after(
        "import contextlib, io\nfrom gonogo.cli import main\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--version'])"
    )
    assert not loaded & {*HEAVY, "rich", "httpx", "tomlkit", "msgspec"}, loaded & {*HEAVY, "rich"}


def test_validating_a_config_imports_no_client_library() -> None:
    loaded = _modules_after(
        "from gonogo.config import load_plan\nload_plan('sample-configs/monorepo.toml')"
    )
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


def test_plan_round_trips_through_msgspec_builtins() -> None:
    # the panel and exports serialise the plan; a non-encodable field would crash them
    plan = load_plan(ROOT / "sample-configs" / "monorepo.toml")
    data = msgspec.to_builtins(plan.doc, enc_hook=str)
    assert data["release"]["commit"] == "0cab782"
