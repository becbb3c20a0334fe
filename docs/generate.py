#!/usr/bin/env python3
"""Generate the reference parts of docs/ from the code, keeping the prose.

    python docs/generate.py           # rewrite the generated blocks in docs/*.md
    python docs/generate.py --check   # exit 1 when a block is stale or a description missing

What the code knows is generated: every config key (walking the msgspec Structs of
``gonogo.config`` from ``PlanDoc`` down) with its type and default and an example
taken from sample-configs/, every check kind of the registry with its parameters,
the traffic drivers, canary rules and runbook actions (the ``Literal`` types of the
config), the ``[keys]`` binding ids, the exit codes, the CLI's commands and options,
and the environment variables the code and the sample configs read.

What people write is kept: each generated table's *description* column (and a check
kind's ``**Calls:**`` line) is read back from the file and written again. A new row
starts from the code's own comment for that field, or, when another page of docs/
already documents the key (docs/notifications.md, docs/canary.md...), a link to it;
otherwise it is empty, and ``--check`` (and tests/unit/test_docs_coverage.py) fails
until someone describes it. Everything outside the ``<!-- BEGIN generated ... -->`` /
``<!-- END generated ... -->`` markers is prose and never touched.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import tokenize
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SAMPLES = ROOT / "sample-configs"
BEGIN = "<!-- BEGIN generated {id}: edit the description column only (python docs/generate.py keeps it) -->"
END = "<!-- END generated {id} -->"
_BLOCK = re.compile(r"<!-- BEGIN generated (?P<id>\S+):.*?-->\n(?P<body>.*?)<!-- END generated (?P=id) -->",
                    re.S)
_CODE = re.compile(r"`([^`]+)`")


# -- the code's facts ------------------------------------------------------------------
@dataclass
class Key:
    """One config key (or a check kind's parameter): where it is, and what it takes."""

    path: str  # "rollout.stages[].hold"; for a parameter "environments[].name"
    type: str
    default: str
    comment: str = ""  # the code's own comment on the field


@dataclass
class Table:
    path: str  # "rollout.stages[]", "" for the top level
    doc: str
    keys: list[Key] = field(default_factory=list)


def _comments(cls: type) -> dict[str, str]:
    """Field name -> the comment on its line (or the comment lines right above it)."""
    import inspect

    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    out: dict[str, str] = {}
    above: list[str] = []
    first_on_line: dict[int, str] = {}
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    for i, tok in enumerate(tokens):
        if tok.type == tokenize.NAME and tok.start[0] not in first_on_line:
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            prev = tokens[i - 1] if i else None
            if nxt is not None and nxt.string == ":" and (prev is None or prev.type in (
                    tokenize.INDENT, tokenize.NEWLINE, tokenize.NL, tokenize.DEDENT, tokenize.COMMENT)):
                first_on_line[tok.start[0]] = tok.string
    lines = source.splitlines()
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped.startswith("#"):
            above.append(stripped.lstrip("# ").strip())
            continue
        name = first_on_line.get(number)
        if name is None:
            above = []
            continue
        trailing = ""
        for tok in tokens:
            if tok.type == tokenize.COMMENT and tok.start[0] == number:
                trailing = tok.string.lstrip("# ").strip()
        text = " ".join(above + ([trailing] if trailing else []))
        if text:
            out[name] = text
        above = []
    return out


def _strip_optional(tp: Any) -> Any:
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, __import__("types").UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return rest[0] if len(rest) == 1 else typing.Union[tuple(rest)]  # noqa: UP007
    return tp


def _struct_of(tp: Any) -> tuple[type | None, bool]:
    """(the Struct a field holds, whether it is an array of them)."""
    tp = _strip_optional(tp)
    if typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        return tp, False
    if typing.get_origin(tp) is tuple:
        args = typing.get_args(tp)
        if args and isinstance(args[0], type) and issubclass(args[0], msgspec.Struct):
            return args[0], True
    return None, False


def type_text(tp: Any, *, services: bool = False, roles: bool = False) -> str:
    from gonogo.values import Duration, SecretRef, Value

    if services:
        return "array of `[[services]]` names"
    if roles:
        return "an `[owners]` role, or a person's name"
    optional = _strip_optional(tp) is not tp
    tp = _strip_optional(tp)
    meta = None
    if typing.get_origin(tp) is typing.Annotated:
        tp, *extras = typing.get_args(tp)
        meta = next((m for m in extras if isinstance(m, msgspec.Meta)), None)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Literal:
        text = " \\| ".join(f'`"{a}"`' if isinstance(a, str) else f"`{a}`" for a in args)
    elif tp is str:
        text = "id" if meta is not None and meta.pattern else "string"
    elif tp is bool:
        text = "boolean"
    elif tp is int:
        text = "integer"
    elif tp is float:
        text = "number"
    elif tp is Duration:
        text = "duration"
    elif tp is SecretRef:
        text = "secret reference"
    elif tp is Value:
        text = "string or reference"
    elif tp is Any:
        text = "any TOML value"
    elif origin is tuple:
        inner, _ = _struct_of(tp)
        text = "array of tables" if inner is not None else f"array of {_plural(type_text(args[0]))}"
    elif origin is dict:
        text = f"table of {_plural(type_text(args[1]))}"
    elif isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        text = "table"
    elif origin in (typing.Union, __import__("types").UnionType):
        text = " or ".join(type_text(a) for a in args)
    else:
        text = getattr(tp, "__name__", str(tp))
    if meta is not None:
        bounds = []
        if meta.ge is not None or meta.gt is not None:
            bounds.append(f"≥ {meta.ge}" if meta.ge is not None else f"> {meta.gt}")
        if meta.le is not None:
            bounds.append(f"≤ {meta.le}")
        if bounds:
            text += " (" + ", ".join(bounds) + ")"
    return text + (" (optional)" if optional and "optional" not in text else "")


def _plural(text: str) -> str:
    return {"string": "strings", "integer": "integers", "number": "numbers", "boolean": "booleans",
            "id": "ids", "duration": "durations", "secret reference": "secret references",
            "string or reference": "strings or references"}.get(text, text)


def default_text(f: Any) -> str:
    from gonogo.values import Duration, SecretRef, Value

    if f.required:
        return "required"
    value = f.default if f.default is not msgspec.NODEFAULT else f.default_factory()
    if value is None:
        return "none"
    if isinstance(value, msgspec.Struct):
        return "(table)"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, Duration):
        return f'`"{value}"`'
    if isinstance(value, Value | SecretRef):
        return f'`"{value}"`'
    if isinstance(value, str):
        return f'`"{value}"`' if value else '`""`'
    if isinstance(value, tuple | list):
        return "`[" + ", ".join(f'"{v}"' if isinstance(v, str) else str(v) for v in value) + "]`"
    if isinstance(value, dict):
        return "`{}`" if not value else f"`{value}`"
    return f"`{value}`"


