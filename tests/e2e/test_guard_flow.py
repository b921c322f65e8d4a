"""Fork safety under act: the guard, first step of a self-hosted job, stops it before PR code runs.

The workflow is what users write: the guard is referenced as a remote action (pinned by SHA) and
runs BEFORE actions/checkout; act maps that reference to a separate copy of the toolkit with
``--local-repository``, so the guard never comes from the PR's own tree. The "PR code" is a
script in the PR that writes a file: without an approval it must never run; once a writer has
approved exactly the head commit it does.
"""

from __future__ import annotations

from pathlib import Path

from tests.e2e.act_harness import CHECKOUT, ActRepo
from tests.fakegithub import events
from tests.integration.events_helpers import fork_pr

REPOSITORY = events.REPO
TOOLKIT_REF = "octo-org/mlops-ci"
TOOLKIT_SHA = "2f5e0c6a1b7d9e3f4a5b6c7d8e9f0a1b2c3d4e5f"
PR = events.FORK_PR_NUMBER

WORKFLOW = f"""\
name: mlops-pr
on: pull_request
permissions:
  contents: read
  pull-requests: read
jobs:
  train:
    runs-on: [self-hosted, gpu]
    steps:
      - id: guard
        uses: {TOOLKIT_REF}/actions/guard@{TOOLKIT_SHA}
      - uses: {CHECKOUT}  # v4.2.2
        with:
          persist-credentials: false
      - id: pr-code
        run: python3 train.py
"""

# The PR's code: on a real runner this could read secrets, poison caches or mine on the GPU.
TRAIN = "import os, pathlib\npathlib.Path(os.environ['PR_CODE_MARKER']).write_text('fork code ran')\n"


def run_job(runner, fake, tmp_path: Path, repo: ActRepo, toolkit: ActRepo, marker: Path):
    payload = fork_pr(head_sha=repo.head)
    return runner.run(repo, WORKFLOW, event="pull_request", payload=payload,
                      env={"GITHUB_API_URL": fake.url, "GITHUB_GRAPHQL_URL": fake.graphql_url,
                           "PR_CODE_MARKER": str(marker)},
                      secrets={"GITHUB_TOKEN": fake.read_token},
                      extra_args=["--local-repository", f"{TOOLKIT_REF}@{TOOLKIT_SHA}={toolkit.path}"])


def test_unapproved_fork_pr_stops_before_its_code_runs_and_runs_once_approved(seeded_runner, fake_github, tmp_path):
    toolkit = ActRepo.create(tmp_path / "toolkit", repository=TOOLKIT_REF)
    repo = ActRepo.create(tmp_path / "pr", {"train.py": TRAIN, ".github/workflows/e2e.yml": WORKFLOW},
                          toolkit=False, repository=REPOSITORY)
    head = repo.head
    fake_github.set_permission(events.MAINTAINER, "write")
    fake_github.add_pull(PR, head_sha=head, from_fork=True, user=events.FORK_OWNER, head_ref=events.FORK_HEAD_REF)
    marker = tmp_path / "pr-code-ran.txt"

    refused = run_job(seeded_runner, fake_github, tmp_path, repo, toolkit, marker)
    assert refused.returncode != 0
    assert repo.head == head
    assert refused.step("guard").outcome == "failure"
    assert refused.step("pr-code").outcome == "skipped"
    assert not marker.exists(), "the fork's code ran on the self-hosted runner"
    assert any(a.level == "error" and f"refusing to run fork PR #{PR}" in a.message for a in refused.annotations)
    assert "⛔ mlops-ci guard" in refused.summary and f"/mlops approve {head}" in refused.summary

    fake_github.add_comment(PR, f"Reviewed the diff.\n/mlops approve {head}", user=events.MAINTAINER)
    approved = run_job(seeded_runner, fake_github, tmp_path, repo, toolkit, marker)
    approved.assert_ok()
    assert approved.step("guard").outputs["approved-by"] == events.MAINTAINER
    assert marker.read_text() == "fork code ran"
