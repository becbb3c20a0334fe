"""The one sanitiser for untrusted text: what a hostile body turns into on screen."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st

from gonogo.untrusted import has_controls, printable, printable_lines, xml_safe

ATTACK = "ok\x1b[2J\x1b[H\x1b[31;1mPWNED\x07\r\nnext\u202eDBT\x9b0m"


def test_escape_sequences_are_shown_not_acted_on() -> None:
    out = printable(ATTACK)
    assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out
    assert out == "ok\\x1b[2J\\x1b[H\\x1b[31;1mPWNED\\x07\\r\\nnext\\u202eDBT\\x9b0m"


def test_multi_line_keeps_newlines_only() -> None:
    assert printable_lines("a\x1b[2Jb\nc") == ["a\\x1b[2Jb", "c"]


def test_ordinary_text_is_unchanged() -> None:
    text = "HTTP 200 in 25ms — café ✔ [ok] {\"status\": \"[/]\"}"
    assert printable(text) == text
    assert not has_controls(text)


def test_xml_safe_parses_in_junit() -> None:
    doc = f'<testcase name="x"><failure message="{xml_safe(ATTACK).replace(chr(34), "&quot;")}"/></testcase>'
    root = ET.fromstring(doc)
    assert "PWNED" in root[0].attrib["message"]


@given(st.text())
def test_no_control_character_survives(text: str) -> None:
    out = printable(text)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in out)
    assert "\u202e" not in out and "\u2066" not in out


@given(st.text())
def test_json_and_toml_exports_are_inert_and_read_back(text: str) -> None:
    import json

    import tomlkit

    from gonogo.untrusted import json_safe, toml_safe

    doc = json_safe(json.dumps({"k": text}, ensure_ascii=False))
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c == "\u202e" for c in doc)
    assert json.loads(doc) == {"k": text}  # lossless
    toml = toml_safe(tomlkit.dumps({"k": text}))
    assert not any(0x7F <= ord(c) <= 0x9F or c == "\u202e" for c in toml)
    if not any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        assert tomlkit.parse(toml)["k"] == text
