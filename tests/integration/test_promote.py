"""`mlops-ci promote` against a real MLflow server: the gate is re-checked, the audit trail kept."""

import json

import pytest

from tests.integration.test_register import add_model

pytestmark = pytest.mark.integration

RULES = "gate:\n  rules:\n    - metric: auc\n      direction: higher\n      max_regression: 0.01\n"


def register(repo, env, auc, name="promo"):
    repo.write("metrics.json", json.dumps({"auc": auc}))
    repo.commit(f"auc {auc}")
    proc = repo.mlops("register", "--model-name", name, env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads((repo.root / ".mlops-ci" / "out" / "registry.json").read_text())["model-version"]


def test_promote_rechecks_the_gate_and_keeps_an_audit_trail(dvc_repo, mlflow_server):
    from mlflow import MlflowClient

    env = {"MLFLOW_TRACKING_URI": mlflow_server.url, "GITHUB_ACTOR": "release-bot"}
    dvc_repo.write(".mlops-ci.yml", RULES)
    add_model(dvc_repo)
    v1 = register(dvc_repo, env, 0.80)

    first = dvc_repo.mlops("promote", "--model-name", "promo", env=env)
    assert first.returncode == 0, first.stderr
    client = MlflowClient(mlflow_server.url)
    assert client.get_model_version_by_alias("promo", "champion").version == v1

    v2 = register(dvc_repo, env, 0.70)  # worse: the gate must refuse
    refused = dvc_repo.mlops("promote", "--model-name", "promo", env=env)
    assert refused.returncode == 1
    assert f"not promoting promo v{v2}" in refused.stderr
    assert client.get_model_version_by_alias("promo", "champion").version == v1

    v3 = register(dvc_repo, env, 0.85)
    better = dvc_repo.mlops("promote", "--model-name", "promo", "--reason", "quarterly retrain", env=env)
    assert better.returncode == 0, better.stderr
    assert client.get_model_version_by_alias("promo", "champion").version == v3
    assert client.get_model_version_by_alias("promo", "previous-champion").version == v1
    tags = client.get_model_version("promo", v3).tags
    assert tags["mlops-ci.promoted.champion.by"] == "release-bot"
    assert tags["mlops-ci.promoted.champion.why"] == "quarterly retrain"
    assert tags["mlops-ci.promoted.champion.gate"] == "success"

    forced = dvc_repo.mlops("promote", "--model-name", "promo", "--version", v2, "--force",
                            "--reason", "hotfix", env=env)
    assert forced.returncode == 0, forced.stderr
    audit = json.loads(client.get_registered_model("promo").tags["mlops-ci.audit"])
    assert [(e["version"], e["forced"]) for e in audit] == [(v1, False), (v3, False), (v2, True)]
    assert audit[-1]["previous"] == v3

    again = dvc_repo.mlops("promote", "--model-name", "promo", "--version", v2, env=env)
    assert again.returncode == 0 and "already is @champion" in again.stdout


def test_promote_without_a_challenger_is_bad_input(dvc_repo, mlflow_server):
    proc = dvc_repo.mlops("promote", "--model-name", "nothing-here",
                          env={"MLFLOW_TRACKING_URI": mlflow_server.url})
    assert proc.returncode in (1, 2)
    assert "nothing-here" in proc.stderr and "Traceback" not in proc.stderr


def test_git_tag_promotion(dvc_repo):
    dvc_repo.write(".mlops-ci.yml", "registry:\n  mode: git-tags\n" + RULES)
    dvc_repo.write("metrics.json", json.dumps({"auc": 0.8}))
    dvc_repo.commit("v1")
    assert dvc_repo.mlops("register", "--model-name", "churn").returncode == 0
    proc = dvc_repo.mlops("promote", "--model-name", "churn")
    assert proc.returncode == 0, proc.stderr
    assert "churn#prod#1" in dvc_repo.sh("git", "tag", "--list").stdout.split()
    # the promoted tag is now the gate's champion
    dvc_repo.write("metrics.json", json.dumps({"auc": 0.7}))
    gate = dvc_repo.mlops("gate", "--model-name", "churn")
    assert "git tag `churn#prod#1`" in gate.stdout
    # a worse version is refused by the gate against the prod tag
    dvc_repo.commit("v2")
    assert dvc_repo.mlops("register", "--model-name", "churn").returncode == 0
    refused = dvc_repo.mlops("promote", "--model-name", "churn")
    assert refused.returncode == 1 and "not promoting churn@v0.2.0" in refused.stderr
    assert "churn#prod#2" not in dvc_repo.sh("git", "tag", "--list").stdout.split()


def test_the_gate_links_the_mlflow_champion_and_reads_legacy_stages(dvc_repo, mlflow_server):
    """Champion by alias, with a link to its MLflow page; on a registry that predates aliases, by stage."""
    from mlflow import MlflowClient

    env = {"MLFLOW_TRACKING_URI": mlflow_server.url}
    name = "linked"  # a model of its own: the server is shared with the other tests
    dvc_repo.write(".mlops-ci.yml", RULES)
    add_model(dvc_repo)
    v1 = register(dvc_repo, env, 0.80, name)
    assert dvc_repo.mlops("promote", "--model-name", name, env=env).returncode == 0
    dvc_repo.write("metrics.json", json.dumps({"auc": 0.81}))
    gated = dvc_repo.mlops("gate", "--model-name", name, env=env)
    assert gated.returncode == 0, gated.stderr
    verdict = json.loads((dvc_repo.root / ".mlops-ci" / "out" / "gate.json").read_text())
    assert verdict["champion_url"] == f"{mlflow_server.url}/#/models/{name}/versions/{v1}"
    assert dvc_repo.mlops("report", env=env).returncode == 0
    comment = (dvc_repo.root / ".mlops-ci" / "out" / "comment.md").read_text()
    assert f"- **MLflow champion**: {mlflow_server.url}/#/models/{name}/versions/{v1}" in comment

    # an old registry: the production model is marked by stage, no alias anywhere
    client = MlflowClient(mlflow_server.url)
    client.delete_registered_model_alias(name, "champion")
    client.transition_model_version_stage(name, v1, "Production")
    legacy = dvc_repo.mlops("gate", "--model-name", name, env=env)
    assert legacy.returncode == 0, legacy.stderr
    verdict = json.loads((dvc_repo.root / ".mlops-ci" / "out" / "gate.json").read_text())
    assert "stage Production" in verdict["champion_source"] and f"version {v1}" in verdict["champion_source"]
