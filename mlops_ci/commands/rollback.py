"""`mlops-ci rollback --environment E [--to DIGEST]`: put the previous (or a given) image back.

The story: find what to go back to — ``--to`` (a digest or a pinned image), else
the image the target kept for rollback (the docker target's ``-previous``
container, the Kubernetes Deployment's recorded previous image), else the last
successful GitHub Deployment of that environment with another image; deploy
it like any other image (health, smoke, a GitHub Deployment); and move the
environment's registry alias back to the model version that image serves.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import click

from mlops_ci.commands import option
from mlops_ci.commands.deploy import common_options

if TYPE_CHECKING:
    from mlops_ci.workspace import Workspace


@click.command()
@common_options
@option("--to", "to", default=None, help="Digest (sha256:…) or pinned image (repo@sha256:…) to go back to "
        "(default: the previous one).")
@option("--repository", default=None, help="Repository for a bare --to digest (default: that of the current "
        "image, else config build.repository).")
def rollback(project_dir: str, config_path: str | None, environment: str, target: str | None,
             model_name: str | None, smoke: bool, health_timeout: float | None, github_token: str | None,
             to: str | None, repository: str | None) -> None:
    """Redeploy the previous (or given) image and move the registry alias back."""
    from mlops_ci.commands.deploy import engine_for, finish
    from mlops_ci.deploy.plan import check_environment
    from mlops_ci.deploy.record import DeploymentRecorder
    from mlops_ci.deploy.run import deploy_image, image_model, make_target
    from mlops_ci.errors import BadInput
    from mlops_ci.workspace import open_workspace

    ws = open_workspace(project_dir, config_path, os.environ)
    check_environment(environment, ws.config.deploy.environments)
    engine = engine_for(ws, target)
    recorder = DeploymentRecorder(ws, github_token)
    from mlops_ci.registry.register import model_name_for

    name = model_name_for(ws, model_name)
    tgt = make_target(ws, environment, name, engine, target, health_timeout)
    current = tgt.current_image()
    image = resolve_target_image(ws, to, repository, current) if to else (
        tgt.previous_image() or recorder.previous_good_image(environment, current))
    if not image:
        raise BadInput(f"nothing to roll back to in {environment}: no previous image is known",
                       hint="Pass --to <digest> (a digest from the Deployments page or the registry).")
    if image == current:
        raise BadInput(f"{environment} already serves {image}")
    outcome = deploy_image(ws, image, environment, engine=engine, recorder=recorder, model_name=name,
                           target=target, smoke=smoke, reason="rollback", health_timeout=health_timeout)
    extra: list[str] = []
    if outcome.ok:
        label_name, version = image_model(engine, image)
        if _move_alias(ws, label_name or name, version, environment):
            extra.append(f"Registry alias `{environment}` moved back to version {version}.")
    finish(ws, f"Rollback of {environment}", outcome, extra, what=f"rollback of {environment} to {image}")


def resolve_target_image(ws: "Workspace", to: str, repository: str | None, current: str | None) -> str:
    from mlops_ci.image.build import default_repository

    if "@" in to:
        return to
    digest = to if to.startswith("sha256:") else f"sha256:{to}"
    repo = repository or (current.split("@", 1)[0] if current and "@" in current else None) \
        or ws.config.build.repository or default_repository(ws)
    if not repo:
        from mlops_ci.errors import BadInput

        raise BadInput("--to is a bare digest: pass --repository (or set build.repository)")
    return f"{repo}@{digest}"


def _move_alias(ws: "Workspace", name: str, version: str | None, environment: str) -> bool:
    """Only an alias that exists moves back (staging deploys set none by default)."""
    if not version or not version.isdigit() or ws.config.registry.mode != "mlflow":
        return False
    if not (ws.config.mlflow.tracking_uri or ws.env.get("MLFLOW_TRACKING_URI")):
        return False
    from mlops_ci.registry.mlflow_registry import Registry

    registry = Registry(ws.mlflow_tracking_uri(), ws.config.mlflow.registry_uri)
    if registry.by_alias(name, environment) is None and environment != "production":
        return False
    registry.set_alias(name, environment, version)
    return True
