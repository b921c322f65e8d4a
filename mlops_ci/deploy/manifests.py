"""Kubernetes manifests for the serving image: a Deployment and a Service, as plain dicts.

Choices that matter for a model server:

- RollingUpdate with ``maxUnavailable: 0`` / ``maxSurge: 1``: capacity never
  drops, and a new pod takes traffic only once its readiness probe passes;
- readiness on ``/health`` (200 only once the model is loaded), a startup probe
  giving a slow model time to load, liveness on the same endpoint after that;
- ``progressDeadlineSeconds`` = the deploy's health timeout, so Kubernetes itself
  marks a stuck rollout as failed (``ProgressDeadlineExceeded``) and the target
  undoes it;
- non-root, no privilege escalation, read-only root filesystem (``/tmp`` is an
  emptyDir), all capabilities dropped; requests and limits from the config;
- annotations with the image and the image it replaced, which is what
  ``rollback`` goes back to.

Pure: validated in the tests against the Kubernetes JSON schemas
(the ``kubernetes-validate`` package).
"""

from __future__ import annotations

from typing import Any

from mlops_ci.image.spec import PORT, USER_ID

ANNOTATION_IMAGE = "mlops-ci.io/image"
ANNOTATION_PREVIOUS = "mlops-ci.io/previous-image"
ANNOTATION_MODEL = "mlops-ci.io/model"


def labels(service: str, environment: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": service, "app.kubernetes.io/component": "model-server",
            "app.kubernetes.io/managed-by": "mlops-ci", "mlops-ci.io/environment": environment}


def _probe(path: str, period: int, failures: int, timeout: int = 3) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": "http"}, "periodSeconds": period, "failureThreshold": failures,
            "timeoutSeconds": timeout}


def deployment(*, service: str, environment: str, namespace: str, image: str, replicas: int, cpu_request: str,
               memory_request: str, cpu_limit: str | None, memory_limit: str, progress_deadline: int,
               previous_image: str | None = None, model: str | None = None,
               image_pull_secret: str | None = None) -> dict[str, Any]:
    selector = {"app.kubernetes.io/name": service, "mlops-ci.io/environment": environment}
    annotations = {ANNOTATION_IMAGE: image}
    if previous_image:
        annotations[ANNOTATION_PREVIOUS] = previous_image
    if model:
        annotations[ANNOTATION_MODEL] = model
    limits: dict[str, str] = {"memory": memory_limit}
    if cpu_limit:
        limits["cpu"] = cpu_limit
    pod_spec: dict[str, Any] = {
        "securityContext": {"runAsNonRoot": True, "runAsUser": USER_ID, "runAsGroup": USER_ID,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{
            "name": "model-server",
            "image": image,
            "imagePullPolicy": "IfNotPresent",
            "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
            "readinessProbe": _probe("/health", 5, 3),
            "startupProbe": _probe("/health", 5, 60),
            "livenessProbe": _probe("/health", 10, 3),
            "resources": {"requests": {"cpu": cpu_request, "memory": memory_request}, "limits": limits},
            "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]}},
            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        }],
        "volumes": [{"name": "tmp", "emptyDir": {}}],
    }
    if image_pull_secret:
        pod_spec["imagePullSecrets"] = [{"name": image_pull_secret}]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": service, "namespace": namespace, "labels": labels(service, environment),
                     "annotations": annotations},
        "spec": {
            "replicas": replicas,
            "revisionHistoryLimit": 5,
            "progressDeadlineSeconds": max(10, int(progress_deadline)),
            "selector": {"matchLabels": selector},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {"metadata": {"labels": labels(service, environment), "annotations": {ANNOTATION_IMAGE: image}},
                         "spec": pod_spec},
        },
    }


def service_manifest(*, service: str, environment: str, namespace: str, service_type: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": service, "namespace": namespace, "labels": labels(service, environment)},
        "spec": {"type": service_type,
                 "selector": {"app.kubernetes.io/name": service, "mlops-ci.io/environment": environment},
                 "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]},
    }


def container_image(deployment_obj: dict[str, Any] | None) -> str | None:
    """The image of the model-server container of a Deployment (as returned by the API)."""
    if not deployment_obj:
        return None
    containers = (((deployment_obj.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
    for container in containers:
        if container.get("name") == "model-server":
            return container.get("image")
    return containers[0].get("image") if containers else None


def rollout_state(deployment_obj: dict[str, Any]) -> tuple[str, str]:
    """("done" | "progressing" | "failed", why) — the logic of `kubectl rollout status`."""
    meta, spec = deployment_obj.get("metadata") or {}, deployment_obj.get("spec") or {}
    status = deployment_obj.get("status") or {}
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
            return "failed", f"progress deadline exceeded: {cond.get('message', '')}".strip()
    if (status.get("observedGeneration") or 0) < (meta.get("generation") or 0):
        return "progressing", "waiting for the controller to observe the new spec"
    want = spec.get("replicas", 1)
    updated = status.get("updatedReplicas") or 0
    total = status.get("replicas") or 0
    available = status.get("availableReplicas") or 0
    if updated < want:
        return "progressing", f"{updated} of {want} new replicas updated"
    if total > updated:
        return "progressing", f"{total - updated} old replicas pending termination"
    if available < updated:
        return "progressing", f"{available} of {updated} updated replicas available"
    return "done", f"{available} of {want} replicas available"
