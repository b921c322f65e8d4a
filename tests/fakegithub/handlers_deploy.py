"""Deployments and their statuses, releases, workflow dispatch/runs, JIT runners.

GitHub facts reproduced: a deployment's ``ref`` must resolve to a commit (422
``No ref found``); ``production_environment`` defaults to true only for
``production``; a new ``success`` status marks earlier non-transient
deployments of the same environment ``inactive`` (``auto_inactive``, default
true); lists are newest first; a release tag may exist only once and drafts are
not found by tag; dispatching needs an existing ref and answers 204 (or 200
with run details when ``return_run_details`` is set); generating a JIT runner
config needs admin rights (a ``GITHUB_TOKEN`` gets 403) and a unique name.
"""

from __future__ import annotations

import re

from tests.fakegithub.records import Deployment, DeploymentStatus, Dispatch, now_iso
from tests.fakegithub.routes import Ctx, HttpError, Reply, paginate, parse_bool, route, validation_failed

DOC_DEPLOY = "https://docs.github.com/rest/deployments/deployments"
DOC_RELEASES = "https://docs.github.com/rest/releases/releases"
DOC_ACTIONS = "https://docs.github.com/rest/actions/workflows"


@route("POST", "/repos/{owner}/{repo}/deployments")
def create_deployment(ctx: Ctx) -> Reply:
    ref = str(ctx.field("ref", ""))
    sha = ctx.state.resolve_ref(ctx.repo, ref)
    if sha is None:
        raise HttpError(422, f"No ref found for: {ref}", doc=DOC_DEPLOY)
    env = str(ctx.field("environment", "production"))
    payload = ctx.field("payload", {})
    d = ctx.state.add_deployment(
        ctx.repo, sha=sha, ref=ref, task=str(ctx.field("task", "deploy")), environment=env, creator=ctx.login,
        payload=payload if payload not in (None, "") else {}, description=ctx.field("description", ""),
        transient_environment=bool(ctx.field("transient_environment", False)),
        production_environment=bool(ctx.field("production_environment", env == "production")))
    return Reply(201, ctx.render.deployment(d))


@route("GET", "/repos/{owner}/{repo}/deployments")
def list_deployments(ctx: Ctx) -> Reply:
    ctx.state.repo(ctx.repo)
    q = ctx.query
    items = [d for d in sorted(ctx.state.deployments.values(), key=lambda d: d.id, reverse=True)
             if d.repo == ctx.repo and all(q.get(k) in (None, getattr(d, k))
                                           for k in ("sha", "ref", "task", "environment"))]
    return paginate(ctx, [ctx.render.deployment(d) for d in items])


def _deployment(ctx: Ctx) -> Deployment:
    ctx.state.repo(ctx.repo)
    d = ctx.state.deployments.get(ctx.int_param("deployment_id"))
    if d is None or d.repo != ctx.repo:
        raise HttpError(404, "Not Found", doc=DOC_DEPLOY)
    return d


@route("GET", "/repos/{owner}/{repo}/deployments/{deployment_id}")
def get_deployment(ctx: Ctx) -> Reply:
    return Reply(200, ctx.render.deployment(_deployment(ctx)))


@route("POST", "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses")
def create_deployment_status(ctx: Ctx) -> Reply:
    d = _deployment(ctx)
    sid = ctx.state.new_id()
    env = str(ctx.field("environment") or d.environment)
    s = DeploymentStatus(sid, ctx.state.node_id("DES", sid, "deployment_status"), str(ctx.field("state")), ctx.login,
                         description=str(ctx.field("description") or ""), environment=env,
                         target_url=str(ctx.field("target_url") or ctx.field("log_url") or ""),
                         log_url=str(ctx.field("log_url") or ctx.field("target_url") or ""),
                         environment_url=str(ctx.field("environment_url") or ""))
    if s.state == "success" and ctx.field("auto_inactive", True) and not d.transient_environment:
        for other in ctx.state.deployments.values():
            if (other.repo == d.repo and other.id != d.id and other.environment == env and other.statuses
                    and other.statuses[-1].state == "success" and not other.transient_environment):
                iid = ctx.state.new_id()
                other.statuses.append(DeploymentStatus(iid, ctx.state.node_id("DES", iid, "deployment_status"),
                                                       "inactive", ctx.login, environment=env))
                other.updated_at = now_iso()
    d.statuses.append(s)
    d.updated_at = s.created_at
    if ctx.field("environment"):
        d.environment = env
    return Reply(201, ctx.render.deployment_status(d, s))


@route("GET", "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses")
def list_deployment_statuses(ctx: Ctx) -> Reply:
    d = _deployment(ctx)
    return paginate(ctx, [ctx.render.deployment_status(d, s) for s in reversed(d.statuses)])


# -- releases ------------------------------------------------------------------
@route("POST", "/repos/{owner}/{repo}/releases")
def create_release(ctx: Ctx) -> Reply:
    ctx.state.repo(ctx.repo)
    tag = str(ctx.field("tag_name", ""))
    if any(r.repo == ctx.repo and r.tag_name == tag for r in ctx.state.releases.values()):
        raise validation_failed("Release", "tag_name", "already_exists", "already_exists", DOC_RELEASES)
    body = ctx.field("body")
    if isinstance(body, str) and len(body) > 125_000:
        raise validation_failed("Release", "body", "body is too long (maximum is 125000 characters)",
                                "custom", DOC_RELEASES)
    rel = ctx.state.add_release(ctx.repo, tag, ctx.login, name=ctx.field("name"), body=body,
                                target_commitish=str(ctx.field("target_commitish") or
                                                     ctx.state.repo(ctx.repo).default_branch),
                                draft=bool(ctx.field("draft", False)), prerelease=bool(ctx.field("prerelease", False)))
    target = ctx.state.resolve_ref(ctx.repo, rel.target_commitish)
    if target and not rel.draft:
        ctx.state.repo(ctx.repo).refs.setdefault(tag, target)
    return Reply(201, ctx.render.release(rel),
                 {"Location": f"{ctx.render.api}/repos/{ctx.repo}/releases/{rel.id}"})


