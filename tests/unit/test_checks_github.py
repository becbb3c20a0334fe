"""GitHub check kinds through httpx against the sandbox's GitHub REST stand-in."""

from __future__ import annotations

import json
from pathlib import Path

from gonogo.model import Status
from gonogo.sandbox.standins import github as gh_standin
from gonogo.sandbox.state import SandboxState
from support.loopback import serve
from support.plans import plan_from_toml, run_check


def config(url: str, checks: str, extra: str = "") -> str:
    return f"""
        [release]
        name = "gh-test"
        commit = "0cab782"

        [integrations.github]
        api_url = "{url}"
        repo = "example/monorepo"
        token = "env:GH_TOKEN"
        {extra}

        [[gates]]
        id = "ci"
        title = "CI"
        {checks}
    """


CHECKS = """
        [[gates.checks]]
        id = "ci-green"
        title = "Monorepo CI green"
        kind = "github_actions"
        workflow = "Monorepo CI"

        [[gates.checks]]
        id = "matrix"
        title = "Python service matrix"
        kind = "github_actions"
        jobs = ["python-services (*)"]

        [[gates.checks]]
        id = "portal"
        title = "Web portal build"
        kind = "github_actions"
        workflow = "ci.yml"
        jobs = ["portal-build"]

        [[gates.checks]]
        id = "contract"
        title = "Contract tests"
        kind = "github_actions"
        jobs = ["contract-tests"]

        [[gates.checks]]
        id = "other-commit"
        title = "CI on another commit"
        kind = "github_actions"
        commit = "deadbee"

        [[gates.checks]]
        id = "no-workflow"
        title = "Nightly"
        kind = "github_actions"
        workflow = "Nightly"

        [[gates.checks]]
        id = "incidents"
        title = "No open P0/P1"
        kind = "open_incidents"
"""


async def run_all(state: SandboxState, tmp_path: Path, token: str | None = None, **app_kw: object) -> dict:
    async with serve(gh_standin.make_app(state, **app_kw)) as url:  # type: ignore[arg-type]
        plan = plan_from_toml(tmp_path, config(url, CHECKS))
        environ = {"GH_TOKEN": token if token is not None else state.secrets["github_token"]}
        return {cid: await run_check(plan, cid, environ) for cid in
                ("ci-green", "matrix", "portal", "contract", "other-commit", "no-workflow", "incidents")}  # fmt: skip


async def test_healthy_repository(tmp_path: Path) -> None:
    results = await run_all(SandboxState(), tmp_path)
    assert results["ci-green"].status is Status.PASS
    assert results["ci-green"].summary == "workflow 'Monorepo CI' run 8812 for 0cab782: success (9 jobs)"
    assert results["matrix"].summary == "workflow 'Monorepo CI' run 8812 for 0cab782: 7 job(s) green"
    assert results["portal"].status is Status.PASS
    assert results["incidents"].status is Status.PASS
    assert results["incidents"].summary == "no open P0/P1 issues (config, github)"
    assert results["other-commit"].status is Status.FAIL
    assert results["other-commit"].summary == "commit deadbee not found in example/monorepo"
    assert results["no-workflow"].status is Status.FAIL
    assert results["no-workflow"].summary == "no workflow 'Nightly' in example/monorepo (found: 'Monorepo CI', 'CodeQL')"


async def test_failing_ci_names_run_commit_and_job(tmp_path: Path) -> None:
    results = await run_all(SandboxState(scenario="failing-ci"), tmp_path)
    assert results["ci-green"].status is Status.FAIL
    assert results["ci-green"].summary == (
        "workflow 'Monorepo CI' run 8812 for 0cab782: failure (job 'portal-build')"
    )
    assert results["portal"].status is Status.FAIL
    # Job filters judge only their jobs: the matrix and contract tests stay green.
    assert results["matrix"].status is Status.PASS
    assert results["contract"].status is Status.PASS


async def test_open_p0_is_blocking(tmp_path: Path) -> None:
    results = await run_all(SandboxState(scenario="open-p0"), tmp_path)
    incidents = results["incidents"]
    assert incidents.status is Status.FAIL
    assert incidents.summary == (
        "1 open P0/P1 issue(s), expected none: #431 Transactions import drops rows (P0)"
    )


async def test_run_in_progress_is_pending_not_green(tmp_path: Path) -> None:
    results = await run_all(SandboxState(), tmp_path, in_progress=True)
    assert results["ci-green"].status is Status.PENDING
    assert results["ci-green"].summary == (
        "workflow 'Monorepo CI' run 8812 for 0cab782: in_progress, not completed yet"
    )
    assert results["ci-green"].status.ok is False  # a required pending check blocks GO


async def test_bad_credentials_reported_as_auth_error(tmp_path: Path) -> None:
    wrong = "ghp_notTheToken000111222"
    results = await run_all(SandboxState(), tmp_path, token=wrong)
    for result in results.values():
        assert result.status is Status.ERROR
        assert result.summary == "GitHub rejected the token (401 Bad credentials)"
        assert wrong not in json.dumps(result.to_dict())


async def test_rate_limit_reported_as_such(tmp_path: Path) -> None:
    results = await run_all(SandboxState(), tmp_path, rate_limit=1)
    ci = results["ci-green"]
    assert ci.status is Status.ERROR
    assert ci.summary.startswith("GitHub API rate limit exhausted; resets in 60m")
    assert results["incidents"].status is Status.ERROR


async def test_open_issues_from_the_config_without_github(tmp_path: Path) -> None:
    text = """
        [release]
        name = "no-gh"
        commit = "0cab782"

        [[issues]]
        id = "INC-7"
        title = "Payments double-charge"
        severity = "P1"

        [[issues]]
        id = "INC-8"
        title = "Typo on login page"
        severity = "P3"

        [[gates]]
        id = "ci"
        title = "CI"

          [[gates.checks]]
          id = "incidents"
          title = "No open P0/P1"
          kind = "open_incidents"
    """
    result = await run_check(plan_from_toml(tmp_path, text), "incidents")
    assert result.status is Status.FAIL
    assert result.summary == "1 open P0/P1 issue(s), expected none: INC-7 Payments double-charge (P1)"
