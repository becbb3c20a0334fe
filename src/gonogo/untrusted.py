"""One door for untrusted text: service bodies, command output, config strings.

Anything gonogo did not write itself passes ``printable`` before it reaches a
terminal, a Markdown or JUnit report, a rollout line or the panel. Control
characters (C0, DEL, C1: the escape sequences that clear a screen or recolour
it), bidirectional overrides (which make ``TBD`` read as something else) and
characters XML cannot carry are shown escaped (``\\x1b``, ``\\u202e``) instead of
acted on, so the reader sees exactly what the service sent and nothing happens
to their terminal.

This module is headless: markup escaping for Rich lives with the renderers,
which build ``Text`` objects from these strings and never parse them as markup.
"""

from __future__ import annotations

import re

__all__ = ["printable", "printable_lines", "xml_safe", "has_controls"]

# C0 controls except the ones a caller may keep, DEL, C1 controls, the bidi
# embeddings/overrides/isolates and marks, line/paragraph separators, the BOM /
# zero-width no-break space, lone surrogates and the XML non-characters.
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f" + _BIDI + "\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]"
)
_NEWLINES = re.compile("[\n\r\t]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def has_controls(text: str) -> bool:
    return bool(_UNSAFE.search(text) or _NEWLINES.search(text))


def printable(text: object, *, newlines: bool = False) -> str:
    """``text`` made safe to show on one line (``newlines=True`` keeps ``\\n``).

    Tabs become a space; carriage returns and (unless kept) newlines are shown as
    ``\\r`` / ``\\n``, so a single record stays a single line in logs.
    """
    s = text if isinstance(text, str) else str(text)
    s = _UNSAFE.sub(_escape, s)
    s = s.replace("\t", " ").replace("\r", "\\r")
    if not newlines:
        s = s.replace("\n", "\\n")
    return s


def printable_lines(text: object) -> list[str]:
    """Multi-line untrusted text as safe lines (for detail views)."""
    return printable(text, newlines=True).split("\n")


def xml_safe(text: object) -> str:
    """Text that an XML 1.0 document can carry (JUnit): controls shown escaped,
    newlines and tabs kept."""
    s = text if isinstance(text, str) else str(text)
    return _UNSAFE.sub(_escape, s)
