"""runners/arc/values-gpu.yaml against what the gha-runner-scale-set chart documents and Kubernetes accepts.

No cluster runs here: chart keys are checked against the key paths the chart documents
(tests/fixtures/arc/, with their sources), the pod template against the Kubernetes
PodSpec JSON schema (kubernetes-validate, strict: unknown fields fail), and the
chart's own `fail` rules are re-checked.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import kubernetes_validate
import pytest
import yaml

from mlops_ci.runners.selfhosted import gpu_required_by, parse_labels

ROOT = Path(__file__).resolve().parents[2]
VALUES = ROOT / "runners" / "arc" / "values-gpu.yaml"
CHART = json.loads((ROOT / "tests" / "fixtures" / "arc" / "gha-runner-scale-set-keys.json").read_text())
#: The Kubernetes minor version the pod template is validated for.
KUBERNETES = "1.33.0"


def key_paths(node: Any, prefix: str = "") -> Iterator[str]:
    """Every mapping key path ('a.b', list items as 'a[]'), stopping below free-form paths."""
    if prefix in CHART["free_form"]:
        return
    if isinstance(node, dict):
        for key, value in node.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            yield path
            yield from key_paths(value, path)
    elif isinstance(node, list):
        for item in node:
            yield f"{prefix}[]"
            yield from key_paths(item, f"{prefix}[]")


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    return yaml.safe_load(VALUES.read_text())


def test_every_key_is_one_the_chart_documents(values):
    documented = set(CHART["keys"])
    unknown = sorted({p for p in key_paths(values)} - documented)
    assert unknown == [], f"keys the chart does not document: {unknown}"


def test_the_key_check_catches_a_typo(values):
    broken = {**values, "maxRunner": 3, "template": {**values["template"], "specs": {}}}
    assert {"maxRunner", "template.specs"} <= set(key_paths(broken)) - set(CHART["keys"])


def pod(spec: dict[str, Any], metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "runner", **(metadata or {})}, "spec": spec}


def test_pod_template_is_a_valid_kubernetes_podspec(values):
    try:
        kubernetes_validate.validate(pod(values["template"]["spec"], values["template"].get("metadata")),
                                     KUBERNETES, strict=True)
    except kubernetes_validate.ValidationError as exc:
        pytest.fail(f"template.spec is not a valid PodSpec: {str(exc).splitlines()[0]}")


def test_podspec_validation_rejects_a_wrong_field(values):
    spec = json.loads(json.dumps(values["template"]["spec"]))
    spec["containers"][0]["resource"] = spec["containers"][0].pop("resources")
    with pytest.raises(kubernetes_validate.ValidationError, match="'resource' was unexpected"):
        kubernetes_validate.validate(pod(spec), KUBERNETES, strict=True)


def test_chart_rules(values):
    rules = CHART["template_rules"]
    assert 0 <= values["minRunners"] <= values["maxRunners"]
    assert 0 < len(values["runnerScaleSetName"]) <= rules["runnerScaleSetName_max_length"]
    assert all(isinstance(label, str) and 0 < len(label) <= rules["scaleSetLabel_max_length"]
               for label in values["scaleSetLabels"])
    runner = {c["name"]: c for c in values["template"]["spec"]["containers"]}[rules["runner_container_name"]]
    assert runner["command"] == ["/home/runner/run.sh"]


def test_gpu_scheduling(values):
    spec = values["template"]["spec"]
    (runner,) = spec["containers"]
    limits, requests = runner["resources"]["limits"], runner["resources"]["requests"]
    assert isinstance(limits["nvidia.com/gpu"], int) and limits["nvidia.com/gpu"] >= 1
    # Kubernetes rejects an extended-resource request that differs from its limit.
    assert requests.get("nvidia.com/gpu", limits["nvidia.com/gpu"]) == limits["nvidia.com/gpu"]
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]
    assert spec["nodeSelector"]
    mounts = {m["name"]: m["mountPath"] for m in runner["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert mounts["work"] == "/home/runner/_work" and "emptyDir" in volumes["work"]
    assert mounts["dshm"] == "/dev/shm" and volumes["dshm"]["emptyDir"]["medium"] == "Memory"


def test_labels_make_the_doctor_require_a_gpu(values):
    assert gpu_required_by(values["scaleSetLabels"]) == "runner label 'gpu'"
    env = {e["name"]: e["value"] for e in values["template"]["spec"]["containers"][0]["env"]}
    assert parse_labels(env["MLOPS_CI_LABELS"]) == values["scaleSetLabels"], "the doctor reads MLOPS_CI_LABELS"


def test_runs_as_the_image_user(values):
    dockerfile = (ROOT / "runners" / "image" / "Dockerfile").read_text()
    uid = values["template"]["spec"]["securityContext"]["runAsUser"]
    assert f"useradd --uid {uid} " in dockerfile and values["template"]["spec"]["securityContext"]["runAsNonRoot"]
