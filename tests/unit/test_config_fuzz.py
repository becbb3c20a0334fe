"""Property tests: whatever the loader is fed, it returns a Plan or raises ConfigError.

Three sources of input: raw bytes, arbitrary TOML documents, and documents shaped
like a real config (the minimal sample) with random keys replaced, removed or
added. Any other exception would be a traceback in front of the operator.
"""

from __future__ import annotations

import copy
import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest
import tomlkit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gonogo.config import ConfigError, Plan, parse_document, read_document, validate
from gonogo.values import Duration, SecretRef, format_duration

ROOT = Path(__file__).resolve().parents[2]
# A few seconds by default; GONOGO_FUZZ_EXAMPLES=5000 for a long hunt.
FAST = settings(
    max_examples=int(os.environ.get("GONOGO_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def load_bytes(raw: bytes) -> Plan | ConfigError:
    try:
        return validate(parse_document(raw, "fuzz.toml"), "fuzz.toml")
    except ConfigError as exc:
        # the error must render, name the file, and stay one line per problem
        text = exc.render()
        assert exc.problems
        assert all(line.startswith("fuzz.toml: ") for line in text.splitlines())
        return exc


def load_data(data: dict[str, Any]) -> Plan | ConfigError:
    return load_bytes(tomlkit.dumps(data).encode("utf-8"))


keys = st.one_of(
    st.sampled_from(
        ["release", "name", "commit", "gates", "checks", "id", "kind", "title", "services",
         "health_url", "timeout", "rollout", "stages", "weight", "hold", "owners", "canary",
         "metrics", "rule", "runbook", "steps", "action", "settings", "integrations", "vault",
         "token", "seed", "required", "retries", "volumes", "params"]
    ),
    st.text(min_size=1, max_size=12),
)
scalars = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=30),
    st.sampled_from(["30m", "1h30m", "5x", "env:X", "vault:kv/a#b", "vault:bad", "http_health",
                     "manual", "command", "ratio_above", "TBD", "", "file:/etc/passwd"]),
    st.dates(),
    st.datetimes(timezones=st.none() | st.just(dt.UTC)),
    st.times(),
)
toml_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=25,
)
documents = st.dictionaries(keys, toml_values, max_size=6)


@FAST
@given(st.binary(max_size=2048))
def test_random_bytes_never_raise_anything_but_config_error(raw: bytes) -> None:
    load_bytes(raw)


@FAST
@given(st.text(alphabet=st.sampled_from(list('[]{}=".,\n #\'abc123-_:tf\\u')), max_size=200))
def test_toml_shaped_noise_never_raises(text: str) -> None:
    load_bytes(text.encode("utf-8"))


@FAST
@given(documents)
def test_random_toml_documents_never_raise(data: dict[str, Any]) -> None:
    load_data(data)


def _minimal() -> dict[str, Any]:
    return read_document(ROOT / "sample-configs" / "minimal.toml")


MINIMAL = _minimal()


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


PATHS = _paths(MINIMAL)


def _rich() -> dict[str, Any]:
    """A trimmed monorepo plan: nested params, rollout, canary and runbook to mutate."""
    doc = read_document(ROOT / "sample-configs" / "monorepo.toml")
    doc["services"] = doc["services"][:2]
    doc["gates"] = [g for g in doc["gates"] if g["id"] in ("security", "staging")]
    doc["gates"][0]["checks"] = [c for c in doc["gates"][0]["checks"] if c["id"] != "health-all"]
    for stage in doc["rollout"]["stages"]:
        stage["entry_checks"] = stage["exit_checks"] = []
    doc["runbook"]["steps"] = [s for s in doc["runbook"]["steps"] if s["action"] != "checks"]
    kept = {s["name"] for s in doc["services"]}  # a reconciliation item names a [[services]] entry
    for item in doc["runbook"].get("reconciliation", []):
        if item.get("service") not in kept:
            item.pop("service", None)
    return doc


RICH = _rich()
RICH_PATHS = _paths(RICH)


def _mutate(doc: dict[str, Any], path: tuple[Any, ...], op: str, new: Any, key: str) -> None:
    parent: Any = doc
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if op == "replace":
        parent[last] = new
    elif op == "delete":
        del parent[last]
    elif op == "add" and isinstance(parent[last], dict):
        parent[last][key] = new
    elif op == "add" and isinstance(parent[last], list):
        parent[last].append(new)


@FAST
@given(
    st.lists(
        st.tuples(
            st.sampled_from(PATHS),
            st.sampled_from(["replace", "delete", "add"]),
            toml_values,
            keys,
        ),
        min_size=1,
        max_size=4,
    )
)
def test_schema_shaped_mutations_never_raise(
    mutations: list[tuple[tuple[Any, ...], str, Any, str]],
) -> None:
    doc = copy.deepcopy(MINIMAL)
    for path, op, new, key in mutations:
        try:
            _mutate(doc, path, op, new, key)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or reshaped this path
    load_data(doc)


@settings(FAST, max_examples=max(FAST.max_examples // 3, 15))
@given(
    st.lists(
        st.tuples(
            st.sampled_from(RICH_PATHS),
            st.sampled_from(["replace", "delete", "add"]),
            toml_values,
            keys,
        ),
        min_size=1,
        max_size=3,
    )
)
def test_mutations_of_a_full_plan_never_raise(
    mutations: list[tuple[tuple[Any, ...], str, Any, str]],
) -> None:
    doc = copy.deepcopy(RICH)
    for path, op, new, key in mutations:
        try:
            _mutate(doc, path, op, new, key)
        except (KeyError, IndexError, TypeError):
            continue
    load_data(doc)


def test_the_unmutated_samples_load() -> None:
    # guards the mutation tests: their starting points must be valid plans
    assert isinstance(load_data(copy.deepcopy(MINIMAL)), Plan)
    assert isinstance(load_data(copy.deepcopy(RICH)), Plan)


@FAST
@given(st.floats(min_value=0.001, max_value=366 * 86400.0))
def test_durations_round_trip_through_their_text(seconds: float) -> None:
    shown = format_duration(seconds)
    again = Duration.parse(shown).seconds
    # text rounds to the millisecond below 1s and to the second above
    assert again == pytest.approx(seconds, abs=0.5 if seconds >= 1 else 0.0005)


@FAST
@given(scalars | st.lists(scalars, max_size=2))
def test_duration_and_secret_parsers_only_raise_value_error(value: Any) -> None:
    for parse in (Duration.parse, SecretRef.parse):
        try:
            parse(value)
        except ValueError:
            pass
