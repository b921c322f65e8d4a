"""Repository and organization settings: fork PR approval, self-hosted runners and runner groups,
default workflow permissions, branch protection and the rules of active rulesets.

GitHub facts reproduced: every settings endpoint needs administration rights — an installation
token without them (``GITHUB_TOKEN``) gets 403 "Resource not accessible by integration" (the
router's scope check), a user without admin rights on the repository 403 "Must have admin rights
to Repository."; runner groups live under ``/orgs/{org}`` (404 for a user account) and need an
organization owner (a repository admin's token gets 403); ``visible_to_repository`` lists only the
groups that repository may use (visibility ``all``, ``selected`` with the repository, ``private``
for private repositories; a public repository only groups that allow public repositories);
``GET …/branches/{branch}/protection`` answers 404 "Branch not protected" for a branch without
protection; ``GET …/rules/branches/{branch}`` is readable with read access and returns the rules
of **active** rulesets only (``evaluate`` and ``disabled`` ones are left out), with ruleset info.

Defaults are GitHub's for a new repository: approval for first-time contributors, a read-only
default ``GITHUB_TOKEN`` that cannot approve PRs, fork PR workflows off in private repositories,
no runners, no protection, no rulesets; an organization has the runner group ``Default`` (id 1,
visible to all repositories, public repositories not allowed, not restricted to workflows).
The state lives on :class:`tests.fakegithub.state.State` (``repo_settings`` / ``org_settings``).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any

from tests.fakegithub.routes import Ctx, HttpError, Reply, paginate, route
from tests.fakegithub.state import State

DOC_PERMISSIONS = "https://docs.github.com/rest/actions/permissions"
DOC_RUNNERS = "https://docs.github.com/rest/actions/self-hosted-runners"
DOC_GROUPS = "https://docs.github.com/rest/actions/self-hosted-runner-groups"
DOC_PROTECTION = "https://docs.github.com/rest/branches/branch-protection#get-branch-protection"
DOC_RULES = "https://docs.github.com/rest/repos/rules#get-rules-for-a-branch"
#: Labels GitHub gives a runner itself (type ``read-only``); the rest are ``custom``.
DEFAULT_LABELS = frozenset({"self-hosted", "linux", "x64", "arm64", "windows", "macos", "arm"})
APPROVAL_POLICIES = ("first_time_contributors_new_to_github", "first_time_contributors", "all_external_contributors")


@dataclass
class SelfHostedRunner:
    id: int
    name: str
    labels: list[str]
    runner_group_id: int = 1
    status: str = "online"
    busy: bool = False
    ephemeral: bool = False


@dataclass
class RunnerGroupRecord:
    id: int
    name: str
    #: "all", "selected" (``selected_repositories``) or "private" (all private repositories).
    visibility: str = "all"
    selected_repositories: set[str] = field(default_factory=set)
    allows_public_repositories: bool = False
    restricted_to_workflows: bool = False
    selected_workflows: list[str] = field(default_factory=list)
    default: bool = False
    inherited: bool = False
    runners: list[SelfHostedRunner] = field(default_factory=list)


@dataclass
class BranchProtectionRecord:
    #: Required checks as (context, app_id or None for "any source").
    checks: list[tuple[str, int | None]] = field(default_factory=list)
    strict: bool = False
    enforce_admins: bool = False


@dataclass
class RulesetRecord:
    id: int
    name: str
    required_checks: list[str] = field(default_factory=list)
    #: ``~DEFAULT_BRANCH``, ``~ALL`` or ``refs/heads/<fnmatch pattern>``.
    include: list[str] = field(default_factory=lambda: ["~DEFAULT_BRANCH"])
    exclude: list[str] = field(default_factory=list)
    enforcement: str = "active"
    #: Parameterless rule types (``deletion``, ``non_fast_forward``, ``required_linear_history``…).
    other_rules: list[str] = field(default_factory=list)
    source_type: str = "Repository"
    source: str = ""


@dataclass
class RepoActionsSettings:
    """One repository's settings (GitHub's defaults for a new repository)."""

    approval_policy: str = "first_time_contributors"
    run_workflows_from_fork_pull_requests: bool = False
    send_write_tokens_to_workflows: bool = False
    send_secrets_and_variables: bool = False
    require_approval_for_fork_pr_workflows: bool = False
    default_workflow_permissions: str = "read"
    can_approve_pull_request_reviews: bool = False
    runners: list[SelfHostedRunner] = field(default_factory=list)
    protections: dict[str, BranchProtectionRecord] = field(default_factory=dict)
    rulesets: list[RulesetRecord] = field(default_factory=list)


@dataclass
class OrgActionsSettings:
    """One organization's runner groups and who may read them (its owners)."""

    owners: set[str]
    groups: dict[int, RunnerGroupRecord]


