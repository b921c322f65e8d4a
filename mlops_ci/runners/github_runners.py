"""Registering just-in-time (JIT) self-hosted runners through GitHub's REST API.

A JIT config registers one runner for exactly one job and is its only
credential: whoever holds it can take a job (and its secrets) from the
repository. So it is returned to the caller and nowhere else — never logged.
The API needs a token allowed to administer self-hosted runners (a fine-grained
token or App with "Administration: write" on the repository, or "Self-hosted
runners: write" on the organization; `GITHUB_TOKEN` cannot).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from mlops_ci.github.api import DEFAULT_API_URL, GitHub, GitHubError
from mlops_ci.errors import BadInput
from mlops_ci.runners.selfhosted import JitRequest

_SCOPE_HINT = ("the token must be allowed to manage self-hosted runners: \"Administration: write\" on the "
               "repository or \"Self-hosted runners: write\" on the organization (GITHUB_TOKEN never is)")


@dataclass(frozen=True)
class JitConfig:
    runner_id: int
    name: str
    labels: tuple[str, ...]
    runner_group_id: int
    #: The base64 config for `./run.sh --jitconfig`: a credential.
    encoded: str
    scope: str


def client(env: Mapping[str, str], *, repo: str | None, org: str | None) -> GitHub:
    """A client for the repository, or for the organization when ``org`` is given."""
    token = env.get("MLOPS_CI_GITHUB_TOKEN") or env.get("GITHUB_TOKEN") or env.get("GH_TOKEN") or ""
    api_url = env.get("GITHUB_API_URL") or DEFAULT_API_URL
    if org:
        # Organization endpoints are called by absolute path; the repository part only names the client.
        return GitHub(token, f"{org}/.github", api_url)
    repo = repo or env.get("GITHUB_REPOSITORY") or ""
    if not repo:
        raise BadInput("no repository: pass --repo OWNER/NAME or --org ORG (GITHUB_REPOSITORY is not set)")
    return GitHub(token, repo, api_url)


def generate_jitconfig(gh: GitHub, request: JitRequest, org: str | None = None) -> JitConfig:
    path = f"/orgs/{org}/actions/runners/generate-jitconfig" if org else "actions/runners/generate-jitconfig"
    scope = f"organization {org}" if org else f"repository {gh.repository}"
    try:
        data: Any = gh.request("POST", path, body=request.body())
    except GitHubError as exc:
        status = getattr(exc, "status", None)
        hint = {403: _SCOPE_HINT, 404: f"{scope} not found, or {_SCOPE_HINT}",
                409: f"a runner named '{request.name}' already exists: pick another --name (or omit it)",
                422: "GitHub rejected the request: check --labels and --runner-group-id"}
        text = str(exc)
        extra = next((h for code, h in hint.items() if status == code or f"failed with {code}" in text), None)
        raise GitHubError(text + (f" — {extra}" if extra else "")) from exc
    runner = data.get("runner") or {}
    encoded = data.get("encoded_jit_config")
    if not isinstance(encoded, str) or not encoded:
        raise GitHubError(f"GitHub POST {path} answered without an encoded_jit_config")
    labels = tuple(str(label.get("name")) for label in runner.get("labels") or [] if isinstance(label, dict))
    return JitConfig(int(runner.get("id") or 0), str(runner.get("name") or request.name), labels or request.labels,
                     int(runner.get("runner_group_id") or request.runner_group_id), encoded, scope)
