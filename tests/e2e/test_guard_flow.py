"""Fork safety under act: the guard, first step of a self-hosted job, stops it before PR code runs.

The workflows are what users write: the guard is referenced as a remote action (pinned by SHA) and
runs BEFORE actions/checkout; act maps that reference to a separate copy of the toolkit with
``--local-repository``, so the guard never comes from the PR's own tree. The "PR code" is a
script that exists only on the fork's branch and writes a marker file: whether the marker exists
says whether the fork's code ran on the "self-hosted runner".

The model (mlops_ci.github.approvals): on `pull_request` the workflow file is the fork's own, so a fork's
code never runs there, approved or not. It runs only in a `workflow_dispatch` of the DEFAULT
BRANCH's workflow (mlops-fork.yml, dispatched by the bot), for a commit that is the PR's current
head and carries the bot's approval status (`mlops-ci / fork approval`). A new push is a new SHA
without that status.
"""

from __future__ import annotations

import copy
from pathlib import Path

from mlops_ci.github.approvals import APPROVAL_CONTEXT, status_description
from tests.e2e.act_harness import CHECKOUT, ActRepo
from tests.fakegithub import events
from tests.fakegithub.webhooks import validate_event
from tests.integration.events_helpers import fork_pr

REPOSITORY = events.REPO
TOOLKIT_REF = "octo-org/mlops-ci"
TOOLKIT_SHA = "2f5e0c6a1b7d9e3f4a5b6c7d8e9f0a1b2c3d4e5f"
PR = events.FORK_PR_NUMBER
STUBS = Path(__file__).resolve().parent / "stubs"
FORK_BRANCH = events.FORK_HEAD_REF

# A fork's own pull_request workflow: even with the most permissive guard setting it must not run.
PR_WORKFLOW = f"""\
name: mlops-pr
on: pull_request
permissions:
  contents: read
  pull-requests: read
  statuses: read
jobs:
  train:
    runs-on: [self-hosted, gpu]
    steps:
      - id: guard
        uses: {TOOLKIT_REF}/actions/guard@{TOOLKIT_SHA}
        with:
          forks: approved
      - uses: {CHECKOUT}  # v4.2.2
        with:
          persist-credentials: false
      - id: pr-code
        run: python3 train.py
"""

# The default branch's fork workflow, like mlops-fork.yml's `run` job: read permissions only.
DISPATCH_WORKFLOW = f"""\
name: mlops-fork
on:
  workflow_dispatch:
    inputs:
      pr:
        required: true
      sha:
        required: true
      command:
        required: false
        default: rerun
permissions:
  contents: read
  pull-requests: read
  statuses: read
jobs:
  run:
    runs-on: [self-hosted, gpu]
    steps:
      - id: guard
        uses: {TOOLKIT_REF}/actions/guard@{TOOLKIT_SHA}
        with:
          pr: ${{{{ inputs.pr }}}}
          head-sha: ${{{{ inputs.sha }}}}
          forks: approved
      - uses: {CHECKOUT}  # v4.2.2
        with:
          persist-credentials: false
          ref: ${{{{ steps.guard.outputs.head-sha }}}}
      - id: pr-code
        run: python3 train.py
"""

# The PR's code: on a real runner this could read secrets, poison caches or mine on the GPU.
TRAIN = ("import os, pathlib, subprocess\n"
         "head = subprocess.run(['git', 'rev-parse', 'HEAD'], capture_output=True, text=True).stdout.strip()\n"
         "pathlib.Path(os.environ['PR_CODE_MARKER']).write_text('fork code ran at ' + head)\n")


def make_repos(tmp_path: Path) -> tuple[ActRepo, ActRepo, str]:
    """(toolkit, project, fork head): main holds both workflows; the fork's branch adds its code."""
    toolkit = ActRepo.create(tmp_path / "toolkit", repository=TOOLKIT_REF)
    repo = ActRepo.create(tmp_path / "project", {".github/workflows/e2e-pr.yml": PR_WORKFLOW,
                                                 ".github/workflows/e2e-fork.yml": DISPATCH_WORKFLOW,
                                                 "README.md": "churn model\n"},
                          toolkit=False, repository=REPOSITORY)
    repo.git("checkout", "-q", "-b", FORK_BRANCH)
    repo.write({"train.py": TRAIN})
    head = repo.commit("the fork's change")
    return toolkit, repo, head


def act_env(fake, marker: Path, repo: ActRepo) -> dict[str, str]:
    return {"GITHUB_API_URL": fake.url, "GITHUB_GRAPHQL_URL": fake.graphql_url, "PR_CODE_MARKER": str(marker),
            "MLOPS_CI_E2E_SOURCE": str(repo.path)}


def local_actions(toolkit: ActRepo) -> list[str]:
    return ["--local-repository", f"{TOOLKIT_REF}@{TOOLKIT_SHA}={toolkit.path}",
            "--local-repository", f"{CHECKOUT}={STUBS / 'checkout'}"]


