"""Plans from TOML text and checks through the real runner, as a user's config would
go: ``plan_from_toml`` through the real validator, ``run_check`` through the real
runner (deadline, retries, redaction) with a real context."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping
from pathlib import Path

from gonogo.config import Plan, load_plan, parse_document, validate
from gonogo.context import CheckContext, make_context
from gonogo.model import CheckResult
from gonogo.runner import run_one

RELEASE = '[release]\nname = "test"\ncommit = "abc1234"\n\n'
_HAS_RELEASE = re.compile(r"^\s*\[release\]", re.M)


def plan_from_toml(directory: Path | None, text: str, *, name: str = "gonogo.toml") -> Plan:
    """``text`` (dedented) as a loaded plan. Written to ``directory/name`` and read back
    by ``load_plan`` (references to sibling files resolve, ``set_owner`` can write
    back); with ``directory=None`` parsed in memory, its source named ``name``.
    A text without a ``[release]`` table gets a test one (``RELEASE``)."""
    text = textwrap.dedent(text)
    if not _HAS_RELEASE.search(text):
        text = RELEASE + text
    if directory is None:
        return validate(parse_document(text.encode("utf-8"), name), name)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return load_plan(path)


async def run_check(
    plan: Plan,
    check_id: str,
    environ: Mapping[str, str] | None = None,
    *,
    context: CheckContext | None = None,
) -> CheckResult:
    """Run one check of ``plan`` with a fresh context over ``environ``, or with
    ``context`` made by the caller (to look at it afterwards: its redactor). Either way
    the context is closed after the run."""
    ctx = context if context is not None else make_context(plan, environ=dict(environ or {}))
    try:
        for gate, spec in plan.checks():
            if spec.id == check_id:
                return await run_one(gate, spec, ctx)
        raise KeyError(check_id)
    finally:
        await ctx.aclose()