@route("GET", "/repos/{owner}/{repo}/releases/tags/{tag}")
def release_by_tag(ctx: Ctx) -> Reply:
    ctx.state.repo(ctx.repo)
    for rel in ctx.state.releases.values():
        if rel.repo == ctx.repo and rel.tag_name == ctx.params["tag"] and not rel.draft:
            return Reply(200, ctx.render.release(rel))
    raise HttpError(404, "Not Found", doc=DOC_RELEASES)


@route("PATCH", "/repos/{owner}/{repo}/releases/{release_id}")
def update_release(ctx: Ctx) -> Reply:
    ctx.state.repo(ctx.repo)
    rel = ctx.state.releases.get(ctx.int_param("release_id"))
    if rel is None or rel.repo != ctx.repo:
        raise HttpError(404, "Not Found", doc=DOC_RELEASES)
    body = ctx.field("body")
    if isinstance(body, str) and len(body) > 125_000:
        raise validation_failed("Release", "body", "body is too long (maximum is 125000 characters)",
                                "custom", DOC_RELEASES)
    for key in ("name", "body"):
        if ctx.field(key) is not None:
            setattr(rel, key, ctx.field(key))
    return Reply(200, ctx.render.release(rel))


# -- actions -------------------------------------------------------------------
@route("POST", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches")
def dispatch(ctx: Ctx) -> Reply:
    repo = ctx.state.repo(ctx.repo)
    ref = str(ctx.field("ref", ""))
    sha = ctx.state.resolve_ref(ctx.repo, ref)
    if sha is None or re.fullmatch(r"[0-9a-f]{40}", ref):  # a branch or tag, never a SHA
        raise HttpError(422, f"No ref found for: {ref}", doc=DOC_ACTIONS)
    workflow = ctx.params["workflow_id"]
    d = Dispatch(ctx.repo, workflow, ref, dict(ctx.field("inputs") or {}), ctx.login)
    ctx.state.dispatches.append(d)
    if not parse_bool(str(ctx.field("return_run_details", False))):
        return Reply(204)
    branch = ref.removeprefix("refs/heads/").removeprefix("refs/tags/")
    path = workflow if not workflow.isdigit() else ".github/workflows/dispatched.yml"
    run = ctx.state.add_run(ctx.repo, sha, name=path.rsplit("/", 1)[-1], event="workflow_dispatch",
                            status="queued", conclusion=None, head_branch=branch, actor=ctx.login,
                            path=path if path.startswith(".github/") else f".github/workflows/{path}",
                            workflow_id=int(workflow) if workflow.isdigit() else 161335 + len(repo.name))
    d.run_id = run.id
    return Reply(200, {"workflow_run_id": run.id, "run_url": f"{ctx.render.api}/repos/{ctx.repo}/actions/runs/{run.id}",
                       "html_url": f"{ctx.render.web}/{ctx.repo}/actions/runs/{run.id}"})


@route("GET", "/repos/{owner}/{repo}/actions/runs/{run_id}")
def get_run(ctx: Ctx) -> Reply:
    ctx.state.repo(ctx.repo)
    run = ctx.state.runs.get(ctx.int_param("run_id"))
    if run is None or run.repo != ctx.repo:
        raise HttpError(404, "Not Found", doc="https://docs.github.com/rest/actions/workflow-runs")
    return Reply(200, ctx.render.workflow_run(run))


@route("POST", "/repos/{owner}/{repo}/actions/runners/generate-jitconfig", scope="admin")
def generate_jitconfig(ctx: Ctx) -> Reply:
    ctx.state.repo(ctx.repo)
    name = str(ctx.field("name", ""))
    if any(r.name == name for r in ctx.state.runners.values()):
        raise HttpError(409, f"Already exists - A runner with the name {name} already exists.",
                        doc="https://docs.github.com/rest/actions/self-hosted-runners")
    runner = ctx.state.add_runner(name, int(ctx.field("runner_group_id", 1)), list(ctx.field("labels") or []),
                                  str(ctx.field("work_folder", "_work")))
    return Reply(201, {"runner": ctx.render.runner(runner), "encoded_jit_config": runner.encoded_jit_config})


@route("POST", "/orgs/{org}/actions/runners/generate-jitconfig", scope="admin")
def generate_org_jitconfig(ctx: Ctx) -> Reply:
    """The organization-level twin: an org is known when one of the fake's repositories belongs to it."""
    org = ctx.params["org"]
    if not any(full.split("/")[0] == org for full in ctx.state.repos):
        raise HttpError(404, "Not Found", doc="https://docs.github.com/rest/actions/self-hosted-runners")
    name = str(ctx.field("name", ""))
    if any(r.name == name for r in ctx.state.runners.values()):
        raise HttpError(409, f"Already exists - A runner with the name {name} already exists.",
                        doc="https://docs.github.com/rest/actions/self-hosted-runners")
    runner = ctx.state.add_runner(name, int(ctx.field("runner_group_id", 1)), list(ctx.field("labels") or []),
                                  str(ctx.field("work_folder", "_work")))
    return Reply(201, {"runner": ctx.render.runner(runner), "encoded_jit_config": runner.encoded_jit_config})
