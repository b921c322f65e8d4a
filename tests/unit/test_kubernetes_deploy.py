"""Kubernetes manifests (validated against the Kubernetes JSON schemas) and the rollout / undo logic
against a faked API server — no real cluster runs in CI."""

from __future__ import annotations

import pytest

from mlops_ci.deploy import manifests
from mlops_ci.deploy.config import KubernetesConfig
from mlops_ci.deploy.kubernetes_target import KubernetesTarget
from mlops_ci.deploy.smoke import SmokeResult
from tests.services.fake_kubernetes import K8S_VERSION, validate

DIGEST = "sha256:" + "1" * 64
GOOD, GOOD2 = f"reg/churn@{DIGEST}", "reg/churn@sha256:" + "2" * 64
BROKEN, STUCK = "reg/churn-broken@sha256:" + "3" * 64, "reg/churn-stuck@sha256:" + "4" * 64


def rendered(**kw):
    cfg = KubernetesConfig(**kw)
    return [manifests.service_manifest(service="churn-production", environment="production", namespace="ml",
                                       service_type=cfg.service_type),
            manifests.deployment(service="churn-production", environment="production", namespace="ml", image=GOOD,
                                 replicas=cfg.replicas, cpu_request=cfg.cpu_request, memory_request=cfg.memory_request,
                                 cpu_limit=cfg.cpu_limit, memory_limit=cfg.memory_limit, progress_deadline=120,
                                 previous_image=GOOD2, model="churn v3", image_pull_secret=cfg.image_pull_secret)]


@pytest.mark.parametrize("settings", [{}, {"cpu_limit": None, "service_type": "LoadBalancer",
                                           "image_pull_secret": "ghcr"}])
def test_manifests_validate_against_the_kubernetes_schemas(settings):
    for obj in rendered(**settings):
        validate(obj)  # kubernetes-validate, strict: unknown fields are errors too
    service, deployment = rendered(**settings)
    spec = deployment["spec"]
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    container = spec["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert container["livenessProbe"]["httpGet"]["path"] == "/health" and "startupProbe" in container
    assert container["resources"]["requests"] == {"cpu": "250m", "memory": "512Mi"}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert spec["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    assert spec["selector"]["matchLabels"] == service["spec"]["selector"]
    assert deployment["metadata"]["annotations"][manifests.ANNOTATION_PREVIOUS] == GOOD2


def test_a_wrong_manifest_is_caught_by_the_schema():
    import kubernetes_validate

    bad = rendered()[1]
    bad["spec"]["strategy"]["rollingUpdate"]["maxUnavailabel"] = 0
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSION, strict=True)


def test_rollout_state_follows_kubectl():
    dep = {"metadata": {"generation": 2}, "spec": {"replicas": 2}, "status": {"observedGeneration": 1}}
    assert manifests.rollout_state(dep)[0] == "progressing"
    dep["status"] = {"observedGeneration": 2, "updatedReplicas": 2, "replicas": 3, "availableReplicas": 2}
    assert manifests.rollout_state(dep) == ("progressing", "1 old replicas pending termination")
    dep["status"]["replicas"] = 2
    assert manifests.rollout_state(dep)[0] == "done"
    dep["status"]["conditions"] = [{"type": "Progressing", "reason": "ProgressDeadlineExceeded", "message": "x"}]
    assert manifests.rollout_state(dep)[0] == "failed"


def target(fake, timeout=30.0, url=None):
    from kubernetes import client

    from mlops_ci.adapters.kubernetes_api import KubernetesApi

    configuration = client.Configuration(host=fake.url)
    api = KubernetesApi(client.ApiClient(configuration))
    return KubernetesTarget(api, service="churn-production", environment="production", namespace="ml",
                            settings=KubernetesConfig(replicas=2), replicas=2, health_timeout=timeout, url=url,
                            poll_interval=0.01)


def test_rollout_then_failed_rollout_is_undone(fake_kubernetes):
    t = target(fake_kubernetes)
    first = t.deploy(GOOD, None)
    assert first.ok and first.previous_image is None and "2 of 2 replicas available" in first.reason
    assert fake_kubernetes.image("ml", "churn-production") == GOOD
    assert [w[1] for w in fake_kubernetes.writes] == ["Service", "Deployment"]

    second = t.deploy(GOOD2, None)
    assert second.ok and second.previous_image == GOOD
    assert t.previous_image() == GOOD

    broken = t.deploy(BROKEN, None)
    assert not broken.ok and broken.rolled_back and broken.serving_image == GOOD2
    assert "progress deadline exceeded" in broken.reason and f"undone to {GOOD2}" in broken.reason
    assert fake_kubernetes.image("ml", "churn-production") == GOOD2
    # the undo keeps the rollback history: previous of GOOD2 is still GOOD
    assert t.previous_image() == GOOD
    assert [w[2] for w in fake_kubernetes.writes if w[1] == "Deployment"] == [GOOD, GOOD2, BROKEN, GOOD2]


def test_a_stuck_rollout_times_out_and_is_undone(fake_kubernetes):
    t = target(fake_kubernetes, timeout=0.3)
    assert t.deploy(GOOD, None).ok
    stuck = t.deploy(STUCK, None)
    assert not stuck.ok and stuck.rolled_back
    assert "rollout not finished after 0 s" in stuck.reason
    assert fake_kubernetes.image("ml", "churn-production") == GOOD


def test_failed_smoke_parity_undoes_the_rollout(fake_kubernetes):
    calls = []

    def smoke(url):
        calls.append(url)
        return SmokeResult(ok=len(calls) == 1, checked=10, agreed=10 if len(calls) == 1 else 7,
                           reason="parity 10/10 rows" if len(calls) == 1 else "parity 7/10 rows")

    t = target(fake_kubernetes, url="https://churn.example")
    assert t.deploy(GOOD, smoke).ok
    failed = t.deploy(GOOD2, smoke)
    assert not failed.ok and failed.rolled_back and "smoke test failed: parity 7/10" in failed.reason
    assert calls == ["https://churn.example"] * 2
    assert fake_kubernetes.image("ml", "churn-production") == GOOD


def test_first_failed_rollout_has_nothing_to_undo(fake_kubernetes):
    outcome = target(fake_kubernetes).deploy(BROKEN, None)
    assert not outcome.ok and not outcome.rolled_back and "nothing to undo to" in outcome.reason


def test_an_undone_rollout_with_no_earlier_image_leaves_no_stale_rollback_target(fake_kubernetes):
    t = target(fake_kubernetes)
    assert t.deploy(GOOD, None).ok
    broken = t.deploy(BROKEN, None)
    assert not broken.ok and broken.rolled_back and fake_kubernetes.image("ml", "churn-production") == GOOD
    # BROKEN's rollout recorded GOOD as its previous image; the undo back to GOOD must remove that annotation,
    # or `rollback` would answer "already serves" instead of "nothing to roll back to"
    annotations = fake_kubernetes.deployments[("ml", "churn-production")]["metadata"]["annotations"]
    assert annotations == {manifests.ANNOTATION_IMAGE: GOOD}
    assert t.previous_image() is None
