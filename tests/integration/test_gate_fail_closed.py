"""Fail closed after the verdict too: an error while publishing completes the check as failure.

The gate runs in-process here so that a part of the publishing path (rendering, outputs,
annotations) can be made to raise; the check run is read back from the fake GitHub.
"""

import json
import os

import pytest

from mlops_ci.cli import main
from tests.integration.test_gate import RULES, gh_env

pytestmark = pytest.mark.integration


class Boom(RuntimeError):
    pass


@pytest.fixture
def gate_in_actions(fake_github, dvc_repo, tmp_path, monkeypatch):
    """``run(auc)``: commit a PR head with that auc and run the gate in-process as in Actions."""
    dvc_repo.write(".mlops-ci.yml", RULES)
    dvc_repo.write("metrics.json", json.dumps({"auc": 0.80, "loss": 0.40}, indent=2))
    base = dvc_repo.commit("base")
    dvc_repo.sh("git", "checkout", "-q", "-b", "pr")
    dvc_repo.write("params.yaml", "prepare:\n  scale: 2.0\ntrain:\n  bias: 0.1\n")

    def run(auc: float):
        dvc_repo.write("metrics.json", json.dumps({"auc": auc, "loss": 0.40}, indent=2))
        head = dvc_repo.commit(f"auc {auc}")
        for key in list(os.environ):
            if key.startswith(("GITHUB_", "MLOPS_CI_")):
                monkeypatch.delenv(key)
        for key, value in {**dvc_repo.env, **gh_env(fake_github, tmp_path, dvc_repo, head, base)}.items():
            monkeypatch.setenv(key, value)
        return head, lambda: main(["gate", "--project-dir", str(dvc_repo.root)])

    return run


def the_check(fake_github, head):
    (check,) = fake_github.check_runs(head, "mlops-ci / gate")
    return check


@pytest.mark.parametrize("target", ["mlops_ci.gate.verdict.render_markdown", "mlops_ci.github.actions.Runtime.set_output",
                                    "mlops_ci.github.actions.Runtime.append_summary"])
@pytest.mark.parametrize("auc", [0.85, 0.70], ids=["passing", "failing"])
def test_an_error_while_publishing_completes_the_check_as_failure(gate_in_actions, fake_github, monkeypatch,
                                                                   target, auc):
    head, gate = gate_in_actions(auc)

    def boom(*args, **kwargs):
        raise Boom("publishing went wrong")

    monkeypatch.setattr(target, boom)
    with pytest.raises(Boom):
        gate()
    check = the_check(fake_github, head)
    assert check.status == "completed" and check.conclusion == "failure"
    assert "publishing went wrong" in check.summary and "Boom" in check.summary


def test_an_error_building_annotations_completes_the_check_without_them(gate_in_actions, fake_github,
                                                                        monkeypatch, capsys):
    head, gate = gate_in_actions(0.70)
    monkeypatch.setattr("mlops_ci.gate.verdict.annotations", lambda *a, **k: (_ for _ in ()).throw(Boom("no lines")))
    assert gate() == 1
    check = the_check(fake_github, head)
    assert check.status == "completed" and check.conclusion == "failure"
    assert "auc" in check.summary and not check.annotations
    assert "annotations skipped" in capsys.readouterr().err


def test_an_error_completing_the_check_is_retried_as_a_failure(gate_in_actions, fake_github, monkeypatch):
    from mlops_ci.github.checks import CheckRun

    head, gate = gate_in_actions(0.85)
    real_complete, calls = CheckRun.complete, []

    def flaky_complete(self, outcome):
        calls.append(outcome.conclusion)
        if len(calls) == 1:
            raise Boom("GitHub hiccup")
        return real_complete(self, outcome)

    monkeypatch.setattr(CheckRun, "complete", flaky_complete)
    with pytest.raises(Boom):
        gate()
    assert calls == ["success", "failure"]
    check = the_check(fake_github, head)
    assert check.status == "completed" and check.conclusion == "failure" and "GitHub hiccup" in check.summary
