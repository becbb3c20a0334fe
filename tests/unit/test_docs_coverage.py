"""The reference in docs/ covers the code: every config key (found by walking the config
Structs from ``PlanDoc`` down), every registered check kind and each of its parameters,
every canary rule, traffic driver and runbook action (the ``Literal`` types of the
config), every environment variable the code reads and every CLI option has a
description somewhere in docs/*.md, and the generated reference blocks are current.

A key added later needs only a docs entry: a row, list item or heading naming it, with
some prose, anywhere in docs/ — by its whole path (`` `canary.metrics[].no_data` ``) or
by its name under a heading that names its table (``## `[[notify]]` `` then
`` | `url` | … | the webhook URL | ``). ``python docs/generate.py`` then adds its row to
the generated reference, linking to that entry.
"""

from __future__ import annotations

import importlib.util
import sys
import typing
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, UnionType
from typing import Any, Literal

import msgspec
import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_generate", DOCS / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


gen = _generator()
PAGES = {p.name: p.read_text(encoding="utf-8") for p in sorted(DOCS.glob("*.md"))}


def documented(path: str) -> bool:
    return any(gen.documented_in(text, path) for text in PAGES.values())


def _inner(tp: Any) -> tuple[type | None, bool]:
    """(the Struct a field's type holds, whether as an array)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Annotated:
        return _inner(args[0])
    if origin in (typing.Union, UnionType):
        for arg in args:
            found = _inner(arg)
            if found[0] is not None:
                return found
        return None, False
    if origin is tuple and args and isinstance(args[0], type) and issubclass(args[0], msgspec.Struct):
        return args[0], True
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        return tp, False
    return None, False


def keys(cls: type, prefix: str = "") -> Iterator[str]:
    """Every TOML key under ``cls``: ``release.name``, ``rollout.stages[].hold``..."""
    hints = typing.get_type_hints(cls, include_extras=True)
    for field in msgspec.structs.fields(cls):
        if field.name == "params" and hints[field.name] is Any:
            continue  # a check's own parameters: its kind's, below
        path = f"{prefix}.{field.encode_name}" if prefix else field.encode_name
        inner, array = _inner(hints[field.name])
        if inner is not None:
            yield from keys(inner, path + ("[]" if array else ""))
        else:
            yield path


def config_keys() -> list[str]:
    from gonogo.config import PlanDoc

    return list(keys(PlanDoc))


def kind_params() -> list[str]:
    from gonogo.registry import kinds

    return [f"{name}.{key}" for name, kind in sorted(kinds().items()) for key in keys(kind.Params)]


def literals(cls: type, name: str) -> list[str]:
    return [str(v) for v in typing.get_args(typing.get_type_hints(cls)[name])]


def test_the_walk_finds_the_keys_it_should() -> None:
    found = config_keys()
    assert {"release.name", "settings.hash_key", "rollout.stages[].exit_checks",
            "gates[].checks[].skip_if", "canary.metrics[].rule", "integrations.postgres.sslmode",
            "runbook.reconciliation[].service", "keys", "owners"} <= set(found)
    assert len(found) > 100 and not any(k.endswith("params") for k in found)
    assert {"smoke.steps[].capture", "db_credentials.environments[].password",
            "auth_propagation.pairs[].from"} <= set(kind_params())


@pytest.mark.parametrize("path", config_keys())
def test_every_config_key_is_documented(path: str) -> None:
    assert documented(path), f"{path}: no description in docs/*.md (add one; see docs/README.md)"


@pytest.mark.parametrize("path", kind_params())
def test_every_check_parameter_is_documented(path: str) -> None:
    assert documented(path), f"check kind parameter {path}: no description in docs/*.md"


def _kinds() -> list[str]:
    from gonogo.registry import kinds

    return sorted(kinds())


@pytest.mark.parametrize("kind", _kinds())
def test_every_check_kind_is_documented_with_what_it_calls(kind: str) -> None:
    assert documented(kind), f"check kind {kind}: no section in docs/checks.md"
    section = PAGES["checks.md"].split(f"### `{kind}`", 1)[1].split("<!-- END generated", 1)[0]
    calls = next((ln for ln in section.splitlines() if ln.startswith("**Calls:**")), "")
    assert gen.prose_words(calls.removeprefix("**Calls:**")) >= 5, f"{kind}: say what it calls"


def _vocabulary() -> list[tuple[str, str]]:
    from gonogo.config import CanaryMetric, RunbookStep, TrafficConfig

    return ([("canary rule", v) for v in literals(CanaryMetric, "rule")]
            + [("traffic driver", v) for v in literals(TrafficConfig, "driver")]
            + [("runbook action", v) for v in literals(RunbookStep, "action")])


@pytest.mark.parametrize(("what", "name"), _vocabulary())
def test_every_rule_driver_and_action_is_documented(what: str, name: str) -> None:
    assert documented(name), f"{what} {name}: no description in docs/*.md"


@pytest.mark.parametrize("name", sorted(gen.env_in_code()))
def test_every_environment_variable_the_code_reads_is_documented(name: str) -> None:
    assert documented(name), f"environment variable {name}: no description in docs/cli.md"


def test_the_generated_reference_is_current_and_every_row_described() -> None:
    problems = gen.problems()
    assert not problems, "\n".join(problems) + "\n(run: python docs/generate.py, then describe what it lists)"


def test_the_pages_the_other_work_writes_are_linked_not_shadowed() -> None:
    index = PAGES["README.md"]
    assert "(canary.md)" in index and "(notifications.md)" in index


# -- the recogniser itself: what counts as documentation, and what does not ----------------
NOTIFY_STYLE = """
## Configuration: `[[notify]]`

| key | default | meaning |
|---|---|---|
| `url` | required | a secret reference: the webhook URL is the credential |
| `events` | every event |  |
"""


def test_a_key_documented_under_its_tables_heading_counts() -> None:
    assert gen.documented_in(NOTIFY_STYLE, "notify[].url")
    assert gen.documented_in("- `canary.metrics[].no_data`: what an empty result means\n",
                             "canary.metrics[].no_data")
    assert gen.documented_in("### `ratio_above`\n\nThe canary is worse than factor times the baseline.\n",
                             "ratio_above")


def test_a_bare_mention_does_not_count() -> None:
    assert not gen.documented_in(NOTIFY_STYLE, "notify[].events"), "a row without prose"
    assert not gen.documented_in(NOTIFY_STYLE, "notify[].token"), "not there at all"
    assert not gen.documented_in("Set `notify.url` to the webhook, and `kind` too.\n", "notify[].url"), \
        "mentioned in a sentence, not an entry"
    assert not gen.documented_in("## `[canary]`\n\n| `url` | the source's address |\n",
                                 "notify[].url"), "a row of another table"


class _Brand(msgspec.Struct, frozen=True, kw_only=True):
    sparkle: Literal["yes", "no"] = "no"


class _NewDoc(msgspec.Struct, kw_only=True):
    brand: _Brand = _Brand()


def test_a_key_added_to_a_struct_is_reported_until_documented() -> None:
    (path,) = keys(_NewDoc)
    assert path == "brand.sparkle" and not documented(path)
    assert gen.documented_in("### `[brand]`\n\n| `sparkle` | string | no | makes it shine |\n", path)
