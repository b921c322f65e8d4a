"""Threat: a pull-request job writes outputs or run-cache entries that main later restores and ships.

`repro.push_remote` sends a PR job's pushes to a remote main never reads; main, pulling from its own
remote, finds nothing of the PR's and runs the stages itself. (Fork runs never push at all: see
test_fork_approvals.py.)
"""

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def files_under(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*") if p.is_file()}


def test_a_pr_jobs_pushes_land_in_its_own_remote_and_main_does_not_restore_them(dvc_repo, tmp_path):
    main_remote, pr_remote = tmp_path / "remote", tmp_path / "pr-remote"
    dvc_repo.dvc("remote", "add", "pr-cache", str(pr_remote))
    dvc_repo.write(".mlops-ci.yml", "repro:\n  push_remote: pr-cache\n")
    dvc_repo.commit("PR jobs push to their own remote")
    before = files_under(main_remote)

    pr_job = dvc_repo.mlops("repro")
    assert pr_job.returncode == 0, pr_job.stderr
    assert dvc_repo.stages_run() == ["prepare", "train", "evaluate"]
    assert files_under(main_remote) == before, "a PR job wrote to the remote main restores from"
    pushed = files_under(pr_remote)
    assert any(p.startswith("files/") for p in pushed) and any("runs/" in p for p in pushed), pushed

    # main, in a fresh clone: pulls data and run-cache from its own remote, so it runs every stage itself
    clone = tmp_path / "main-clone"
    dvc_repo.sh("git", "clone", "-q", str(dvc_repo.root), str(clone))
    from tests.integration.dvcrepo import DvcRepo

    main = DvcRepo(clone, tmp_path / "main-stages.txt")
    main.write(".mlops-ci.yml", "repro:\n  push: false\n")
    main_job = main.mlops("repro")
    assert main_job.returncode == 0, main_job.stderr
    assert main.stages_run() == ["prepare", "train", "evaluate"]
    record = json.loads((clone / ".mlops-ci" / "out" / "repro.json").read_text())
    assert {s["status"] for s in record["stages"]} == {"ran"}
