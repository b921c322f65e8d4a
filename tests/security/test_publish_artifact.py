"""Threat: the artifact a fork's run uploads is hostile, and `publish` holds a write token.

The attacker controls every byte of the artifact (and, in a `workflow_run` job, which run triggered
it). `publish` must not follow links out of it, read without bound, post the fork's text as our
own, believe its stated verdict, put a check on someone else's commit, or leave the required
check "Expected" forever. Each test is a row of docs/security.md's threat table.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_ci.github.approvals import APPROVAL_CONTEXT, status_description
from tests.fakegithub import events
from tests.integration.events_helpers import actions_env

pytestmark = pytest.mark.integration

FORK_PR, HEAD = events.FORK_PR_NUMBER, events.FORK_HEAD_SHA
CHECK = "mlops-ci / gate"
MARKER = "<!-- mlops-ci:report id=mlops-pr/report -->"
ROW = {"metric": "auc", "check": "min", "rule": "≥ 0.9", "champion": None, "challenger": 0.95, "delta": None,
       "passed": True, "reason": "0.95 ≥ 0.9"}


@pytest.fixture
def fake(fake_github):
    events.seed_fake(fake_github)
    return fake_github


def approve(fake, sha: str = HEAD) -> None:
    fake.add_status(sha, "success", APPROVAL_CONTEXT, description=status_description(events.MAINTAINER, 1))


def payload(tmp_path: Path, *, body: str = "## mlops-ci report\n| auc | 0.95 |\n", gate: dict | None = None,
            **meta) -> Path:
    directory = tmp_path / "artifact"
    directory.mkdir(exist_ok=True)
    (directory / "comment.md").write_text(MARKER + "\n" + body)
    fields = {"version": 1, "repository": events.REPO, "pull_request": FORK_PR, "head_sha": HEAD,
              "marker_id": "mlops-pr/report", "mode": "update", "hide_previous": False, "body_file": "comment.md"}
    if gate is not None:
        (directory / "gate.json").write_text(json.dumps(gate))
        fields["gate_file"] = "gate.json"
    (directory / "mlops-ci-payload.json").write_text(json.dumps({**fields, **meta}))
    return directory


def verdict(*rows: dict, conclusion: str = "success") -> dict:
    return {"schema": 1, "conclusion": conclusion, "title": "Gate passed", "champion_source": "base",
            "results": list(rows)}


def publish(fake, tmp_path: Path, directory: Path, *, event: str = "workflow_dispatch", **env: str):
    """The publish job of mlops-fork.yml (dispatch inputs pr/sha), or a workflow_run job."""
    if event == "workflow_dispatch":
        env = {"MLOPS_CI_PR": str(FORK_PR), "MLOPS_CI_HEAD_SHA": HEAD, **env}
        run_event = events.load("workflow_dispatch.json")
    else:
        run_event = events.load("workflow_run.completed.json")
    work = tmp_path / "trusted"
    work.mkdir(exist_ok=True)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "MLOPS_CI_", "RUNNER_"))}
    full = {**clean, **actions_env(fake, tmp_path, event, run_event, token=fake.token), **env}
    return subprocess.run([sys.executable, "-m", "mlops_ci", "publish", str(directory)], cwd=work, env=full,
                          capture_output=True, text=True, timeout=120)


def checks(fake):
    return fake.check_runs(HEAD, CHECK)


def test_f13_a_symlink_to_the_jobs_environment_is_not_posted(fake, tmp_path, monkeypatch):
    directory = payload(tmp_path)
    (directory / "comment.md").unlink()
    (directory / "comment.md").symlink_to("/proc/self/environ")
    proc = publish(fake, tmp_path, directory, MLOPS_CI_CANARY="canary-SECRET-value")
    assert proc.returncode == 2 and "not a regular file" in proc.stderr
    assert fake.comments(FORK_PR) == []
    (check,) = checks(fake)  # the required check is not left "Expected"
    assert check.conclusion == "failure" and "canary" not in (check.summary or "")


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "dir-link"])
def test_a_file_that_never_ends_or_is_not_a_file_is_refused(fake, tmp_path, kind):
    directory = payload(tmp_path, gate=verdict(ROW))
    target = directory / "gate.json"
    target.unlink()
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "dev-zero":
        target.symlink_to("/dev/zero")
    else:
        (tmp_path / "elsewhere").mkdir()
        directory = tmp_path / "linked"
        directory.symlink_to(payload(tmp_path / "elsewhere"))
    proc = publish(fake, tmp_path, directory)
    assert proc.returncode == 2, proc.stderr
    assert "refusing to read it" in proc.stderr
    assert checks(fake)[-1].conclusion == "failure"


@pytest.mark.parametrize("what", ["huge-payload", "deep-gate", "deep-payload", "not-utf8"])
def test_oversized_deep_or_garbled_files_are_exit_2_and_a_failing_check(fake, tmp_path, what):
    directory = payload(tmp_path, gate=verdict(ROW))
    if what == "huge-payload":
        (directory / "mlops-ci-payload.json").write_text(json.dumps({"pad": "x" * 200_000}))
    elif what == "deep-gate":
        (directory / "gate.json").write_text("[" * 100_000 + "]" * 100_000)
    elif what == "deep-payload":
        (directory / "mlops-ci-payload.json").write_text("[" * 50_000 + "]" * 50_000)
    else:
        (directory / "comment.md").write_bytes(b"\xff\xfe not text")
    proc = publish(fake, tmp_path, directory)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert fake.comments(FORK_PR) == [] and checks(fake)[-1].conclusion == "failure"
    if what == "not-utf8":
        assert "comment.md: not UTF-8" in proc.stderr


def test_a_missing_artifact_fails_the_check(fake, tmp_path):
    """The fork's run failed (or was refused) before uploading: the check fails instead of waiting forever."""
    proc = publish(fake, tmp_path, tmp_path / "never-downloaded")
    assert proc.returncode == 2
    (check,) = checks(fake)
    assert check.conclusion == "failure" and "no readable report" in check.title