def dispatch(runner, fake, repo: ActRepo, toolkit: ActRepo, marker: Path, sha: str, branch: str = "main"):
    """What the bot's `/mlops approve <sha>` starts: the default branch's fork workflow, with a read token."""
    repo.git("checkout", "-q", branch)  # a dispatch runs the workflow file of the branch it names
    payload = copy.deepcopy(events.load("workflow_dispatch.json"))
    payload.update(inputs={"pr": str(PR), "sha": sha, "command": "rerun"}, workflow=".github/workflows/e2e-fork.yml",
                   ref=f"refs/heads/{branch}")
    validate_event("workflow_dispatch", payload)
    return runner.run(repo, DISPATCH_WORKFLOW, event="workflow_dispatch", payload=payload,
                      workflow_file="e2e-fork.yml", env=act_env(fake, marker, repo),
                      secrets={"GITHUB_TOKEN": fake.read_token}, extra_args=local_actions(toolkit))


def assert_refused(result, marker: Path, *, why: str, judged: bool = True) -> None:
    """The guard failed the job before the checkout; ``judged``: it got as far as judging the fork's commit."""
    assert result.returncode != 0
    assert result.step("guard").outcome == "failure"
    assert result.step("pr-code").outcome == "skipped"
    assert not marker.exists(), "the fork's code ran on the self-hosted runner"
    assert any(a.level == "error" and why in a.message for a in result.annotations), \
        [str(a) for a in result.annotations]
    if judged:
        assert any(f"refusing to run fork PR #{PR}" in a.message for a in result.annotations)
        assert "⛔ mlops-ci guard" in result.summary


def approve(fake, sha: str) -> None:
    """The bot's record of `/mlops approve <sha>` by a writer: a commit status on exactly that commit."""
    fake.add_status(sha, "success", APPROVAL_CONTEXT, description=status_description(events.MAINTAINER, 1))


def test_a_forks_pull_request_run_never_runs_its_code_even_when_approved(seeded_runner, fake_github, tmp_path):
    """On `pull_request` the fork supplies the workflow file: its guard refuses even an approved head."""
    toolkit, repo, head = make_repos(tmp_path)
    fake_github.set_permission(events.MAINTAINER, "write")
    fake_github.add_pull(PR, head_sha=head, from_fork=True, user=events.FORK_OWNER, head_ref=FORK_BRANCH)
    approve(fake_github, head)
    marker = tmp_path / "pr-code-ran.txt"

    result = seeded_runner.run(repo, PR_WORKFLOW, event="pull_request", payload=fork_pr(head_sha=head),
                               workflow_file="e2e-pr.yml", env=act_env(fake_github, marker, repo),
                               secrets={"GITHUB_TOKEN": fake_github.read_token}, extra_args=local_actions(toolkit))
    assert repo.head == head  # the workflow was in the tree: the event's SHA is the one that ran
    assert_refused(result, marker, why="the workflow file is the fork's own")
    assert result.step("guard").outputs["allowed"] == "false"
    assert result.step("guard").outputs["fork"] == "true"
    assert fake_github.writes() == []  # a read token, and nothing to write anyway


def test_the_default_branch_fork_workflow_runs_exactly_the_approved_head(seeded_runner, fake_github, tmp_path):
    """Refused without the bot's approval status; runs the fork's code once that head is approved; a new push
    (a new SHA, no status) is refused again."""
    toolkit, repo, head = make_repos(tmp_path)
    fake_github.set_permission(events.MAINTAINER, "write")
    fake_github.add_pull(PR, head_sha=head, from_fork=True, user=events.FORK_OWNER, head_ref=FORK_BRANCH)
    marker = tmp_path / "pr-code-ran.txt"

    refused = dispatch(seeded_runner, fake_github, repo, toolkit, marker, head)
    assert_refused(refused, marker, why="is not approved by a maintainer")
    assert f"/mlops approve {head}" in refused.summary  # how a maintainer lets it run

    approve(fake_github, head)
    approved = dispatch(seeded_runner, fake_github, repo, toolkit, marker, head)
    approved.assert_ok()
    guard = approved.step("guard").outputs
    assert (guard["allowed"], guard["fork"], guard["head-sha"]) == ("true", "true", head)
    assert guard["approved-by"] == events.MAINTAINER
    assert marker.read_text() == f"fork code ran at {head}"  # exactly the approved commit was checked out
    marker.unlink()

    # the same approved commit, but the workflow dispatched from another branch (whose file anyone with
    # push access to that branch could have changed): refused
    elsewhere = dispatch(seeded_runner, fake_github, repo, toolkit, marker, head, branch=FORK_BRANCH)
    assert_refused(elsewhere, marker, why=f"comes from `refs/heads/{FORK_BRANCH}`, not the default branch")

    # the fork pushes again: a new head, which carries no approval
    repo.git("checkout", "-q", FORK_BRANCH)
    repo.write({"train.py": TRAIN + "# and one more thing\n"})
    pushed = repo.commit("the fork pushes again")
    assert pushed != head
    fake_github.state.pulls[(fake_github.repo, PR)].head_sha = pushed
    again = dispatch(seeded_runner, fake_github, repo, toolkit, marker, pushed)
    assert_refused(again, marker, why=f"commit {pushed[:12]} of a fork PR is not approved")
    # and the old approval does not carry the new code in through a dispatch of the old SHA
    stale = dispatch(seeded_runner, fake_github, repo, toolkit, marker, head)
    assert_refused(stale, marker, why=f"commit {head[:12]} is no longer the head of PR #{PR}", judged=False)
    assert [s.sha for s in fake_github.statuses(context=APPROVAL_CONTEXT)] == [head]
