"""One deploy, whatever asked for it (deploy, release, rollback).

The story: check the image is pinned by digest; read which model it serves
from its labels; open a GitHub Deployment (``in_progress``); let the target
start, health-check, smoke-test and switch — or roll back; close the
Deployment with ``success`` and the environment URL, or ``failure`` and the
reason; tag the registry version with where its image now runs. The caller
gets an :class:`Outcome` and decides the exit code.
"""

from __future__ import annotations

import json
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
    from mlops_ci.deploy.smoke import SmokeCase
    from mlops_ci.workspace import Workspace

REVISION_LABEL = "org.opencontainers.image.revision"
MODEL_NAME_LABEL = "io.mlops-ci.model.name"
MODEL_VERSION_LABEL = "io.mlops-ci.model.version"


def image_labels(engine: "DockerEngine | None", image: str) -> dict[str, str]:
    """The image's labels, when an engine can read them (else none)."""
    return engine.image_labels(image) if engine is not None else {}


def image_model(engine: "DockerEngine | None", image: str) -> tuple[str | None, str | None]:
    """(model name, model version) from the image's labels, when an engine can read them."""
    labels = image_labels(engine, image)
    return labels.get(MODEL_NAME_LABEL), labels.get(MODEL_VERSION_LABEL)


def make_target(ws: "Workspace", environment: str, model_name: str, engine: "DockerEngine | None",
                target: str | None = None, health_timeout: float | None = None) -> "Target":
    cfg = ws.config.deploy
    env_cfg = cfg.environments[environment]
    service = service_name(cfg.service, model_name, environment)
    kind = target or cfg.target
    timeout = health_timeout or cfg.health_timeout
    if kind == "docker":
        from mlops_ci.deploy.docker_target import DockerTarget

        if engine is None:
            raise BadInput("deploy.target docker needs a Docker engine on this runner")
        if env_cfg.port is None:
            raise BadInput(f"deploy.environments.{environment}.port: the docker target needs a stable host port")
        return DockerTarget(engine, service=service, environment=environment, port=env_cfg.port,
                            host_address=cfg.host_address, health_timeout=timeout,
                            post_switch_watch=cfg.post_switch_watch)
    if kind == "kubernetes":
        from mlops_ci.adapters.kubernetes_api import KubernetesApi
        from mlops_ci.deploy.kubernetes_target import KubernetesTarget

        k8s = cfg.kubernetes
        return KubernetesTarget(KubernetesApi.from_config(k8s.context), service=service, environment=environment,
                                namespace=env_cfg.namespace or k8s.namespace, settings=k8s,
                                replicas=env_cfg.replicas or k8s.replicas, health_timeout=timeout,
                                url=env_cfg.url)
    raise BadInput(f"deploy.target: unknown target {kind!r} (docker or kubernetes)")


def embedded_case(engine: "DockerEngine | None", image: str) -> "SmokeCase | None":
    """The parity case `mlops-ci build` baked into the image (None for images without one)."""
    if engine is None:
        return None
    from mlops_ci.deploy.smoke import CASE_FILE, case_from_document
    from mlops_ci.serving import MODEL_DIR

    data = engine.read_file(image, f"{MODEL_DIR}/{CASE_FILE}")
    if data is None:
        return None
    try:
        return case_from_document(json.loads(data))
    except ValueError as exc:
        raise BadInput(f"{image}: {MODEL_DIR}/{CASE_FILE} is not a parity case ({exc})") from None


def smoke_check(ws: "Workspace", image: str, engine: "DockerEngine | None", *,
                rollback: bool = False) -> "tuple[SmokeCheck | None, str]":
    """Parity of the live service with the offline predictions recorded for ``image``; (None, why) when skipped.

    Everything is read *before* anything starts, so a missing file is an exit 2
    that leaves no container behind.
    """
    from mlops_ci.deploy.smoke import choose_parity_source, compare

    cfg = ws.config.deploy.smoke
    if not cfg.enabled:
        return None, "skipped: deploy.smoke.enabled is false"
    sample_path = cfg.sample or ws.config.build.sample
    predictions_path = cfg.predictions or ws.config.registry.predictions
    configured = bool(sample_path and predictions_path and cfg.id_column)
    case = embedded_case(engine, image)
    revision = image_labels(engine, image).get(REVISION_LABEL)
    choice = choose_parity_source(embedded=case is not None, image_revision=revision,
                                  checkout_sha=ws.context.head_sha or ws.git.head(), checkout_configured=configured,
                                  rollback=rollback)
    if choice.source == "skip":
        if not configured and not rollback:
            raise BadInput("deploy.smoke: set sample (or build.sample), predictions (or registry.predictions) and "
                           "id_column to check parity after a deploy, or set deploy.smoke.enabled: false")
        return None, f"skipped: {choice.reason}"

    def judge(url: str, expected: Any) -> Any:
        """The served answers to ``expected``'s rows, compared with its predictions."""
        from mlops_ci.adapters.service_http import ServiceError, predict

        try:
            served = predict(url, expected.rows) if expected.rows else []
        except ServiceError as exc:
            return SmokeResult(False, len(expected.rows), 0, str(exc))
        return compare(expected, served, tolerance=cfg.tolerance, min_agreement=cfg.min_agreement)

    if case is not None:
        fixed = case
        return (lambda url: judge(url, fixed)), choice.reason
    assert sample_path and predictions_path and cfg.id_column
    sample, preds = checkout_tables(ws, sample_path, predictions_path)

    def check(url: str) -> Any:
        from mlops_ci.adapters.service_http import ServiceError, get_json

        try:
            fields = get_json(f"{url}/schema").get("fields") or []
        except ServiceError as exc:
            return SmokeResult(False, 0, 0, f"could not read the input schema: {exc}")
        return judge(url, parity_case(ws, sample, preds, [f["name"] for f in fields]))

    return check, choice.reason


