"""A GitHub REST API stand-in: commits, Actions workflows, runs and jobs, issue search.

Endpoints and shapes follow the REST API documentation:
- ``GET /repos/{owner}/{repo}/commits/{ref}`` (a short SHA resolves to the full one;
  an unknown SHA is 422) https://docs.github.com/en/rest/commits/commits#get-a-commit
- ``GET /repos/{owner}/{repo}/actions/workflows``
  https://docs.github.com/en/rest/actions/workflows#list-repository-workflows
- ``GET /repos/{owner}/{repo}/actions/runs?head_sha=`` and
  ``GET /repos/{owner}/{repo}/actions/workflows/{id}/runs?head_sha=``
  https://docs.github.com/en/rest/actions/workflow-runs
- ``GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs``
  https://docs.github.com/en/rest/actions/workflow-jobs#list-jobs-for-a-workflow-run
- ``GET /search/issues?q=repo:o/r is:issue is:open label:P0`` (several ``label:``
  qualifiers are ANDed, ``label:P0,P1`` is OR)
  https://docs.github.com/en/rest/search/search#search-issues-and-pull-requests
- errors: 401 ``{"message": "Bad credentials"}``; rate limiting with the
  ``x-ratelimit-*`` headers and 403 when ``x-ratelimit-remaining`` is 0
  https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api

Scenarios: ``failing-ci`` fails the ``portal-build`` job (and so the run) for the
target commit; ``open-p0`` adds an open issue labelled P0.
"""

from __future__ import annotations

import hashlib
import shlex
import time
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from gonogo.sandbox.standins import demo_secret, scenario
from gonogo.sandbox.standins.vault import rfc3339

OWNER, REPO = "example", "monorepo"  # as sandbox.toml names it
API_VERSION = "2022-11-28"
DOCS = "https://docs.github.com/rest"
WORKFLOWS = [
    {"id": 4242, "name": "Monorepo CI", "path": ".github/workflows/ci.yml"},
    {"id": 4243, "name": "CodeQL", "path": ".github/workflows/codeql.yml"},
]
CI_RUN_ID = 8812
MATRIX = ["auth", "user-profile", "transactions", "compliance", "documents", "consent", "qna"]
FAILING_JOB = "portal-build"


def full_sha(commit: str) -> str:
    """The sandbox's 40-hex SHA for a (short) commit id: the prefix kept, padded stably."""
    pad = hashlib.sha1(commit.encode()).hexdigest()
    return (commit + pad)[:40] if all(c in "0123456789abcdef" for c in commit) else pad


def _issue(number: int, title: str, labels: list[str], state: str, age_s: float) -> dict[str, Any]:
    at = rfc3339(time.time() - age_s)
    return {
        "number": number,
        "title": title,
        "state": state,
        "labels": [{"name": name, "color": "b60205"} for name in labels],
        "html_url": f"https://github.com/{OWNER}/{REPO}/issues/{number}",
        "user": {"login": "oncall-bot"},
        "created_at": at,
        "updated_at": at,
        "closed_at": at if state == "closed" else None,
        "comments": 0,
        "score": 1.0,
    }


