"""`mlops-ci register` against a real MLflow server."""

import json
import pickle

import pytest

pytestmark = pytest.mark.integration


def add_model(repo, name="models/model.pkl"):
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    path = repo.root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(model))
    repo.write("eval/predictions.csv", "row_id,y_true,y_score\n0,0,0.1\n1,1,0.8\n")


def test_register_logs_model_lineage_and_alias(dvc_repo, mlflow_server):
    assert dvc_repo.mlops("repro", "--no-push").returncode == 0
    add_model(dvc_repo)
    sha = dvc_repo.commit("Add churn model (#42)")
    env = {"MLFLOW_TRACKING_URI": mlflow_server.url}

    proc = dvc_repo.mlops("register", "--model-name", "toy", env=env)
    assert proc.returncode == 0, proc.stderr
    record = json.loads((dvc_repo.root / ".mlops-ci" / "out" / "registry.json").read_text())
    assert record["model-version"] == "1" and record["alias"] == "challenger"
    # no drift.reference in this project: registered without a profile, and it says so
    assert "no drift reference profile to store with the version" in proc.stdout + proc.stderr

    from mlflow import MlflowClient

    client = MlflowClient(mlflow_server.url)
    mv = client.get_model_version_by_alias("toy", "challenger")
    assert mv.tags["mlops-ci.git_sha"] == sha
    assert mv.tags["mlops-ci.pr"] == "42"
    stage = json.loads(mv.tags["mlops-ci.dvc.stage.train"])
    assert set(stage) == {"deps", "outs"} and "model.txt" in stage["outs"]
    run = client.get_run(mv.run_id)
    assert run.data.metrics["auc"] == 0.75 and run.data.params["train.bias"] == "0.25"
    artifacts = {a.path for a in client.list_artifacts(mv.run_id)}
    assert {"model", "predictions"} <= artifacts

    import mlflow.pyfunc

    mlflow.set_tracking_uri(mlflow_server.url)
    model = mlflow.pyfunc.load_model("models:/toy@challenger")
    assert list(model.predict([[0.0], [3.0]])) == [0, 1]

    # re-registering the same commit (a re-run of main's job) creates no new version: the alias is set again
    client.delete_registered_model_alias("toy", "challenger")
    again = dvc_repo.mlops("register", "--model-name", "toy", env=env)
    assert again.returncode == 0, again.stderr
    assert "already registered from this commit: no new version" in again.stdout
    assert [v.version for v in client.search_model_versions("name='toy'")] == ["1"]
    assert client.get_model_version_by_alias("toy", "challenger").version == "1"
    assert json.loads((dvc_repo.root / ".mlops-ci" / "out" / "registry.json").read_text())["model-version"] == "1"

    # a new commit's registration makes version 2 and moves the alias; with drift.reference configured the
    # training data's profile is built and stored with the version
    dvc_repo.write("data/train.csv", "x,plan\n" + "".join(f"{i / 10},{'ab'[i % 2]}\n" for i in range(200)))
    dvc_repo.write(".mlops-ci.yml", "drift:\n  reference: data/train.csv\n")
    dvc_repo.commit("Store the training data's drift profile with the model")
    assert dvc_repo.mlops("register", "--model-name", "toy", env=env).returncode == 0
    second = client.get_model_version_by_alias("toy", "challenger")
    assert second.version == "2"
    assert [a.path for a in client.list_artifacts(second.run_id, "reference")] == ["reference/reference-profile.json"]


def test_register_without_a_model_file_is_bad_input(dvc_repo, tmp_path):
    proc = dvc_repo.mlops("register", env={"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/m.db"})
    assert proc.returncode == 2
    assert "models/model.pkl: model file not found" in proc.stderr


def test_register_with_mlflow_down_fails_clearly(dvc_repo):
    add_model(dvc_repo)
    dvc_repo.commit("model")
    proc = dvc_repo.mlops("register", env={"MLFLOW_TRACKING_URI": "http://127.0.0.1:9",
                                           "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
                                           "MLFLOW_HTTP_REQUEST_TIMEOUT": "2"})
    assert proc.returncode == 1
    assert "MLflow (http://127.0.0.1:9)" in proc.stderr and "Traceback" not in proc.stderr


def test_git_tag_registry_mode(dvc_repo):
    dvc_repo.write(".mlops-ci.yml", "registry:\n  mode: git-tags\n")
    assert dvc_repo.mlops("repro", "--no-push").returncode == 0
    dvc_repo.commit("Train (#7)")
    proc = dvc_repo.mlops("register", "--model-name", "churn")
    assert proc.returncode == 0, proc.stderr
    assert dvc_repo.sh("git", "tag", "--list").stdout.split() == ["churn@v0.1.0"]
    message = dvc_repo.sh("git", "tag", "-l", "--format=%(contents)", "churn@v0.1.0").stdout
    assert json.loads(message)["metrics"]["auc"] == 0.75
    lineage = json.loads(message)["lineage"]
    assert lineage["mlops-ci.pr"] == "7" and set(json.loads(lineage["mlops-ci.dvc.stage.train"])) == {"deps", "outs"}
    # registering the same commit again is idempotent; a new commit gets the next version
    assert dvc_repo.mlops("register", "--model-name", "churn").returncode == 0
    dvc_repo.commit("retrain")
    assert dvc_repo.mlops("register", "--model-name", "churn").returncode == 0
    assert dvc_repo.sh("git", "tag", "--list").stdout.split() == ["churn@v0.1.0", "churn@v0.2.0"]