def walk(cls: type, prefix: str, tables: list[Table], *, skip: frozenset[str] = frozenset()) -> Table:
    """The tables under ``cls`` (itself first), each with its leaf keys."""
    hints = typing.get_type_hints(cls, include_extras=True)
    comments = _comments(cls)
    doc = (cls.__doc__ or "").strip() if cls.__doc__ != msgspec.Struct.__doc__ else ""
    table = Table(prefix, doc)
    tables.append(table)
    for f in msgspec.structs.fields(cls):
        if f.encode_name in skip:
            continue
        path = f"{prefix}.{f.encode_name}" if prefix else f.encode_name
        inner, array = _struct_of(hints[f.name])
        if inner is not None:
            walk(inner, path + ("[]" if array else ""), tables)
            continue
        table.keys.append(Key(path, type_text(hints[f.name]), default_text(f),
                              comments.get(f.name, "")))
    return table


def config_tables() -> list[Table]:
    from gonogo.config import PlanDoc

    tables: list[Table] = []
    walk(PlanDoc, "", tables)
    # a check's params are its kind's own keys (docs/checks.md), not a TOML key
    for t in tables:
        t.keys = [k for k in t.keys if not k.path.endswith("].params")]
    return tables


def kind_tables() -> dict[str, tuple[Any, list[Table]]]:
    from gonogo.registry import kinds

    out: dict[str, tuple[Any, list[Table]]] = {}
    for name, kind in sorted(kinds().items()):
        tables: list[Table] = []
        params = kind.Params
        walk(params, "", tables)
        services = set(getattr(params, "service_fields", ()))
        roles = set(getattr(params, "role_fields", ()))
        hints = typing.get_type_hints(params, include_extras=True)
        for k in tables[0].keys:
            if k.path in services or k.path in roles:
                k.type = type_text(hints.get(k.path), services=k.path in services, roles=k.path in roles)
        out[name] = (kind, tables)
    return out


