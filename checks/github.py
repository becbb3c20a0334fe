"""GitHub check kinds: ``github_actions`` and ``open_incidents`` (REST API via ``ctx.http``).

Rate limiting and rejected credentials are reported as such (an ``error``: the
checklist could not be judged), never as a red build.
"""

from __future__ import annotations

import asyncio
import fnmatch
from typing import Any

import msgspec

from gonogo.context import CheckContext
from gonogo.integrations.github import GitHub, GitHubError
from gonogo.model import Outcome, Status

GOOD_CONCLUSIONS = ("success",)
NEUTRAL_CONCLUSIONS = ("skipped", "neutral")


class ActionsParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    workflow: str = "Monorepo CI"  # the workflow's name or its file name (ci.yml)
    commit: str = ""  # default: [release].commit
    jobs: tuple[str, ...] = ()  # job names or globs ("python-services (*)"); empty = whole run
    allow_skipped: bool = True  # a skipped/neutral job counts as green


class IncidentsParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    labels: tuple[str, ...] = ("P0", "P1")
    qualifiers: str = ""  # extra search qualifiers, e.g. "label:production"
    include_config: bool = True  # also count open [[issues]] of these severities


def _short(sha: str) -> str:
    return sha[:7]


def _github_failure(exc: GitHubError) -> Outcome:
    if exc.reason == "not_found":
        return Outcome.failed(str(exc), reason=exc.reason)
    return Outcome.errored(str(exc), reason=exc.reason)


class GithubActions:
    """The named workflow has a completed, successful run for the target commit."""

    kind = "github_actions"
    Params = ActionsParams

    async def run(self, params: ActionsParams, ctx: CheckContext) -> Outcome:
        try:
            gh = GitHub(ctx.plan.integrations.github, ctx.resolver, ctx.http)
            return await self._check(gh, params, ctx)
        except GitHubError as exc:
            return _github_failure(exc)

    async def _check(self, gh: GitHub, params: ActionsParams, ctx: CheckContext) -> Outcome:
        commit = params.commit or ctx.plan.release.commit
        sha = await gh.full_sha(commit)
        listing = await gh.get(f"/repos/{gh.repo}/actions/workflows", per_page=100)
        workflows = listing.get("workflows", [])
        wanted = params.workflow.lower()
        matched = [
            w for w in workflows
            if w.get("name", "").lower() == wanted or w.get("path", "").rsplit("/", 1)[-1].lower() == wanted
        ]  # fmt: skip
        if not matched:
            names = ", ".join(repr(w.get("name")) for w in workflows) or "none"
            return Outcome.failed(f"no workflow {params.workflow!r} in {gh.repo} (found: {names})")
        workflow = matched[0]
        runs = (
            await gh.get(
                f"/repos/{gh.repo}/actions/workflows/{workflow['id']}/runs", head_sha=sha, per_page=20
            )
        ).get("workflow_runs", [])
        label = f"workflow {workflow['name']!r}"
        if not runs:
            return Outcome.failed(f"{label}: no run for {_short(sha)} (expected a completed success)", sha=sha)
        latest = max(runs, key=lambda r: (r.get("run_number", 0), r.get("run_attempt", 1), r.get("created_at", "")))
        run_label = f"{label} run {latest['id']} for {_short(sha)}"
        evidence: dict[str, Any] = {
            "workflow": workflow["name"],
            "run_id": latest["id"],
            "run_number": latest.get("run_number"),
            "sha": sha,
            "status": latest.get("status"),
            "conclusion": latest.get("conclusion"),
            "url": latest.get("html_url", ""),
        }
        if latest.get("status") != "completed":
            return Outcome(Status.PENDING, f"{run_label}: {latest.get('status')}, not completed yet", (), evidence)
        jobs = (
            await gh.get(f"/repos/{gh.repo}/actions/runs/{latest['id']}/jobs", filter="latest", per_page=100)
        ).get("jobs", [])
        evidence["jobs"] = {j["name"]: j.get("conclusion") or j.get("status") for j in jobs}
        ok = GOOD_CONCLUSIONS + (NEUTRAL_CONCLUSIONS if params.allow_skipped else ())
        if params.jobs:
            selected: list[dict[str, Any]] = []
            missing = []
            for pattern in params.jobs:
                hits = [j for j in jobs if fnmatch.fnmatchcase(j["name"], pattern)]
                if not hits:
                    missing.append(pattern)
                selected.extend(h for h in hits if h not in selected)
            if missing:
                return Outcome.failed(
                    f"{run_label}: no job {', '.join(map(repr, missing))} "
                    f"(jobs: {', '.join(j['name'] for j in jobs) or 'none'})",
                    **evidence,
                )
            unfinished = [j for j in selected if j.get("status") != "completed"]
            if unfinished:
                return Outcome(
                    Status.PENDING, f"{run_label}: job {unfinished[0]['name']!r} {unfinished[0].get('status')}", (), evidence
                )
            bad = [j for j in selected if j.get("conclusion") not in ok]
            if bad:
                return Outcome.failed(
                    f"{run_label}: {bad[0].get('conclusion')} (job {bad[0]['name']!r})",
                    *(f"job {j['name']!r}: {j.get('conclusion')}" for j in bad),
                    **evidence,
                )
            return Outcome.passed(f"{run_label}: {len(selected)} job(s) green", **evidence)
        conclusion = latest.get("conclusion")
        if conclusion not in ok:
            bad = [j for j in jobs if j.get("conclusion") not in ok]
            which = f" (job {bad[0]['name']!r})" if bad else ""
            return Outcome.failed(
                f"{run_label}: {conclusion}{which}",
                *(f"job {j['name']!r}: {j.get('conclusion')}" for j in bad),
                **evidence,
            )
        return Outcome.passed(f"{run_label}: success ({len(jobs)} jobs)", **evidence)


