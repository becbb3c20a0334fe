"""The sandbox's demo secrets and per-service env files, in a private runtime dir.

The fleet generates fresh credentials on every start and writes them to
``<runtime>/secrets/<name>`` (mode 0600, dir 0700), plus one dotenv file per service
in ``<runtime>/env/`` and the ``.env.example`` of defaults. sandbox.toml refers to
them with ``file:`` references, so ``gonogo check`` resolves them with no exports.
The directory is removed when the fleet stops.
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
from pathlib import Path

from gonogo.sandbox import tokens
from gonogo.sandbox.layout import Layout

# Which services validate JWTs (and so must share AUTH_SECRET_KEY).
JWT_SERVICES_EXCLUDED = ("documents-worker", "web-portal")
EXAMPLE_DEFAULTS = {
    "AUTH_SECRET_KEY": "change-me",
    "POSTGRES_USER": "postgres",
    "POSTGRES_PASSWORD": "postgres",
    "POSTGRES_DB": "app",
    "VAULT_ADDR": "http://127.0.0.1:8200",
    "VAULT_TOKEN": "root",
    "WEAVIATE_API_KEY": "",
    "WEAVIATE_ADMIN_USER": "admin",
    "QNA_INTERNAL_TOKEN": "dev-internal-token",
    "LOG_LEVEL": "debug",
}


class RuntimeDirError(Exception):
    pass


def generate() -> dict[str, str]:
    """Fresh demo credentials for one fleet run."""
    s = {
        "auth_secret_key": secrets.token_urlsafe(32),
        "qna_internal_token": secrets.token_urlsafe(24),
        "weaviate_api_key": secrets.token_urlsafe(24),
        "weaviate_admin_user": "sandbox-admin",
        "vault_token": "hvs." + secrets.token_urlsafe(24),
        "github_token": "ghp_" + secrets.token_hex(18),
        "grafana_token": "glsa_" + secrets.token_hex(16),
        "postgres_user": "gonogo_app",
        "postgres_password": secrets.token_urlsafe(24),
        "staging_postgres_user": "gonogo_app_staging",
        "staging_postgres_password": secrets.token_urlsafe(24),
    }
    # A long-lived service identity for probes (auth_propagation, smoke journeys).
    s["service_token"] = tokens.mint(s["auth_secret_key"], "svc_gonogo_probe", ttl_s=7 * 86400)
    s["authorization"] = "Bearer " + s["service_token"]
    return s


def _check_dir(path: Path) -> None:
    """Refuse a runtime dir someone else could have planted (shared /tmp)."""
    st = path.lstat()
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        raise RuntimeDirError(f"{path} exists and is not a plain directory; remove it")
    if st.st_uid != os.getuid():
        raise RuntimeDirError(f"{path} belongs to another user; remove it or pick another dir")


def _write(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


def service_env(name: str, layout: Layout, s: dict[str, str]) -> dict[str, str]:
    env = {"SERVICE_NAME": name, "LOG_LEVEL": "info"}
    if name not in JWT_SERVICES_EXCLUDED:
        env["AUTH_SECRET_KEY"] = s["auth_secret_key"]
    if "vault" in layout.integrations:
        env["VAULT_ADDR"] = layout.integrations["vault"].url
        env["VAULT_TOKEN"] = s["vault_token"]
    env["POSTGRES_USER"] = s["postgres_user"]
    env["POSTGRES_PASSWORD"] = s["postgres_password"]
    env["POSTGRES_DB"] = name.replace("-", "_")
    if name in ("qna", "documents-worker"):
        env["QNA_INTERNAL_TOKEN"] = s["qna_internal_token"]
    if name == "qna":
        env["WEAVIATE_API_KEY"] = s["weaviate_api_key"]
        env["WEAVIATE_ADMIN_USER"] = s["weaviate_admin_user"]
    return env


def prepare(runtime_dir: str | Path) -> Path:
    """The runtime dir, created 0700 (or checked to be a plain directory of ours)."""
    root = Path(runtime_dir)
    if root.exists() or root.is_symlink():
        _check_dir(root)
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(root, 0o700)
    return root


def write_file(runtime_dir: str | Path, name: str, text: str) -> Path:
    """One file (0600, never through a link) in the runtime dir, e.g. the config a
    moved sandbox (``--port-base``) writes for its checks."""
    path = prepare(runtime_dir) / name
    _write(path, text)
    return path


def write(runtime_dir: str | Path, layout: Layout, s: dict[str, str]) -> Path:
    root = prepare(runtime_dir)
    for sub in ("secrets", "env", "volumes"):
        (root / sub).mkdir(mode=0o700, exist_ok=True)
    for volume in layout.volumes:  # the services' persistent volumes (seed 1.2)
        (root / "volumes" / volume).mkdir(mode=0o700, exist_ok=True)
    for name, value in s.items():
        _write(root / "secrets" / name, value + "\n")
    for service in layout.services:
        env = service_env(service, layout, s)
        _write(root / "env" / f"{service}.env", "".join(f"{k}={v}\n" for k, v in env.items()))
    _write(root / "env" / ".env.example", "".join(f"{k}={v}\n" for k, v in EXAMPLE_DEFAULTS.items()))
    return root


def remove(runtime_dir: str | Path) -> None:
    root = Path(runtime_dir)
    if root.is_dir() and not root.is_symlink():
        shutil.rmtree(root, ignore_errors=True)