def checkout_tables(ws: "Workspace", sample_path: str, predictions_path: str) -> tuple[Any, Any]:
    """The smoke sample and the offline predictions of the checkout, with their id columns checked."""
    from mlops_ci.registry.model_source import read_table

    cfg = ws.config.deploy.smoke
    sample = read_table(ws.dvc_root / sample_path)
    preds = read_table(ws.dvc_root / predictions_path)
    if cfg.id_column not in sample.columns:
        raise BadInput(f"deploy.smoke.id_column: {sample_path} has no column '{cfg.id_column}'")
    if cfg.predictions_id_column not in preds.columns:
        raise BadInput(f"deploy.smoke.predictions_id_column: {predictions_path} has no column "
                       f"'{cfg.predictions_id_column}'")
    return sample, preds


def parity_case(ws: "Workspace", sample: Any, preds: Any, features: list[str]) -> "SmokeCase":
    from mlops_ci.deploy.smoke import build_case

    cfg = ws.config.deploy.smoke
    return build_case(sample.to_dict("records"), preds.to_dict("records"), id_column=str(cfg.id_column),
                      predictions_id_column=cfg.predictions_id_column, features=features,
                      score_column=cfg.score_column if cfg.score_column in preds.columns else None,
                      label_column=cfg.label_column if cfg.label_column in preds.columns else None,
                      max_rows=cfg.max_rows)


def deploy_image(ws: "Workspace", image: str, environment: str, *, engine: "DockerEngine | None",
                 recorder: "DeploymentRecorder", model_name: str | None = None, target: str | None = None,
                 smoke: bool = True, ref: str | None = None, reason: str = "deploy",
                 health_timeout: float | None = None) -> Outcome:
    cfg = ws.config.deploy
    check_environment(environment, cfg.environments)
    split_reference(image)
    from mlops_ci.registry.register import model_name_for

    label_name, label_version = image_model(engine, image)
    # The service is named after the project's model name (stable across images); the payload and the
    # registry tags use the model the image says it serves.
    project_model = model_name_for(ws, model_name)
    name = label_name or project_model
    version = label_version or "unknown"
    tgt = make_target(ws, environment, project_model, engine, target, health_timeout)
    current = tgt.current_image()
    check, parity_note = smoke_check(ws, image, engine, rollback=reason == "rollback") if smoke else \
        (None, "skipped: --no-smoke")
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
    if check is None:
        outcome.smoke = {"ok": None, "checked": 0, "agreed": 0, "reason": parity_note, "mismatches": []}
    elif outcome.smoke is not None:
        outcome.smoke["source"] = parity_note
        outcome.smoke["reason"] += f", against {parity_note}"
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
    from mlops_ci.registry.mlflow_registry import Registry
    from mlops_ci.github.checks import now

    Registry(ws.mlflow_tracking_uri(), ws.config.mlflow.registry_uri).set_version_tags(
        name, version, {f"mlops-ci.deployed.{environment}.image": image, f"mlops-ci.deployed.{environment}.at": now()})


def outcome_summary(title: str, outcome: Outcome, extra: list[str] | None = None) -> str:
    """The job-summary part of a deploy, rollback or release: one fact per list item, so that
    Markdown cannot run them together into one paragraph (it joins consecutive lines)."""
    from mlops_ci.deploy.plan import summary_line

    lines = [f"## {title}", "", summary_line(outcome.ok, outcome.environment, outcome.image, outcome.reason), ""]
    facts = []
    if outcome.url and outcome.ok:
        facts.append(f"- **Environment URL**: {outcome.url}")
    if outcome.previous_image:
        facts.append(f"- **Previous image**: `{outcome.previous_image}`")
    if not outcome.ok:
        facts.append("- **Rolled back**: " + ("yes — the previous image keeps serving" if outcome.rolled_back
                                              else "nothing to roll back to"))
    if outcome.smoke:
        facts.append(f"- **Smoke parity**: {outcome.smoke['reason']}")
        facts.extend(f"  - {' '.join(str(m).split())}" for m in outcome.smoke.get("mismatches") or [])
    if outcome.timings:
        facts.append("- **Timings**: " + ", ".join(f"{k} {v:.1f} s" for k, v in outcome.timings.items()))
    lines += facts
    if outcome.logs and not outcome.ok:
        fence = "````" if "```" in outcome.logs else "```"
        lines += ["", "<details><summary>Container log (tail)</summary>", "", fence,
                  outcome.logs[-3000:].strip(), fence, "", "</details>"]
    if extra:
        lines += [""] + list(extra)
    return "\n".join(lines) + "\n"