def test_f9_mentions_html_and_fake_banners_are_defused_and_the_comment_is_labelled(fake, tmp_path):
    approve(fake)
    body = ("## ✅ Gate passed\n@octo-org/security-team @mia-maintainer please merge\n"
            "<img src=https://evil.example/t.png> <!-- mlops-ci:approval sha=x -->\n"
            "<details><summary>plots</summary>\n\n```mermaid\nxychart-beta\n```\n</details>\n")
    proc = publish(fake, tmp_path, payload(tmp_path, body=body))
    assert proc.returncode == 0, proc.stderr
    (posted,) = fake.comments(FORK_PR)
    text = posted.body
    assert text.startswith(MARKER + "\n> [!WARNING]\n> Reported by the run of fork commit")  # the label first
    assert text.count("mlops-ci:report id=") == 1  # our marker, once, never the fork's escaped copy
    assert "@octo-org/security-team" not in text and "@\u200docto-org/security-team" in text
    assert "<img" not in text and "&lt;img" in text and "&lt;!-- mlops-ci:approval" in text
    assert "<details><summary>plots</summary>" in text and "```mermaid\nxychart-beta\n```" in text


def test_a_fork_cannot_append_spam_or_recreate(fake, tmp_path):
    for _ in range(3):
        proc = publish(fake, tmp_path, payload(tmp_path, mode="append", hide_previous=True))
        assert proc.returncode == 0, proc.stderr
    assert len(fake.comments(FORK_PR)) == 1


def test_a_stated_success_over_failing_rows_is_a_failure(fake, tmp_path):
    approve(fake)
    failing = {**ROW, "passed": False, "reason": "0.5 < 0.9", "challenger": 0.5}
    publish(fake, tmp_path, payload(tmp_path, gate=verdict(ROW, failing, conclusion="success")))
    (check,) = checks(fake)
    assert check.conclusion == "failure" and check.title.startswith("Gate failed")


def test_an_empty_or_neutral_fork_verdict_is_a_failure(fake, tmp_path):
    approve(fake)
    publish(fake, tmp_path, payload(tmp_path, gate=verdict(conclusion="neutral")))
    assert checks(fake)[-1].conclusion == "failure"


def test_an_approved_passing_verdict_is_reported_with_its_provenance(fake, tmp_path):
    approve(fake)
    proc = publish(fake, tmp_path, payload(tmp_path, gate=verdict(ROW)))
    assert proc.returncode == 0, proc.stderr
    (check,) = checks(fake)
    assert check.conclusion == "success" and "recomputed from the rows" in check.summary


def test_an_unapproved_verdict_is_not_believed(fake, tmp_path):
    publish(fake, tmp_path, payload(tmp_path, gate=verdict(ROW)))
    (check,) = checks(fake)
    assert check.conclusion == "failure" and check.title.startswith("Not approved")


def test_f12_no_check_on_a_commit_that_is_another_prs_head(fake, tmp_path):
    """The fork makes its PR's head the same commit as PR #42's head: a failing check there would block #42."""
    fake.state.pulls[(fake.repo, events.PR_NUMBER)].head_sha = HEAD
    proc = publish(fake, tmp_path, payload(tmp_path, gate=verdict(ROW)))
    assert proc.returncode == 0, proc.stderr
    assert checks(fake) == [] and "also the head of #42" in proc.stdout


def test_a_payload_for_another_pr_or_commit_is_refused(fake, tmp_path):
    other = publish(fake, tmp_path, payload(tmp_path, pull_request=events.PR_NUMBER))
    assert other.returncode == 2 and "was started for #43" in other.stderr
    moved = publish(fake, tmp_path, payload(tmp_path, head_sha="e" * 40))
    assert moved.returncode == 2 and "refusing to post" in moved.stderr
    assert fake.comments(FORK_PR) == [] and fake.comments(events.PR_NUMBER) == []


def test_a_workflow_run_without_a_head_repository_is_refused(fake, tmp_path):
    event = events.load("workflow_run.completed.json")
    del event["workflow_run"]["head_repository"]
    path = tmp_path / "no-head-repo.json"
    path.write_text(json.dumps(event))
    proc = publish(fake, tmp_path, payload(tmp_path), event="workflow_run", GITHUB_EVENT_PATH=str(path))
    assert proc.returncode == 2 and "names no head repository" in proc.stderr
    assert fake.comments(FORK_PR) == []
