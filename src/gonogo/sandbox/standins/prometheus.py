"""Real Prometheus and Alertmanager servers, started from the machine's binaries.

Not stand-ins in the protocol sense: these run the real Debian binaries (``prometheus``,
``prometheus-alertmanager``) on loopback, with temp storage, for the tests and for the
sandbox fleet when the binaries exist. Alertmanager needs ``--cluster.listen-address=``
(empty) so that it opens no gossip port.

Blocking (subprocesses, polling for readiness): call from a thread on an event loop.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

from gonogo.procs import die_with_parent
from gonogo.sandbox.pgcluster import free_port

PROMETHEUS_BIN = "prometheus"
ALERTMANAGER_BIN = "prometheus-alertmanager"
READY_TIMEOUT_S = 30.0


class ServerError(RuntimeError):
    """A server binary is missing or did not become ready; the message says why."""


def find_binary(name: str) -> str | None:
    return shutil.which(name)


class _Process:
    binary = ""

    def __init__(self, port: int = 0) -> None:
        self.port = port or free_port()
        self.root: Path | None = None
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def available(cls) -> bool:
        return find_binary(cls.binary) is not None

    @classmethod
    def missing_reason(cls) -> str | None:
        return None if cls.available() else f"binary {cls.binary!r} not found on PATH"

    def argv(self) -> list[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def write_config(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def start(self) -> _Process:
        path = find_binary(self.binary)
        if path is None:
            raise ServerError(f"binary {self.binary!r} not found on PATH")
        if self.root is None:
            self.root = Path(tempfile.mkdtemp(prefix=f"gonogo-{self.binary}-"))
        self.write_config()
        log = open(self.root / "server.log", "ab")
        try:
            self.proc = subprocess.Popen(
                [path, *self.argv()], stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                start_new_session=True, preexec_fn=die_with_parent(),
            )  # fmt: skip
        finally:
            log.close()
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise ServerError(f"{self.binary} exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=1) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)  # polling the server's readiness
        self.kill()
        raise ServerError(f"{self.binary} not ready after {READY_TIMEOUT_S:g}s: {self.log_tail()}")

    def log_tail(self, lines: int = 3) -> str:
        if self.root is None or not (self.root / "server.log").exists():
            return ""
        return " | ".join((self.root / "server.log").read_text(errors="replace").splitlines()[-lines:])

    def kill(self) -> None:
        """Stop the process, keeping its data (``start()`` again restarts it)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def stop(self) -> None:
        """Stop the process and delete its files."""
        self.kill()
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> _Process:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class PrometheusServer(_Process):
    """``PrometheusServer({"auth": ["127.0.0.1:9101"]}, scrape_interval="1s")``."""

    binary = PROMETHEUS_BIN

    def __init__(
        self,
        targets: Mapping[str, Sequence[str]],
        *,
        port: int = 0,
        scrape_interval: str = "1s",
    ) -> None:
        super().__init__(port)
        self.targets = {job: list(addrs) for job, addrs in targets.items()}
        self.scrape_interval = scrape_interval

    def argv(self) -> list[str]:
        assert self.root is not None
        return [
            f"--config.file={self.root / 'prometheus.yml'}",
            f"--storage.tsdb.path={self.root / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--web.enable-lifecycle",  # lets set_targets() reload the scrape config
            "--log.level=warn",
        ]

    def write_config(self) -> None:
        assert self.root is not None
        lines = [
            "global:",
            f"  scrape_interval: {self.scrape_interval}",
            f"  evaluation_interval: {self.scrape_interval}",
            "scrape_configs:",
        ]
        for job, addrs in self.targets.items():
            lines += [f"  - job_name: {job!r}", "    static_configs:", "      - targets:"]
            lines += [f"          - {a!r}" for a in addrs]
        (self.root / "prometheus.yml").write_text("\n".join(lines) + "\n")

    def set_targets(self, targets: Mapping[str, Sequence[str]]) -> None:
        """Rewrite the scrape config and reload: dropped targets stop being scraped."""
        self.targets = {job: list(addrs) for job, addrs in targets.items()}
        self.write_config()
        request = urllib.request.Request(self.url + "/-/reload", method="POST")
        with urllib.request.urlopen(request, timeout=10) as resp:
            if resp.status != 200:
                raise ServerError(f"prometheus reload answered {resp.status}")


    def scraped_targets(self) -> int:
        """How many targets have an ``up`` sample (up or down) right now."""
        import json
        import urllib.parse

        query = urllib.parse.urlencode({"query": "count(up)"})
        with urllib.request.urlopen(f"{self.url}/api/v1/query?{query}", timeout=5) as resp:
            result = json.load(resp)["data"]["result"]
        return int(float(result[0]["value"][1])) if result else 0

    def wait_for_scrapes(self, timeout: float = 20.0) -> None:
        """Block until every configured target has been scraped once.

        Prometheus takes its first sample about one scrape interval after start; a
        check run before that sees no targets at all, so "ready" waits for this.
        """
        expected = sum(len(addrs) for addrs in self.targets.values())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.scraped_targets() >= expected:
                    return
            except (urllib.error.URLError, OSError, ValueError, KeyError):
                pass
            time.sleep(0.2)  # polling the server's progress
        raise ServerError(f"prometheus scraped fewer than {expected} targets within {timeout:g}s")


class AlertmanagerServer(_Process):
    """Alertmanager with a given ``alertmanager.yml`` text."""

    binary = ALERTMANAGER_BIN

    def __init__(self, config_yaml: str, *, port: int = 0) -> None:
        super().__init__(port)
        self.config_yaml = config_yaml

    def argv(self) -> list[str]:
        assert self.root is not None
        return [
            f"--config.file={self.root / 'alertmanager.yml'}",
            f"--storage.path={self.root / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--cluster.listen-address=",  # no gossip port: a single, private instance
            "--log.level=warn",
        ]

    def write_config(self) -> None:
        assert self.root is not None
        os.makedirs(self.root / "data", exist_ok=True)
        (self.root / "alertmanager.yml").write_text(self.config_yaml)

    def set_config(self, config_yaml: str) -> None:
        """Replace alertmanager.yml and reload it (Alertmanager keeps the old one if invalid)."""
        self.config_yaml = config_yaml
        self.write_config()
        request = urllib.request.Request(self.url + "/-/reload", method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:
                status = resp.status
        except urllib.error.HTTPError as exc:
            raise ServerError(f"alertmanager rejected the config: {exc.read()[:200]!r}") from None
        if status != 200:
            raise ServerError(f"alertmanager reload answered {status}")
