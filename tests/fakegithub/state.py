"""The fake's in-memory GitHub: repositories, issues, comments, checks, deployments…

One re-entrant lock guards everything; every HTTP handler runs while holding
it, so two clients racing behave as on GitHub (both creates succeed, each gets
its own id) and a test reading state never sees half a write.
"""

from __future__ import annotations

import base64
import itertools
import threading
from typing import Any, Iterable

from tests.fakegithub.records import (
    CheckRun, Comment, CommitStatus, Deployment, Issue, JitRunner, Label, Pull, Release, Repo, Dispatch, Token, User,
    WorkflowRun, now_iso,
)

DEFAULT_REPO = "octo-org/churn-model"
BOT_LOGIN = "github-actions[bot]"
#: The GitHub Actions app, as check runs created with GITHUB_TOKEN report it.
ACTIONS_APP_ID = 15368
MAIN_SHA = "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"


class NotFound(Exception):
    """An object the request names does not exist (→ 404)."""


class State:
    """Everything the fake knows. Mutate only while holding ``lock``."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._ids = itertools.count(1_000_001)
        self.tokens: dict[str, Token] = {}
        self.users: dict[str, User] = {}
        self.repos: dict[str, Repo] = {}
        self.issues: dict[tuple[str, int], Issue] = {}
        self.pulls: dict[tuple[str, int], Pull] = {}
        self.comments: dict[int, Comment] = {}
        self.labels: dict[tuple[str, str], Label] = {}  # (repo, lower-case name)
        self.check_runs: dict[int, CheckRun] = {}
        self.check_suites: dict[tuple[str, str], int] = {}
        self.deployments: dict[int, Deployment] = {}
        self.releases: dict[int, Release] = {}
        self.dispatches: list[Dispatch] = []
        self.runs: dict[int, WorkflowRun] = {}
        self.runners: dict[int, JitRunner] = {}
        self.permissions: dict[tuple[str, str], str] = {}
        self.nodes: dict[str, tuple[str, int]] = {}
        self.statuses: list[CommitStatus] = []
        #: Actions settings, runners and branch rules per repository, runner groups per organization
        #: (``handlers_settings.RepoActionsSettings`` / ``OrgActionsSettings``, created on first use).
        self.repo_settings: dict[str, Any] = {}
        self.org_settings: dict[str, Any] = {}

    # -- ids ----------------------------------------------------------------
    def new_id(self) -> int:
        return next(self._ids)

    def node_id(self, prefix: str, obj_id: int, kind: str) -> str:
        """A GitHub-style global id (``IC_kwDO…``), registered for GraphQL ``node`` lookups."""
        raw = base64.b64encode(obj_id.to_bytes(8, "big")).decode().rstrip("=")
        nid = f"{prefix}_kwDO{raw}"
        self.nodes[nid] = (kind, obj_id)
        return nid

    # -- users, repos -------------------------------------------------------
    def user(self, login: str, type: str | None = None) -> User:
        """The user ``login`` (created on first mention; ``[bot]`` logins are bots)."""
        u = self.users.get(login)
        if u is None:
            uid = self.new_id()
            kind = type or ("Bot" if login.endswith("[bot]") else "User")
            prefix = {"User": "U", "Bot": "BOT", "Organization": "O"}.get(kind, "U")
            u = self.users[login] = User(login, uid, self.node_id(prefix, uid, "user"), kind)
        return u

    def add_repo(self, full_name: str, **kw: Any) -> Repo:
        owner, name = full_name.split("/", 1)
        rid = self.new_id()
        self.user(owner, "Organization" if owner.endswith("-org") else None)
        repo = Repo(owner, name, rid, self.node_id("R", rid, "repo"), **kw)
        repo.refs.setdefault(repo.default_branch, MAIN_SHA)
        self.repos[full_name] = repo
        return repo

    def repo(self, full_name: str) -> Repo:
        try:
            return self.repos[full_name]
        except KeyError:
            raise NotFound(full_name) from None

    def resolve_ref(self, repo: str, ref: str) -> str | None:
        """A commit SHA for a SHA, branch, tag or ``refs/…`` name; None when unknown."""
        r = self.repo(repo)
        for prefix in ("refs/heads/", "refs/tags/"):
            if ref.startswith(prefix):
                ref = ref[len(prefix):]
        if ref in r.refs:
            return r.refs[ref]
        if 7 <= len(ref) <= 40 and all(c in "0123456789abcdef" for c in ref):
            return self.expand_sha(ref)
        return None

    def known_shas(self) -> Iterable[str]:
        for r in self.repos.values():
            yield from r.refs.values()
        for p in self.pulls.values():
            yield p.head_sha
            yield p.base_sha
            if p.merge_commit_sha:
                yield p.merge_commit_sha

    def expand_sha(self, sha: str) -> str:
        """A full SHA for an abbreviated one we know of (else the input: tests may use any SHA)."""
        if len(sha) == 40:
            return sha
        return next((s for s in self.known_shas() if s.startswith(sha)), sha)

    def permission(self, repo: str, login: str) -> str:
        """admin/write/read/none; the owner is admin; anyone may read a public repository."""
        r = self.repo(repo)
        if login == r.owner:
            return "admin"
        if (repo, login) in self.permissions:
            return self.permissions[(repo, login)]
        return "none" if r.private else "read"

    def author_association(self, repo: str, login: str) -> str:
        r = self.repo(repo)
        if login == r.owner:
            return "OWNER"
        if self.permissions.get((repo, login)) in ("admin", "maintain", "write", "triage"):
            return "COLLABORATOR"
        return "NONE"

    # -- issues and pulls ---------------------------------------------------
    def next_number(self, repo: str) -> int:
        used = [n for (r, n) in self.issues if r == repo]
        return max(used, default=0) + 1

    def add_issue(self, repo: str, title: str, user: str, number: int | None = None, **kw: Any) -> Issue:
        self.repo(repo)
        number = number or self.next_number(repo)
        if (repo, number) in self.issues:
            raise ValueError(f"{repo}#{number} already exists")
        iid = self.new_id()
        self.user(user)
        for name in kw.get("labels", ()):
            self.label(repo, name)
        issue = Issue(repo, number, iid, self.node_id("I", iid, "issue"), title, user, **kw)
        self.issues[(repo, number)] = issue
        return issue

    def issue(self, repo: str, number: int) -> Issue:
        self.repo(repo)
        try:
            return self.issues[(repo, number)]
        except KeyError:
            raise NotFound(f"{repo}#{number}") from None

    def pull(self, repo: str, number: int) -> Pull:
        self.repo(repo)
        try:
            return self.pulls[(repo, number)]
        except KeyError:
            raise NotFound(f"{repo} pull {number}") from None

    def label(self, repo: str, name: str) -> Label:
        """The repository label ``name`` (created on first use, as GitHub does for pushers)."""
        key = (repo, name.lower())
        if key not in self.labels:
            lid = self.new_id()
            self.labels[key] = Label(lid, self.node_id("LA", lid, "label"), name)
        return self.labels[key]

    # -- comments -----------------------------------------------------------
    def add_comment(self, repo: str, kind: str, body: str, user: str, **kw: Any) -> Comment:
        cid = self.new_id()
        self.user(user)
        prefix = "IC" if kind == "issue" else "CC"
        c = Comment(cid, self.node_id(prefix, cid, f"{kind}_comment"), repo, kind, body, user, **kw)
        self.comments[cid] = c
        return c

    def comment(self, repo: str, kind: str, comment_id: int) -> Comment:
        c = self.comments.get(comment_id)
        if c is None or c.repo != repo or c.kind != kind:
            raise NotFound(f"comment {comment_id}")
        return c

    # -- checks -------------------------------------------------------------
    def check_suite_id(self, repo: str, sha: str) -> int:
        return self.check_suites.setdefault((repo, sha), self.new_id())

    def add_check_run(self, repo: str, name: str, head_sha: str, **kw: Any) -> CheckRun:
        rid = self.new_id()
        run = CheckRun(rid, self.node_id("CR", rid, "check_run"), repo, name, head_sha,
                       self.check_suite_id(repo, head_sha), **kw)
        self.check_runs[rid] = run
        return run

    # -- deployments, releases, actions -------------------------------------
    def add_deployment(self, repo: str, **kw: Any) -> Deployment:
        did = self.new_id()
        d = Deployment(did, self.node_id("DE", did, "deployment"), repo, **kw)
        self.deployments[did] = d
        return d

    def add_release(self, repo: str, tag_name: str, author: str, **kw: Any) -> Release:
        rid = self.new_id()
        self.user(author)
        kw.setdefault("target_commitish", self.repo(repo).default_branch)
        rel = Release(rid, self.node_id("RE", rid, "release"), repo, tag_name, author=author, **kw)
        if not rel.draft and rel.published_at is None:
            rel.published_at = now_iso()
        self.releases[rid] = rel
        return rel

    def add_run(self, repo: str, head_sha: str, **kw: Any) -> WorkflowRun:
        rid = kw.pop("id", None) or self.new_id()
        kw.setdefault("name", "CI")
        kw.setdefault("path", ".github/workflows/ci.yml")
        kw.setdefault("workflow_id", 161335)
        kw.setdefault("head_branch", self.repo(repo).default_branch)
        kw.setdefault("event", "push")
        kw.setdefault("actor", "octocat")
        kw.setdefault("run_number", 1 + sum(1 for r in self.runs.values() if r.repo == repo))
        self.user(kw["actor"])
        run = WorkflowRun(rid, self.node_id("WFR", rid, "workflow_run"), repo, head_sha=head_sha, **kw)
        self.runs[rid] = run
        return run

    def add_runner(self, name: str, group: int, labels: list[str], work_folder: str) -> JitRunner:
        rid = len(self.runners) + 1
        cfg = base64.b64encode(f'{{"name":"{name}","runner_id":{rid},"labels":{labels!r}}}'.encode()).decode()
        r = JitRunner(rid, name, group, labels, work_folder, cfg)
        self.runners[rid] = r
        return r

    def register_token(self, token: Token) -> Token:
        self.user(token.login)
        self.tokens[token.token] = token
        return token
