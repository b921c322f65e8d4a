"""The act harness itself: what it reads back from a run, isolation, offline checkout, timeouts."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.e2e.act_harness import CHECKOUT, DEV_VENV, ActRunner

GREET_ACTION = """\
name: greet
description: test action
inputs:
  who:
    description: who
    default: world
outputs:
  greeting:
    description: the greeting
    value: ${{ steps.say.outputs.greeting }}
runs:
  using: composite
  steps:
    - id: say
      shell: bash
      env:
        WHO: ${{ inputs.who }}
      run: |
        echo "greeting=hello $WHO" >> "$GITHUB_OUTPUT"
        echo "first part" >> "$GITHUB_STEP_SUMMARY"
        echo "::warning file=src/a.py,line=3,col=5,title=Careful::inner warning"
    - id: more
      shell: bash
      run: echo "second part" >> "$GITHUB_STEP_SUMMARY"
"""

WORKFLOW = f"""\
on: push
permissions:
  contents: read
jobs:
  main:
    runs-on: [self-hosted, gpu]
    steps:
      - uses: {CHECKOUT}  # v4.2.2
      - id: greet
        uses: ./.github/actions/greet
        with:
          who: tester
      - id: report
        shell: bash
        env:
          GREETING: ${{{{ steps.greet.outputs.greeting }}}}
          TOKEN: ${{{{ secrets.GITHUB_TOKEN }}}}
        run: |
          echo "got $GREETING"
          echo "token $TOKEN"
          echo "::add-mask::hunter2"
          echo "password hunter2"
          {{ echo "multi<<EOF"; echo "line 1"; echo "line 2"; echo "EOF"; }} >> "$GITHUB_OUTPUT"
          echo "## Report" >> "$GITHUB_STEP_SUMMARY"
          echo "::error file=train.py,line=7,endLine=9,title=Gate::accuracy dropped"
          echo "::notice::just so you know"
          echo "home=$HOME" >> "$GITHUB_OUTPUT"
          echo "mlops=$(command -v mlops-ci || echo none)" >> "$GITHUB_OUTPUT"
          echo "mlflow=${{MLFLOW_TRACKING_URI:-unset}}" >> "$GITHUB_OUTPUT"
          echo "extra=$EXTRA" >> "$GITHUB_OUTPUT"
      - id: never
        if: false
        shell: bash
        run: echo never
      - id: tolerated
        continue-on-error: true
        shell: bash
        run: exit 3
      - id: fails
        shell: bash
        run: exit 4
      - id: after
        shell: bash
        run: echo not reached
  downstream:
    needs: main
    runs-on: ubuntu-latest
    steps:
      - run: echo never
  windows:
    runs-on: windows-latest
    steps:
      - run: echo never
"""


def test_harness_reads_results_outputs_summaries_annotations(act_runner: ActRunner, act_repo):
    repo = act_repo({".github/actions/greet/action.yml": GREET_ACTION}, toolkit=False)
    result = act_runner.run(repo, WORKFLOW, env={"EXTRA": "from --env"})

    assert not result.ok and result.returncode != 0
    assert result.job("main").result == "failure"
    assert result.job("downstream").result == "skipped"
    assert result.job("windows").result == "skipped"
    assert "unsupported platform" in (result.job("windows").skip_reason or "")

    main = result.job("main")
    assert list(main.steps) == ["0", "greet", "report", "never", "tolerated", "fails", "after"]
    outcomes = {k: (s.outcome, s.conclusion) for k, s in main.steps.items()}
    assert outcomes == {
        "0": ("success", "success"), "greet": ("success", "success"),
        "report": ("success", "success"), "never": ("skipped", "skipped"),
        "tolerated": ("failure", "success"), "fails": ("failure", "failure"),
        "after": ("skipped", "skipped")}
    assert "exit status 4" in result.step("fails").errors

    greet = result.step("greet")
    assert greet.outputs == {"greeting": "hello tester"}
    assert result.step("greet/say").outputs == {"greeting": "hello tester"}
    assert greet.summary == "first part\nsecond part\n"  # both inner steps, not just the last
    assert result.step("greet/more").summary == "second part\n"

    report = result.step("report")
    assert report.outputs["multi"] == "line 1\nline 2"
    assert report.summary == "## Report\n"
    assert main.summary == "first part\nsecond part\n## Report\n"
    assert "got hello tester" in report.log
    # secrets and masked values are hidden in the output; the masked value is reported
    assert "token ***" in report.log and act_runner.token not in result.output
    assert "password ***" in report.log and "hunter2" not in result.output
    assert result.masked == ["hunter2"]

    warning, error, notice = result.annotations
    assert (warning.level, warning.file, warning.line, warning.col, warning.title, warning.message) == \
        ("warning", "src/a.py", 3, 5, "Careful", "inner warning")
    assert warning.step == "greet" and warning.step_path == ("greet", "say")
    assert (error.level, error.file, error.line, error.end_line, error.title) == \
        ("error", "train.py", 7, 9, "Gate")
    assert str(error) == "error: train.py:7: [Gate] accuracy dropped"
    assert (notice.level, notice.message, notice.file) == ("notice", "just so you know", None)

    # isolation: the runner's own HOME, no dev venv on PATH, nothing leaked from the test process
    assert report.outputs["home"] == str(act_runner.home)
    assert report.outputs["mlops"] == "none"
    assert report.outputs["mlflow"] == "unset"
    assert report.outputs["extra"] == "from --env"


def test_checkout_of_the_repo_under_test_needs_no_download(act_runner: ActRunner, act_repo):
    repo = act_repo({".github/actions/greet/action.yml": GREET_ACTION}, toolkit=False)
    workflow = f"""\
