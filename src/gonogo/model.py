"""Domain values shared by every layer: check status, outcomes and results.

Headless by contract: nothing here imports Textual or Rich.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class Status(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    ERROR = "error"
    SKIPPED = "skipped"
    PENDING = "pending"

    @property
    def glyph(self) -> str:
        """A shape per status, so that status never depends on colour alone."""
        return _GLYPHS[self]

    @property
    def ok(self) -> bool:
        """Whether a required check with this status lets the release go."""
        return self in (Status.PASS, Status.WARN)


_GLYPHS = {
    Status.PASS: "✔",
    Status.FAIL: "✘",
    Status.WARN: "▲",
    Status.ERROR: "!",
    Status.SKIPPED: "–",
    Status.PENDING: "…",
}


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a check kind returns; the runner turns it into a ``CheckResult``."""

    status: Status
    summary: str
    details: tuple[str, ...] = ()
    evidence: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def passed(cls, summary: str, *details: str, **evidence: Any) -> Outcome:
        return cls(Status.PASS, summary, details, evidence)

    @classmethod
    def failed(cls, summary: str, *details: str, **evidence: Any) -> Outcome:
        return cls(Status.FAIL, summary, details, evidence)

    @classmethod
    def warned(cls, summary: str, *details: str, **evidence: Any) -> Outcome:
        return cls(Status.WARN, summary, details, evidence)

    @classmethod
    def errored(cls, summary: str, *details: str, **evidence: Any) -> Outcome:
        return cls(Status.ERROR, summary, details, evidence)

    @classmethod
    def skipped(cls, summary: str, *details: str, **evidence: Any) -> Outcome:
        return cls(Status.SKIPPED, summary, details, evidence)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """A finished (or pending) check, redacted and ready to render or record."""

    check_id: str
    gate_id: str
    kind: str
    title: str
    required: bool
    status: Status
    summary: str
    details: tuple[str, ...] = ()
    evidence: Mapping[str, Any] = field(default_factory=dict)
    duration_ms: float = 0.0
    attempts: int = 0
    finished_at: float = 0.0  # unix time; 0 while pending
    # the ``skip_if`` reference that skipped the check ("" when it ran): the config's
    # own, explicit decision (the sandbox has no PostgreSQL here), not a gap in checking
    skip_if: str = ""

    @property
    def lets_go(self) -> bool:
        """Whether this result lets a required check through: ``pass`` or ``warn``, or
        ``skipped`` by the config's own ``skip_if`` (listed, with its reason, but not
        blocking). Any other ``skipped`` blocks: a check kind that found nothing to
        check has not verified anything."""
        return self.status.ok or self.skipped_by_config

    @property
    def skipped_by_config(self) -> bool:
        """Skipped through the check's ``skip_if``: listed with its reason, not blocking."""
        return self.status is Status.SKIPPED and bool(self.skip_if)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.check_id,
            "gate": self.gate_id,
            "title": self.title,
            "kind": self.kind,
            "status": str(self.status),
            "summary": self.summary,
            "details": list(self.details),
            "evidence": dict(self.evidence),
            "required": self.required,
            "duration_ms": round(self.duration_ms, 1),
            "attempts": self.attempts,
            "finished_at": self.finished_at,
            **({"skip_if": self.skip_if} if self.skip_if else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckResult:
        return cls(
            check_id=data["id"],
            gate_id=data.get("gate", ""),
            kind=data.get("kind", ""),
            title=data.get("title", data["id"]),
            required=bool(data.get("required", True)),
            status=Status(data["status"]),
            summary=data.get("summary", ""),
            details=tuple(data.get("details", ())),
            evidence=dict(data.get("evidence", {})),
            duration_ms=float(data.get("duration_ms", 0.0)),
            attempts=int(data.get("attempts", 0)),
            finished_at=float(data.get("finished_at", 0.0)),
            skip_if=str(data.get("skip_if", "")),
        )


class TransientError(Exception):
    """Raised by a check when a retry may succeed (connection reset, 503, rate limit)."""