class OpenIncidents:
    """No open issue labelled with a blocking severity (GitHub search + [[issues]])."""

    kind = "open_incidents"
    Params = IncidentsParams

    async def run(self, params: IncidentsParams, ctx: CheckContext) -> Outcome:
        found: dict[str, dict[str, Any]] = {}
        sources = []
        if params.include_config:
            sources.append("config")
            for issue in ctx.plan.doc.issues:
                if issue.status == "open" and issue.severity in params.labels:
                    found[f"config:{issue.id}"] = {
                        "ref": issue.id, "title": issue.title, "labels": [issue.severity],
                    }  # fmt: skip
        if ctx.plan.integrations.github is not None:
            sources.append("github")
            try:
                gh = GitHub(ctx.plan.integrations.github, ctx.resolver, ctx.http)
                # One search per label: several label: qualifiers would be ANDed.
                answers = await asyncio.gather(
                    *(
                        gh.get("/search/issues", q=self._query(gh.repo, label, params.qualifiers), per_page=50)
                        for label in params.labels
                    )
                )
            except GitHubError as exc:
                return _github_failure(exc)
            for answer in answers:
                for item in answer.get("items", []):
                    found[f"gh:{item['number']}"] = {
                        "ref": f"#{item['number']}",
                        "title": item.get("title", ""),
                        "labels": [lb.get("name", "") for lb in item.get("labels", [])],
                        "url": item.get("html_url", ""),
                    }
        elif not params.include_config:
            return Outcome.errored("no [integrations.github] and include_config = false: nothing to search")
        wanted = "/".join(params.labels)
        evidence = {"sources": sources, "open": list(found.values())}
        if not found:
            return Outcome.passed(f"no open {wanted} issues ({', '.join(sources)})", **evidence)
        lines = [
            f"{i['ref']} {i['title']} ({', '.join(lb for lb in i['labels'] if lb in params.labels)})"
            for i in found.values()
        ]
        return Outcome.failed(f"{len(found)} open {wanted} issue(s), expected none: {lines[0]}", *lines, **evidence)

    @staticmethod
    def _query(repo: str, label: str, qualifiers: str) -> str:
        quoted = f'"{label}"' if " " in label else label
        return " ".join(p for p in (f"repo:{repo}", "is:issue", "is:open", f"label:{quoted}", qualifiers) if p)


KINDS = [GithubActions, OpenIncidents]
