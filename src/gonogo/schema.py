"""A small validator that turns plain TOML data into frozen ``msgspec.Struct`` objects.

msgspec stops at the first problem; an operator fixing a config wants all of them
at once, each with its key path and, for a misspelt key or kind, a suggestion. So
this walks the schema itself and only hands leaves to ``msgspec.convert``.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Union

import msgspec

from gonogo.values import Duration, SecretRef, Value, describe_type

_PARSERS: dict[type, Callable[[Any], Any]] = {
    Duration: Duration.parse,
    SecretRef: SecretRef.parse,
    Value: Value.parse,
}
_MISSING = object()


@dataclass(frozen=True, slots=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def suggest(word: str, choices: typing.Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` or an empty string."""
    word = str(word)
    if len(word) > 64:  # no sensible key is that long, and difflib is quadratic
        return ""
    options = list(choices)
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if not close and len(word) >= 3:
        # a short or partial name ('htp', 'vault', 'health'): the options it starts or
        # names, else those whose beginning is close to it
        low = word.lower()
        close = [
            o for o in options
            if o.lower().startswith(low) or low in o.lower().replace("-", "_").split("_")
        ]
        if not close:
            heads = set(difflib.get_close_matches(low, [o[: len(low)].lower() for o in options], cutoff=0.6))
            close = [o for o in options if o[: len(low)].lower() in heads]
    if not close or len(close) > 3:
        return ""
    return "; did you mean " + " or ".join(repr(c) for c in sorted(close)) + "?"


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_KEY_SHOWN = 40


def key_text(key: str) -> str:
    """A key as it would be written in TOML: bare when possible, else quoted.

    Quoting escapes control characters, so a hostile key cannot paint the
    terminal, and long keys are cut so one problem stays one line.
    """
    key = str(key)
    if _BARE_KEY.fullmatch(key):
        return key
    cut = key if len(key) <= MAX_KEY_SHOWN else key[:MAX_KEY_SHOWN] + "…"
    return json.dumps(cut, ensure_ascii=False).translate(_INVISIBLE)


# Characters json.dumps leaves alone but a terminal would act on or hide.
_INVISIBLE = {
    c: f"\\u{c:04x}"
    for c in [*range(0x7F, 0xA0), 0x200B, *range(0x2028, 0x202F), *range(0x2066, 0x206A), 0xFEFF]
}


_CONTROL = {c: f"\\x{c:02x}" for c in range(0x20)} | _INVISIBLE


def printable(text: str) -> str:
    """Text from a file, safe to print: control and bidi characters escaped."""
    return text.translate(_CONTROL)


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    key = key_text(key)
    return f"{path}.{key}" if path else key


# msgspec names types the JSON way; a config author thinks in TOML.
_TYPE_WORDS = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean",
    "array": "an array",
    "object": "a table",
    "null": "nothing",
    "date": "a date",
    "datetime": "a date-time",
    "time": "a time of day",
}


def _type_words(m: re.Match[str]) -> str:
    words = [_TYPE_WORDS.get(w.strip()) for w in m.group(1).split("|")]
    return " or ".join(w for w in words if w) if all(words) else m.group(0)


def friendly(message: str) -> str:
    """Rewrite a msgspec validation message in TOML terms."""
    message = message.split(" - at `", 1)[0]
    message = re.sub(r"`([a-z| ]+)`", _type_words, message)
    if message.startswith("Expected"):
        message = "e" + message[1:]
    if "matching regex" in message and "{0,63}$" in message:  # the config's Id pattern
        message = "expected an id: 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit"
    return message


def short(value: Any, limit: int = 40) -> str:
    """A value as the operator wrote it (TOML spelling for booleans), cut to one line."""
    text = ("true" if value else "false") if isinstance(value, bool) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def type_name(value: Any) -> str:
    return {
        dict: "a table",
        list: "an array",
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "a boolean",
    }.get(type(value)) or describe_type(value)


@functools.cache
def _struct_fields(tp: type[msgspec.Struct]) -> dict[str, msgspec.structs.FieldInfo]:
    # msgspec re-resolves the class's annotations on every call (~1 ms a struct): once
    # per type, not once per table of the config
    return {f.encode_name: f for f in msgspec.structs.fields(tp)}


class Validator:
    """Collects every problem found while converting ``data`` into ``tp``."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def error(self, path: str, message: str) -> object:
        self.problems.append(Problem(path, message))
        return _MISSING

    def struct_fields(self, tp: type[msgspec.Struct]) -> dict[str, msgspec.structs.FieldInfo]:
        return _struct_fields(tp)

    def convert(self, value: Any, tp: Any, path: str) -> Any:
        origin = typing.get_origin(tp)
        if tp is Any:
            return value
        if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
            return self.convert_struct(value, tp, path)
        if tp in _PARSERS:
            try:
                return _PARSERS[tp](value)
            except (ValueError, TypeError) as exc:
                return self.error(path, str(exc))
        if origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) == 1:
                return self.convert(value, args[0], path)
            return self.convert_leaf(value, tp, path)
        if origin is Literal:
            options = typing.get_args(tp)
            if value in options:
                return value
            return self.error(
                path,
                f"{short(value)} is not one of {', '.join(map(repr, options))}"
                + suggest(value, [str(o) for o in options]),
            )
        if origin in (list, tuple):  # tuple[X, ...] only
            (item_tp, *_) = typing.get_args(tp) or (Any,)
            if not isinstance(value, list):
                return self.error(path, f"expected an array, got {type_name(value)}")
            items = [self.convert(v, item_tp, join(path, i)) for i, v in enumerate(value)]
            if any(i is _MISSING for i in items):
                return _MISSING
            return tuple(items) if origin is tuple else items
        if origin is dict:
            _, val_tp = typing.get_args(tp) or (str, Any)
            if not isinstance(value, dict):
                return self.error(path, f"expected a table, got {type_name(value)}")
            out = {k: self.convert(v, val_tp, join(path, k)) for k, v in value.items()}
            if any(v is _MISSING for v in out.values()):
                return _MISSING
            return out
        return self.convert_leaf(value, tp, path)

    def convert_leaf(self, value: Any, tp: Any, path: str) -> Any:
        try:
            return msgspec.convert(value, tp, strict=True)
        except msgspec.ValidationError as exc:
            return self.error(path, friendly(str(exc)))

    def convert_struct(
        self,
        value: Any,
        tp: type[msgspec.Struct],
        path: str,
        *,
        extra: dict[str, Any] | None = None,
        ignore: typing.Collection[str] = (),
    ) -> Any:
        if not isinstance(value, dict):
            return self.error(path, f"expected a table, got {type_name(value)}")
        fields = self.struct_fields(tp)
        before = len(self.problems)
        for key in value:
            if key not in fields and key not in ignore:
                self.error(join(path, key), "unknown key" + suggest(key, [*fields, *ignore]))
        kwargs: dict[str, Any] = {}
        for name, info in fields.items():
            if name in value:
                converted = self.convert(value[name], info.type, join(path, name))
                if converted is not _MISSING:
                    kwargs[info.name] = converted
            elif extra and name in extra:
                kwargs[info.name] = extra[name]
            elif info.required:
                self.error(join(path, name), "missing required key")
        if len(self.problems) > before:
            return _MISSING
        try:
            return tp(**kwargs)
        except Exception as exc:  # a kind's __post_init__ rejecting a combination
            return self.error(path, friendly(str(exc)) or type(exc).__name__)


MISSING = _MISSING
