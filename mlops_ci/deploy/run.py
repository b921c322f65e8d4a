"""One deploy, whatever asked for it (deploy, release, rollback).

The story: check the image is pinned by digest; read which model it serves
from its labels; open a GitHub Deployment (``in_progress``); let the target
start, health-check, smoke-test and switch — or roll back; close the
Deployment with ``success`` and the environment URL, or ``failure`` and the
reason; tag the registry version with where its image now runs. The caller
gets an :class:`Outcome` and decides the exit code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlops_ci.deploy.outcome import Outcome, SmokeCheck
from mlops_ci.deploy.plan import (check_environment, deployment_payload, environment_url, service_name,
                                  split_reference)
from mlops_ci.deploy.smoke import SmokeResult
from mlops_ci.errors import BadInput
from mlops_ci.redact import describe

if TYPE_CHECKING:
    from mlops_ci.adapters.docker_engine import DockerEngine
    from mlops_ci.deploy.outcome import Target
    from mlops_ci.deploy.record import DeploymentRecorder
    from mlops_ci.workspace import Workspace

MODEL_NAME_LABEL = "io.mlops-ci.model.name"
MODEL_VERSION_LABEL = "io.mlops-ci.model.version"


def image_model(engine: "DockerEngine | None", image: str) -> tuple[str | None, str | None]:
    """(model name, model version) from the image's labels, when an engine can read them."""
    if engine is None:
        return None, None
    labels = engine.image_labels(image)
    return labels.get(MODEL_NAME_LABEL), labels.get(MODEL_VERSION_LABEL)


def make_target(ws: "Workspace", environment: str, model_name: str, engine: "DockerEngine | None",
                target: str | None = None) -> "Target":
    cfg = ws.config.deploy
    env_cfg = cfg.environments[environment]
    service = service_name(cfg.service, model_name, environment)
    kind = target or cfg.target
    if kind == "docker":
        from mlops_ci.deploy.docker_target import DockerTarget

        if engine is None:
            raise BadInput("deploy.target docker needs a Docker engine on this runner")
        if env_cfg.port is None:
            raise BadInput(f"deploy.environments.{environment}.port: the docker target needs a stable host port")
        return DockerTarget(engine, service=service, environment=environment, port=env_cfg.port,
                            host_address=cfg.host_address, health_timeout=cfg.health_timeout)
    if kind == "kubernetes":
        from mlops_ci.adapters.kubernetes_api import KubernetesApi
        from mlops_ci.deploy.kubernetes_target import KubernetesTarget

        k8s = cfg.kubernetes
        return KubernetesTarget(KubernetesApi.from_config(k8s.context), service=service, environment=environment,
                                namespace=env_cfg.namespace or k8s.namespace, settings=k8s,
                                replicas=env_cfg.replicas or k8s.replicas, health_timeout=cfg.health_timeout,
                                url=env_cfg.url)
    raise BadInput(f"deploy.target: unknown target {kind!r} (docker or kubernetes)")


def smoke_check(ws: "Workspace") -> SmokeCheck | None:
    """Parity of the live service with the offline holdout predictions (None when disabled)."""
    cfg = ws.config.deploy.smoke
    if not cfg.enabled:
        return None
    sample_path = cfg.sample or ws.config.build.sample
    predictions_path = cfg.predictions or ws.config.registry.predictions
    if not sample_path or not predictions_path or not cfg.id_column:
        raise BadInput("deploy.smoke: set sample (or build.sample), predictions (or registry.predictions) and "
                       "id_column to check parity after a deploy, or set deploy.smoke.enabled: false")

    def check(url: str) -> Any:
        from mlops_ci.adapters.service_http import ServiceError, get_json, predict
        from mlops_ci.deploy.smoke import build_case, compare
        from mlops_ci.modelsource import read_table

        sample = read_table(ws.dvc_root / sample_path)
        preds = read_table(ws.dvc_root / predictions_path)
        if cfg.id_column not in sample.columns:
            raise BadInput(f"deploy.smoke.id_column: {sample_path} has no column '{cfg.id_column}'")
        if cfg.predictions_id_column not in preds.columns:
            raise BadInput(f"deploy.smoke.predictions_id_column: {predictions_path} has no column "
                           f"'{cfg.predictions_id_column}'")
        try:
            fields = get_json(f"{url}/schema").get("fields") or []
        except ServiceError as exc:
            return SmokeResult(False, 0, 0, f"could not read the input schema: {exc}")
        case = build_case(sample.to_dict("records"), preds.to_dict("records"), id_column=cfg.id_column,
                          predictions_id_column=cfg.predictions_id_column, features=[f["name"] for f in fields],
                          score_column=cfg.score_column if cfg.score_column in preds.columns else None,
                          label_column=cfg.label_column if cfg.label_column in preds.columns else None,
                          max_rows=cfg.max_rows)
        try:
            served = predict(url, case.rows) if case.rows else []
        except ServiceError as exc:
            return SmokeResult(False, len(case.rows), 0, str(exc))
        return compare(case, served, tolerance=cfg.tolerance, min_agreement=cfg.min_agreement)

    return check


