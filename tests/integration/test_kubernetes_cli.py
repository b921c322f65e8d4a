"""`mlops-ci deploy/rollback --target kubernetes` end to end against the faked API server (kubeconfig)."""

import json

import pytest

from tests.unit.test_kubernetes_deploy import BROKEN, DIGEST, GOOD

@pytest.mark.integration
def test_deploy_command_with_a_kubeconfig(fake_kubernetes, dvc_repo, tmp_path):
    kubeconfig = fake_kubernetes.kubeconfig(tmp_path / "kubeconfig")
    dvc_repo.write(".mlops-ci.yml", "deploy:\n  target: kubernetes\n  kubernetes:\n    namespace: ml\n")
    env = {"KUBECONFIG": str(kubeconfig), "DOCKER_HOST": "unix:///nonexistent.sock"}
    ok = dvc_repo.mlops("deploy", "-e", "staging", "--image", GOOD, "--model-name", "churn", "--no-smoke", env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert fake_kubernetes.image("ml", "churn-staging") == GOOD
    bad = dvc_repo.mlops("deploy", "-e", "staging", "--image", BROKEN, "--model-name", "churn", "--no-smoke", env=env)
    assert bad.returncode == 1 and "undone to" in bad.stderr
    back = dvc_repo.mlops("rollback", "-e", "staging", "--model-name", "churn", "--no-smoke", "--to", DIGEST,
                          "--repository", "reg/churn", env=env)
    assert back.returncode == 2 and "already serves" in back.stderr
    out = json.loads((dvc_repo.root / ".mlops-ci" / "out" / "deploy-staging.json").read_text())
    assert out["rolled_back"] is True and out["serving_image"] == GOOD