def make_app(state: Any, *, rate_limit: int | None = None, in_progress: bool = False) -> web.Application:
    """``rate_limit``: requests allowed before the API answers 403 rate-limited;
    ``in_progress``: the CI run for the commit is still running (portal-build too)."""
    token = demo_secret(state, "github_token")
    budget = {"remaining": rate_limit if rate_limit is not None else 5000}
    limit = rate_limit if rate_limit is not None else 5000
    reset_at = int(time.time()) + 3600

    @web.middleware
    async def api_rules(request: web.Request, handler: Handler) -> web.StreamResponse:
        auth = request.headers.get("Authorization", "")
        scheme, _, given = auth.partition(" ")
        if auth and (scheme.lower() not in ("bearer", "token") or given.strip() != token):
            return web.json_response(
                {"message": "Bad credentials", "documentation_url": DOCS, "status": "401"},
                status=401,
            )
        headers = {
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-reset": str(reset_at),
            "x-ratelimit-resource": "search" if request.path.startswith("/search") else "core",
            "x-github-api-version-selected": API_VERSION,
        }
        if budget["remaining"] <= 0:
            headers.update({"x-ratelimit-remaining": "0", "x-ratelimit-used": str(limit)})
            return web.json_response(
                {"message": "API rate limit exceeded for user.", "documentation_url": DOCS},
                status=403,
                headers=headers,
            )
        budget["remaining"] -= 1
        headers["x-ratelimit-remaining"] = str(budget["remaining"])
        headers["x-ratelimit-used"] = str(limit - budget["remaining"])
        response = await handler(request)
        response.headers.update(headers)
        return response

    def repo_ok(request: web.Request) -> bool:
        return (request.match_info["owner"], request.match_info["repo"]) == (OWNER, REPO)

    def not_found() -> web.Response:
        return web.json_response({"message": "Not Found", "documentation_url": DOCS}, status=404)

    def target_sha() -> str:
        return full_sha(str(getattr(state, "commit", "0cab782")))

    def run_for(workflow: dict[str, Any]) -> dict[str, Any]:
        ci = workflow["id"] == 4242
        failed = ci and scenario(state) == "failing-ci"
        started = time.time() - 3 * 3600
        return {
            "id": CI_RUN_ID if ci else CI_RUN_ID + 1,
            "name": workflow["name"],
            "head_branch": "main",
            "head_sha": target_sha(),
            "path": workflow["path"],
            "display_title": "Release candidate",
            "run_number": 1207 if ci else 311,
            "run_attempt": 1,
            "event": "push",
            "status": "in_progress" if ci and in_progress else "completed",
            "conclusion": None if ci and in_progress else ("failure" if failed else "success"),
            "workflow_id": workflow["id"],
            "html_url": f"https://github.com/{OWNER}/{REPO}/actions/runs/{CI_RUN_ID}",
            "created_at": rfc3339(started),
            "updated_at": rfc3339(started + 1500),
            "run_started_at": rfc3339(started),
        }

    def jobs_for(run_id: int) -> list[dict[str, Any]]:
        if run_id != CI_RUN_ID:
            names = ["analyze (python)", "analyze (javascript)"]
        else:
            names = [f"python-services ({s})" for s in MATRIX] + [FAILING_JOB, "contract-tests"]
        started = time.time() - 3 * 3600
        jobs: list[dict[str, Any]] = []
        for i, name in enumerate(names):
            failed = scenario(state) == "failing-ci" and name == FAILING_JOB
            running = in_progress and name == FAILING_JOB
            jobs.append(
                {
                    "id": run_id * 100 + i,
                    "run_id": run_id,
                    "workflow_name": "Monorepo CI" if run_id == CI_RUN_ID else "CodeQL",
                    "head_sha": target_sha(),
                    "name": name,
                    "status": "in_progress" if running else "completed",
                    "conclusion": None if running else ("failure" if failed else "success"),
                    "started_at": rfc3339(started + i * 10),
                    "completed_at": None if running else rfc3339(started + 600 + i * 10),
                    "html_url": f"https://github.com/{OWNER}/{REPO}/actions/runs/{run_id}/job/{i}",
                    "steps": [],
                }
            )
        return jobs

    def issues() -> list[dict[str, Any]]:
        found = [
            _issue(412, "Calendar export shows UTC times", ["bug", "P2"], "open", 5 * 86400),
            _issue(398, "Login outage on canary", ["incident", "P0"], "closed", 40 * 86400),
        ]
        if scenario(state) == "open-p0":
            found.append(_issue(431, "Transactions import drops rows", ["incident", "P0"], "open", 1800))
        return found

    async def commit(request: web.Request) -> web.Response:
        if not repo_ok(request):
            return not_found()
        ref = request.match_info["ref"]
        sha = target_sha()
        if len(ref) < 4 or not sha.startswith(ref.lower()):
            return web.json_response(
                {"message": f"No commit found for SHA: {ref}", "documentation_url": DOCS},
                status=422,
            )
        return web.json_response({"sha": sha, "commit": {"message": "Release candidate"}})

    async def workflows(request: web.Request) -> web.Response:
        if not repo_ok(request):
            return not_found()
        items = [
            {**w, "node_id": f"W_{w['id']}", "state": "active",
             "html_url": f"https://github.com/{OWNER}/{REPO}/blob/main/{w['path']}"}
            for w in WORKFLOWS
        ]  # fmt: skip
        return web.json_response({"total_count": len(items), "workflows": items})

    async def runs(request: web.Request) -> web.Response:
        if not repo_ok(request):
            return not_found()
        wanted = request.match_info.get("workflow_id")
        selected = [w for w in WORKFLOWS if wanted is None or str(w["id"]) == wanted]
        if wanted is not None and not selected:
            return not_found()
        head = request.query.get("head_sha", "")
        found = [run_for(w) for w in selected]
        if head:
            found = [r for r in found if r["head_sha"] == head]
        return web.json_response({"total_count": len(found), "workflow_runs": found})

    async def jobs(request: web.Request) -> web.Response:
        if not repo_ok(request):
            return not_found()
        run_id = int(request.match_info["run_id"])
        if run_id not in (CI_RUN_ID, CI_RUN_ID + 1):
            return not_found()
        found = jobs_for(run_id)
        return web.json_response({"total_count": len(found), "jobs": found})

    async def search_issues(request: web.Request) -> web.Response:
        q = request.query.get("q", "")
        if not q:
            return web.json_response(
                {"message": "Validation Failed", "errors": [{"field": "q", "code": "missing"}]},
                status=422,
            )
        try:
            terms = shlex.split(q)
        except ValueError:
            terms = q.split()
        found = issues()
        for term in terms:
            key, sep, value = term.partition(":")
            if not sep:
                found = [i for i in found if term.lower() in i["title"].lower()]
            elif key == "repo" and value != f"{OWNER}/{REPO}":
                found = []
            elif (key == "is" and value in ("open", "closed")) or key == "state":
                found = [i for i in found if i["state"] == value]
            elif key == "label":
                options = {v.strip().lower() for v in value.split(",")}
                found = [
                    i for i in found if options & {lb["name"].lower() for lb in i["labels"]}
                ]
        return web.json_response(
            {"total_count": len(found), "incomplete_results": False, "items": found}
        )

    app = web.Application(middlewares=[api_rules])
    base = "/repos/{owner}/{repo}"
    app.router.add_get(base + "/commits/{ref}", commit)
    app.router.add_get(base + "/actions/workflows", workflows)
    app.router.add_get(base + "/actions/runs", runs)
    app.router.add_get(base + "/actions/workflows/{workflow_id}/runs", runs)
    app.router.add_get(base + "/actions/runs/{run_id:\\d+}/jobs", jobs)
    app.router.add_get("/search/issues", search_issues)
    return app
