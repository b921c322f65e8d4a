"""`mlops-ci deploy --environment E --image repo@sha256:…`: ship the image built once.

The story: take the pinned image `build` produced; deploy it to the
environment's target (docker host or Kubernetes) behind a GitHub Deployment;
health and smoke parity decide; on failure the previous image keeps (or goes
back to) serving and the command exits 1 with the reason in the summary.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

import click

from mlops_ci.commands import config_option, option, project_option

if TYPE_CHECKING:
    from mlops_ci.deploy.outcome import Outcome
    from mlops_ci.workspace import Workspace


def common_options(fn: Any) -> Any:
    for decorator in reversed([
        project_option(), config_option(),
        option("--environment", "-e", required=True, help="Environment to deploy to (staging, production, …)."),
        option("--target", type=click.Choice(["docker", "kubernetes"]), default=None,
               help="Deploy target (default: config deploy.target)."),
        option("--model-name", default=None, help="Model name (default: the image's label)."),
        option("--smoke/--no-smoke", default=True, show_default=True,
               help="Check /predict parity with the offline holdout predictions recorded for the image."),
        option("--health-timeout", type=click.FloatRange(min=0, min_open=True), default=None,
               help="Seconds to wait for /health (default: config deploy.health_timeout)."),
        option("--github-token", default=None, help="Token for GitHub Deployments (default: $GITHUB_TOKEN)."),
    ]):
        fn = decorator(fn)
    return fn


@click.command()
@common_options
@option("--image", required=True, help="The image pinned by digest (repo@sha256:…), as `build` outputs it.")
def deploy(project_dir: str, config_path: str | None, environment: str, target: str | None, model_name: str | None,
           smoke: bool, health_timeout: float | None, github_token: str | None, image: str) -> None:
    """Deploy an image (by digest) to an environment; roll back automatically on failure."""
    from mlops_ci.deploy.record import DeploymentRecorder
    from mlops_ci.deploy.run import deploy_image
    from mlops_ci.workspace import open_workspace

    ws = open_workspace(project_dir, config_path, os.environ)
    engine = engine_for(ws, target)
    outcome = deploy_image(ws, image, environment, engine=engine, recorder=DeploymentRecorder(ws, github_token),
                           model_name=model_name, target=target, smoke=smoke, health_timeout=health_timeout)
    finish(ws, "Deploy", outcome, what=f"deploy to {environment}")


def engine_for(ws: "Workspace", target: str | None) -> Any:
    """The Docker engine: required by the docker target, optional (labels only) for kubernetes."""
    from mlops_ci.adapters.docker_engine import DockerEngine
    from mlops_ci.errors import BadInput

    if (target or ws.config.deploy.target) == "docker":
        return DockerEngine.from_env(ws.env)
    try:
        return DockerEngine.from_env(ws.env, timeout=30)
    except BadInput:
        return None


def finish(ws: "Workspace", title: str, outcome: "Outcome", extra: list[str] | None = None, *, what: str) -> None:
    """Outputs, summary, artifact; exit 1 (after writing them) when the deploy failed (``what`` failed: …)."""
    from mlops_ci.deploy.run import outcome_summary
    from mlops_ci.errors import StepFailed

    rt = ws.runtime
    rt.set_output("environment", outcome.environment)
    rt.set_output("image", outcome.image)
    rt.set_output("url", outcome.url or "")
    rt.set_output("ok", "true" if outcome.ok else "false")
    rt.set_output("rolled-back", "true" if outcome.rolled_back else "false")
    rt.set_output("serving-image", outcome.serving_image or "")
    rt.set_output("previous-image", outcome.previous_image or "")
    rt.write_file(f"deploy-{outcome.environment}.json", json.dumps(outcome.to_dict(), indent=2) + "\n")
    rt.append_summary(outcome_summary(title, outcome, extra))
    if not outcome.ok:
        raise StepFailed(f"{what} failed: {outcome.reason}")
    click.echo(f"{outcome.environment}: {outcome.image} is serving at {outcome.url} ({outcome.reason})")
