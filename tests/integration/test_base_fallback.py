"""`--base main` in a CI clone: actions/checkout leaves no local branches, only origin's."""

import json

import pytest

from tests.integration.dvcrepo import DvcRepo

pytestmark = pytest.mark.integration


def test_base_branch_name_falls_back_to_origin_in_a_ci_clone(dvc_repo, tmp_path):
    dvc_repo.write("metrics.json", json.dumps({"auc": 0.8}))
    base = dvc_repo.commit("base")
    dvc_repo.sh("git", "checkout", "-q", "-b", "feature")
    dvc_repo.write("metrics.json", json.dumps({"auc": 0.9}))
    head = dvc_repo.commit("head")

    # like actions/checkout of a PR: the head commit detached, no local branch at all
    clone = DvcRepo(tmp_path / "ci-clone", dvc_repo.log)
    dvc_repo.sh("git", "clone", "-q", "--no-checkout", f"file://{dvc_repo.root}", str(clone.root))
    clone.sh("git", "checkout", "-q", "--detach", head)
    for branch in clone.sh("git", "for-each-ref", "--format=%(refname:short)", "refs/heads").stdout.split():
        clone.sh("git", "branch", "-D", branch)
    assert clone.sh("git", "rev-parse", "--verify", "--quiet", "main", check=False).returncode != 0

    proc = clone.mlops("metrics", "diff", "--base", "main", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["base"] == base[:7]
    assert data["metrics"][0]["old"] == 0.8 and data["metrics"][0]["new"] == 0.9

    # a name that is neither a local nor an origin branch is still an error naming it
    proc = clone.mlops("metrics", "diff", "--base", "no-such-branch")
    assert proc.returncode == 2 and "--base no-such-branch: no such revision" in proc.stderr
