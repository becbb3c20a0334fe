"""The incident a rollback opens (the runbook's ``incident`` step): timeline and metrics snapshot.

Built from the journal alone, so it names exactly what the log recorded: the stop
criterion that tripped (with its canary, baseline and threshold), the metrics at
trigger time with a short series each, and the timeline of the session. Written as
Markdown for people and JSON for tools; optionally POSTed to a webhook.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gonogo.config import Plan
from gonogo.context import CheckContext
from gonogo.errors import describe_error
from gonogo.rollout.events import CriterionTripped, RollbackStarted, Samples
from gonogo.rollout.export import describe, utc
from gonogo.rollout.journal import Event
from gonogo.safefs import write_private_file
from gonogo.untrusted import markdown_text


def build_incident(plan: Plan, events: Sequence[Event]) -> dict[str, Any]:
    rollbacks = [(e, e.body) for e in events if isinstance(e.body, RollbackStarted)]
    start_event, start = rollbacks[-1] if rollbacks else (None, None)
    criterion: Event | None = None
    if start_event is not None and start is not None and start.trigger == "criterion":
        criterion = next((e for e in reversed(events)
                          if isinstance(e.body, CriterionTripped) and e.seq < start_event.seq), None)
    timeline = [
        {"seq": e.seq, "utc": utc(e.time), "actor": e.actor, "kind": e.kind, "summary": describe(e)}
        for e in events
        if not isinstance(e.body, Samples)
    ]
    samples = sum(1 for e in events if isinstance(e.body, Samples))
    return {
        "title": f"Rollback of {plan.release.name}: " + (start.reason if start else ""),
        "release": plan.release.name,
        "commit": plan.release.commit,
        "environment": plan.release.environment,
        "previous": plan.release.previous,
        "opened_at": utc(events[-1].time) if events else "",
        "trigger": {
            "kind": start.trigger if start else "operator",
            "reason": start.reason if start else "",
            "at": utc(start_event.time) if start_event else "",
            "actor": start_event.actor if start_event else "",
            "weight": start.weight if start else None,
        },
        "criterion": dict(criterion.data) if criterion else None,
        "metrics_snapshot": dict(start_event.data.get("snapshot", {})) if start_event else {},
        "metric_polls": samples,
        "timeline": timeline,
        "journal_head": events[-1].hash if events else "",
        "journal_head_seq": events[-1].seq if events else 0,
    }


def _v(x: Any) -> str:
    return "n/a" if x is None else (f"{x:.4g}" if isinstance(x, float) else str(x))


def render_markdown(inc: dict[str, Any]) -> str:
    """The incident for people: every string from the journal or a service is shown as
    inert text (``markdown_text``), never as Markdown, HTML or terminal control."""
    md = markdown_text
    trig = inc["trigger"]
    out = [f"# {md(inc['title'])}", ""]
    out += [
        f"- Release: {md(inc['release'])} (commit {md(inc['commit'])}, {md(inc['environment'])})",
        f"- Rolled back to: {md(inc['previous'] or 'the previous stable release')}",
        f"- Triggered: {md(trig['at'])} by {md(trig['actor'])} ({md(trig['kind'])})",
        f"- Canary weight at trigger: {_v(trig['weight'])}%",
        f"- Journal head: #{inc.get('journal_head_seq', '?')} `{md(inc['journal_head'])}` "
        "(check it later: `gonogo log verify SESSION --head HASH`)",
        "",
    ]
    c = inc.get("criterion")
    if c:
        out += [
            "## Stop criterion", "",
            f"**{md(c.get('metric'))}** ({md(c.get('title'))}, rule {md(c.get('rule'))}): "
            f"canary {_v(c.get('canary'))}, baseline {_v(c.get('baseline'))}, "
            f"threshold {_v(c.get('threshold'))}, in breach {_v(c.get('breach_s'))}s "
            f"of {_v(c.get('required_s'))}s required.", "",
            f"> {md(c.get('reason'))}", "",
        ]
    snap = inc.get("metrics_snapshot") or {}
    if snap:
        out += ["## Metrics at trigger time", "",
                "| metric | state | canary | baseline | threshold | recent canary values |",
                "|---|---|---|---|---|---|"]
        for m in snap.values():
            recent = ", ".join(_v(p[1]) for p in m.get("series", [])[-8:])
            out.append(f"| {md(m.get('metric'))} | {md(m.get('state'))} | {_v(m.get('canary'))} | "
                       f"{_v(m.get('baseline'))} | {_v(m.get('threshold'))} | {md(recent)} |")
        out.append("")
    out += ["## Timeline", "", f"({inc['metric_polls']} metric polls omitted; see the session log)", ""]
    out += [f"- {md(t['utc'])} #{t['seq']} {md(t['actor'])}: {md(t['summary'])}" for t in inc["timeline"]]
    return "\n".join(out) + "\n"


def write_incident(inc: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Write ``incident-<release>.md`` and ``.json`` (0600, atomically); safe to repeat.

    ``out_dir`` may be a team's shared folder: each file is written as a fresh
    temporary (``O_EXCL``, never through a planted link) and renamed into place."""
    md_path, js_path = incident_files(out_dir, inc["release"])
    md = write_private_file(md_path, render_markdown(inc))
    js = write_private_file(js_path, json.dumps(inc, indent=2) + "\n")
    return md, js


def incident_files(out_dir: Path, release: str) -> tuple[Path, Path]:
    """Where a rollback of ``release`` writes its incident: the Markdown and the JSON."""
    stem = "incident-" + "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in release)
    return out_dir / f"{stem}.md", out_dir / f"{stem}.json"


async def post_incident(ctx: CheckContext, url: str, inc: dict[str, Any], timeout: float) -> tuple[bool, str]:
    try:
        resp = await ctx.http.post(url, json=inc, timeout=timeout)
    except Exception as exc:
        return False, ctx.redactor.text(describe_error(exc))
    return 200 <= resp.status_code < 300, f"HTTP {resp.status_code}"
