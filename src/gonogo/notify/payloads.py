"""What each kind of target receives for a notification (docs/notifications.md).

- ``alertmanager``: one postable alert of Alertmanager's API v2 (``labels``,
  ``annotations``, ``startsAt``, ``endsAt`` only when it ends, ``generatorURL``);
- ``slack``: an incoming-webhook message, ``text`` (the fallback notifications show)
  plus Block Kit ``blocks``;
- ``webhook``: gonogo's own JSON document, ``schema = "gonogo.notification/1"``.

Every string here came from the journal or the plan. Strings pass the one sanitiser
(``gonogo.untrusted``: control and bidi characters shown escaped, never acted on), are
cut to what the receiver accepts, and for Slack ``&``, ``<`` and ``>`` are escaped so
that a stop reason cannot ``<!channel>`` a workspace. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gonogo.notify.rules import Notification
from gonogo.rollout.export import utc
from gonogo.untrusted import excerpt

__all__ = ["SCHEMA", "alertname", "alert", "labels", "slack", "webhook"]

SCHEMA = "gonogo.notification/1"
LABEL_LIMIT = 200
TEXT_LIMIT = 2900  # Slack: a section's text is at most 3000 characters
HEADER_LIMIT = 150  # Slack: a header's plain text is at most 150 characters
FIELD_LIMIT = 1900  # Slack: a field's text is at most 2000 characters
_EMOJI = {"critical": ":rotating_light:", "warning": ":warning:", "info": ":information_source:"}


def _one(text: object, limit: int = LABEL_LIMIT) -> str:
    return excerpt("" if text is None else text, limit, squeeze=True)


def alertname(event: str) -> str:
    """``criterion_tripped`` -> ``GonogoCriterionTripped``."""
    return "Gonogo" + "".join(part.capitalize() for part in event.split("_"))


def labels(n: Notification) -> dict[str, str]:
    """The labels that identify the alert: Alertmanager groups, routes, silences and
    deduplicates by these. Empty ones are left out (Alertmanager drops them too)."""
    out = {
        "alertname": alertname(n.event), "release": n.release, "environment": n.environment,
        "stage": n.stage, "event": n.event, "severity": n.severity, **dict(n.key),
    }
    return {k: _one(v) for k, v in out.items() if v}


def _flat(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(_flat(v) for v in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_flat(v)}" for k, v in value.items())
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value is None else str(value)


def _detail_lines(n: Notification) -> list[str]:
    return [f"{k}: {_one(_flat(v), 400)}" for k, v in n.details.items() if v not in (None, "", [], {})]


def alert(n: Notification, *, starts_at: float, ends_at: float | None = None,
          link: str = "") -> dict[str, Any]:
    """One postable alert. Firing alerts carry no ``endsAt``: Alertmanager then ends
    them after its ``resolve_timeout`` unless they are re-sent (gonogo re-sends them
    while the condition lasts), and an explicit ``endsAt`` later resolves them (in
    Alertmanager 0.25, an earlier explicit ``endsAt`` would outrank that)."""
    annotations = {
        "title": _one(n.title), "summary": _one(n.summary, 1000),
        "description": "\n".join(_detail_lines(n))[:4000], "actor": _one(n.actor),
        "commit": _one(n.commit), "seq": str(n.seq), "at": utc(n.at),
    }
    incident = n.details.get("incident")
    if isinstance(incident, Mapping) and incident.get("markdown"):
        annotations["incident"] = _one(incident["markdown"], 1000)
    body: dict[str, Any] = {
        "labels": labels(n),
        "annotations": {k: v for k, v in annotations.items() if v},
        "startsAt": utc(starts_at),
    }
    if ends_at is not None:
        body["endsAt"] = utc(max(ends_at, starts_at))
    if link:
        body["generatorURL"] = link
    return body


def webhook(n: Notification, *, link: str = "") -> dict[str, Any]:
    """gonogo's own JSON document (docs/notifications.md, "webhook")."""
    return {
        "schema": SCHEMA,
        "event": n.event,
        "severity": n.severity,
        "title": n.title,
        "summary": n.summary,
        "release": n.release,
        "environment": n.environment,
        "commit": n.commit,
        "stage": n.stage or None,
        "weight": n.weight,
        "at": utc(n.at),
        "time": n.at,
        "seq": n.seq,
        "actor": n.actor,
        "condition": "lasting" if n.lasting else "moment",
        "details": dict(n.details),
        "link": link or None,
    }


def _slack_text(text: object, limit: int) -> str:
    """Untrusted text for Slack: printable, cut, then ``&``, ``<``, ``>`` escaped (so
    nothing in it becomes a link, a mention or ``<!channel>``)."""
    cut = _one(text, limit)
    return cut.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack(n: Notification, *, link: str = "") -> dict[str, Any]:
    """A Slack incoming-webhook message: the ``text`` fallback and Block Kit blocks."""
    emoji = _EMOJI.get(n.severity, "")
    headline = f"{n.release}: {n.title}"
    stage = f"{n.stage} ({n.weight:g}%)" if n.stage and n.weight is not None else (n.stage or "-")
    fields = [
        ("Release", n.release), ("Stage", stage), ("Environment", n.environment or "-"),
        ("Severity", n.severity),
    ]
    context = (f"gonogo · commit {n.commit} · event #{n.seq} by {n.actor} · {utc(n.at)}"
               if n.seq else f"gonogo · {utc(n.at)}")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "emoji": True,
                                    "text": _slack_text(headline, HEADER_LIMIT)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _slack_text(n.summary, TEXT_LIMIT)}},
        {"type": "section", "fields": [
            {"type": "mrkdwn", "text": f"*{name}*\n{_slack_text(value, FIELD_LIMIT)}"}
            for name, value in fields]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _slack_text(context, FIELD_LIMIT)}]},
    ]
    if link:
        blocks.append({"type": "section", "text": {
            "type": "mrkdwn", "text": f"<{_slack_text(link, 1000)}|Open>"}})
    return {
        "text": f"{emoji} {_slack_text(headline, 300)}: {_slack_text(n.summary, TEXT_LIMIT)}".strip(),
        "blocks": blocks,
    }
