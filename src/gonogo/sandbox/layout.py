"""Where each part of the fleet listens, read from a sandbox config.

The fleet listens where the config's checks will look: each ``[[services]]``
health URL, the gateway's public and admin URLs and each integration's URL. Only
those addresses are read here (plain ``tomllib``), so the fleet starts even while a
check kind named in the config is not installed.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEFAULT_RUNTIME_DIR = "/tmp/gonogo-sandbox"
# The built-in sandbox.toml listens on 127.0.0.1:18000-18299; `--port-base N` moves
# every port by N - DEFAULT_PORT_BASE (and the runtime dir with it).
DEFAULT_PORT_BASE = 18000
PORT_SPAN = 300
MIN_PORT_BASE = 1024
MAX_PORT_BASE = 65535 - PORT_SPAN
# `--services N` adds generated services after the config's own, one port each from
# base + PORT_SPAN (18300 for the default base), so a larger sandbox spans more ports.
SEED_SERVICES = 15  # the built-in sandbox.toml's [[services]]
MAX_SERVICES = 1000
GENERATED_TAG = "generated"


def default_runtime_dir() -> str:
    """Where the fleet writes its demo secrets; sandbox.toml's file: references point
    here. GONOGO_SANDBOX_DIR moves it (tests run fleets on a config copy that says so)."""
    return os.environ.get("GONOGO_SANDBOX_DIR") or DEFAULT_RUNTIME_DIR


class LayoutError(ValueError):
    pass


def port_span(services: int | None = None) -> int:
    """How many ports from its base a sandbox of ``services`` services uses (the
    built-in one's 15 fit in the first PORT_SPAN; every further one takes one more)."""
    return PORT_SPAN + max(0, (services or 0) - SEED_SERVICES)


def check_port_base(base: int, services: int | None = None) -> int:
    """``base`` if a whole sandbox fits from there, else ``ValueError`` saying why."""
    span = port_span(services)
    if not MIN_PORT_BASE <= base <= 65535 - span:
        raise ValueError(f"--port-base {base}: expected a port from {MIN_PORT_BASE} to "
                         f"{65535 - span} (the sandbox uses {span} ports from there)")
    return base


def check_services(count: int) -> int:
    """``count`` if the sandbox can be that size, else ``ValueError`` saying why."""
    if not SEED_SERVICES <= count <= MAX_SERVICES:
        raise ValueError(f"--services {count}: expected a number from {SEED_SERVICES} (the "
                         f"seed's own services) to {MAX_SERVICES}")
    return count


def with_services(text: str, count: int | None, *, source: str = "sandbox config") -> str:
    """A sandbox config's text grown to ``count`` services: after its own
    ``[[services]]``, generated ones (``svc-016``, ... tagged ``generated``: a /health
    and /metrics each, no journeys) listening from port 18300 on, with their env files
    in the runtime dir. Checks that name no services (``http_health``, the env-file
    checks) and the health grid then cover them all; ``relocate`` moves them with the
    rest. ``None``, or no more than the config has: the text unchanged."""
    if count is None:
        return text
    try:
        have = len(tomllib.loads(text).get("services", []))
    except tomllib.TOMLDecodeError as exc:
        raise LayoutError(f"{source}: not valid TOML: {exc}") from None
    if count > MAX_SERVICES:
        raise LayoutError(f"--services {count}: at most {MAX_SERVICES}")
    if count <= have:
        return text
    width = max(3, len(str(count)))
    blocks = [f"\n# -- {count - have} generated services (--services {count}): /health and "
              f"/metrics only, one port each --\n"]
    for i in range(have + 1, count + 1):
        name = f"svc-{i:0{width}d}"
        port = DEFAULT_PORT_BASE + PORT_SPAN + i - have - 1
        blocks.append(f'[[services]]\nname = "{name}"\n'
                      f'health_url = "http://127.0.0.1:{port}/health"\n'
                      f'metrics_url = "http://127.0.0.1:{port}/metrics"\n'
                      f'tags = ["{GENERATED_TAG}"]\n'
                      f'env_file = "{DEFAULT_RUNTIME_DIR}/env/{name}.env"\n\n')
    extra = "".join(blocks)
    # right after the config's own services (before the comments heading the table
    # that follows them), so that the file still reads in order; else at its end
    headers = [m.start() for m in re.finditer(r"^\[", text, re.M)]
    last = max((i for i, h in enumerate(headers) if text.startswith("[[services]]", h)), default=None)
    if last is None or last + 1 >= len(headers):
        return text.rstrip("\n") + "\n" + extra
    at = headers[last + 1]
    lines = text[:at].split("\n")[:-1]  # the lines before the next header
    while lines and (not lines[-1].strip() or lines[-1].lstrip().startswith("#")):
        lines.pop()
    at = len("\n".join(lines)) + 1
    return text[:at] + extra + text[at:]


def runtime_dir_for(port_base: int | None) -> str:
    """Where a sandbox on ``port_base`` keeps its secrets: the runtime dir
    (/tmp/gonogo-sandbox or GONOGO_SANDBOX_DIR), with ``-N`` appended for a port base
    N other than 18000, so that two sandboxes side by side never share one."""
    if port_base is None or port_base == DEFAULT_PORT_BASE:
        return default_runtime_dir()
    return f"{default_runtime_dir().rstrip('/')}-{port_base}"


_LOOPBACK_PORT = re.compile(r"(?<=127\.0\.0\.1:)(\d+)")
_PORT_KEY = re.compile(r"^(\s*port\s*=\s*)(\d+)", re.M)


def relocate(text: str, *, port_base: int | None = None, runtime_dir: str | None = None,
             source: str = "sandbox config") -> str:
    """A sandbox config's text moved as a whole: every loopback port (``127.0.0.1:P``
    in a URL, ``port = P`` in a table) shifted by ``port_base - 18000``, and every
    path under /tmp/gonogo-sandbox moved to ``runtime_dir``. The file keeps its layout
    and comments; a port pushed out of range is a ``LayoutError``."""
    offset = 0 if port_base is None else port_base - DEFAULT_PORT_BASE

    def shifted(port: str) -> str:
        moved = int(port) + offset
        if not 1 <= moved <= 65535:
            raise LayoutError(f"{source}: port {port} moved by --port-base {port_base} "
                              f"is {moved}, not a port")
        return str(moved)

    if offset:
        text = _LOOPBACK_PORT.sub(lambda m: shifted(m.group(1)), text)
        text = _PORT_KEY.sub(lambda m: m.group(1) + shifted(m.group(2)), text)
        # another sandbox is another environment: its release is driven on its own
        # (one driver per release and environment, rollout/driverlock.py)
        text = re.sub(r'^(environment\s*=\s*")sandbox(")', rf"\g<1>sandbox-{port_base}\2", text,
                      count=1, flags=re.MULTILINE)
    if runtime_dir is not None and runtime_dir != DEFAULT_RUNTIME_DIR:
        text = re.sub(re.escape(DEFAULT_RUNTIME_DIR) + r"(?![\w.-])", lambda _m: runtime_dir, text)
    return text


@dataclass(frozen=True)
class Address:
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


@dataclass(frozen=True)
class Layout:
    source: str
    commit: str
    services: dict[str, Address]  # service name -> where it listens
    gateway: Address
    admin: Address
    integrations: dict[str, Address] = field(default_factory=dict)  # vault, github, ...
    volumes: tuple[str, ...] = ()  # every [[services]].volumes name


def builtin_config() -> Path:
    """The sandbox.toml shipped inside the package (works from a wheel too)."""
    return Path(str(resources.files("gonogo").joinpath("data", "sandbox.toml")))


def _address(url: Any, where: str, source: str) -> Address:
    if not isinstance(url, str) or url.partition(":")[0] in ("env", "file", "vault"):
        raise LayoutError(f"{source}: {where}: the sandbox needs a literal http URL")
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname or parts.port is None:
        raise LayoutError(f"{source}: {where}: expected http://HOST:PORT/..., got {url[:80]!r}")
    return Address(parts.hostname, parts.port)


# integration name -> the key holding its URL in [integrations.NAME]
_INTEGRATION_URL_KEYS = {
    "weaviate": "url",
    "vault": "url",
    "github": "api_url",
    "grafana": "url",
    "loki": "url",
    "jaeger": "url",
    "prometheus": "url",
    "alertmanager": "url",
}


def load_layout(path: str | Path | None = None) -> Layout:
    src = Path(path) if path is not None else builtin_config()
    source = str(src)
    try:
        data = tomllib.loads(src.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LayoutError(f"{source}: cannot read: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise LayoutError(f"{source}: not valid TOML: {exc}") from None
    services: dict[str, Address] = {}
    volumes: list[str] = []
    for i, svc in enumerate(data.get("services", [])):
        volumes += [v for v in svc.get("volumes", []) if isinstance(v, str)]
        name = svc.get("name")
        if not isinstance(name, str):
            raise LayoutError(f"{source}: services[{i}].name: missing")
        services[name] = _address(svc.get("health_url"), f"services[{i}].health_url", source)
    integ = data.get("integrations", {})
    gw = integ.get("gateway", {})
    gateway = _address(gw.get("public_url"), "integrations.gateway.public_url", source)
    admin = _address(gw.get("admin_url"), "integrations.gateway.admin_url", source)
    others: dict[str, Address] = {}
    for name, key in _INTEGRATION_URL_KEYS.items():
        if name in integ and key in integ[name]:
            others[name] = _address(integ[name][key], f"integrations.{name}.{key}", source)
    pg = integ.get("postgres")
    if isinstance(pg, dict) and isinstance(pg.get("port"), int):
        host = pg.get("host", "127.0.0.1")
        others["postgres"] = Address(host if isinstance(host, str) else "127.0.0.1", pg["port"])
    seen: dict[Address, str] = {}
    for what, addr in [(f"service {n}", a) for n, a in services.items()] + [
        ("gateway", gateway),
        ("gateway admin", admin),
        *others.items(),
    ]:
        if addr in seen:
            raise LayoutError(f"{source}: {what} and {seen[addr]} share {addr.host}:{addr.port}")
        seen[addr] = what
    commit = str(data.get("release", {}).get("commit", "0cab782"))
    return Layout(source, commit, services, gateway, admin, others, tuple(dict.fromkeys(volumes)))
