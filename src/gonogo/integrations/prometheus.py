"""A thin prometheus-api-client wrapper, used off the event loop.

prometheus-api-client is synchronous (requests) and imported lazily: the module is
loaded only when a Prometheus check runs, never at ``gonogo --version`` time. Only
``prometheus_connect`` is imported, not the package root, which would pull pandas.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any


class PrometheusHandle:
    """One ``PrometheusConnect`` per run, built on first use (in a worker thread)."""

    def __init__(self, url: str, timeout_s: float) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self._client: Any = None
        self._lock = threading.Lock()

    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                import requests
                from prometheus_api_client.prometheus_connect import PrometheusConnect
                from urllib3.util.retry import Retry

                session = requests.Session()
                session.trust_env = False  # the configured URL, never an ambient proxy
                # The runner owns retries and deadlines; the client's own backoff would
                # hide an unreachable server behind many seconds of silence.
                self._client = PrometheusConnect(
                    url=self.url,
                    retry=Retry(total=0),
                    session=session,
                    timeout=max(1, int(self.timeout_s)),
                )
            return self._client

    def query(self, promql: str) -> list[dict[str, Any]]:
        """An instant query: ``[{"metric": {...}, "value": [eval_ts, "v"]}, ...]``."""
        result = self.client().custom_query(promql, params={"timeout": f"{self.timeout_s:g}s"})
        return list(result)


async def query(handle: PrometheusHandle, promql: str) -> list[dict[str, Any]]:
    return await asyncio.to_thread(handle.query, promql)


def describe_prometheus_error(exc: BaseException, url: str) -> str | None:
    import requests
    from prometheus_api_client.exceptions import PrometheusApiClientException

    if isinstance(exc, requests.exceptions.Timeout):
        return f"timed out waiting for Prometheus at {url}"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return f"cannot connect to Prometheus at {url}"
    if isinstance(exc, PrometheusApiClientException):
        text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        return f"Prometheus query failed: {text}"
    return None
