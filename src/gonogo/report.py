"""Rendering a finished checklist run: table (Rich), JSON, JUnit XML, Markdown.

This is the CLI's edge, not the core: it may import Rich (lazily, for the table).
Every string here comes from already-redacted results, but not necessarily from
sanitised ones (a journal written by an older version, a plugin's result): each
format sanitises at its own exit. Service text and config strings are never parsed as
Rich markup (``Text`` objects only), JUnit is built by ElementTree from XML-safe text,
Markdown escapes its own syntax, JSON escapes what a terminal would act on.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from gonogo.config import Plan
from gonogo.gates import gate_status
from gonogo.model import CheckResult, Status
from gonogo.untrusted import json_safe, markdown_text, printable
from gonogo.verdict import Verdict

FORMATS = ("table", "json", "junit", "markdown")
STATUS_STYLE = {
    Status.PASS: "green",
    Status.FAIL: "bold red",
    Status.WARN: "yellow",
    Status.ERROR: "bold magenta",
    Status.SKIPPED: "dim",
    Status.PENDING: "cyan",
}


def to_dict(plan: Plan, results: Mapping[str, CheckResult], verdict: Verdict,
            now: float | None = None) -> dict[str, Any]:
    """The JSON report; each result with when it finished and how old it is at ``now``
    (default: the time of the report)."""
    now = time.time() if now is None else now
    gates = []
    for gate in plan.gates:
        checks = [
            {
                "id": r.check_id,
                "title": r.title,
                "kind": r.kind,
                "status": str(r.status),
                "summary": r.summary,
                "required": r.required,
                "duration_ms": round(r.duration_ms, 1),
                "details": list(r.details),
                "finished_at": r.finished_at or None,
                "age_s": round(max(0.0, now - r.finished_at), 1) if r.finished_at else None,
            }
            for c in gate.checks
            if (r := results.get(c.id)) is not None
        ]
        if not checks:
            continue
        gates.append(
            {
                "id": gate.id,
                "title": gate.title,
                "status": str(gate_status(gate, results)),
                "checks": checks,
            }
        )
    return {
        "release": plan.release.name,
        "commit": plan.release.commit,
        "environment": plan.release.environment,
        "verdict": verdict.label,
        "gates": gates,
        "blocking": [b.id for b in verdict.blocking],
        "blocking_reasons": {b.id: b.reason for b in verdict.blocking},
        # required checks the config skipped through skip_if: not blocking, with why
        "skipped": [b.id for b in verdict.skipped],
        "skipped_reasons": {b.id: b.reason for b in verdict.skipped},
    }


def render_json(plan: Plan, results: Mapping[str, CheckResult], verdict: Verdict) -> str:
    return json_safe(json.dumps(to_dict(plan, results, verdict), indent=2, ensure_ascii=False)) + "\n"


def render_junit(plan: Plan, results: Mapping[str, CheckResult], verdict: Verdict) -> str:
    import xml.etree.ElementTree as ET

    def one(text: object) -> str:  # an attribute: one line, nothing XML 1.0 cannot carry
        return printable(text)

    def block(text: object) -> str:  # element text: newlines kept
        return printable(text, newlines=True)

    suites = ET.Element("testsuites", name=one(f"gonogo {plan.release.name}"))
    for gate in plan.gates:
        ran = [results[c.id] for c in gate.checks if c.id in results]
        if not ran:
            continue
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=one(gate.title),
            id=one(gate.id),
            tests=str(len(ran)),
            failures=str(sum(r.status is Status.FAIL for r in ran)),
            errors=str(sum(r.status is Status.ERROR for r in ran)),
            skipped=str(sum(r.status in (Status.SKIPPED, Status.PENDING) for r in ran)),
            time=f"{sum(r.duration_ms for r in ran) / 1000:.3f}",
        )
        for r in ran:
            case = ET.SubElement(
                suite, "testcase", classname=one(gate.id), name=one(r.check_id),
                time=f"{r.duration_ms / 1000:.3f}",
            )
            body = block("\n".join((r.summary, *r.details)))
            summary = one(r.summary)
            if r.status is Status.FAIL:
                ET.SubElement(case, "failure", message=summary).text = body
            elif r.status is Status.ERROR:
                ET.SubElement(case, "error", message=summary).text = body
            elif r.status in (Status.SKIPPED, Status.PENDING):
                ET.SubElement(case, "skipped", message=summary)
            elif r.status is Status.WARN:
                ET.SubElement(case, "system-out").text = f"warning: {body}"
    ET.SubElement(suites, "properties")
    prop = suites.find("properties")
    assert prop is not None
    ET.SubElement(prop, "property", name="verdict", value=verdict.label)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def render_markdown(plan: Plan, results: Mapping[str, CheckResult], verdict: Verdict) -> str:
    lines = [
        f"# Go/no-go: {markdown_text(plan.release.name)} ({markdown_text(plan.release.commit)})",
        "",
        f"**Verdict: {verdict.label}**"
        + (f" — {len(verdict.blocking)} blocking item(s)" if verdict.blocking else ""),
        "",
    ]
    for gate in plan.gates:
        ran = [results[c.id] for c in gate.checks if c.id in results]
        if not ran:
            continue
        lines += [f"## {markdown_text(gate.title)}", "", "| | check | summary | time |", "|---|---|---|---|"]
        for r in ran:
            req = "" if r.required else " (optional)"
            lines.append(
                f"| {r.status.glyph} {r.status} | {markdown_text(r.title)}{req} | {markdown_text(r.summary)} "
                f"| {r.duration_ms:.0f} ms |"
            )
        lines.append("")
    if verdict.blocking:
        lines += ["## Blocking", ""]
        lines += [f"- {markdown_text(b.id)}: {markdown_text(b.reason)}" for b in verdict.blocking]
        lines.append("")
    if verdict.skipped:
        lines += ["## Skipped by the config (skip_if, not blocking)", ""]
        lines += [f"- {markdown_text(b.id)}: {markdown_text(b.reason)}" for b in verdict.skipped]
        lines.append("")
    return "\n".join(lines)


def render_table(
    plan: Plan, results: Mapping[str, CheckResult], verdict: Verdict, *, color: bool, width: int | None = None
) -> str:
    import io

    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(
        record=True,
        file=io.StringIO(),
        no_color=not color,
        width=width or 120,
        force_terminal=color,
    )
    for gate in plan.gates:
        ran = [results[c.id] for c in gate.checks if c.id in results]
        if not ran:
            continue
        status = gate_status(gate, results)
        table = Table(
            title=Text.assemble((f"{status.glyph} ", STATUS_STYLE[status]), printable(gate.title)),
            title_justify="left",
            show_header=False,
            box=None,
            pad_edge=False,
            expand=True,
        )
        table.add_column("status", no_wrap=True, width=9)
        table.add_column("check", ratio=2)
        table.add_column("summary", ratio=4)
        table.add_column("time", justify="right", no_wrap=True, width=8)
        for r in ran:
            title = printable(r.title) + ("" if r.required else " (optional)")
            table.add_row(  # Text, never str: a str cell is parsed as Rich markup
                Text(f"{r.status.glyph} {r.status}", style=STATUS_STYLE[r.status]),
                Text(title),
                Text(printable(r.summary)),
                Text(f"{r.duration_ms:.0f}ms"),
            )
        console.print(table)
        console.print()
    style = "bold green" if verdict.go else "bold red"
    console.print(Text(f"Verdict: {verdict.label}", style=style), end="")
    if verdict.blocking:
        console.print(Text(f" — {len(verdict.blocking)} blocking:"))
        for b in verdict.blocking:
            console.print(Text(f"  ✘ {printable(b.id)}: {printable(b.reason)}"))
    else:
        console.print()
    if verdict.skipped:
        console.print(Text(f"{len(verdict.skipped)} skipped by the config (skip_if), not blocking:"))
        for b in verdict.skipped:
            console.print(Text(f"  – {printable(b.id)}: {printable(b.reason)}"))
    return console.export_text(styles=color)


def render(
    fmt: str, plan: Plan, results: Mapping[str, CheckResult], verdict: Verdict, *, color: bool = False
) -> str:
    if fmt == "json":
        return render_json(plan, results, verdict)
    if fmt == "junit":
        return render_junit(plan, results, verdict)
    if fmt == "markdown":
        return render_markdown(plan, results, verdict)
    return render_table(plan, results, verdict, color=color)
