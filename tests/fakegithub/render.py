"""Records → GitHub JSON, complete enough to pass GitHub's own response schemas.

Every ``url`` field points back at the fake (so clients that follow them, as
PyGithub does for edits, keep talking to it); ``html_url``s use the server URL
(``https://github.com`` by default). Field sets follow the required lists in
``@octokit/openapi``; the response validator proves they stay complete.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.fakegithub.records import (
    CheckRun, Comment, CommitStatus, Deployment, DeploymentStatus, Issue, JitRunner, Label, Pull, Reaction, Release, Repo,
    WorkflowRun,
)
from tests.fakegithub.state import ACTIONS_APP_ID, State

REACTIONS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "eyes", "rocket")


@dataclass
class Renderer:
    state: State
    api: str  # e.g. http://127.0.0.1:PORT or http://127.0.0.1:PORT/api/v3
    web: str = "https://github.com"

    # -- users and repositories ---------------------------------------------
    def user(self, login: str) -> dict[str, Any]:
        u = self.state.user(login)
        api, web = f"{self.api}/users/{login}", f"{self.web}/{login}"
        return {
            "login": u.login, "id": u.id, "node_id": u.node_id, "type": u.type, "site_admin": False,
            "avatar_url": f"https://avatars.githubusercontent.com/u/{u.id}?v=4", "gravatar_id": "",
            "url": api, "html_url": web, "followers_url": f"{api}/followers",
            "following_url": f"{api}/following{{/other_user}}", "gists_url": f"{api}/gists{{/gist_id}}",
            "starred_url": f"{api}/starred{{/owner}}{{/repo}}", "subscriptions_url": f"{api}/subscriptions",
            "organizations_url": f"{api}/orgs", "repos_url": f"{api}/repos", "events_url": f"{api}/events{{/privacy}}",
            "received_events_url": f"{api}/received_events", "user_view_type": "public",
        }

    def repo_urls(self, full_name: str) -> dict[str, str]:
        a = f"{self.api}/repos/{full_name}"
        templ = {
            "archive_url": "/{archive_format}{/ref}", "assignees_url": "/assignees{/user}",
            "blobs_url": "/git/blobs{/sha}", "branches_url": "/branches{/branch}",
            "collaborators_url": "/collaborators{/collaborator}", "comments_url": "/comments{/number}",
            "commits_url": "/commits{/sha}", "compare_url": "/compare/{base}...{head}",
            "contents_url": "/contents/{+path}", "git_commits_url": "/git/commits{/sha}",
            "git_refs_url": "/git/refs{/sha}", "git_tags_url": "/git/tags{/sha}",
            "issue_comment_url": "/issues/comments{/number}", "issue_events_url": "/issues/events{/number}",
            "issues_url": "/issues{/number}", "keys_url": "/keys{/key_id}", "labels_url": "/labels{/name}",
            "milestones_url": "/milestones{/number}", "notifications_url": "/notifications{?since,all,participating}",
            "pulls_url": "/pulls{/number}", "releases_url": "/releases{/id}", "statuses_url": "/statuses/{sha}",
            "trees_url": "/git/trees{/sha}",
        }
        plain = ("contributors", "deployments", "downloads", "events", "forks", "hooks", "languages", "merges",
                 "stargazers", "subscribers", "subscription", "tags", "teams")
        urls = {k: a + v for k, v in templ.items()}
        urls.update({f"{p}_url": f"{a}/{p}" for p in plain})
        return urls

    def repository(self, full_name: str, login: str | None = None) -> dict[str, Any]:
        """Fields of ``repository``, ``full-repository`` and ``minimal-repository`` at once."""
        r: Repo = self.state.repo(full_name)
        open_issues = sum(1 for i in self.state.issues.values() if i.repo == full_name and i.state == "open")
        out: dict[str, Any] = {
            "id": r.id, "node_id": r.node_id, "name": r.name, "full_name": full_name, "owner": self.user(r.owner),
            "private": r.private, "visibility": "private" if r.private else "public",
            "html_url": f"{self.web}/{full_name}", "description": "Churn model trained with DVC and MLflow",
            "fork": r.fork, "url": f"{self.api}/repos/{full_name}", **self.repo_urls(full_name),
            "git_url": f"git://github.com/{full_name}.git", "ssh_url": f"git@github.com:{full_name}.git",
            "clone_url": f"{self.web}/{full_name}.git", "svn_url": f"{self.web}/{full_name}",
            "mirror_url": None, "homepage": None, "language": "Python", "forks_count": 0, "forks": 0,
            "stargazers_count": 0, "watchers_count": 0, "watchers": 0, "size": 1024,
            "default_branch": r.default_branch, "open_issues_count": open_issues, "open_issues": open_issues,
            "is_template": False, "topics": ["mlops"], "has_issues": True, "has_projects": True,
            "has_wiki": False, "has_pages": False, "has_downloads": True, "has_discussions": False,
            "archived": False, "disabled": False, "pushed_at": r.created_at, "created_at": r.created_at,
            "updated_at": r.created_at, "allow_forking": True, "web_commit_signoff_required": False,
            "license": None, "network_count": 0, "subscribers_count": 1,
            "allow_rebase_merge": True, "allow_squash_merge": True, "allow_merge_commit": True,
            "allow_auto_merge": False, "delete_branch_on_merge": False,
        }
        if login is not None:
            perm = self.state.permission(full_name, login)
            out["permissions"] = {"admin": perm == "admin", "maintain": perm in ("admin", "maintain"),
                                  "push": perm in ("admin", "maintain", "write"),
                                  "triage": perm in ("admin", "maintain", "write", "triage"),
                                  "pull": perm != "none"}
        if r.fork and r.parent:
            out["parent"] = out["source"] = self.repository(r.parent)
        return out

    # -- reactions, labels --------------------------------------------------
    def reaction_rollup(self, url: str, reactions: list[Reaction]) -> dict[str, Any]:
        counts = {k: sum(1 for r in reactions if r.content == k) for k in REACTIONS}
        return {"url": f"{url}/reactions", "total_count": len(reactions), **counts}

    def reaction(self, r: Reaction) -> dict[str, Any]:
        return {"id": r.id, "node_id": r.node_id, "user": self.user(r.user), "content": r.content,
                "created_at": r.created_at}

    def label(self, repo: str, lab: Label) -> dict[str, Any]:
        return {"id": lab.id, "node_id": lab.node_id, "url": f"{self.api}/repos/{repo}/labels/{lab.name}",
                "name": lab.name, "description": lab.description, "color": lab.color, "default": False}

    def labels(self, repo: str, names: list[str]) -> list[dict[str, Any]]:
        return [self.label(repo, self.state.label(repo, n)) for n in names]

    # -- comments -----------------------------------------------------------
    def comment(self, c: Comment) -> dict[str, Any]:
        if c.kind == "issue":
            url = f"{self.api}/repos/{c.repo}/issues/comments/{c.id}"
            out = {"issue_url": f"{self.api}/repos/{c.repo}/issues/{c.issue_number}",
                   "html_url": f"{self.web}/{c.repo}/{self._issue_path(c.repo, c.issue_number)}#issuecomment-{c.id}",
                   "minimized": {"reason": c.minimized_reason} if c.is_minimized else None}
        else:
            url = f"{self.api}/repos/{c.repo}/comments/{c.id}"
            out = {"html_url": f"{self.web}/{c.repo}/commit/{c.commit_id}#commitcomment-{c.id}",
                   "commit_id": c.commit_id, "path": c.path, "line": c.line, "position": c.position}
        return {"id": c.id, "node_id": c.node_id, "url": url, "body": c.body, "user": self.user(c.user),
                "created_at": c.created_at, "updated_at": c.updated_at,
                "author_association": self.state.author_association(c.repo, c.user),
                "performed_via_github_app": None, "reactions": self.reaction_rollup(url, c.reactions), **out}

    def _issue_path(self, repo: str, number: int | None) -> str:
        issue = self.state.issues.get((repo, number or 0))
        return f"{'pull' if issue and issue.is_pull else 'issues'}/{number}"

    # -- issues and pulls ---------------------------------------------------
    def issue(self, i: Issue) -> dict[str, Any]:
        url = f"{self.api}/repos/{i.repo}/issues/{i.number}"
        n_comments = sum(1 for c in self.state.comments.values()
                         if c.kind == "issue" and c.repo == i.repo and c.issue_number == i.number)
        out: dict[str, Any] = {
            "id": i.id, "node_id": i.node_id, "url": url, "repository_url": f"{self.api}/repos/{i.repo}",
            "labels_url": f"{url}/labels{{/name}}", "comments_url": f"{url}/comments", "events_url": f"{url}/events",
            "html_url": f"{self.web}/{i.repo}/{self._issue_path(i.repo, i.number)}", "timeline_url": f"{url}/timeline",
            "number": i.number, "state": i.state, "state_reason": i.state_reason, "title": i.title, "body": i.body,
            "user": self.user(i.user), "labels": self.labels(i.repo, i.labels), "assignee": None,
            "assignees": [self.user(a) for a in i.assignees], "milestone": None, "locked": i.locked,
            "active_lock_reason": None, "comments": n_comments, "created_at": i.created_at,
            "updated_at": i.updated_at, "closed_at": i.closed_at, "closed_by": None,
            "author_association": self.state.author_association(i.repo, i.user),
            "performed_via_github_app": None, "reactions": self.reaction_rollup(url, []),
        }
        if i.assignees:
            out["assignee"] = self.user(i.assignees[0])
        if i.is_pull:
            p = f"{self.web}/{i.repo}/pull/{i.number}"
            out["pull_request"] = {"url": f"{self.api}/repos/{i.repo}/pulls/{i.number}", "html_url": p,
                                   "diff_url": f"{p}.diff", "patch_url": f"{p}.patch", "merged_at": None}
            out["draft"] = self.state.pull(i.repo, i.number).draft
        return out

    def _branch(self, repo: str, ref: str, sha: str) -> dict[str, Any]:
        owner = repo.split("/")[0]
        return {"label": f"{owner}:{ref}", "ref": ref, "sha": sha, "user": self.user(owner),
                "repo": self.repository(repo)}

    def pull(self, p: Pull, full: bool = True) -> dict[str, Any]:
        issue = self.state.issue(p.repo, p.number)
        url = f"{self.api}/repos/{p.repo}/pulls/{p.number}"
        html = f"{self.web}/{p.repo}/pull/{p.number}"
        issue_url = f"{self.api}/repos/{p.repo}/issues/{p.number}"
        statuses = f"{self.api}/repos/{p.repo}/statuses/{p.head_sha}"
        links = {"self": url, "html": html, "issue": issue_url, "comments": f"{issue_url}/comments",
                 "review_comments": f"{url}/comments", "review_comment": f"{self.api}/repos/{p.repo}/pulls/comments{{/number}}",
                 "commits": f"{url}/commits", "statuses": statuses}
        closed = None if p.state == "open" else p.updated_at
        out: dict[str, Any] = {
            "url": url, "id": p.id, "node_id": p.node_id, "html_url": html, "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch", "issue_url": issue_url, "commits_url": links["commits"],
            "review_comments_url": links["review_comments"], "review_comment_url": links["review_comment"],
            "comments_url": links["comments"], "statuses_url": statuses, "number": p.number, "state": p.state,
            "locked": False, "title": p.title, "user": self.user(p.user), "body": p.body,
            # the list form (pull-request-simple) describes label descriptions as non-nullable strings
            "labels": [lab if full else {**lab, "description": lab["description"] or ""}
                       for lab in self.labels(p.repo, issue.labels)],
            "milestone": None, "active_lock_reason": None,
            "created_at": p.created_at, "updated_at": p.updated_at, "closed_at": closed,
            "merged_at": closed if p.merged else None, "merge_commit_sha": p.merge_commit_sha,
            "assignee": None, "assignees": [], "requested_reviewers": [], "requested_teams": [],
            "head": self._branch(p.head_repo, p.head_ref, p.head_sha),
            "base": self._branch(p.repo, p.base_ref, p.base_sha),
            "_links": {k: {"href": v} for k, v in links.items()},
            "author_association": p.author_association or self.state.author_association(p.repo, p.user),
            "auto_merge": None, "draft": p.draft,
        }
        if full:
            out.update({"merged": p.merged, "mergeable": None if p.merged else True, "rebaseable": True,
                        "mergeable_state": "clean" if p.state == "open" else "unknown",
                        "merged_by": self.user(p.user) if p.merged else None,
                        "comments": sum(1 for c in self.state.comments.values() if c.kind == "issue"
                                        and c.repo == p.repo and c.issue_number == p.number),
                        "review_comments": 0, "maintainer_can_modify": p.from_fork, "commits": 1,
                        "additions": 10, "deletions": 2, "changed_files": 1})
        return out

    def pull_minimal(self, p: Pull) -> dict[str, Any]:
        def side(repo: str, ref: str, sha: str) -> dict[str, Any]:
            r = self.state.repo(repo)
            return {"ref": ref, "sha": sha, "repo": {"id": r.id, "url": f"{self.api}/repos/{repo}", "name": r.name}}
        return {"id": p.id, "number": p.number, "url": f"{self.api}/repos/{p.repo}/pulls/{p.number}",
                "head": side(p.head_repo, p.head_ref, p.head_sha), "base": side(p.repo, p.base_ref, p.base_sha)}

    # -- checks -------------------------------------------------------------
    def app(self) -> dict[str, Any]:
        return {"id": ACTIONS_APP_ID, "slug": "github-actions", "node_id": "MDM6QXBwMTUzNjg=",
                "client_id": "Iv1.05c79e9ad1f6bdfa", "owner": self.user("github"), "name": "GitHub Actions",
                "description": "Automate your workflow from idea to production",
                "external_url": "https://help.github.com/en/actions", "html_url": "https://github.com/apps/github-actions",
                "created_at": "2018-07-30T09:30:17Z", "updated_at": "2024-04-10T20:33:16Z",
                "permissions": {"checks": "write", "issues": "write", "pull_requests": "write", "metadata": "read"},
                "events": ["check_run", "pull_request", "push", "workflow_dispatch"]}

    def check_run(self, c: CheckRun) -> dict[str, Any]:
        url = f"{self.api}/repos/{c.repo}/check-runs/{c.id}"
        html = f"{self.web}/{c.repo}/runs/{c.id}"
        prs = [self.pull_minimal(p) for p in self.state.pulls.values()
               if p.repo == c.repo and p.head_sha == c.head_sha and not p.from_fork and p.state == "open"]
        return {
            "id": c.id, "node_id": c.node_id, "head_sha": c.head_sha, "external_id": c.external_id or "",
            "url": url, "html_url": html, "details_url": c.details_url or html, "status": c.status,
            "conclusion": c.conclusion, "started_at": c.started_at, "completed_at": c.completed_at,
            "output": {"title": c.title, "summary": c.summary, "text": c.text,
                       "annotations_count": len(c.annotations), "annotations_url": f"{url}/annotations"},
            "name": c.name, "check_suite": {"id": c.check_suite_id}, "app": self.app(), "pull_requests": prs,
        }

    def commit_status(self, s: CommitStatus) -> dict[str, Any]:
        creator = self.user(s.creator)
        return {"url": f"{self.api}/repos/{s.repo}/statuses/{s.sha}", "avatar_url": creator.get("avatar_url"),
                "id": s.id, "node_id": s.node_id, "state": s.state, "description": s.description,
                "target_url": s.target_url, "context": s.context, "created_at": s.created_at,
                "updated_at": s.created_at, "creator": creator}

    # -- deployments, releases, actions -------------------------------------
    def deployment(self, d: Deployment) -> dict[str, Any]:
        url = f"{self.api}/repos/{d.repo}/deployments/{d.id}"
        return {"url": url, "id": d.id, "node_id": d.node_id, "sha": d.sha, "ref": d.ref, "task": d.task,
                "payload": d.payload, "original_environment": d.environment, "environment": d.environment,
                "description": d.description, "creator": self.user(d.creator), "created_at": d.created_at,
                "updated_at": d.updated_at, "statuses_url": f"{url}/statuses",
                "repository_url": f"{self.api}/repos/{d.repo}", "transient_environment": d.transient_environment,
                "production_environment": d.production_environment, "performed_via_github_app": None}

    def deployment_status(self, d: Deployment, s: DeploymentStatus) -> dict[str, Any]:
        durl = f"{self.api}/repos/{d.repo}/deployments/{d.id}"
        return {"url": f"{durl}/statuses/{s.id}", "id": s.id, "node_id": s.node_id, "state": s.state,
                "creator": self.user(s.creator), "description": s.description, "environment": s.environment,
                "target_url": s.target_url, "log_url": s.log_url, "environment_url": s.environment_url,
                "created_at": s.created_at, "updated_at": s.created_at, "deployment_url": durl,
                "repository_url": f"{self.api}/repos/{d.repo}", "performed_via_github_app": None}

    def release(self, r: Release) -> dict[str, Any]:
        url = f"{self.api}/repos/{r.repo}/releases/{r.id}"
        html = f"{self.web}/{r.repo}/releases/tag/{r.tag_name}"
        return {"url": url, "html_url": html, "assets_url": f"{url}/assets",
                "upload_url": f"{url}/assets{{?name,label}}",
                "tarball_url": f"{self.api}/repos/{r.repo}/tarball/{r.tag_name}",
                "zipball_url": f"{self.api}/repos/{r.repo}/zipball/{r.tag_name}", "id": r.id, "node_id": r.node_id,
                "tag_name": r.tag_name, "target_commitish": r.target_commitish, "name": r.name, "body": r.body,
                "draft": r.draft, "prerelease": r.prerelease, "immutable": False, "created_at": r.created_at,
                "published_at": r.published_at, "updated_at": r.published_at or r.created_at,
                "author": self.user(r.author), "assets": []}

    def workflow_run(self, w: WorkflowRun) -> dict[str, Any]:
        url = f"{self.api}/repos/{w.repo}/actions/runs/{w.id}"
        head_repo = w.head_repo or w.repo
        prs = [self.pull_minimal(self.state.pull(w.repo, n)) for n in w.pull_numbers]
        return {
            "id": w.id, "name": w.name, "node_id": w.node_id, "check_suite_id": self.state.check_suite_id(w.repo, w.head_sha),
            "check_suite_node_id": f"CS_kwDO{self.state.check_suite_id(w.repo, w.head_sha)}",
            "head_branch": w.head_branch, "head_sha": w.head_sha, "path": w.path, "run_number": w.run_number,
            "run_attempt": w.run_attempt, "referenced_workflows": [], "event": w.event, "status": w.status,
            "conclusion": w.conclusion, "workflow_id": w.workflow_id, "url": url,
            "html_url": f"{self.web}/{w.repo}/actions/runs/{w.id}", "pull_requests": prs,
            "created_at": w.created_at, "updated_at": w.updated_at, "run_started_at": w.created_at,
            "actor": self.user(w.actor), "triggering_actor": self.user(w.actor),
            "jobs_url": f"{url}/jobs", "logs_url": f"{url}/logs", "check_suite_url": f"{self.api}/repos/{w.repo}/check-suites/1",
            "artifacts_url": f"{url}/artifacts", "cancel_url": f"{url}/cancel", "rerun_url": f"{url}/rerun",
            "previous_attempt_url": None, "workflow_url": f"{self.api}/repos/{w.repo}/actions/workflows/{w.workflow_id}",
            "head_commit": {"id": w.head_sha, "tree_id": "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
                            "message": "Train churn model", "timestamp": w.created_at,
                            "author": {"name": "Octo Cat", "email": "octocat@github.com"},
                            "committer": {"name": "GitHub", "email": "noreply@github.com"}},
            "repository": self.repository(w.repo), "head_repository": self.repository(head_repo),
            "display_title": w.name,
        }

    def runner(self, r: JitRunner) -> dict[str, Any]:
        return {"id": r.id, "runner_group_id": r.runner_group_id, "name": r.name, "os": "unknown",
                "status": "offline", "busy": False, "ephemeral": True,
                "labels": [{"id": i + 1, "name": n, "type": "custom"} for i, n in enumerate(r.labels)]}
