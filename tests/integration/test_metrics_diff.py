"""`mlops-ci metrics diff` on real git history."""

import json

import pytest

from tests.integration.dvcrepo import DvcRepo

pytestmark = pytest.mark.integration


def commit_metrics(repo: DvcRepo, metrics: dict, message: str) -> str:
    repo.write("metrics.json", json.dumps(metrics))
    return repo.commit(message)


def test_diff_between_commits_and_workspace(dvc_repo):
    base = commit_metrics(dvc_repo, {"auc": 0.80, "loss": 0.40, "nested": {"f1": 0.5}}, "base")
    dvc_repo.sh("git", "checkout", "-q", "-b", "feature")
    head = commit_metrics(dvc_repo, {"auc": 0.85, "loss": 0.45, "nested": {"f1": 0.5}}, "head")

    proc = dvc_repo.mlops("metrics", "diff", "--format", "json")  # base: merge-base with main
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["base"] == base[:7] and data["head"] == "workspace"
    rows = {m["name"]: m for m in data["metrics"]}
    assert rows["auc"]["status"] == "improved" and rows["auc"]["abs_change"] == pytest.approx(0.05)
    assert rows["loss"]["status"] == "regressed"
    assert rows["nested.f1"]["status"] == "unchanged"

    md = dvc_repo.mlops("metrics", "diff", "--base", "main", "--head", head, "--precision", "2").stdout
    assert "| 🟢 auc | 0.8 | 0.85 | +0.05 (+6.2%) |" in md
    assert "nested.f1" not in md  # unchanged rows only with --all
    assert "nested.f1" in dvc_repo.mlops("metrics", "diff", "--base", "main", "--all").stdout


def test_metrics_config_directions_and_ignore(dvc_repo):
    commit_metrics(dvc_repo, {"auc": 0.8, "coverage": 0.5, "model": "a"}, "base")
    dvc_repo.write(".mlops-ci.yml", "metrics:\n  direction:\n    coverage: higher\n  ignore: [model]\n")
    dvc_repo.write("metrics.json", json.dumps({"auc": 0.8, "coverage": 0.6, "model": "b"}))
    data = json.loads(dvc_repo.mlops("metrics", "diff", "--format", "json").stdout)
    assert {m["name"]: m["status"] for m in data["metrics"]} == {"auc": "unchanged", "coverage": "improved"}


def test_dvc_cached_metrics_are_read_from_the_cache(dvc_repo):
    dvc_repo.write("dvc.yaml", dvc_repo.root.joinpath("dvc.yaml").read_text().replace(
        "    - metrics.json:\n        cache: false\n", "    - metrics.json\n"))
    assert dvc_repo.mlops("repro", "--no-push").returncode == 0
    base = dvc_repo.commit("cached metrics")
    assert "metrics.json" in (dvc_repo.root / ".gitignore").read_text()  # not in git: only in the DVC cache
    dvc_repo.write("params.yaml", "prepare:\n  scale: 2.0\ntrain:\n  bias: 0.35\n")
    assert dvc_repo.mlops("repro", "--no-push").returncode == 0
    data = json.loads(dvc_repo.mlops("metrics", "diff", "--base", base, "--format", "json").stdout)
    auc = next(m for m in data["metrics"] if m["name"] == "auc")
    assert (auc["old"], auc["new"]) == (0.75, 0.85)


def test_bad_metrics_file_is_exit_2_naming_the_file(dvc_repo):
    commit_metrics(dvc_repo, {"auc": 0.8}, "base")
    dvc_repo.write("metrics.json", '{"auc": NaN}')
    proc = dvc_repo.mlops("metrics", "diff")
    assert proc.returncode == 2
    assert "metrics.json: metric 'auc' is NaN; expected a finite number" in proc.stderr and "Traceback" not in proc.stderr
    dvc_repo.write("metrics.json", '{"auc": "high"}')
    proc = dvc_repo.mlops("metrics", "diff")
    assert proc.returncode == 2 and "metric 'auc' is a string; expected a number" in proc.stderr


def test_not_a_git_repo_and_unknown_revision(tmp_path, dvc_repo):
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "dvc.yaml").write_text("stages: {}\n")
    proc = DvcRepo(plain, tmp_path / "log").mlops("metrics", "diff")
    assert proc.returncode == 2 and "is not inside a git repository" in proc.stderr
    proc = dvc_repo.mlops("metrics", "diff", "--base", "no-such-branch")
    assert proc.returncode == 2 and "--base no-such-branch: no such revision" in proc.stderr


def test_debug_shows_the_traceback(dvc_repo):
    dvc_repo.write("metrics.json", "{")
    proc = dvc_repo.mlops("--debug", "metrics", "diff")
    assert proc.returncode == 2 and "Traceback" in proc.stderr


def test_shallow_clone_fetches_the_base_commit(dvc_repo, tmp_path):
    base = commit_metrics(dvc_repo, {"auc": 0.8}, "base")
    dvc_repo.sh("git", "config", "uploadpack.allowAnySHA1InWant", "true")
    commit_metrics(dvc_repo, {"auc": 0.9}, "head")
    clone_dir = tmp_path / "shallow"
    dvc_repo.sh("git", "clone", "-q", "--depth=1", f"file://{dvc_repo.root}", str(clone_dir))
    clone = DvcRepo(clone_dir, dvc_repo.log)
    assert clone.sh("git", "cat-file", "-e", f"{base}^{{commit}}", check=False).returncode != 0

    data = json.loads(clone.mlops("metrics", "diff", "--base", base, "--format", "json").stdout)
    assert data["metrics"][0]["old"] == 0.8 and data["metrics"][0]["new"] == 0.9

    # Without a reachable origin the error explains fetch-depth: 0.
    other = tmp_path / "shallow2"
    dvc_repo.sh("git", "clone", "-q", "--depth=1", f"file://{dvc_repo.root}", str(other))
    lonely = DvcRepo(other, dvc_repo.log)
    lonely.sh("git", "remote", "remove", "origin")
    proc = lonely.mlops("metrics", "diff", "--base", base)
    assert proc.returncode == 2
    assert "not in this clone and could not be fetched" in proc.stderr
    assert "fetch-depth: 0" in proc.stderr


def test_pull_request_event_uses_the_pr_base(dvc_repo, tmp_path):
    base = commit_metrics(dvc_repo, {"auc": 0.8}, "base")
    head = commit_metrics(dvc_repo, {"auc": 0.7}, "head")
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"action": "opened", "number": 3, "repository": {"full_name": "o/r"},
                                 "pull_request": {"number": 3, "base": {"sha": base, "ref": "main"},
                                                  "head": {"sha": head, "ref": "f", "repo": {"full_name": "o/r"}}}}))
    out = tmp_path / "gh-output"
    summary = tmp_path / "gh-summary"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event),
           "GITHUB_REPOSITORY": "o/r", "GITHUB_SHA": head, "GITHUB_OUTPUT": str(out),
           "GITHUB_STEP_SUMMARY": str(summary)}
    proc = dvc_repo.mlops("metrics", "diff", "--format", "json", env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["base"] == base[:7]
    assert "regressed=1" in out.read_text()
    assert "🔴 auc" in summary.read_text()
