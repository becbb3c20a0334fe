"""The registry of check kinds: built-ins from ``gonogo.checks`` plus entry points.

Third-party packages add kinds through the entry-point group ``gonogo.checks``;
each entry point names a class following ``gonogo.context.CheckKind``.
"""

from __future__ import annotations

import functools
import importlib
import os
import pkgutil
import sys
from typing import Any

ENTRY_POINT_GROUP = "gonogo.checks"
# Built-in kinds are found like plugins, by name at run time: the check modules build
# on config, context and model, while config asks this registry for each kind's
# Params; a static import here would close that loop.
BUILTIN_PACKAGE = "gonogo.checks"


class RegistryError(Exception):
    pass


@functools.cache
def kinds() -> dict[str, Any]:
    """Every known check kind by name, instantiated once."""
    package = importlib.import_module(BUILTIN_PACKAGE)
    found: dict[str, Any] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for cls in getattr(module, "KINDS", ()):
            _add(found, cls, f"{module.__name__}")
    if not _may_declare_plugins():
        return found
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            cls = ep.load()
        except Exception as exc:  # a broken plugin must not take the tool down
            print(f"gonogo: ignoring check plugin {ep.name!r}: {exc}", file=sys.stderr)
            continue
        _add(found, cls, f"entry point {ep.name!r}")
    return found


def _may_declare_plugins() -> bool:
    """Whether an installed distribution may declare ``gonogo.checks`` entry points: a
    look at each one's ``entry_points.txt`` for the group's heading. Importing
    ``importlib.metadata`` to ask costs 20-60 ms (it is most of loading a config), so
    it is asked only when a heading is there, or where the files cannot be read
    this way (a zip on the path)."""
    heading = f"[{ENTRY_POINT_GROUP}]".encode()
    for entry in sys.path:
        where = entry or "."
        if not os.path.isdir(where):
            if os.path.exists(where):
                return True  # a zip: let importlib.metadata look inside
            continue
        try:
            with os.scandir(where) as found:
                infos = [e.path for e in found if e.name.endswith((".dist-info", ".egg-info"))]
        except OSError:
            return True
        for info in infos:
            try:
                with open(os.path.join(info, "entry_points.txt"), "rb") as fh:
                    if heading in fh.read():
                        return True
            except OSError:
                continue
    return False


def _add(found: dict[str, Any], cls: Any, origin: str) -> None:
    name = getattr(cls, "kind", None)
    if not isinstance(name, str) or not hasattr(cls, "Params") or not hasattr(cls, "run"):
        raise RegistryError(f"{origin}: {cls!r} is not a check kind (needs kind, Params, run)")
    if name in found:
        raise RegistryError(f"{origin}: check kind {name!r} is defined twice")
    found[name] = cls()
