"""`mlops-ci release`: on a tag push, promote the image built for that commit to production.

The story: parse the tag (``v1.2.3`` or ``model@v1.2.3``); take the digest the
staging deployment of the tagged commit ran (GitHub Deployments, or the local
journal) — no rebuild, and never the commit's image tag, which a rebuild moves:
"build once, promote what was tested"; refuse when staging never ran it; deploy
it to production (health, smoke parity, automatic rollback); only then add the
version tag to that same digest, point the registry alias ``production`` at
its model version (the old one stays reachable as ``previous-production``),
and publish a GitHub Release whose notes are the model card: metrics vs the
previous production model, lineage, drift, digest. A refused or failed release
leaves no tag behind.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mlops_ci.commands import config_option, option, project_option
from mlops_ci.errors import MlopsError

if TYPE_CHECKING:
    from mlops_ci.registry.mlflow_registry import ModelRecord, Registry
    from mlops_ci.workspace import Workspace


class NoImageForCommit(MlopsError):
    exit_code = 1


@click.command()
@project_option()
@config_option()
@option("--tag", "tag_name", default=None, help="Release tag (default: the pushed tag of the event).")
@option("--environment", "-e", default="production", show_default=True,
        help="The environment the release deploys to.")
@option("--from-environment", default="staging", show_default=True,
        help="The environment whose successful deployment of the tagged commit names the digest to promote.")
@option("--repository", default=None, help="Image repository (default: that of the staged image); a different "
        "one is refused.")
@option("--drift-report", default=None, type=click.Path(dir_okay=False),
        help="drift.json for the model card (default: the one in the output directory, if any).")
@option("--smoke/--no-smoke", default=True, show_default=True,
        help="After the deploy, compare the served predictions with the offline holdout predictions (smoke parity).")
@option("--github-token", default=None, help="Token for Deployments and the Release (default: $GITHUB_TOKEN).")
def release(project_dir: str, config_path: str | None, tag_name: str | None, environment: str,
            from_environment: str, repository: str | None, drift_report: str | None, smoke: bool,
            github_token: str | None) -> None:
    """Deploy the digest staging ran for the tagged commit to production and publish a model card release."""
    from mlops_ci.adapters.docker_engine import DockerEngine
    from mlops_ci.commands.deploy import finish
    from mlops_ci.deploy.plan import check_environment, parse_release_tag, split_reference
    from mlops_ci.deploy.record import DeploymentRecorder
    from mlops_ci.deploy.run import deploy_image, image_model
    from mlops_ci.errors import BadInput
    from mlops_ci.image.spec import sanitize_tag, validate_repository
    from mlops_ci.workspace import open_workspace

    ws = open_workspace(project_dir, config_path, os.environ)
    ctx = ws.context
    tag = parse_release_tag(tag_name or ctx.details.get("tag") or "")
    check_environment(environment, ws.config.deploy.environments)
    sha = ws.git.resolve(f"refs/tags/{tag.tag}^{{commit}}") or (ctx.sha if ctx.details.get("tag") else None)
    if not sha:
        raise BadInput(f"tag {tag.tag} does not exist in {ws.root}", hint="Check out with `fetch-depth: 0` or "
                       "fetch the tag before releasing.")
    recorder = DeploymentRecorder(ws, github_token)
    # Promote exactly what the staging checks passed for this commit; never re-resolve `<repo>:<sha>`,
    # which a rebuild of the commit moves to a digest staging never ran.
    image = recorder.staged_image(from_environment, sha)
    if image is None:
        raise NoImageForCommit(f"commit {sha[:12]} (tag {tag.tag}) has no successful deployment to "
                               f"{from_environment}: a release promotes the digest {from_environment} ran, "
                               "it never rebuilds or picks an untested image",
                               hint=f"Deploy the commit's image to {from_environment} first (the main-branch "
                                    "workflow does), then tag it.")
    repo, digest = split_reference(image)
    if repository and validate_repository(repository) != repo:
        raise BadInput(f"--repository {repository}: {from_environment} ran {image}, from another repository",
                       hint="Releases promote the very image staging ran; leave --repository unset.")
    engine = DockerEngine.from_env(ws.env)
    name, version = image_model(engine, image)
    if tag.model and name and tag.model != name:
        raise BadInput(f"tag {tag.tag} is for model '{tag.model}', but {image} serves '{name}'")
    moved_tag = engine.registry_digest(f"{repo}:{sha}")
    notes = [] if moved_tag in (None, digest) else [
        f"Note: `{repo}:{sha[:12]}…` now points at `{moved_tag}` (the commit was rebuilt); released the digest "
        f"{from_environment} ran, `{digest}`."]

    registry, previous = _registry_and_production(ws, name)
    outcome = deploy_image(ws, image, environment, engine=engine, recorder=recorder, smoke=smoke, ref=sha,
                           reason=f"release {tag.tag}")
    extra: list[str] = list(notes)
    if outcome.ok:
        # the version tag only once every check passed: a refused or failed release leaves no tag behind
        version_tag = sanitize_tag(tag.version)
        _tag_version(engine, repo, digest, version_tag)
        moved = _move_alias(registry, name, version, previous, environment)
        card = _model_card(ws, tag, name or "model", version or "unknown", image, sha, outcome.url, registry,
                           previous, drift_report, outcome.previous_image, environment,
                           image_model(engine, outcome.previous_image)[1] if outcome.previous_image else None)
        ws.runtime.write_file("release-notes.md", card)
        release_url = _publish_release(ws, recorder, tag.tag, f"{name} {tag.tag}", card, sha)
        ws.runtime.set_output("release-url", release_url or "")
        ws.runtime.set_output("model-version", version or "")
        extra += ["", f"Image tag `{repo}:{version_tag}` → `{digest}`",
                  f"Registry alias `{environment}` → version {version}" if moved else
                  "Registry alias unchanged (the image's model is not a registry version).",
                  f"Release: {release_url}" if release_url else "Release notes: .mlops-ci/out/release-notes.md"]
    finish(ws, f"Release {tag.tag}", outcome, extra, what=f"release {tag.tag} to {environment}")


def _tag_version(engine: Any, repo: str, digest: str, version: str) -> None:
    """The same digest gets the version tag too (a re-tag and push of the manifest, not a rebuild)."""
    engine.retag(f"{repo}@{digest}", repo, version)
    pushed = engine.push(repo, version)
    if pushed != digest:
        raise MlopsError(f"re-tagging {repo}@{digest} as {version} produced another digest {pushed}")


def _registry_and_production(ws: "Workspace", name: str | None) -> "tuple[Registry | None, ModelRecord | None]":
    if not name or ws.config.registry.mode != "mlflow":
        return None, None
    if not (ws.config.mlflow.tracking_uri or ws.env.get("MLFLOW_TRACKING_URI")):
        return None, None
    from mlops_ci.registry.mlflow_registry import Registry

    registry = Registry(ws.mlflow_tracking_uri(), ws.config.mlflow.registry_uri)
    try:
        return registry, registry.by_alias(name, "production")
    except MlopsError:
        return registry, None


def _move_alias(registry: "Registry | None", name: str | None, version: str | None,
                previous: "ModelRecord | None", environment: str) -> bool:
    if registry is None or not name or not version or not version.isdigit():
        return False
    if previous is not None and previous.version != version:
        registry.set_alias(name, f"previous-{environment}", previous.version)
    registry.set_alias(name, environment, version)
    return True


def _model_card(ws: "Workspace", tag: Any, name: str, version: str, image: str, sha: str, url: str | None,
                registry: "Registry | None", previous: "ModelRecord | None", drift_report: str | None,
                previous_image: str | None, environment: str, previous_image_version: str | None) -> str:
    from mlops_ci.deploy.modelcard import CardInput, render

    record = None
    if registry is not None and version.isdigit():
        try:
            record = registry.version(name, version)
        except MlopsError:
            record = None
    drift_path = Path(drift_report) if drift_report else ws.runtime.out_dir / "drift.json"
    drift = json.loads(drift_path.read_text()) if drift_path.is_file() else None
    same = previous is not None and record is not None and previous.version == record.version
    return render(CardInput(
        tag=tag.tag, version=tag.version, model_name=name, model_version=version, image=image, sha=sha,
        environment=environment, url=url, metrics=record.metrics if record else {},
        previous_metrics=previous.metrics if previous is not None and not same else None,
        previous_version=(previous.version if previous is not None and not same else None)
        or (previous_image_version if previous_image and previous_image != image else None),
        previous_image=previous_image, params=record.params if record else {},
        lineage=record.tags if record else {}, drift=drift, run_url=ws.context.run_url,
        directions=dict(ws.config.metrics.direction)))


def _publish_release(ws: "Workspace", recorder: Any, tag: str, title: str, body: str, sha: str) -> str | None:
    gh = recorder.gh
    if gh is None:
        return None
    existing = gh.release_by_tag(tag)
    if existing is not None:  # re-run of the job: same release, refreshed notes
        if existing.get("body") != body or existing.get("name") != title:
            existing = gh.update_release(int(existing["id"]), name=title, body=body)
        return existing.get("html_url")
    return gh.create_release(tag, name=title, body=body, target_commitish=sha).get("html_url")