def literal_values(cls: type, name: str) -> tuple[str, ...]:
    tp = typing.get_type_hints(cls)[name]
    return tuple(str(a) for a in typing.get_args(tp))


def drivers() -> tuple[str, ...]:
    from gonogo.config import TrafficConfig

    return literal_values(TrafficConfig, "driver")


def rules() -> tuple[str, ...]:
    from gonogo.config import CanaryMetric

    return literal_values(CanaryMetric, "rule")


def actions() -> tuple[str, ...]:
    from gonogo.config import RunbookStep

    return literal_values(RunbookStep, "action")


_ENV_IN_CODE = re.compile(
    r"""(?:environ\.get\(|environ\[|getenv\(|setenv\()\s*["']([A-Z][A-Z0-9_]+)["']"""
    r"""|["']([A-Z][A-Z0-9_]+)["']\s+(?:not\s+)?in\s+os\.environ""")
_ENV_REF = re.compile(r"env:([A-Za-z_][A-Za-z0-9_]*)$")


def env_in_code() -> dict[str, list[str]]:
    """Environment variables the code reads -> where (the tests' own GONOGO_* too)."""
    found: dict[str, list[str]] = {}
    roots = [ROOT / "src", ROOT / "checks", ROOT / "screens", ROOT / "themes"]
    files = [p for r in roots for p in sorted(r.rglob("*.py"))] + sorted((ROOT / "tests").rglob("*.py"))
    for path in files:
        text = path.read_text(encoding="utf-8")
        for m in _ENV_IN_CODE.finditer(text):
            name = m.group(1) or m.group(2)
            if path.is_relative_to(ROOT / "tests") and not name.startswith("GONOGO_"):
                continue  # a test's own stand-in variables
            where = str(path.relative_to(ROOT))
            if where not in found.setdefault(name, []):
                found[name].append(where)
    return dict(sorted(found.items()))


def env_in_samples() -> dict[str, list[str]]:
    """``env:NAME`` references in sample-configs' values -> the configs that use each."""
    found: dict[str, list[str]] = {}

    def strings(node: Any) -> Iterator[str]:
        if isinstance(node, str):
            yield node
        elif isinstance(node, dict):
            for v in node.values():
                yield from strings(v)
        elif isinstance(node, list):
            for v in node:
                yield from strings(v)

    for path in sorted(SAMPLES.glob("*.toml")):
        for text in strings(_sample(path)):
            if (m := _ENV_REF.match(text)) and path.name not in found.setdefault(m.group(1), []):
                found[m.group(1)].append(path.name)
    return dict(sorted(found.items()))


def sample_value(path: str) -> str:
    """The first value of ``path`` in sample-configs/*.toml, as TOML, or ""."""
    parts = path.split(".")
    for file in sorted(SAMPLES.glob("*.toml"), key=lambda p: (p.name != "monorepo.toml", p.name)):
        for value in _lookup(_sample(file), parts):
            return _toml(value)
    return ""


_SAMPLES: dict[Path, Any] = {}


def _sample(path: Path) -> Any:
    """A sample config's data, read as gonogo reads it (tomlkit: multi-line inline tables)."""
    if path not in _SAMPLES:
        from gonogo.config import read_document

        _SAMPLES[path] = read_document(path)
    return _SAMPLES[path]


def _lookup(node: Any, parts: list[str]) -> Iterator[Any]:
    if not parts:
        yield node
        return
    head, rest = parts[0], parts[1:]
    array = head.endswith("[]")
    name = head.removesuffix("[]")
    if not isinstance(node, dict) or name not in node:
        return
    child = node[name]
    if array:
        for item in child if isinstance(child, list) else []:
            yield from _lookup(item, rest)
    else:
        yield from _lookup(child, rest)


def _toml(value: Any) -> str:
    import json

    if isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, list):
        text = "[" + ", ".join(_toml(v).strip("`") for v in value[:4]) + (", …" if len(value) > 4 else "") + "]"
    elif isinstance(value, dict):
        text = "{ " + ", ".join(f"{k} = {_toml(v).strip('`')}" for k, v in list(value.items())[:3]) + " }"
    else:
        text = str(value)
    if len(text) > 60:
        text = text[:57] + "…"
    return "`" + text.replace("|", "\\|").replace("`", "'") + "`"