def repo_settings(state: State, repo: str) -> RepoActionsSettings:
    state.repo(repo)
    return state.repo_settings.setdefault(repo, RepoActionsSettings())


def org_settings(state: State, org: str) -> OrgActionsSettings:
    """The organization's settings; by the fake's convention ``<org>-admin`` (the admin token's user) owns it."""
    u = state.users.get(org)
    if u is None or u.type != "Organization":
        raise HttpError(404, "Not Found", doc=DOC_GROUPS)
    if org not in state.org_settings:
        state.org_settings[org] = OrgActionsSettings(
            {f"{org}-admin"}, {1: RunnerGroupRecord(1, "Default", default=True)})
    return state.org_settings[org]


def _require_repo_admin(ctx: Ctx, doc: str) -> RepoActionsSettings:
    settings = repo_settings(ctx.state, ctx.repo)
    if ctx.state.permission(ctx.repo, ctx.login) != "admin":
        raise HttpError(403, "Must have admin rights to Repository.", doc=doc)
    return settings


def _require_org_owner(ctx: Ctx) -> OrgActionsSettings:
    org = org_settings(ctx.state, ctx.params["org"])
    if ctx.login not in org.owners:
        message = ("Resource not accessible by personal access token" if ctx.token.kind == "pat"
                   else "Resource not accessible by integration")
        raise HttpError(403, message, doc=DOC_GROUPS)
    return org


# -- fork pull requests --------------------------------------------------------------------------
@route("GET", "/repos/{owner}/{repo}/actions/permissions/fork-pr-contributor-approval", scope="admin")
def fork_pr_contributor_approval(ctx: Ctx) -> Reply:
    s = _require_repo_admin(ctx, DOC_PERMISSIONS)
    return Reply(200, {"approval_policy": s.approval_policy})


@route("GET", "/repos/{owner}/{repo}/actions/permissions/fork-pr-workflows-private-repos", scope="admin")
def fork_pr_workflows_private_repos(ctx: Ctx) -> Reply:
    s = _require_repo_admin(ctx, DOC_PERMISSIONS)
    if not ctx.state.repo(ctx.repo).private:
        # The fake's model: the setting exists for private repositories only.
        raise HttpError(403, "Fork pull request workflow settings apply to private repositories only.",
                        doc=DOC_PERMISSIONS)
    return Reply(200, {"run_workflows_from_fork_pull_requests": s.run_workflows_from_fork_pull_requests,
                       "send_write_tokens_to_workflows": s.send_write_tokens_to_workflows,
                       "send_secrets_and_variables": s.send_secrets_and_variables,
                       "require_approval_for_fork_pr_workflows": s.require_approval_for_fork_pr_workflows})


@route("GET", "/repos/{owner}/{repo}/actions/permissions/workflow", scope="admin")
def workflow_permissions(ctx: Ctx) -> Reply:
    s = _require_repo_admin(ctx, DOC_PERMISSIONS)
    return Reply(200, {"default_workflow_permissions": s.default_workflow_permissions,
                       "can_approve_pull_request_reviews": s.can_approve_pull_request_reviews})


# -- self-hosted runners and runner groups -------------------------------------------------------
def render_runner(r: SelfHostedRunner) -> dict[str, Any]:
    return {"id": r.id, "runner_group_id": r.runner_group_id, "name": r.name, "os": "linux", "status": r.status,
            "busy": r.busy, "ephemeral": r.ephemeral,
            "labels": [{"id": i + 1, "name": n, "type": "read-only" if n.lower() in DEFAULT_LABELS else "custom"}
                       for i, n in enumerate(r.labels)]}


def render_group(ctx: Ctx, org: str, g: RunnerGroupRecord) -> dict[str, Any]:
    url = f"{ctx.render.api}/orgs/{org}/actions/runner-groups/{g.id}"
    out: dict[str, Any] = {
        "id": g.id, "name": g.name, "visibility": g.visibility, "default": g.default, "runners_url": f"{url}/runners",
        "hosted_runners_url": f"{url}/hosted-runners", "inherited": g.inherited,
        "allows_public_repositories": g.allows_public_repositories,
        "restricted_to_workflows": g.restricted_to_workflows, "selected_workflows": list(g.selected_workflows),
        "workflow_restrictions_read_only": False,
    }
    if g.visibility == "selected":
        out["selected_repositories_url"] = f"{url}/repositories"
    return out


@route("GET", "/repos/{owner}/{repo}/actions/runners", scope="admin")
def list_repo_runners(ctx: Ctx) -> Reply:
    s = _require_repo_admin(ctx, DOC_RUNNERS)
    items = [r for r in s.runners if ctx.query.get("name") in (None, r.name)]
    return paginate(ctx, [render_runner(r) for r in items],
                    lambda chunk: {"total_count": len(items), "runners": chunk})


