"""GitHub's REST and GraphQL APIs, through PyGithub.

What this adapter adds to PyGithub: the base URL and token come from the
runner (GitHub Enterprise works by setting ``GITHUB_API_URL``); the token is
masked before anything is logged; retries cover 5xx, dropped connections and
both kinds of rate limit with a bounded total wait; nothing sleeps between
requests (PyGithub's default pauses would make every job slower); and every string
of every request body is redacted (:mod:`mlops_ci.redact`) — comments, check runs,
issues and deployments are read by people ``::add-mask::`` never reaches.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from mlops_ci.errors import BadInput, MlopsError
from mlops_ci.redact import describe, redact_data

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.github.com"
#: Prefix of installation tokens (``GITHUB_TOKEN`` and GitHub App tokens): they cannot call ``GET /user``.
INSTALLATION_TOKEN_PREFIX = "ghs_"


class GitHubError(MlopsError):
    """An API call failed after retries (exit 1); the message names the endpoint and status."""

    #: HTTP status of the failed call (None for connection errors), for callers that treat 404 as "absent".
    status: int | None = None


@dataclass
class Comment:
    id: int
    body: str
    created_at: str
    node_id: str | None = None
    author: str | None = None
    html_url: str | None = None
    #: ``User``, ``Bot`` or ``Organization`` (the comment's ``user.type``).
    author_type: str | None = None


@dataclass
class RetryPolicy:
    total: int = 6
    backoff_factor: float = 0.5
    backoff_max: float = 30.0
    #: Longest single wait we accept for a Retry-After / rate-limit reset.
    max_wait: float = 120.0


def _make_retry(policy: RetryPolicy):  # noqa: ANN202 - urllib3 Retry, imported lazily
    from github.GithubRetry import GithubRetry
    from urllib3 import Retry

    class BoundedRetry(GithubRetry):
        """GithubRetry that also retries 429 and PATCH, and never waits longer than ``max_wait``."""

        def get_retry_after(self, response):  # noqa: ANN001, ANN201
            value = super().get_retry_after(response)
            if value is not None and value > policy.max_wait:
                from github.GithubException import RateLimitExceededExceedsMaxWait

                raise RateLimitExceededExceedsMaxWait(response.status, f"Retry-After {value}s exceeds "
                                                      f"{policy.max_wait}s", dict(response.headers))
            return value

    return BoundedRetry(
        total=policy.total, connect=policy.total, read=policy.total, backoff_factor=policy.backoff_factor,
        backoff_max=policy.backoff_max, secondary_rate_wait=min(60.0, policy.max_wait),
        max_rate_limit_wait=policy.max_wait,
        status_forcelist=[429, *range(500, 600)],
        allowed_methods=Retry.DEFAULT_ALLOWED_METHODS | {"GET", "POST", "PATCH", "DELETE"},
        raise_on_status=False,
    )


class GitHub:
    """A repository-scoped client: ``GitHub.from_env(env, repository)``."""

    def __init__(self, token: str, repository: str, api_url: str = DEFAULT_API_URL,
                 retry: RetryPolicy | None = None, timeout: int = 30) -> None:
        import github
        from github import Auth

        if not token:
            raise BadInput("no GitHub token: set GITHUB_TOKEN (or the action's `github-token` input)")
        if "/" not in repository:
            raise BadInput(f"repository '{repository}': expected owner/name")
        self.repository = repository
        self.api_url = api_url.rstrip("/")
        self._gh = github.Github(auth=Auth.Token(token), base_url=self.api_url, timeout=timeout,
                                 retry=_make_retry(retry or RetryPolicy()), per_page=100,
                                 seconds_between_requests=None, seconds_between_writes=None)
        self._requester = self._gh.requester
        self._installation_token = token.startswith(INSTALLATION_TOKEN_PREFIX)
        self._viewer: tuple[str | None] | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, repository: str | None = None,
                 token: str | None = None, runtime: Any = None) -> "GitHub":
        env = os.environ if env is None else env
        token = token or env.get("MLOPS_CI_GITHUB_TOKEN") or env.get("GITHUB_TOKEN") or env.get("GH_TOKEN") or ""
        if runtime is not None:
            runtime.mask(token)
        repo = repository or env.get("GITHUB_REPOSITORY") or ""
        return cls(token, repo, env.get("GITHUB_API_URL") or DEFAULT_API_URL)

    # -- plumbing -----------------------------------------------------------
    def _url(self, path: str) -> str:
        return f"/repos/{self.repository}{path}"

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                body: Any = None) -> Any:
        """One REST call; ``path`` is relative to the repository unless it starts with ``/``."""
        from github.GithubException import GithubException

        url = path if path.startswith("/") else self._url("/" + path)
        log.debug("GitHub %s %s", method, url)
        try:
            _, data = self._requester.requestJsonAndCheck(method, url, parameters=dict(params or {}) or None,
                                                          input=redact_data(body))
        except GithubException as exc:
            raise _error(method, url, exc) from exc
        except Exception as exc:  # connection errors after retries
            raise GitHubError(f"GitHub {method} {url} failed: {describe(exc)}") from exc
        return data

    def request_with_status(self, method: str, path: str, *, body: Any = None) -> tuple[int, Any]:
        """Like :meth:`request`, also returning the status: some endpoints say "already done" with 200 vs 201."""
        import json

        url = path if path.startswith("/") else self._url("/" + path)
        log.debug("GitHub %s %s", method, url)
        try:
            status, headers, output = self._requester.requestJson(method, url, input=redact_data(body))
        except Exception as exc:  # connection errors after retries
            raise GitHubError(f"GitHub {method} {url} failed: {describe(exc)}") from exc
        try:
            data = json.loads(output) if output else None
        except ValueError:
            data = output
        if status >= 400:
            raise _error(method, url, self._requester.createException(status, headers, data))
        return status, data

    def paginate(self, path: str, params: Mapping[str, Any] | None = None, *, key: str | None = None
                 ) -> Iterator[dict[str, Any]]:
        """All pages of a list endpoint (follows ``Link: rel=next`` like PyGithub does)."""
        page = 1
        while True:
            data = self.request("GET", path, params={**(params or {}), "per_page": 100, "page": page})
            items = data.get(key, []) if key else data
            yield from items
            if len(items) < 100:
                return
            page += 1

    def graphql(self, query: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        from github.GithubException import GithubException

        log.debug("GitHub POST graphql")
        try:
            _, data = self._requester.graphql_query(query, redact_data(dict(variables)))
        except GithubException as exc:
            raise GitHubError(_describe("POST", "graphql", exc)) from exc
        return data.get("data") or {}

    def viewer_login(self) -> str | None:
        """The login this token acts as (``GET /user``, asked at most once), or None when GitHub won't say.

        Installation tokens (``GITHUB_TOKEN``, GitHub App tokens) get 403 "Resource not accessible by
        integration" from ``GET /user``, so for them we do not ask at all.
        """
        if self._viewer is None:
            login = None
            if not self._installation_token:
                try:
                    login = (self.request("GET", "/user") or {}).get("login")
                except GitHubError as exc:
                    if exc.status not in (401, 403, 404):
                        raise
                    log.debug("GET /user: %s", exc)
            self._viewer = (str(login) if login else None,)
        return self._viewer[0]

    # -- comments -----------------------------------------------------------
    def issue_comments(self, number: int) -> list[Comment]:
        return [_comment(c) for c in self.paginate(f"issues/{number}/comments")]

    def create_issue_comment(self, number: int, body: str) -> Comment:
        return _comment(self.request("POST", f"issues/{number}/comments", body={"body": body}))

    def edit_issue_comment(self, comment_id: int, body: str) -> Comment:
        return _comment(self.request("PATCH", f"issues/comments/{comment_id}", body={"body": body}))

    def delete_issue_comment(self, comment_id: int) -> None:
        self.request("DELETE", f"issues/comments/{comment_id}")

    def commit_comments(self, sha: str) -> list[Comment]:
        return [_comment(c) for c in self.paginate(f"commits/{sha}/comments")]

    def create_commit_comment(self, sha: str, body: str) -> Comment:
        return _comment(self.request("POST", f"commits/{sha}/comments", body={"body": body}))

    def edit_commit_comment(self, comment_id: int, body: str) -> Comment:
        return _comment(self.request("PATCH", f"comments/{comment_id}", body={"body": body}))

    def delete_commit_comment(self, comment_id: int) -> None:
        self.request("DELETE", f"comments/{comment_id}")

    def minimize_comment(self, node_id: str, classifier: str = "OUTDATED") -> bool:
        data = self.graphql(
            "mutation($id: ID!, $classifier: ReportedContentClassifiers!) {"
            " minimizeComment(input: {subjectId: $id, classifier: $classifier}) {"
            " minimizedComment { isMinimized minimizedReason } } }",
            {"id": node_id, "classifier": classifier})
        return bool(((data.get("minimizeComment") or {}).get("minimizedComment") or {}).get("isMinimized"))

    # -- check runs ---------------------------------------------------------
    def create_check_run(self, name: str, head_sha: str, *, status: str = "in_progress",
                         details_url: str | None = None, external_id: str | None = None,
                         output: Mapping[str, Any] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"name": name, "head_sha": head_sha, "status": status}
        if details_url:
            body["details_url"] = details_url
        if external_id:
            body["external_id"] = external_id
        if output:
            body["output"] = dict(output)
        return self.request("POST", "check-runs", body=body)

    def in_progress_check_runs(self, head_sha: str, name: str) -> list[dict[str, Any]]:
        """Check runs named ``name`` on ``head_sha`` still in progress (every attempt, not only the latest)."""
        return list(self.paginate(f"commits/{head_sha}/check-runs",
                                  {"check_name": name, "status": "in_progress", "filter": "all"}, key="check_runs"))

    def update_check_run(self, check_run_id: int, **fields: Any) -> dict[str, Any]:
        body = {k: v for k, v in fields.items() if v is not None}
        return self.request("PATCH", f"check-runs/{check_run_id}", body=body)

    # -- pull requests ------------------------------------------------------
    def pull(self, number: int) -> dict[str, Any]:
        return self.request("GET", f"pulls/{number}")

    def pulls_for_commit(self, sha: str) -> list[dict[str, Any]]:
        return list(self.request("GET", f"commits/{sha}/pulls"))

    # -- deployments --------------------------------------------------------
    def create_deployment(self, ref: str, environment: str, *, payload: Mapping[str, Any], description: str,
                          production: bool | None = None, task: str = "deploy") -> dict[str, Any]:
        """A Deployment that does not wait for commit statuses (the gate already ran) and never auto-merges."""
        body: dict[str, Any] = {"ref": ref, "environment": environment, "payload": dict(payload), "task": task,
                                "description": description[:140], "auto_merge": False, "required_contexts": [],
                                "transient_environment": False}
        if production is not None:
            body["production_environment"] = production
        return self.request("POST", "deployments", body=body)

    def create_deployment_status(self, deployment_id: int, state: str, *, description: str = "",
                                 environment_url: str | None = None, log_url: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"state": state, "description": description[:140]}
        if environment_url:
            body["environment_url"] = environment_url
        if log_url:
            body["log_url"] = log_url
        return self.request("POST", f"deployments/{deployment_id}/statuses", body=body)

    def deployments(self, environment: str, limit: int = 30, sha: str | None = None) -> list[dict[str, Any]]:
        """Newest first, at most ``limit`` (one page: rollback only looks at recent history), of one commit if ``sha``."""
        params: dict[str, Any] = {"environment": environment, "per_page": min(limit, 100)}
        if sha:
            params["sha"] = sha
        return list(self.request("GET", "deployments", params=params))

    def deployment_statuses(self, deployment_id: int) -> list[dict[str, Any]]:
        """Newest first."""
        return list(self.request("GET", f"deployments/{deployment_id}/statuses", params={"per_page": 10}))

    # -- releases -----------------------------------------------------------
    def release_by_tag(self, tag: str) -> dict[str, Any] | None:
        try:
            return self.request("GET", f"releases/tags/{tag}")
        except GitHubError as exc:
            if "failed with 404" in str(exc):
                return None
            raise

    def create_release(self, tag: str, *, name: str, body: str, target_commitish: str | None = None,
                       prerelease: bool = False) -> dict[str, Any]:
        payload: dict[str, Any] = {"tag_name": tag, "name": name, "body": body, "prerelease": prerelease}
        if target_commitish:
            payload["target_commitish"] = target_commitish
        return self.request("POST", "releases", body=payload)

    def update_release(self, release_id: int, *, name: str, body: str) -> dict[str, Any]:
        return self.request("PATCH", f"releases/{release_id}", body={"name": name, "body": body})


    # -- ChatOps, approvals, issues, dispatches -------------------------------
    def repo_info(self) -> dict[str, Any]:
        return self.request("GET", f"/repos/{self.repository}")

    def issue_comment(self, comment_id: int) -> Comment:
        return _comment(self.request("GET", f"issues/comments/{comment_id}"))

    def add_reaction(self, comment_id: int, content: str) -> bool:
        """React to an issue comment; False when this token's user had already given that reaction (200)."""
        status, _ = self.request_with_status("POST", f"issues/comments/{comment_id}/reactions",
                                             body={"content": content})
        return status == 201

    def collaborator_permission(self, login: str) -> str:
        """``admin``, ``write`` (also the maintain role), ``read`` or ``none``; unknown users are ``none``."""
        try:
            data = self.request("GET", f"collaborators/{login}/permission")
        except GitHubError as exc:
            if exc.status == 404:
                return "none"
            raise
        return str(data.get("permission") or "none")

    def commit_statuses(self, sha: str) -> list[dict[str, Any]]:
        """The commit statuses of ``sha``, newest first (GitHub's order)."""
        return list(self.paginate(f"commits/{sha}/statuses"))

    def create_commit_status(self, sha: str, state: str, context: str, description: str,
                             target_url: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"state": state, "context": context, "description": description[:140]}
        if target_url:
            body["target_url"] = target_url
        return self.request("POST", f"statuses/{sha}", body=body)

    def open_pulls(self) -> list[dict[str, Any]]:
        """Every open pull request of the repository (the list's short form: number, head, base)."""
        return list(self.paginate("pulls", {"state": "open"}))

    def issues(self, labels: list[str] | tuple[str, ...] = (), state: str = "open") -> list[dict[str, Any]]:
        """Issues (not pull requests) with all of ``labels``, oldest first."""
        params: dict[str, Any] = {"state": state, "sort": "created", "direction": "asc"}
        if labels:
            params["labels"] = ",".join(labels)
        return [i for i in self.paginate("issues", params) if "pull_request" not in i]

    def create_issue(self, title: str, body: str, labels: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
        return self.request("POST", "issues", body={"title": title, "body": body, "labels": list(labels)})

    def update_issue(self, number: int, **fields: Any) -> dict[str, Any]:
        return self.request("PATCH", f"issues/{number}", body={k: v for k, v in fields.items() if v is not None})

    def dispatch_workflow(self, workflow: str, ref: str, inputs: Mapping[str, str] | None = None) -> None:
        """``workflow_dispatch`` of ``workflow`` (file name or id) on branch/tag ``ref``."""
        body: dict[str, Any] = {"ref": ref}
        if inputs:
            body["inputs"] = {k: str(v) for k, v in inputs.items()}
        self.request("POST", f"actions/workflows/{workflow}/dispatches", body=body)


def _error(method: str, url: str, exc: Any) -> GitHubError:
    err = GitHubError(_describe(method, url, exc))
    status = getattr(exc, "status", None)
    err.status = status if isinstance(status, int) else None
    return err


def _comment(data: Mapping[str, Any]) -> Comment:
    user = data.get("user") or {}
    return Comment(id=int(data["id"]), body=data.get("body") or "", created_at=str(data.get("created_at", "")),
                   node_id=data.get("node_id"), author=user.get("login"), html_url=data.get("html_url"),
                   author_type=user.get("type"))


def _describe(method: str, url: str, exc: Any) -> str:
    status = getattr(exc, "status", "?")
    data = getattr(exc, "data", None)
    message = data.get("message") if isinstance(data, dict) else (str(data) if data else "")
    hint = ""
    if status == 403 and "not accessible by integration" in (message or ""):
        hint = (" — the token is read-only here (a fork PR?): write the report as an artifact with "
                "`--to-artifact` and publish it from a workflow_run job")
    elif status == 401:
        hint = " — the token is missing or invalid"
    return f"GitHub {method} {url} failed with {status}: {message}{hint}"