# -- reading what people wrote ---------------------------------------------------------
def _cells(line: str) -> list[str]:
    body = line.strip().strip("|")
    cells, current, code = [], "", False
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body) and body[i + 1] == "|":
            current += "\\|"
            i += 2
            continue
        if ch == "`":
            code = not code
        if ch == "|" and not code:
            cells.append(current.strip())
            current = ""
        else:
            current += ch
        i += 1
    cells.append(current.strip())
    return cells


def kept(body: str) -> tuple[dict[str, dict[str, str]], str]:
    """From an existing block: row key -> {column: text}, and its prose (what stands
    between the block's heading and its table)."""
    rows: dict[str, dict[str, str]] = {}
    header: list[str] = []
    prose: list[str] = []
    in_prose = False
    for line in body.splitlines():
        if not line.startswith("|"):
            header = []
            if line.startswith("#") and not prose and not in_prose:
                in_prose = True
                continue
            if in_prose and not rows:
                prose.append(line)
            continue
        in_prose = False
        cells = _cells(line)
        if not header:
            header = [c.lower() for c in cells]
            continue
        if set(line.replace("|", "").strip()) <= {"-", ":", " "}:
            continue
        m = _CODE.match(cells[0])
        if m:
            rows[m.group(1)] = dict(zip(header, cells, strict=False))
    return rows, "\n".join(prose).strip()


def read_blocks() -> dict[str, str]:
    blocks: dict[str, str] = {}
    for path in sorted(DOCS.glob("*.md")):
        for m in _BLOCK.finditer(path.read_text(encoding="utf-8")):
            blocks[m.group("id")] = m.group("body")
    return blocks


# -- writing ---------------------------------------------------------------------------
@dataclass
class Doc:
    """One generated block: where it lives and what it says."""

    id: str
    file: str
    text: str
    missing: list[str] = field(default_factory=list)  # rows still without a description


def _rst(text: str) -> str:
    """A docstring's reStructuredText literals (``x``) as Markdown code (`x`)."""
    return re.sub(r"``([^`]+)``", r"`\1`", text)


