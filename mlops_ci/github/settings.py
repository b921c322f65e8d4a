"""Reading the repository and organization settings that `mlops-ci audit` judges.

Each setting is one REST call (or a paginated list). Most of them are administration settings:
GitHub answers 403 ("Resource not accessible by integration", "Must have admin rights") or 404 to
a token that may not read them. Those answers become :class:`mlops_ci.audit.Unread`, naming what
the token would need, so the audit reports the item as "not checked" instead of failing; any other
error (401, 5xx after retries, a dropped connection) is raised.

Endpoints (all in GitHub's REST description):

- ``GET /repos/{o}/{r}``: visibility, owner type, default branch (must succeed);
- ``GET /repos/{o}/{r}/actions/permissions/fork-pr-contributor-approval``;
- ``GET /repos/{o}/{r}/actions/permissions/fork-pr-workflows-private-repos`` (private repositories);
- ``GET /repos/{o}/{r}/actions/runners``;
- ``GET /orgs/{org}/actions/runner-groups?visible_to_repository={name}`` and
  ``GET /orgs/{org}/actions/runner-groups/{id}/runners`` (organizations only);
- ``GET /repos/{o}/{r}/actions/permissions/workflow``;
- ``GET /repos/{o}/{r}/branches/{branch}/protection`` (404 "Branch not protected" = not protected);
- ``GET /repos/{o}/{r}/rules/branches/{branch}`` (active rulesets' rules for the branch).
"""

from __future__ import annotations

import logging
from typing import Any, Callable, TypeVar
from urllib.parse import quote

from mlops_ci.github.api import GitHub, GitHubError
from mlops_ci.audit import (
    NEEDS_ORG_RUNNERS, NEEDS_REPO_ADMIN, PrivateForkSettings, RepoSettings, RunnerGroup, Unread,
    WorkflowPermissions, group_from_api, protection_checks_from_api, ruleset_checks_from_api, runner_from_api,
)
from mlops_ci.errors import BadInput

log = logging.getLogger(__name__)
T = TypeVar("T")
#: What a token that may read repository contents but not the settings gets.
UNREADABLE = (403, 404)


def fetch(gh: GitHub) -> RepoSettings:
    """Every setting the audit judges, for ``gh.repository``."""
    try:
        repo = gh.repo_info()
    except GitHubError as exc:
        if exc.status == 404:
            raise BadInput(f"repository {gh.repository} not found, or this token cannot see it") from exc
        raise
    owner = (repo.get("owner") or {})
    private = bool(repo.get("private"))
    is_org = owner.get("type") == "Organization"
    branch = str(repo.get("default_branch") or "main")
    return RepoSettings(
        repository=str(repo.get("full_name") or gh.repository),
        private=private,
        owner_type=str(owner.get("type") or "User"),
        default_branch=branch,
        approval_policy=_read(lambda: str(gh.request(
            "GET", "actions/permissions/fork-pr-contributor-approval")["approval_policy"]), NEEDS_REPO_ADMIN),
        private_fork_prs=_read(lambda: _private_fork_prs(gh), NEEDS_REPO_ADMIN) if private else None,
        runners=_read(lambda: tuple(runner_from_api(r) for r in gh.paginate("actions/runners", key="runners")),
                      NEEDS_REPO_ADMIN),
        runner_groups=_read(lambda: _runner_groups(gh, str(owner.get("login") or gh.repository.split("/")[0]),
                                                   str(repo.get("name") or gh.repository.split("/")[1])),
                            NEEDS_ORG_RUNNERS) if is_org else None,
        workflow_permissions=_read(lambda: _workflow_permissions(gh), NEEDS_REPO_ADMIN),
        protection_checks=_protection(gh, branch),
        ruleset_checks=_read(lambda: ruleset_checks_from_api(gh.paginate(f"rules/branches/{_seg(branch)}")),
                             "repository Metadata: read"),
    )


def _read(fetcher: Callable[[], T], needs: str) -> "T | Unread":
    try:
        return fetcher()
    except GitHubError as exc:
        if exc.status not in UNREADABLE:
            raise
        log.debug("not readable: %s", exc)
        return Unread(needs, exc.status, _message(exc))


def _message(exc: GitHubError) -> str:
    """GitHub's message from our error text ("GitHub GET /x failed with 403: <message>[ — hint]")."""
    text = str(exc)
    _, _, rest = text.partition(f"failed with {exc.status}: ")
    return (rest or text).split(" — ", 1)[0].strip()


def _seg(value: str) -> str:
    """One path segment: a branch name may contain '/'."""
    return quote(value, safe="")


def _private_fork_prs(gh: GitHub) -> PrivateForkSettings:
    data = gh.request("GET", "actions/permissions/fork-pr-workflows-private-repos")
    return PrivateForkSettings(
        run_workflows_from_fork_pull_requests=bool(data.get("run_workflows_from_fork_pull_requests")),
        send_write_tokens_to_workflows=bool(data.get("send_write_tokens_to_workflows")),
        send_secrets_and_variables=bool(data.get("send_secrets_and_variables")),
        require_approval_for_fork_pr_workflows=bool(data.get("require_approval_for_fork_pr_workflows")))


def _workflow_permissions(gh: GitHub) -> WorkflowPermissions:
    data = gh.request("GET", "actions/permissions/workflow")
    return WorkflowPermissions(str(data.get("default_workflow_permissions") or ""),
                               bool(data.get("can_approve_pull_request_reviews")))


def _runner_groups(gh: GitHub, org: str, name: str) -> tuple[RunnerGroup, ...]:
    groups: list[Any] = list(gh.paginate(f"/orgs/{_seg(org)}/actions/runner-groups",
                                         {"visible_to_repository": name}, key="runner_groups"))
    out = []
    for g in groups:
        gid = int(g.get("id") or 0)
        runners = _read(lambda: tuple(runner_from_api(r) for r in gh.paginate(
            f"/orgs/{_seg(org)}/actions/runner-groups/{gid}/runners", key="runners")), NEEDS_ORG_RUNNERS)
        out.append(group_from_api(g, runners))
    return tuple(out)


def _protection(gh: GitHub, branch: str) -> "tuple[str, ...] | Unread | None":
    try:
        data = gh.request("GET", f"branches/{_seg(branch)}/protection")
    except GitHubError as exc:
        if exc.status == 404 and "Branch not protected" in str(exc):
            return None
        if exc.status not in UNREADABLE:
            raise
        return Unread(NEEDS_REPO_ADMIN, exc.status, _message(exc))
    return protection_checks_from_api(data)

