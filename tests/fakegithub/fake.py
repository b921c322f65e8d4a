"""``FakeGitHub``: the test-facing API — start/stop, seeding, inspection, faults.

Typical use (the ``fake_github`` fixture does the start/stop/assert part)::

    fake = FakeGitHub().start()
    fake.add_pull(7, head_sha=HEAD, base_sha=BASE, head_ref="feature/x")
    gh = github.Github(base_url=fake.url, auth=github.Auth.Token(fake.token))
    gh.get_repo(fake.repo).get_issue(7).create_comment("hi")
    assert [c.body for c in fake.comments(7)] == ["hi"]
    fake.stop(); fake.assert_clean()
"""

from __future__ import annotations

from typing import Any, Iterable

from tests.fakegithub.app import Core, LoggedRequest
from tests.fakegithub.faults import Fault
from tests.fakegithub.records import (
    CheckRun, Comment, CommitStatus, Deployment, Dispatch, Issue, JitRunner, Pull, Reaction, Release, Repo, Token, WorkflowRun,
)
from tests.fakegithub.server import HttpServer
from tests.fakegithub.state import BOT_LOGIN, DEFAULT_REPO, MAIN_SHA


class FakeGitHub(Core):
    """A stateful, validating fake of GitHub's REST and GraphQL APIs on 127.0.0.1."""

    #: Tokens registered by default: like ``GITHUB_TOKEN`` (write), a fork PR's token (read),
    #: and an admin PAT (runner registration).
    TOKEN, READ_TOKEN, ADMIN_TOKEN = "ghs_fakeWriteToken000000000000000000000", \
        "ghs_fakeReadOnlyToken0000000000000000000", "ghp_fakeAdminPat00000000000000000000000"

    def __init__(self, prefix: str = "", repo: str = DEFAULT_REPO, web_url: str = "https://github.com",
                 host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(prefix=prefix, web_url=web_url)
        self.repo = repo
        self._host, self._port = host, port
        self._server: HttpServer | None = None
        self.base = ""
        with self.state.lock:
            self.state.add_repo(repo)
            self.add_token(self.TOKEN, BOT_LOGIN, "write")
            self.add_token(self.READ_TOKEN, BOT_LOGIN, "read")
            self.add_token(self.ADMIN_TOKEN, repo.split("/")[0] + "-admin", "admin", kind="pat")
            self.state.permissions[(repo, BOT_LOGIN)] = "write"
            self.state.permissions[(repo, repo.split("/")[0] + "-admin")] = "admin"

    # -- lifecycle ----------------------------------------------------------
    def start(self) -> "FakeGitHub":
        self._server = HttpServer(self.handle, self._host, self._port)
        self.base = f"http://{self._server.host}:{self._server.port}"
        self.url = self.render.api = f"{self.base}{self.prefix}"
        self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> "FakeGitHub":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def token(self) -> str:
        return self.TOKEN

    @property
    def read_token(self) -> str:
        return self.READ_TOKEN

    @property
    def admin_token(self) -> str:
        return self.ADMIN_TOKEN

    @property
    def graphql_url(self) -> str:
        return f"{self.base}{self.graphql_path}"

    def env(self, token: str | None = None) -> dict[str, str]:
        """``GITHUB_*`` variables pointing a subprocess (the CLI, ``act``) at this fake."""
        return {"GITHUB_API_URL": self.url, "GITHUB_GRAPHQL_URL": self.graphql_url, "GITHUB_SERVER_URL": self.web_url,
                "GITHUB_REPOSITORY": self.repo, "GITHUB_TOKEN": token or self.token}

    # -- seeding ------------------------------------------------------------
    def add_token(self, token: str, login: str = BOT_LOGIN, scope: str = "write", kind: str = "app") -> Token:
        """Register ``token`` for ``login``; scope ``read`` (fork PR), ``write`` (GITHUB_TOKEN) or ``admin``."""
        if scope not in ("read", "write", "admin") or kind not in ("app", "pat"):
            raise ValueError(f"scope={scope!r} kind={kind!r}")
        with self.state.lock:
            return self.state.register_token(Token(token, login, scope, kind))

    def add_repo(self, full_name: str, private: bool = False, default_branch: str = "main",
                 fork_of: str | None = None) -> Repo:
        with self.state.lock:
            return self.state.add_repo(full_name, private=private, default_branch=default_branch,
                                       fork=fork_of is not None, parent=fork_of)

    def set_ref(self, ref: str, sha: str, repo: str | None = None) -> None:
        """Make branch/tag ``ref`` point at ``sha`` (deployments, dispatches and check lists resolve refs)."""
        with self.state.lock:
            self.state.repo(repo or self.repo).refs[ref] = sha

    def set_permission(self, user: str, permission: str, repo: str | None = None) -> None:
        """``admin``, ``maintain``, ``write``, ``triage``, ``read`` or ``none`` for ``user``."""
        if permission not in ("admin", "maintain", "write", "triage", "read", "none"):
            raise ValueError(permission)
        with self.state.lock:
            self.state.user(user)
            self.state.permissions[(repo or self.repo, user)] = permission

    def add_pull(self, number: int, head_sha: str, base_sha: str = MAIN_SHA, head_ref: str = "feature",
                 base_ref: str = "main", from_fork: bool = False, user: str = "octocat", title: str | None = None,
                 body: str | None = None, state: str = "open", draft: bool = False, merged: bool = False,
                 merge_commit_sha: str | None = None, labels: Iterable[str] = (), repo: str | None = None,
                 head_repo: str | None = None, author_association: str | None = None) -> Pull:
        """A pull request (and its issue). ``from_fork`` puts the head in ``<user>/<name>``, a fork."""
        repo = repo or self.repo
        with self.state.lock:
            if from_fork and head_repo is None:
                head_repo = f"{user}/{repo.split('/')[1]}"
            head_repo = head_repo or repo
            if head_repo not in self.state.repos:
                self.state.add_repo(head_repo, fork=head_repo != repo, parent=repo if head_repo != repo else None)
            self.state.repo(head_repo).refs[head_ref] = head_sha
            if head_repo == repo:
                self.state.repo(repo).refs.setdefault(head_ref, head_sha)
            self.state.repo(repo).refs.setdefault(base_ref, base_sha)
            title = title or f"Pull request #{number}"
            issue = self.state.add_issue(repo, title, user, number=number, body=body, labels=list(labels),
                                         is_pull=True, state=state)
            pid = self.state.new_id()
            pull = Pull(repo, number, pid, self.state.node_id("PR", pid, "pull"), head_sha, base_sha, head_ref,
                        base_ref, head_repo, user, title, body, state, draft, merged, merge_commit_sha,
                        author_association or ("CONTRIBUTOR" if from_fork else None))
            issue.created_at = pull.created_at
            self.state.pulls[(repo, number)] = pull
            return pull

    def add_issue(self, title: str, body: str | None = None, labels: Iterable[str] = (), state: str = "open",
                  user: str = "octocat", number: int | None = None, repo: str | None = None) -> Issue:
        with self.state.lock:
            return self.state.add_issue(repo or self.repo, title, user, number=number, body=body,
                                        labels=list(labels), state=state)

    def add_comment(self, issue_number: int, body: str, user: str = BOT_LOGIN, repo: str | None = None) -> Comment:
        """A comment on an issue or PR (which must exist: seed it with add_issue / add_pull)."""
        with self.state.lock:
            issue = self.state.issue(repo or self.repo, issue_number)
            return self.state.add_comment(issue.repo, "issue", body, user, issue_number=issue_number)

    def add_commit_comment(self, sha: str, body: str, user: str = BOT_LOGIN, repo: str | None = None) -> Comment:
        with self.state.lock:
            return self.state.add_comment(repo or self.repo, "commit", body, user, commit_id=sha)

    def add_check_run(self, name: str, head_sha: str, status: str = "completed", conclusion: str | None = "success",
                      repo: str | None = None, **fields: Any) -> CheckRun:
        with self.state.lock:
            return self.state.add_check_run(repo or self.repo, name, head_sha, status=status,
                                            conclusion=conclusion, **fields)

    def add_release(self, tag: str, target_commitish: str = "main", draft: bool = False,
                    user: str = BOT_LOGIN, repo: str | None = None, **fields: Any) -> Release:
        with self.state.lock:
            return self.state.add_release(repo or self.repo, tag, user, target_commitish=target_commitish,
                                          draft=draft, **fields)

    def add_workflow_run(self, head_sha: str, event: str = "pull_request", status: str = "completed",
                         conclusion: str | None = "success", pull_numbers: Iterable[int] = (),
                         repo: str | None = None, **fields: Any) -> WorkflowRun:
        """A workflow run (``fields``: id, name, path, head_branch, head_repo, actor, run_attempt…)."""
        with self.state.lock:
            return self.state.add_run(repo or self.repo, head_sha, event=event, status=status,
                                      conclusion=conclusion, pull_numbers=list(pull_numbers), **fields)

    # -- inspection ---------------------------------------------------------
    def add_status(self, sha: str, state: str = "success", context: str = "default", creator: str = BOT_LOGIN,
                   description: str | None = None, repo: str | None = None) -> CommitStatus:
        """A commit status as if ``creator`` had posted it (seeding; the API path is POST .../statuses/{sha})."""
        with self.state.lock:
            sid = self.state.new_id()
            status = CommitStatus(sid, self.state.node_id("SC", sid, "status"), repo or self.repo, sha, state,
                                  context, creator, description)
            self.state.user(creator)
            self.state.statuses.append(status)
            return status

    def statuses(self, sha: str | None = None, context: str | None = None, repo: str | None = None
                 ) -> list[CommitStatus]:
        """Commit statuses (oldest first), optionally of one SHA / context."""
        with self.state.lock:
            return [s for s in self.state.statuses if s.repo == (repo or self.repo)
                    and (sha is None or s.sha == sha) and (context is None or s.context == context)]

    # -- repository and organization settings (handlers_settings) --------------
    def actions_settings(self, repo: str | None = None) -> Any:
        """The repository's Actions settings, runners and branch rules, for a test to set directly."""
        from tests.fakegithub.handlers_settings import repo_settings

        with self.state.lock:
            return repo_settings(self.state, repo or self.repo)

    def set_fork_pr_approval(self, policy: str, repo: str | None = None) -> None:
        """``first_time_contributors_new_to_github``, ``first_time_contributors`` (GitHub's default) or
        ``all_external_contributors``."""
        from tests.fakegithub.handlers_settings import APPROVAL_POLICIES

        if policy not in APPROVAL_POLICIES:
            raise ValueError(policy)
        with self.state.lock:
            self.actions_settings(repo).approval_policy = policy

    def set_private_fork_pr_workflows(self, repo: str | None = None, **flags: bool) -> None:
        """``run_workflows_from_fork_pull_requests``, ``send_write_tokens_to_workflows``,
        ``send_secrets_and_variables``, ``require_approval_for_fork_pr_workflows``."""
        with self.state.lock:
            settings = self.actions_settings(repo)
            for name, value in flags.items():
                if not hasattr(settings, name) or not name.startswith(("run_", "send_", "require_")):
                    raise ValueError(name)
                setattr(settings, name, bool(value))

    def set_workflow_permissions(self, default: str = "read", can_approve_pull_request_reviews: bool = False,
                                 repo: str | None = None) -> None:
        if default not in ("read", "write"):
            raise ValueError(default)
        with self.state.lock:
            settings = self.actions_settings(repo)
            settings.default_workflow_permissions = default
            settings.can_approve_pull_request_reviews = can_approve_pull_request_reviews

    def set_private(self, private: bool = True, repo: str | None = None) -> None:
        with self.state.lock:
            self.state.repo(repo or self.repo).private = private

    def add_self_hosted_runner(self, name: str, labels: Iterable[str] = ("self-hosted", "linux", "x64", "gpu"),
                               org: str | None = None, group_id: int = 1, repo: str | None = None,
                               **fields: Any) -> Any:
        """A registered runner of the repository, or with ``org`` of that organization's group ``group_id``."""
        from tests.fakegithub.handlers_settings import SelfHostedRunner, org_settings

        with self.state.lock:
            runner = SelfHostedRunner(self.state.new_id(), name, list(labels),
                                      runner_group_id=group_id if org else 1, **fields)
            if org:
                org_settings(self.state, org).groups[group_id].runners.append(runner)
            else:
                self.actions_settings(repo).runners.append(runner)
            return runner

    def runner_group(self, org: str, group_id: int = 1) -> Any:
        """An organization's runner group (1 is ``Default``), for a test to set directly."""
        from tests.fakegithub.handlers_settings import org_settings

        with self.state.lock:
            return org_settings(self.state, org).groups[group_id]

    def add_runner_group(self, org: str, name: str, visibility: str = "all", selected_repositories: Iterable[str] = (),
                         allows_public_repositories: bool = False, restricted_to_workflows: bool = False,
                         selected_workflows: Iterable[str] = (), inherited: bool = False) -> Any:
        from tests.fakegithub.handlers_settings import RunnerGroupRecord, org_settings

        if visibility not in ("all", "selected", "private"):
            raise ValueError(visibility)
        with self.state.lock:
            groups = org_settings(self.state, org).groups
            group = RunnerGroupRecord(max(groups) + 1, name, visibility, set(selected_repositories),
                                      allows_public_repositories, restricted_to_workflows, list(selected_workflows),
                                      inherited=inherited)
            groups[group.id] = group
            return group

    def set_org_owners(self, org: str, logins: Iterable[str]) -> None:
        """Who may read the organization's runner groups (default: ``<org>-admin``, the admin token's user)."""
        from tests.fakegithub.handlers_settings import org_settings

        with self.state.lock:
            org_settings(self.state, org).owners = set(logins)

    def protect_branch(self, branch: str | None = None, checks: Iterable[str] = (), app_id: int | None = None,
                       repo: str | None = None) -> None:
        """Branch protection on ``branch`` (default: the default branch) requiring ``checks``
        (from ``app_id``, or any source when None)."""
        from tests.fakegithub.handlers_settings import BranchProtectionRecord

        with self.state.lock:
            r = self.state.repo(repo or self.repo)
            self.actions_settings(repo).protections[branch or r.default_branch] = BranchProtectionRecord(
                [(c, app_id) for c in checks])

    def add_ruleset(self, name: str, required_checks: Iterable[str] = (), include: Iterable[str] = ("~DEFAULT_BRANCH",),
                    enforcement: str = "active", other_rules: Iterable[str] = (), repo: str | None = None
                    ) -> Any:
        """A branch ruleset (``enforcement``: active, evaluate or disabled); ``include``: ``~DEFAULT_BRANCH``,
        ``~ALL`` or ``refs/heads/<pattern>``."""
        from tests.fakegithub.handlers_settings import RulesetRecord

        if enforcement not in ("active", "evaluate", "disabled"):
            raise ValueError(enforcement)
        with self.state.lock:
            ruleset = RulesetRecord(self.state.new_id(), name, list(required_checks), list(include),
                                    enforcement=enforcement, other_rules=list(other_rules))
            self.actions_settings(repo).rulesets.append(ruleset)
            return ruleset

    def comments(self, issue_number: int, repo: str | None = None) -> list[Comment]:
        repo = repo or self.repo
        with self.state.lock:
            return sorted((c for c in self.state.comments.values()
                           if c.kind == "issue" and c.repo == repo and c.issue_number == issue_number),
                          key=lambda c: c.id)

    def commit_comments(self, sha: str, repo: str | None = None) -> list[Comment]:
        repo = repo or self.repo
        with self.state.lock:
            return sorted((c for c in self.state.comments.values()
                           if c.kind == "commit" and c.repo == repo and c.commit_id == sha), key=lambda c: c.id)

    def comment(self, comment_id: int) -> Comment | None:
        with self.state.lock:
            return self.state.comments.get(comment_id)

    def reactions(self, comment_id: int) -> list[Reaction]:
        c = self.comment(comment_id)
        return list(c.reactions) if c else []

    def check_runs(self, sha: str | None = None, name: str | None = None, repo: str | None = None) -> list[CheckRun]:
        repo = repo or self.repo
        with self.state.lock:
            return [r for r in sorted(self.state.check_runs.values(), key=lambda r: r.id)
                    if r.repo == repo and sha in (None, r.head_sha) and name in (None, r.name)]

    def issues(self, state: str | None = None, labels: Iterable[str] = (), repo: str | None = None,
               include_pulls: bool = False) -> list[Issue]:
        repo, wanted = repo or self.repo, {n.lower() for n in labels}
        with self.state.lock:
            return [i for i in sorted(self.state.issues.values(), key=lambda i: i.number)
                    if i.repo == repo and state in (None, i.state) and (include_pulls or not i.is_pull)
                    and wanted <= {n.lower() for n in i.labels}]

    def issue(self, number: int, repo: str | None = None) -> Issue:
        with self.state.lock:
            return self.state.issue(repo or self.repo, number)

    def deployments(self, environment: str | None = None, repo: str | None = None) -> list[Deployment]:
        """Deployments (oldest first), each with ``.statuses`` and ``.state`` (latest status)."""
        repo = repo or self.repo
        with self.state.lock:
            return [d for d in sorted(self.state.deployments.values(), key=lambda d: d.id)
                    if d.repo == repo and environment in (None, d.environment)]

    def releases(self, repo: str | None = None) -> list[Release]:
        repo = repo or self.repo
        with self.state.lock:
            return [r for r in sorted(self.state.releases.values(), key=lambda r: r.id) if r.repo == repo]

    def dispatches(self, workflow: str | None = None) -> list[Dispatch]:
        with self.state.lock:
            return [d for d in self.state.dispatches if workflow in (None, d.workflow_id)]

    def runners(self) -> list[JitRunner]:
        with self.state.lock:
            return list(self.state.runners.values())

    # -- request log --------------------------------------------------------
    @property
    def requests(self) -> list[LoggedRequest]:
        with self._meta_lock:
            return list(self.log)

    def count(self, method: str | None = None, path_prefix: str | None = None, status: int | None = None) -> int:
        """Requests matching all given filters (``path_prefix`` is relative to the API root)."""
        return sum(1 for r in self.requests if method in (None, r.method) and status in (None, r.status)
                   and (path_prefix is None or r.path.startswith(path_prefix)))

    def writes(self, path_prefix: str | None = None) -> list[LoggedRequest]:
        """Every write attempt (POST/PATCH/PUT/DELETE and GraphQL mutations), whatever its status."""
        return [r for r in self.requests if r.write and (path_prefix is None or r.path.startswith(path_prefix))]

    def clear_log(self) -> None:
        with self._meta_lock:
            self.log.clear()

    # -- faults -------------------------------------------------------------
    def inject(self, method: str | None, path_regex: str, status: int = 502, headers: dict[str, str] | None = None,
               body: Any = None, times: int = 1) -> Fault:
        """Answer the next ``times`` matching requests with ``status`` (GitHub-like default bodies:
        403/429 carry the secondary-rate-limit message). ``path_regex`` is searched in the path
        relative to the API root (``/repos/…`` or ``/graphql``)."""
        return self.faults.add(method, path_regex, status, headers, body, times)

    def inject_reset(self, method: str | None, path_regex: str, times: int = 1) -> Fault:
        """Drop the connection (TCP RST, no response) for the next ``times`` matching requests."""
        return self.faults.add(method, path_regex, 0, times=times)

    def inject_secondary_rate_limit(self, method: str | None = None, path_regex: str = ".", retry_after: int = 1,
                                    times: int = 1, status: int = 403) -> Fault:
        return self.inject(method, path_regex, status, {"Retry-After": str(retry_after),
                                                        "X-RateLimit-Remaining": "4990"}, times=times)

    def inject_primary_rate_limit(self, method: str | None = None, path_regex: str = ".", reset_in: int = 1,
                                  times: int = 1) -> Fault:
        """403 with ``X-RateLimit-Remaining: 0`` and a reset ``reset_in`` seconds after the response."""
        body = {"message": "API rate limit exceeded for installation ID 4242424.", "status": "403",
                "documentation_url": "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api"
                                     "#about-primary-rate-limits"}
        return self.faults.add(method, path_regex, 403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Used": "5000"},
                               body, times, reset_in=reset_in)

    # -- failures -----------------------------------------------------------
    def take_failures(self) -> list[str]:
        """Recorded failures, cleared — for tests that provoke one on purpose."""
        with self._meta_lock:
            out, self.failures = self.failures, []
        return out

    def assert_clean(self) -> None:
        """Raise AssertionError listing unknown endpoints and validation errors, if any."""
        with self._meta_lock:
            failures = list(self.failures)
        if failures:
            listing = "\n\n".join(f"[{i}] {f}" for i, f in enumerate(failures, 1))
            raise AssertionError(f"fake GitHub recorded {len(failures)} failure(s):\n\n{listing}")