def _esc(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


# -- is it documented? (the generator and tests/unit/test_docs_coverage.py ask) ------
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")


def prose_words(text: str) -> int:
    """How many words of prose ``text`` has, code spans and link targets left out."""
    text = _LINK.sub(r"\1", _CODE.sub(" ", text))
    return len(re.findall(r"[A-Za-z][A-Za-z'-]*", text))


def _norm(name: str) -> str:
    return name.strip().strip("[]").replace("[]", "").strip()


def _entry(line: str) -> tuple[str, str] | None:
    """(identifier, its description) when ``line`` is an entry: a table row, a list item
    or a heading whose first code span names something."""
    stripped = line.strip()
    if stripped.startswith("|"):
        cells = _cells(stripped)
        if not cells or set(stripped.replace("|", "").strip()) <= {"-", ":", " "}:
            return None
        m = _CODE.match(cells[0])
        return (m.group(1), cells[-1] if len(cells) > 1 else "") if m else None
    m = re.match(r"^(?:[-*]|\d+\.)\s+`([^`]+)`(.*)$", stripped) or re.match(r"^#{1,6}\s+`([^`]+)`(.*)$", stripped)
    return (m.group(1), m.group(2)) if m else None


def documented_in(text: str, path: str) -> bool:
    """Whether a page documents ``path`` (``rollout.stages[].hold``, ``ratio_above``,
    ``http_health.services``): an entry (table row, list item or heading) naming it
    with some prose, either by its whole path, or by the rest of the path inside a
    section whose heading names the first part (``## `[[notify]]` `` then a row
    `` `url` ``, as docs/notifications.md writes them)."""
    lines = text.splitlines()
    headings = [(i, len(m.group(1)), m.group(2)) for i, line in enumerate(lines)
                if (m := _HEADING.match(line))]

    def described(i: int, desc: str) -> bool:
        if prose_words(desc) >= 2:
            return True
        if _HEADING.match(lines[i]):  # a heading: its first paragraph describes it
            for nxt in lines[i + 1:]:
                if nxt.strip():
                    return not _HEADING.match(nxt) and prose_words(nxt) >= 2
        return False

    def names(heading: str) -> set[str]:
        found = {_norm(c) for c in _CODE.findall(heading)}
        found |= {_norm(b) for b in re.findall(r"\[\[?[A-Za-z0-9_.\[\]]+?\]?\]", heading)}
        return found

    whole = {path, _norm(path)}
    for i, line in enumerate(lines):
        e = _entry(line)
        if e and (e[0] in whole or _norm(e[0]) in whole) and described(i, e[1]):
            return True
    parts = path.split(".")
    for cut in range(1, len(parts)):
        table, rest = _norm(".".join(parts[:cut])), ".".join(parts[cut:])
        for n, (start, level, heading) in enumerate(headings):
            if table not in names(heading):
                continue
            end = next((s for s, lv, _ in headings[n + 1:] if lv <= level), len(lines))
            for i in range(start + 1, end):
                e = _entry(lines[i])
                if e and (e[0] == rest or _norm(e[0]) == _norm(rest)) and described(i, e[1]):
                    return True
    return False


def elsewhere(path: str, docs: dict[str, str], own: str) -> str:
    """A link to another docs page that documents ``path`` already, or ""."""
    for name, text in docs.items():
        if name != own and documented_in(text, path):
            return f"See [{name}]({name})."
    return ""


def key_rows(keys: list[Key], old: dict[str, dict[str, str]], *, examples: bool, docs: dict[str, str],
             own: str, prefix: str = "") -> tuple[list[str], list[str]]:
    head = "| key | type | default | example | description |" if examples else \
        "| parameter | type | default | description |"
    rows = [head, "|---|---|---|---|---|" if examples else "|---|---|---|---|"]
    missing: list[str] = []
    for k in keys:
        before = old.get(k.path, {})
        desc = before.get("description", "").strip() or _esc(k.comment) \
            or elsewhere(prefix + k.path, docs, own)
        if not desc:
            missing.append(k.path)
        cells = [f"`{k.path}`", k.type, k.default]
        if examples:
            cells.append(sample_value(k.path) or before.get("example", ""))
        cells.append(desc)
        rows.append("| " + " | ".join(cells) + " |")
    return rows, missing


def config_docs(old: dict[str, str], docs: dict[str, str]) -> list[Doc]:
    out = []
    for table in config_tables():
        if not table.keys:
            continue
        ident = f"config:{table.path or 'top'}"
        rows, prose = kept(old.get(ident, ""))
        if ident not in old:  # a new section: start from the code's own account of it
            prose = " ".join(table.doc.split("\n\n")[0].split())
        heading = f"### `{_toml_header(table.path)}`" if table.path else "### Top-level keys"
        lines, missing = key_rows(table.keys, rows, examples=True, docs=docs, own="config-reference.md")
        text = [heading, "", *([prose, ""] if prose else []), *lines]
        out.append(Doc(ident, "config-reference.md", "\n".join(text) + "\n", missing))
    return out


def _toml_header(path: str) -> str:
    name = path.removesuffix("[]").replace("[]", "")  # gates[].checks[] -> [[gates.checks]]
    return f"[[{name}]]" if path.endswith("[]") else f"[{name}]"


def check_docs(old: dict[str, str], docs: dict[str, str]) -> list[Doc]:
    out = []
    for name, (kind, tables) in kind_tables().items():
        ident = f"check:{name}"
        rows, prose = kept(old.get(ident, ""))
        if ident not in old:  # a new kind: its docstring, and the line to write
            doc = _rst(" ".join((type(kind).__doc__ or "").strip().split("\n\n")[0].split()))
            prose = f"{doc}\n\n**Calls:**"
        calls = next((ln for ln in prose.splitlines() if ln.startswith("**Calls:**")), "")
        missing = [] if prose_words(calls.removeprefix("**Calls:**")) >= 2 else [f"{name}: **Calls:**"]
        text = [f"### `{name}`", "", prose, ""]
        keys = [k for t in tables for k in t.keys]  # nested: "environments[].name"
        if keys:
            table_rows, miss = key_rows(keys, rows, examples=False, docs=docs, own="checks.md",
                                        prefix=f"{name}.")
            text += table_rows
            missing += [f"{name}.{m}" for m in miss]
        else:
            text.append("No parameters.")
        out.append(Doc(ident, "checks.md", "\n".join(text) + "\n", missing))
    return out


def kinds_index_doc() -> Doc:
    from gonogo.registry import kinds

    lines = ["| kind | verifies | from |", "|---|---|---|"]
    for name, kind in sorted(kinds().items()):
        doc = _rst(" ".join((type(kind).__doc__ or "").strip().split("\n\n")[0].split()))
        module = type(kind).__module__.removeprefix("gonogo.")
        lines.append(f"| [`{name}`](#{name}) | {_esc(doc)} | `{module}` |")
    return Doc("kinds", "checks.md", "\n".join(lines) + "\n", [])


def literal_docs(old: dict[str, str], docs: dict[str, str]) -> list[Doc]:
    out = []
    for ident, what, values, file in (
        ("drivers", "driver", drivers(), "rollout.md"),
        ("rules", "rule", rules(), "rollout.md"),
        ("actions", "action", actions(), "rollout.md"),
    ):
        rows, _ = kept(old.get(ident, ""))
        lines = [f"| {what} | description |", "|---|---|"]
        missing = []
        for v in values:
            desc = rows.get(v, {}).get("description", "").strip()
            if not desc:
                missing.append(v)
            lines.append(f"| `{v}` | {desc} |")
        out.append(Doc(ident, file, "\n".join(lines) + "\n", missing))
    return out


def keys_doc(old: dict[str, str]) -> Doc:
    from gonogo.widgets.keys import FOOTER_IDS, KEYS, SCREEN_KEYS, display_key

    rows, _ = kept(old.get("keys", ""))
    lines = ["| binding id | default key | action | in the footer | description |", "|---|---|---|---|---|"]
    missing = []
    for ident, key, _action, label in KEYS:
        desc = rows.get(ident, {}).get("description", "").strip() or label
        lines.append(f"| `{ident}` | `{display_key(key)}` | {label} | "
                     f"{'yes' if ident in FOOTER_IDS else 'no'} | {desc} |")
    for ident, keys, does in SCREEN_KEYS:  # one screen's keys, in its footer there
        shown = ", ".join(f"`{display_key(k)}`" for k in keys.split(","))
        lines.append(f"| `{ident}` | {shown} | — | on its screen | {does} |")
    return Doc("keys", "config-reference.md", "\n".join(lines) + "\n", missing)


def exits_doc(old: dict[str, str]) -> Doc:
    from gonogo.cli import exits

    rows, _ = kept(old.get("exits", ""))
    comments = _comments_module(exits)
    lines = ["| code | name | description |", "|---|---|---|"]
    seen: dict[int, list[str]] = {}
    for name, value in vars(exits).items():
        if name.isupper() and isinstance(value, int):
            seen.setdefault(value, []).append(name)
    missing = []
    for value, names in sorted(seen.items()):
        key = str(value)
        desc = rows.get(key, {}).get("description", "").strip() or "; ".join(
            c for n in names if (c := comments.get(n)))
        if not desc:
            missing.append(key)
        lines.append(f"| `{value}` | {', '.join(names)} | {_esc(desc)} |")
    return Doc("exits", "cli.md", "\n".join(lines) + "\n", missing)


def _comments_module(module: Any) -> dict[str, str]:
    import inspect

    out = {}
    for line in inspect.getsource(module).splitlines():
        m = re.match(r"^([A-Z_]+)\s*=\s*[^#]*#\s*(.*)$", line)
        if m:
            out[m.group(1)] = m.group(2).strip()
    return out


def env_doc(old: dict[str, str]) -> Doc:
    rows, _ = kept(old.get("env", ""))
    lines = ["| variable | read by | description |", "|---|---|---|"]
    missing = []
    for name, where in env_in_code().items():
        desc = rows.get(name, {}).get("description", "").strip()
        if not desc:
            missing.append(name)
        shown = ", ".join(f"`{w}`" for w in where[:3]) + (" …" if len(where) > 3 else "")
        lines.append(f"| `{name}` | {shown} | {desc} |")
    return Doc("env", "cli.md", "\n".join(lines) + "\n", missing)


def env_samples_doc(old: dict[str, str]) -> Doc:
    rows, _ = kept(old.get("env-samples", ""))
    lines = ["| variable | used by | description |", "|---|---|---|"]
    missing = []
    for name, files in env_in_samples().items():
        desc = rows.get(name, {}).get("description", "").strip()
        if not desc:
            missing.append(name)
        lines.append(f"| `{name}` | {', '.join(f'`{f}`' for f in files)} | {desc} |")
    return Doc("env-samples", "cli.md", "\n".join(lines) + "\n", missing)


def cli_doc() -> Doc:
    """Every command and option, from the argparse parser itself."""
    from gonogo.cli import build_parser

    parser = build_parser()
    lines: list[str] = []

    def command(p: argparse.ArgumentParser, name: str) -> None:
        subs = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
        opts = [a for a in p._actions if not isinstance(a, argparse._SubParsersAction | argparse._HelpAction)]
        if name:
            help_text = ""
            for parent in parsers:
                for choice in parent._choices_actions:
                    if choice.dest == name.split()[-1] and choice.help:
                        help_text = choice.help
            usage = " ".join(p.format_usage().split())
            usage = usage.removeprefix("usage: ")
            lines.extend([f"#### `{name}`", "", help_text, "", f"    {usage}", ""])
            if opts:
                lines.extend(["| option | description |", "|---|---|"])
                for a in opts:
                    flag = ", ".join(a.option_strings) or a.dest
                    if not a.help:
                        missing.append(f"{name} {flag}: its help text (src/gonogo/cli/__init__.py)")
                    extra = f" (default: `{a.default}`)" if a.default not in (None, False, argparse.SUPPRESS) else ""
                    choices = f" One of {', '.join(f'`{c}`' for c in a.choices)}." if a.choices else ""
                    lines.append(f"| `{flag}` | {_esc((a.help or '').replace('%(default)s', str(a.default)))}"
                                 f"{choices}{extra} |")
                lines.append("")
        for sub in subs:
            parsers.append(sub)
            for sub_name, sub_parser in sub.choices.items():
                command(sub_parser, f"{name} {sub_name}".strip() if name else f"gonogo {sub_name}")

    parsers: list[Any] = []
    missing: list[str] = []
    command(parser, "")
    return Doc("cli", "cli.md", "\n".join(lines).rstrip() + "\n", missing)


def all_docs() -> list[Doc]:
    old = read_blocks()
    pages = {p.name: p.read_text(encoding="utf-8") for p in sorted(DOCS.glob("*.md"))}
    return (config_docs(old, pages) + [keys_doc(old), kinds_index_doc()] + check_docs(old, pages)
            + literal_docs(old, pages)
            + [exits_doc(old), env_doc(old), env_samples_doc(old), cli_doc()])


# -- putting blocks in place -----------------------------------------------------------
def render(files: dict[str, str], docs: list[Doc]) -> dict[str, str]:
    """The files with every block brought up to date; a new block goes right after the
    block before it in the same file (or at the end)."""
    out = dict(files)
    previous: dict[str, str] = {}
    for doc in docs:
        text = out.get(doc.file, f"# {doc.file}\n")
        block = BEGIN.format(id=doc.id) + "\n" + doc.text + END.format(id=doc.id)
        pattern = re.compile(re.escape(f"<!-- BEGIN generated {doc.id}:") + r".*?-->\n.*?"
                             + re.escape(END.format(id=doc.id)), re.S)
        if pattern.search(text):
            text = pattern.sub(lambda _m: block, text, count=1)
        elif doc.file in previous:
            anchor = END.format(id=previous[doc.file])
            text = text.replace(anchor, anchor + "\n\n" + block, 1)
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
        out[doc.file] = text
        previous[doc.file] = doc.id
    return out


def problems() -> list[str]:
    """What --check reports: stale files, and descriptions still missing."""
    docs = all_docs()
    files = {d.file: (DOCS / d.file).read_text(encoding="utf-8") if (DOCS / d.file).exists() else ""
             for d in docs}
    fresh = render(files, docs)
    found = [f"docs/{name} is out of date: run python docs/generate.py"
             for name, text in fresh.items() if text != files[name]]
    for d in docs:
        found += [f"docs/{d.file}: {d.id}: describe {m}" for m in d.missing]
    return found


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--check", action="store_true", help="report, write nothing; exit 1 on a problem")
    ns = args.parse_args(argv)
    if ns.check:
        found = problems()
        for p in found:
            print(p, file=sys.stderr)
        return 1 if found else 0
    docs = all_docs()
    files = {d.file: (DOCS / d.file).read_text(encoding="utf-8") if (DOCS / d.file).exists() else ""
             for d in docs}
    for name, text in render(files, docs).items():
        if text != files[name]:
            (DOCS / name).write_text(text, encoding="utf-8")
            print(f"wrote docs/{name}")
    for d in docs:
        for m in d.missing:
            print(f"docs/{d.file}: {d.id}: describe {m}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
