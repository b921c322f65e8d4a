"""Metrics and params files in every supported format, read at git revisions (not only the working tree).

The format comes from the file's name; the revision only shows up in messages.
"""

import json

import pytest

pytestmark = pytest.mark.integration

METRICS_PIPELINE = """\
metrics:
  - m.json
  - m.yaml
  - m.toml
  - m.csv
  - m.tsv
stages: {}
"""

PARAMS_PIPELINE = """\
stages:
  train:
    cmd: python -c "print('train')"
    params:
      - params.toml:
          - train
      - hp.yaml:
"""


def write_metrics(repo, auc: float, loss: float) -> None:
    repo.write("m.json", json.dumps({"auc": auc, "eval": {"loss": loss}}))
    repo.write("m.yaml", f"auc: {auc}\neval:\n  loss: {loss}\n")
    repo.write("m.toml", f"auc = {auc}\n\n[eval]\nloss = {loss}\n")
    repo.write("m.csv", f"auc,loss\n{auc},{loss}\n")
    repo.write("m.tsv", f"auc\tloss\n{auc}\t{loss}\n")


def metric_rows(proc) -> dict:
    assert proc.returncode == 0, proc.stderr
    return {(m["path"], m["name"]): (m["old"], m["new"]) for m in json.loads(proc.stdout)["metrics"]}


EXPECTED_METRICS = {
    ("m.json", "auc"): (0.8, 0.85), ("m.json", "eval.loss"): (0.4, 0.35),
    ("m.yaml", "auc"): (0.8, 0.85), ("m.yaml", "eval.loss"): (0.4, 0.35),
    ("m.toml", "auc"): (0.8, 0.85), ("m.toml", "eval.loss"): (0.4, 0.35),
    ("m.csv", "auc"): (0.8, 0.85), ("m.csv", "loss"): (0.4, 0.35),
    ("m.tsv", "auc"): (0.8, 0.85), ("m.tsv", "loss"): (0.4, 0.35),
}


def test_metrics_diff_of_every_format_between_two_commits(dvc_repo):
    dvc_repo.write("dvc.yaml", METRICS_PIPELINE)
    write_metrics(dvc_repo, 0.8, 0.4)
    base = dvc_repo.commit("base metrics")
    write_metrics(dvc_repo, 0.85, 0.35)
    head = dvc_repo.commit("head metrics")

    rows = metric_rows(dvc_repo.mlops("metrics", "diff", "--base", "HEAD~1", "--all", "--format", "json"))
    assert rows == EXPECTED_METRICS  # head: the working tree (same as HEAD)

    rows = metric_rows(dvc_repo.mlops("metrics", "diff", "--base", base, "--head", head, "--all",
                                      "--format", "json"))
    assert rows == EXPECTED_METRICS  # both sides read from git

    reverse = metric_rows(dvc_repo.mlops("metrics", "diff", "--base", head, "--head", base, "--all",
                                         "--format", "json"))
    assert reverse == {key: (new, old) for key, (old, new) in EXPECTED_METRICS.items()}


def test_invalid_json_metrics_at_a_revision_names_the_file_and_revision(dvc_repo):
    dvc_repo.write("dvc.yaml", METRICS_PIPELINE)
    write_metrics(dvc_repo, 0.8, 0.4)
    dvc_repo.write("m.json", '{"auc": 0.8,')
    base = dvc_repo.commit("broken json")
    write_metrics(dvc_repo, 0.85, 0.35)
    head = dvc_repo.commit("fixed")

    proc = dvc_repo.mlops("metrics", "diff", "--base", base, "--head", head)
    assert proc.returncode == 2, proc.stderr
    assert f"m.json:1 (at {base[:12]}): not valid JSON" in proc.stderr
    assert "YAML" not in proc.stderr and "Traceback" not in proc.stderr


def test_invalid_toml_metrics_at_a_revision_is_reported_as_toml(dvc_repo):
    dvc_repo.write("dvc.yaml", METRICS_PIPELINE)
    write_metrics(dvc_repo, 0.8, 0.4)
    dvc_repo.write("m.toml", "auc = \n")
    base = dvc_repo.commit("broken toml")
    write_metrics(dvc_repo, 0.85, 0.35)
    dvc_repo.commit("fixed")

    proc = dvc_repo.mlops("metrics", "diff", "--base", base)
    assert proc.returncode == 2, proc.stderr
    assert f"m.toml (at {base[:12]}): not valid TOML" in proc.stderr and "Traceback" not in proc.stderr


def report_params(repo, *args: str) -> dict:
    proc = repo.mlops("report", "--all", "--no-plots", *args)
    assert proc.returncode == 0, proc.stderr
    data = json.loads((repo.root / ".mlops-ci" / "out" / "report.json").read_text())
    return {(p["path"], p["name"]): (p["old"], p["new"], p["status"]) for p in data["params"]["params"]}


def test_params_diff_of_toml_and_yaml_files_between_two_commits(dvc_repo):
    dvc_repo.write("dvc.yaml", PARAMS_PIPELINE)
    dvc_repo.write("params.toml", '[train]\nlr = 0.1\nepochs = 10\noptimizer = "sgd"\n\n[other]\nx = 1\n')
    dvc_repo.write("hp.yaml", "depth: 4\nlayers:\n  - 32\n  - 16\n")
    base = dvc_repo.commit("base params")
    dvc_repo.write("params.toml", '[train]\nlr = 0.05\nepochs = 10\noptimizer = "adam"\n\n[other]\nx = 2\n')
    dvc_repo.write("hp.yaml", "depth: 6\nlayers:\n  - 32\n  - 16\n")
    head = dvc_repo.commit("head params")

    expected = {
        ("params.toml", "train.lr"): (0.1, 0.05, "modified"),
        ("params.toml", "train.epochs"): (10, 10, "unchanged"),
        ("params.toml", "train.optimizer"): ("sgd", "adam", "modified"),
        ("hp.yaml", "depth"): (4, 6, "modified"),
        ("hp.yaml", "layers.0"): (32, 32, "unchanged"),
        ("hp.yaml", "layers.1"): (16, 16, "unchanged"),
    }  # other.x is not declared by the stage: not shown
    assert report_params(dvc_repo, "--base", base, "--head", head) == expected
    assert report_params(dvc_repo, "--base", "HEAD~1") == expected  # head: the working tree


def test_invalid_toml_params_at_a_revision_names_the_file_and_revision(dvc_repo):
    dvc_repo.write("dvc.yaml", PARAMS_PIPELINE)
    dvc_repo.write("params.toml", "[train]\nlr = \n")
    dvc_repo.write("hp.yaml", "depth: 4\n")
    base = dvc_repo.commit("broken params")
    dvc_repo.write("params.toml", "[train]\nlr = 0.1\n")
    head = dvc_repo.commit("fixed params")

    proc = dvc_repo.mlops("report", "--no-plots", "--base", base, "--head", head)
    assert proc.returncode == 2, proc.stderr
    assert f"params.toml (at {base[:12]}): params file is not valid TOML" in proc.stderr
    assert "Traceback" not in proc.stderr