def usable_by(state: State, org: str, g: RunnerGroupRecord, name: str) -> bool:
    repo = state.repos.get(f"{org}/{name}")
    if repo is None:
        return False
    if not repo.private and not g.allows_public_repositories:
        return False
    return (g.visibility == "all" or (g.visibility == "selected" and repo.full_name in g.selected_repositories)
            or (g.visibility == "private" and repo.private))


@route("GET", "/orgs/{org}/actions/runner-groups", scope="admin")
def list_runner_groups(ctx: Ctx) -> Reply:
    org = ctx.params["org"]
    o = _require_org_owner(ctx)
    visible_to = ctx.query.get("visible_to_repository")
    groups = [g for _, g in sorted(o.groups.items())
              if visible_to is None or usable_by(ctx.state, org, g, visible_to)]
    return paginate(ctx, [render_group(ctx, org, g) for g in groups],
                    lambda chunk: {"total_count": len(groups), "runner_groups": chunk})


@route("GET", "/orgs/{org}/actions/runner-groups/{runner_group_id}/runners", scope="admin")
def list_group_runners(ctx: Ctx) -> Reply:
    o = _require_org_owner(ctx)
    g = o.groups.get(ctx.int_param("runner_group_id"))
    if g is None:
        raise HttpError(404, "Not Found", doc=DOC_GROUPS)
    return paginate(ctx, [render_runner(r) for r in g.runners],
                    lambda chunk: {"total_count": len(g.runners), "runners": chunk})


# -- what the default branch requires ------------------------------------------------------------
@route("GET", "/repos/{owner}/{repo}/branches/{branch}/protection", scope="admin")
def get_branch_protection(ctx: Ctx) -> Reply:
    s = _require_repo_admin(ctx, DOC_PROTECTION)
    branch = ctx.params["branch"]
    if branch not in ctx.state.repo(ctx.repo).refs:
        raise HttpError(404, "Branch not found", doc=DOC_PROTECTION)
    p = s.protections.get(branch)
    if p is None:
        raise HttpError(404, "Branch not protected", doc=DOC_PROTECTION)
    url = f"{ctx.render.api}/repos/{ctx.repo}/branches/{branch}/protection"
    out: dict[str, Any] = {
        "url": url,
        "enforce_admins": {"url": f"{url}/enforce_admins", "enabled": p.enforce_admins},
        "required_linear_history": {"enabled": False}, "allow_force_pushes": {"enabled": False},
        "allow_deletions": {"enabled": False}, "block_creations": {"enabled": False},
        "required_conversation_resolution": {"enabled": False}, "lock_branch": {"enabled": False},
        "allow_fork_syncing": {"enabled": False},
    }
    if p.checks:
        out["required_status_checks"] = {
            "url": f"{url}/required_status_checks", "strict": p.strict,
            "contexts": [c for c, _ in p.checks], "contexts_url": f"{url}/required_status_checks/contexts",
            "checks": [{"context": c, "app_id": a} for c, a in p.checks]}
    return Reply(200, out)


def _matches(patterns: list[str], branch: str, default_branch: str) -> bool:
    for p in patterns:
        if p == "~ALL" or (p == "~DEFAULT_BRANCH" and branch == default_branch):
            return True
        if p.startswith("refs/heads/") and fnmatch.fnmatchcase(branch, p[len("refs/heads/"):]):
            return True
    return False


@route("GET", "/repos/{owner}/{repo}/rules/branches/{branch}")
def rules_for_branch(ctx: Ctx) -> Reply:
    s = repo_settings(ctx.state, ctx.repo)
    branch, default = ctx.params["branch"], ctx.state.repo(ctx.repo).default_branch
    rules: list[dict[str, Any]] = []
    for rs in s.rulesets:
        if rs.enforcement != "active" or not _matches(rs.include, branch, default) \
                or _matches(rs.exclude, branch, default):
            continue
        info = {"ruleset_source_type": rs.source_type, "ruleset_source": rs.source or ctx.repo,
                "ruleset_id": rs.id}
        rules += [{"type": t, **info} for t in rs.other_rules]
        if rs.required_checks:
            rules.append({"type": "required_status_checks", **info, "parameters": {
                "strict_required_status_checks_policy": False,
                "required_status_checks": [{"context": c} for c in rs.required_checks]}})
    return paginate(ctx, rules)


__all__ = ["APPROVAL_POLICIES", "BranchProtectionRecord", "OrgActionsSettings", "RepoActionsSettings",
           "RulesetRecord", "RunnerGroupRecord", "SelfHostedRunner", "org_settings", "repo_settings"]