def deploy_image(ws: "Workspace", image: str, environment: str, *, engine: "DockerEngine | None",
                 recorder: "DeploymentRecorder", model_name: str | None = None, target: str | None = None,
                 smoke: bool = True, ref: str | None = None, reason: str = "deploy") -> Outcome:
    cfg = ws.config.deploy
    check_environment(environment, cfg.environments)
    split_reference(image)
    from mlops_ci.commands.register import model_name_for

    label_name, label_version = image_model(engine, image)
    # The service is named after the project's model name (stable across images); the payload and the
    # registry tags use the model the image says it serves.
    project_model = model_name_for(ws, model_name)
    name = label_name or project_model
    version = label_version or "unknown"
    tgt = make_target(ws, environment, project_model, engine, target)
    current = tgt.current_image()
    check = smoke_check(ws) if smoke else None
    sha = ref or ws.context.head_sha or ws.git.head()
    recorder.start(ref=sha, environment=environment,
                   payload=deployment_payload(image=image, model_name=name, model_version=version, previous=current,
                                              target=tgt.name),
                   description=f"{reason}: {name} v{version}")
    try:
        outcome = tgt.deploy(image, check)
    except Exception as exc:
        recorder.finish(False, description=describe(exc), environment_url=None)
        raise
    env_cfg = cfg.environments[environment]
    url = env_cfg.url or outcome.url or environment_url(None, cfg.host_address, env_cfg.port)
    outcome.url = url
    recorder.finish(outcome.ok, description=outcome.reason, environment_url=url)
    if outcome.ok:
        _tag_registry(ws, name, label_version, environment, image)
    return outcome


def _tag_registry(ws: "Workspace", name: str, version: str | None, environment: str, image: str) -> None:
    """Lineage: the registry version learns where its image runs (only for registry versions)."""
    if not version or not version.isdigit() or ws.config.registry.mode != "mlflow":
        return
    if not (ws.config.mlflow.tracking_uri or ws.env.get("MLFLOW_TRACKING_URI")):
        return
    from mlops_ci.adapters.mlflow_registry import Registry
    from mlops_ci.checks import now

    Registry(ws.mlflow_tracking_uri(), ws.config.mlflow.registry_uri).set_version_tags(
        name, version, {f"mlops-ci.deployed.{environment}.image": image, f"mlops-ci.deployed.{environment}.at": now()})


def outcome_summary(title: str, outcome: Outcome, extra: list[str] | None = None) -> str:
    from mlops_ci.deploy.plan import summary_line

    lines = [f"### {title}", "", summary_line(outcome.ok, outcome.environment, outcome.image, outcome.reason), ""]
    if outcome.url and outcome.ok:
        lines.append(f"Environment URL: {outcome.url}")
    if outcome.previous_image:
        lines.append(f"Previous image: `{outcome.previous_image}`")
    if not outcome.ok:
        lines.append("Rolled back: " + ("yes — the previous image keeps serving" if outcome.rolled_back
                                        else "nothing to roll back to"))
    if outcome.smoke:
        lines.append(f"Smoke parity: {outcome.smoke['reason']}")
        lines.extend(f"- {m}" for m in outcome.smoke.get("mismatches") or [])
    if outcome.timings:
        lines.append("Timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in outcome.timings.items()))
    if outcome.logs and not outcome.ok:
        lines += ["", "<details><summary>Container log (tail)</summary>", "", "```",
                  outcome.logs[-3000:].strip(), "```", "</details>"]
    lines.extend(extra or [])
    return "\n".join(lines) + "\n"
