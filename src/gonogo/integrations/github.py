"""A thin GitHub REST client over a shared ``httpx.AsyncClient`` (the run's ``ctx.http``).

Errors are classified the way an operator needs them: bad credentials (401), rate
limit exhausted (403 with ``x-ratelimit-remaining: 0``, or 429), no access / not
found, and server trouble (5xx, retried as transient).
https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from gonogo.model import TransientError

if TYPE_CHECKING:  # pragma: no cover
    import httpx

    from gonogo.config import GithubIntegration
    from gonogo.secrets import SecretResolver

API_VERSION = "2022-11-28"


class GitHubError(Exception):
    """A classified GitHub failure; ``reason`` is auth, rate_limit, not_found or http."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


class GitHub:
    def __init__(self, cfg: GithubIntegration | None, resolver: SecretResolver, http: httpx.AsyncClient) -> None:
        if cfg is None:
            raise GitHubError("config", "no [integrations.github] in the config")
        self.resolver = resolver
        self.http = http
        self.cfg = cfg
        self.repo = cfg.repo

    async def get(self, path: str, **params: Any) -> Any:
        base = (await self.resolver.value(self.cfg.api_url)).rstrip("/")
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION}
        if self.cfg.token is not None:
            headers["Authorization"] = "Bearer " + await self.resolver.resolve(self.cfg.token)
        response = await self.http.get(base + path, params=params or None, headers=headers)
        if response.status_code == 200:
            return response.json()
        message = _message(response)
        remaining = response.headers.get("x-ratelimit-remaining")
        if response.status_code == 429 or (response.status_code == 403 and remaining == "0"):
            reset = response.headers.get("x-ratelimit-reset", "")
            wait = ""
            if reset.isdigit():
                wait = f"; resets in {(max(0, int(reset) - int(time.time())) + 59) // 60}m"
            raise GitHubError("rate_limit", f"GitHub API rate limit exhausted{wait} ({message})")
        if response.status_code == 401:
            raise GitHubError("auth", f"GitHub rejected the token (401 {message})")
        if response.status_code == 403:
            raise GitHubError("auth", f"GitHub refused access (403 {message})")
        if response.status_code == 404:
            raise GitHubError("not_found", f"{path}: not found, or the token cannot see {self.repo}")
        if response.status_code >= 500:
            raise TransientError(f"GitHub answered {response.status_code} on {path}")
        raise GitHubError("http", f"GitHub answered {response.status_code} on {path}: {message}")

    async def full_sha(self, ref: str) -> str:
        """A short SHA (or branch) resolved to the commit's 40-hex SHA."""
        if len(ref) == 40 and all(c in "0123456789abcdef" for c in ref.lower()):
            return ref.lower()
        try:
            body = await self.get(f"/repos/{self.repo}/commits/{ref}")
        except GitHubError as exc:
            if exc.reason == "http":  # 422: no such commit
                raise GitHubError("not_found", f"commit {ref} not found in {self.repo}") from None
            raise
        return str(body["sha"])


def _message(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase or ""
    return str(body.get("message", "")) if isinstance(body, dict) else ""
