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

__all__ = [
    "markdown_text",
    "printable", "printable_lines", "xml_safe", "has_controls", "json_safe", "toml_safe", "excerpt",
]

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


def _u_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group(0)):04x}"


def json_safe(document: str) -> str:
    """A JSON document (``json.dumps(..., ensure_ascii=False)``) with every character
    ``printable`` would escape written as a ``\\uXXXX`` escape.

    ``json.dumps`` escapes C0 controls but leaves DEL, the C1 controls (``\\x9b`` is
    a one-byte CSI on many terminals), bidi overrides and lone surrogates raw. Outside
    strings a JSON document is plain ASCII, so the substitution only ever lands
    inside string literals, where ``\\uXXXX`` is the same character: lossless.
    """
    return _UNSAFE.sub(_u_escape, document)


def toml_safe(document: str) -> str:
    """A TOML document written with basic strings (tomlkit's default), unsafe
    characters as ``\\uXXXX`` escapes; a lone surrogate (which TOML cannot carry)
    becomes U+FFFD."""

    def sub(match: re.Match[str]) -> str:
        code = ord(match.group(0))
        return "\\ufffd" if 0xD800 <= code <= 0xDFFF else f"\\u{code:04x}"

    return _UNSAFE.sub(sub, document)


def excerpt(text: object, limit: int, *, tail: bool = False, squeeze: bool = False) -> str:
    """At most ``limit`` characters of ``printable(text)``: the head (or the ``tail``)
    with an ellipsis where it was cut; ``squeeze`` folds whitespace runs to one space.

    Not for text that may hold a secret: ``Redactor.excerpt`` redacts first, so that
    a cut never leaves half a secret behind.
    """
    s = text if isinstance(text, str) else str(text)
    if squeeze:
        s = " ".join(s.split())
    s = printable(s)
    limit = max(1, limit)
    if len(s) <= limit:
        return s
    return "…" + s[-(limit - 1):] if tail else s[: limit - 1] + "…"


_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]<>|&#!"})


def markdown_text(text: object) -> str:
    """Untrusted text as inert Markdown on one line: controls shown escaped, and the
    characters that make links, images, HTML, emphasis or table cells backslashed."""
    return printable(" ".join(str(text).split())).translate(_MD_SPECIAL)