on:
  workflow_dispatch:
    inputs:
      level:
        description: a level
        default: low
jobs:
  main:
    runs-on: ubuntu-latest
    steps:
      - uses: {CHECKOUT}  # v4.2.2
        with:
          fetch-depth: 0
      - id: greet
        uses: ./.github/actions/greet
      - id: ws
        shell: bash
        run: |
          echo "sha=$GITHUB_SHA" >> "$GITHUB_OUTPUT"
          echo "repo=$GITHUB_REPOSITORY" >> "$GITHUB_OUTPUT"
          echo "level=$LEVEL var=$VAR secret=$SECRET" >> "$GITHUB_OUTPUT"
          echo "secret is $SECRET"
          test -f .github/actions/greet/action.yml
        env:
          LEVEL: ${{{{ inputs.level }}}}
          VAR: ${{{{ vars.MY_VAR }}}}
          SECRET: ${{{{ secrets.MY_SECRET }}}}
"""
    result = act_runner.run(repo, workflow, event="workflow_dispatch", inputs={"level": "high"},
                            vars={"MY_VAR": "v1"}, secrets={"MY_SECRET": "s3cr3t-value"}).assert_ok()
    # outputs hold the real value (as on GitHub); only the printed log is masked
    assert result.step("ws").outputs["level"] == "high var=v1 secret=s3cr3t-value"
    assert "secret is ***" in result.step("ws").log and "s3cr3t-value" not in result.output
    assert result.step("greet").outputs["greeting"] == "hello world"
    assert result.step("ws").outputs["sha"] == repo.head
    assert result.step("ws").outputs["repo"] == "org/project"
    # nothing was fetched into act's action cache
    assert not [p for p in act_runner.act_cache.iterdir() if "checkout" in p.name]
    # the repository itself is untouched (the job ran in a copy)
    assert repo.git("status", "--porcelain") == ""


def test_without_checkout_local_actions_do_not_resolve(act_runner: ActRunner, act_repo):
    repo = act_repo({".github/actions/greet/action.yml": GREET_ACTION}, toolkit=False)
    workflow = "on: push\njobs:\n  main:\n    runs-on: ubuntu-latest\n    steps:\n" \
               "      - id: greet\n        uses: ./.github/actions/greet\n"
    result = act_runner.run(repo, workflow)
    assert result.step("greet").outcome == "failure"
    assert any("action.yml" in e for e in result.step("greet").errors)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_hung_workflow_is_killed_with_its_processes(act_runner: ActRunner, act_repo):
    pidfile = act_runner.tmp / "pids"
    workflow = f"""\
on: push
jobs:
  hang:
    runs-on: ubuntu-latest
    steps:
      - shell: bash
        run: |
          sleep 600 &
          echo $! >> "{pidfile}"
          echo $$ >> "{pidfile}"
          sleep 601
"""
    start = time.monotonic()
    result = act_runner.run(act_repo(toolkit=False), workflow, timeout=3)
    assert time.monotonic() - start < 45
    assert result.timed_out and not result.ok
    pids = [int(p) for p in pidfile.read_text().split()]
    assert pids
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [p for p in pids if _alive(p)], "processes of the hung job survived"
    assert "timed out" in result.describe()


def test_seed_toolkit_links_the_dev_venv(make_runner):
    runner = make_runner()
    link = runner.seed_toolkit()
    assert link == runner.tool_cache / "mlops-ci" / link.parent.name / "venv"
    assert link.is_symlink() and link.resolve() == DEV_VENV.resolve()
    assert os.access(link / "bin" / "mlops-ci", os.X_OK)
    assert Path(runner.base_env()["HOME"]) == runner.home


def test_artifact_server_is_local_and_optional(act_runner: ActRunner, act_repo):
    workflow = """\
on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - id: s
        shell: bash
        run: echo "url=${ACTIONS_RUNTIME_URL:-}" >> "$GITHUB_OUTPUT"
"""
    repo = act_repo(toolkit=False)
    with_server = act_runner.run(repo, workflow, artifacts=True).assert_ok()
    assert with_server.step("s").outputs["url"].startswith("http://127.0.0.1:")
    without = act_runner.run(repo, workflow).assert_ok()
    assert without.step("s").outputs["url"] == ""
