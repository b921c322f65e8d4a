"""Where deploys are recorded: GitHub Deployments on a runner, a local journal otherwise.

On GitHub every deploy is a Deployment for its environment with statuses
``in_progress`` → ``success``/``failure`` and the environment URL, which is what
the repository's Environments page and the PR timeline show. Its payload holds
the image reference, so `rollback` can find the previous good image from
GitHub alone. Locally (no runner, no token) the same events go to
``.mlops-ci/out/deployments.jsonl`` — same code path, nothing posted.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Mapping

from mlops_ci.deploy.plan import previous_image, staged_image

if TYPE_CHECKING:
    from mlops_ci.github.api import GitHub
    from mlops_ci.workspace import Workspace

JOURNAL = "deployments.jsonl"


class DeploymentRecorder:
    def __init__(self, ws: "Workspace", token: str | None = None) -> None:
        self.ws = ws
        self.gh: "GitHub | None" = None
        self.deployment_id: int | None = None
        self._environment = ""
        self._ref = ""
        self._payload: dict[str, Any] = {}
        ctx = ws.context
        if ctx.in_github and ctx.repository and (token or ws.env.get("MLOPS_CI_GITHUB_TOKEN")
                                                 or ws.env.get("GITHUB_TOKEN") or ws.env.get("GH_TOKEN")):
            from mlops_ci.github.api import GitHub

            self.gh = GitHub.from_env(ws.env, ctx.repository, token, ws.runtime)

    @property
    def url(self) -> str | None:
        if self.gh is None or self.deployment_id is None:
            return None
        ctx = self.ws.context
        return f"{ctx.server_url}/{ctx.repository}/deployments/{self._environment}"

    def start(self, *, ref: str, environment: str, payload: Mapping[str, Any], description: str) -> None:
        self._environment, self._ref, self._payload = environment, ref, dict(payload)
        if self.gh is not None:
            dep = self.gh.create_deployment(ref, environment, payload=payload, description=description,
                                            production=environment == "production")
            self.deployment_id = int(dep["id"])
            self.gh.create_deployment_status(self.deployment_id, "in_progress", description=description,
                                             log_url=self.ws.context.run_url)
        else:
            self._journal({"event": "start", "ref": ref, "environment": environment, "payload": dict(payload),
                           "description": description})

    def finish(self, ok: bool, *, description: str, environment_url: str | None) -> None:
        state = "success" if ok else "failure"
        if self.gh is not None and self.deployment_id is not None:
            self.gh.create_deployment_status(self.deployment_id, state, description=description,
                                             environment_url=environment_url if ok else None,
                                             log_url=self.ws.context.run_url)
        elif self.gh is None:
            self._journal({"event": state, "ref": self._ref, "environment": self._environment,
                           "payload": self._payload, "description": description, "environment_url": environment_url})

    def previous_good_image(self, environment: str, current: str | None) -> str | None:
        """The newest image that deployed successfully to ``environment`` and is not ``current``."""
        deployments, statuses = self._history(environment)
        return previous_image(deployments, statuses, current)

    def staged_image(self, environment: str, sha: str) -> str | None:
        """The image of the newest successful deployment of commit ``sha`` to ``environment``."""
        deployments, statuses = self._history(environment, sha)
        return staged_image(deployments, statuses, sha)

    def _history(self, environment: str, sha: str | None = None) -> tuple[list[dict[str, Any]], dict[int, str]]:
        """Deployments of ``environment`` newest first, with their latest state (GitHub or the local journal)."""
        if self.gh is not None:
            deployments = self.gh.deployments(environment, sha=sha)
            statuses = {}
            for dep in deployments[:20]:
                latest = self.gh.deployment_statuses(int(dep["id"]))
                statuses[int(dep["id"])] = latest[0]["state"] if latest else ""
            return deployments, statuses
        path = self.ws.runtime.out_dir / JOURNAL
        if not path.is_file():
            return [], {}
        deployments: list[dict[str, Any]] = []
        ref_of_start: dict[str, str] = {}
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            if not line.strip():
                continue
            event = json.loads(line)
            if event.get("environment") != environment:
                continue
            if event.get("event") == "start":  # journals written before `ref` was on every event
                ref_of_start[environment] = str(event.get("ref") or "")
            elif event.get("event") == "success":
                deployments.append({"id": i, "sha": event.get("ref") or ref_of_start.get(environment),
                                    "payload": event.get("payload")})
        deployments.reverse()
        return deployments, {int(d["id"]): "success" for d in deployments}

    def _journal(self, event: Mapping[str, Any]) -> None:
        from mlops_ci.github.checks import now

        path = self.ws.runtime.out_dir / JOURNAL
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"at": now(), **event}) + "\n")
