"""The starter workflows in workflows-templates/, run as users copy them, by act.

Each template is used verbatim except for GitHub's `$default-branch` placeholder. Its pinned
`org/mlops-ci/...@<sha>` references resolve to a copy of this toolkit through act's
``--local-repository``, and GitHub's own actions to stand-ins (tests/e2e/stubs: artifact storage
cannot run here, and act cannot fetch actions/checkout offline when a template pins `ref:`). GitHub is the fake API; DVC, git and MLflow are real.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlops_ci.github.approvals import APPROVAL_CONTEXT, status_description
from tests.e2e.act_harness import ActRepo
from tests.fakegithub import events
from tests.fakegithub.webhooks import validate_event
from tests.e2e.test_pr_flow import PIPELINE
from tests.integration.events_helpers import fork_pr

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "workflows-templates"
STUBS = Path(__file__).resolve().parent / "stubs"
CHECK = "mlops-ci / gate"
_PINNED = re.compile(r"uses: (org/mlops-ci)(?:/[\w/-]+)?@([0-9a-f]{40})")  # the umbrella action too
_GITHUB_ACTIONS = re.compile(
    r"uses: ((?:actions/(?:upload-artifact|download-artifact|checkout))|docker/login-action)@([0-9a-f]{40})")


def template(name: str) -> str:
    return (TEMPLATES / name).read_text().replace("$default-branch", "main")


def local_repositories(text: str, toolkit: ActRepo) -> list[str]:
    """act flags mapping the template's pinned remote actions to local directories."""
    args: list[str] = []
    for repo, sha in sorted(set(_PINNED.findall(text))):
        args += ["--local-repository", f"{repo}@{sha}={toolkit.path}"]
    for action, sha in sorted(set(_GITHUB_ACTIONS.findall(text))):
        args += ["--local-repository", f"{action}@{sha}={STUBS / action.split('/')[1]}"]
    return args


# A DVC project that needs only the standard library: training data tracked in git (the drift
# reference is the base commit's), a toy model whose auc follows the learning rate.
PROJECT = {
    # the PR flow's toy pipeline, with the training data as a dependency
    "dvc.yaml": PIPELINE["dvc.yaml"].replace("deps: [train.py]", "deps: [train.py, data.csv]"),
    "train.py": PIPELINE["train.py"],
    "evaluate.py": PIPELINE["evaluate.py"],
    ".mlops-ci.yml": """\
drift:
  reference: data.csv
  current: data.csv
gate:
  rules:
    - metric: auc
      direction: higher
      max_regression: 0.01
""",
    ".gitignore": ".mlops-ci/\n",
}


def data_csv(shift: float, rows: int = 400) -> str:
    lines = ["tenure,charges,plan"]
    for i in range(rows):
        lines.append(f"{i % 60},{50 + (i * 7) % 40 + shift:.2f},{['basic', 'standard', 'premium'][i % 3]}")
    return "\n".join(lines) + "\n"


def make_project(tmp_path: Path, name: str, workflow_name: str, workflow: str,
                 extra: dict[str, str] | None = None, prepare=None) -> tuple[ActRepo, str, str]:
    """main (trained, with the gate rules) and a PR commit that raises the learning rate on shifted data."""
    repo = ActRepo.create(tmp_path / name, {**PROJECT, "params.yaml": "train:\n  lr: 0.1\n",
                                            "data.csv": data_csv(0.0),
                                            f".github/workflows/{workflow_name}": workflow, **(extra or {})},
                          repository=events.REPO)
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=repo.path, check=True)
    if prepare is not None:
        prepare(repo)
    subprocess.run([sys.executable, "-m", "dvc", "repro", "-q"], cwd=repo.path, check=True,
                   capture_output=True)
    base = repo.commit("train on main")
    repo.git("checkout", "-q", "-b", "feature/lr")
    repo.write({"params.yaml": "train:\n  lr: 0.15\n", "data.csv": data_csv(25.0)})
    head = repo.commit("raise the learning rate on this month's data")
    return repo, base, head


FAKE_NVIDIA_SMI = ROOT / "tests" / "fixtures" / "nvidia-smi"


def gpu_host(tmp_path: Path, runner, machine: str = "a100-x1") -> tuple[dict[str, str], dict[str, str]]:
    """(host_env, env) for a runner whose `nvidia-smi` replays a recorded machine (no GPU here)."""
    import os
    import shutil

    bin_dir = tmp_path / "gpu-bin"
    bin_dir.mkdir(exist_ok=True)
    shutil.copy2(FAKE_NVIDIA_SMI / "fake-nvidia-smi", bin_dir / "nvidia-smi")
    host_path = os.pathsep.join([str(bin_dir), runner.base_env()["PATH"]])
    return {"PATH": host_path}, {"FAKE_NVIDIA_SMI": str(FAKE_NVIDIA_SMI / machine)}


def same_repo_pr(base: str, head: str) -> dict:
    payload = copy.deepcopy(events.load("pull_request.opened.json"))
    payload["pull_request"]["head"]["sha"] = head
    payload["pull_request"]["base"]["sha"] = base
    validate_event("pull_request", payload)
    return payload


def test_pr_template_comments_once_and_reports_the_gate(seeded_runner, fake_github, tmp_path):
    text = template("mlops-pr.yml")
    toolkit = ActRepo.create(tmp_path / "toolkit", repository="org/mlops-ci")
    repo, base, head = make_project(tmp_path, "project", "mlops-pr.yml", text)
    fake_github.add_pull(events.PR_NUMBER, head_sha=head, base_sha=base, head_ref="feature/lr")
    host_env, gpu_env = gpu_host(tmp_path, seeded_runner)

    artifacts = tmp_path / "artifacts"
    result = seeded_runner.run(repo, text, event="pull_request", payload=same_repo_pr(base, head),
                               workflow_file="mlops-pr.yml", host_env=host_env,
                               env={"GITHUB_API_URL": fake_github.url, "GITHUB_GRAPHQL_URL": fake_github.graphql_url,
                                    "MLOPS_CI_E2E_SOURCE": str(repo.path), "MLOPS_CI_E2E_ARTIFACTS": str(artifacts),
                                    **gpu_env},
                               secrets={"GITHUB_TOKEN": fake_github.token},
                               extra_args=local_repositories(text, toolkit), timeout=420)
    result.assert_ok()
    assert repo.head == head
    assert result.job("fork").result == "skipped"  # a same-repository PR gets the full job only
    assert result.step("guard").outputs["allowed"] == "true"
    assert result.step("doctor").outputs["gpu-count"] == "1"
    assert result.step("repro").outputs["stages-ran"] == "train evaluate"
    assert result.step("drift").outputs["drifted-columns"] == "1"  # charges moved by 25
    (comment,) = fake_github.comments(events.PR_NUMBER)
    assert "| 🟢 auc | 0.8 | 0.85 | +0.05 (+6.2%) |" in comment.body
    assert "Data drift and contracts" in comment.body and "`charges`" in comment.body
    assert "Gate" in comment.body
    (check,) = fake_github.check_runs(head, CHECK)
    assert check.status == "completed" and check.conclusion == "success"
    assert result.step("guard").outputs["base-sha"] == base
    # the comment's pictures are inline; the files behind them (PNG plots, drift.html, gate.json…) are an artifact
    uploaded = artifacts / "mlops-ci-out"
    assert {"gate.json", "drift.html", "report.md", "repro.json"} <= {p.name for p in uploaded.iterdir()}


def test_a_bot_dispatch_reports_on_the_pull_requests_head(seeded_runner, fake_github, tmp_path):
    """`/mlops report` dispatches the PR template from the default branch: results go to the PR's head."""
    text = template("mlops-pr.yml")
    toolkit = ActRepo.create(tmp_path / "toolkit", repository="org/mlops-ci")
    repo, base, head = make_project(tmp_path, "project", "mlops-pr.yml", text)
    repo.git("checkout", "-q", "main")  # a dispatch runs the default branch's workflow, at its tip
    fake_github.add_pull(events.PR_NUMBER, head_sha=head, base_sha=base, head_ref="feature/lr")
    host_env, gpu_env = gpu_host(tmp_path, seeded_runner)
    dispatch = copy.deepcopy(events.load("workflow_dispatch.json"))
    dispatch.update(inputs={"pr": str(events.PR_NUMBER), "sha": head, "command": "report"},
                    workflow=".github/workflows/mlops-pr.yml")
    validate_event("workflow_dispatch", dispatch)

    result = seeded_runner.run(repo, text, event="workflow_dispatch", payload=dispatch, workflow_file="mlops-pr.yml",
                               host_env=host_env,
                               env={"GITHUB_API_URL": fake_github.url, "GITHUB_GRAPHQL_URL": fake_github.graphql_url,
                                    "MLOPS_CI_E2E_SOURCE": str(repo.path),
                                    "MLOPS_CI_E2E_ARTIFACTS": str(tmp_path / "artifacts"), **gpu_env},
                               secrets={"GITHUB_TOKEN": fake_github.token},
                               extra_args=local_repositories(text, toolkit), timeout=420)
    result.assert_ok()
    guard = result.step("guard").outputs
    assert (guard["head-sha"], guard["base-sha"], guard["pr"]) == (head, base, str(events.PR_NUMBER))
    assert fake_github.check_runs(base, CHECK) == []  # not on the default branch's tip
    (check,) = fake_github.check_runs(head, CHECK)
    assert check.conclusion == "success"
    (comment,) = fake_github.comments(events.PR_NUMBER)
    assert "| 🟢 auc | 0.8 | 0.85 | +0.05 (+6.2%) |" in comment.body  # compared with the PR's base


# -- fork pull requests: a read-only job on the PR, the GPU run only from the default branch once approved --

def fork_project(tmp_path: Path) -> tuple[ActRepo, str, str, Path]:
    """The project with both templates on main, a DVC remote holding main's results, and a fork's head
    whose author ran the pipeline and committed its metrics (what the read-only `fork` job can show)."""
    remote = tmp_path / "dvc-remote"

    def with_remote(repo: ActRepo) -> None:
        subprocess.run([sys.executable, "-m", "dvc", "remote", "add", "-q", "-d", "storage", str(remote)],
                       cwd=repo.path, check=True)

    repo, base, head = make_project(tmp_path, "fork", "mlops-pr.yml", template("mlops-pr.yml"),
                                    {".github/workflows/mlops-fork.yml": template("mlops-fork.yml")}, with_remote)
    repo.git("checkout", "-q", "main")
    subprocess.run([sys.executable, "-m", "dvc", "push", "-q", "--run-cache"], cwd=repo.path, check=True,
                   capture_output=True)  # main's CI pushed its results
    repo.git("checkout", "-q", "feature/lr")
    subprocess.run([sys.executable, "-m", "dvc", "repro", "-q"], cwd=repo.path, check=True, capture_output=True)
    head = repo.commit("the fork's author ran the pipeline")  # dvc.lock and metrics.json, nothing pushed
    return repo, base, head, remote


def tree(path: Path) -> dict[str, int]:
    return {str(p.relative_to(path)): p.stat().st_size for p in sorted(path.rglob("*")) if p.is_file()}


def seed_fork_pr(fake, base: str, head: str) -> None:
    fake.set_permission(events.MAINTAINER, "write")
    fake.add_pull(events.FORK_PR_NUMBER, head_sha=head, base_sha=base, from_fork=True, user=events.FORK_OWNER,
                  head_ref=events.FORK_HEAD_REF)


def test_fork_pr_gets_the_read_only_job_only(seeded_runner, fake_github, tmp_path):
    """mlops-pr.yml on a fork's `pull_request` (read token): no self-hosted job, no PR code run, nothing posted."""
    text = template("mlops-pr.yml")
    toolkit = ActRepo.create(tmp_path / "toolkit", repository="org/mlops-ci")
    repo, base, head, remote = fork_project(tmp_path)
    pushed_before = tree(remote)
    seed_fork_pr(fake_github, base, head)
    payload = fork_pr(head_sha=head)
    payload["pull_request"]["base"]["sha"] = base
    validate_event("pull_request", payload)

    result = seeded_runner.run(repo, text, event="pull_request", payload=payload, workflow_file="mlops-pr.yml",
                               env={"GITHUB_API_URL": fake_github.url, "GITHUB_GRAPHQL_URL": fake_github.graphql_url,
                                    "MLOPS_CI_E2E_SOURCE": str(repo.path),
                                    "MLOPS_CI_E2E_ARTIFACTS": str(tmp_path / "artifacts")},
                               secrets={"GITHUB_TOKEN": fake_github.read_token},
                               extra_args=local_repositories(text, toolkit), timeout=300)
    result.assert_ok()
    assert repo.head == head
    assert result.job("pr").result == "skipped"  # the self-hosted job with write permissions
    assert all(s.outcome == "skipped" for s in result.job("pr").steps.values())
    fork = result.job("fork")
    assert fork.result == "success"
    assert fork.steps["config"].outcome == "success" and fork.steps["metrics"].outcome == "success"
    metrics = fork.steps["metrics"].outputs  # the metrics the fork committed, against the base
    assert (metrics["changed"], metrics["regressed"]) == ("1", "0")
    assert "auc" in metrics["json"] and "auc" in fork.steps["metrics"].summary
    assert fake_github.writes() == []
    assert fake_github.comments(events.FORK_PR_NUMBER) == [] and fake_github.check_runs(head) == []
    assert tree(remote) == pushed_before
    assert not (tmp_path / "artifacts").exists()


def dispatch_fork_template(runner, fake, tmp_path: Path, repo: ActRepo, head: str):
    """What the bot's `/mlops approve <head>` starts: mlops-fork.yml from the default branch's tip."""
    text = template("mlops-fork.yml")
    toolkit = ActRepo.create(tmp_path / "toolkit", repository="org/mlops-ci")
    repo.git("checkout", "-q", "main")
    dispatch = copy.deepcopy(events.load("workflow_dispatch.json"))
    dispatch.update(inputs={"pr": str(events.FORK_PR_NUMBER), "sha": head, "command": "rerun"},
                    workflow=".github/workflows/mlops-fork.yml")
    validate_event("workflow_dispatch", dispatch)
    host_env, gpu_env = gpu_host(tmp_path, runner)
    return runner.run(repo, text, event="workflow_dispatch", payload=dispatch, workflow_file="mlops-fork.yml",
                      host_env=host_env,
                      env={"GITHUB_API_URL": fake.url, "GITHUB_GRAPHQL_URL": fake.graphql_url,
                           "MLOPS_CI_E2E_SOURCE": str(repo.path),
                           "MLOPS_CI_E2E_ARTIFACTS": str(tmp_path / "artifacts"), **gpu_env},
                      secrets={"GITHUB_TOKEN": fake.token},
                      extra_args=local_repositories(text, toolkit), timeout=480)


def job_started(result, job: str) -> float:
    """When act logged the first line of ``job`` (act's timestamps have whole seconds)."""
    from datetime import datetime

    return min(datetime.fromisoformat(str(e["time"]).replace("Z", "+00:00")).timestamp()
               for e in result.events if e.get("jobID") == job and e.get("time"))


def test_approved_fork_head_runs_from_the_default_branch_and_a_trusted_job_posts(seeded_runner, fake_github,
                                                                                 tmp_path):
    repo, base, head, remote = fork_project(tmp_path)
    pushed_before = tree(remote)
    seed_fork_pr(fake_github, base, head)
    fake_github.add_status(head, "success", APPROVAL_CONTEXT, description=status_description(events.MAINTAINER, 1))

    result = dispatch_fork_template(seeded_runner, fake_github, tmp_path, repo, head)
    result.assert_ok()
    assert (result.job("run").result, result.job("publish").result) == ("success", "success")
    # act hands every job the same token, so the run job's read-only token is the template's to say
    jobs = yaml.safe_load(template("mlops-fork.yml"))["jobs"]
    assert set(jobs["run"]["permissions"].values()) == {"read"} and "secrets." not in template("mlops-fork.yml")
    guard = result.step("guard").outputs
    assert (guard["allowed"], guard["fork"], guard["head-sha"], guard["base-sha"]) == ("true", "true", head, base)
    assert guard["approved-by"] == events.MAINTAINER
    assert result.step("doctor").outputs["gpu-count"] == "1"
    assert result.step("repro").outputs["stages-ran"] == "train evaluate"  # the fork's pipeline ran
    out = tmp_path / "artifacts" / "mlops-ci-out"
    assert "push" not in json.loads((out / "repro.json").read_text())  # repro push: false
    assert tree(remote) == pushed_before  # nothing of the fork's reached the DVC remote or its run-cache
    assert result.step("gate").outputs["conclusion"] == "success"
    # every write to GitHub came from the trusted publish job: the comment and the check run, nothing else
    api = f"/repos/{events.REPO}"
    writes = [(r.method, re.sub(r"/check-runs/\d+$", "/check-runs/<id>", r.path)) for r in fake_github.writes()]
    assert set(writes) <= {("POST", f"{api}/issues/{events.FORK_PR_NUMBER}/comments"), ("POST", f"{api}/check-runs"),
                           ("PATCH", f"{api}/check-runs/<id>")}, writes
    assert all(r.at >= job_started(result, "publish") for r in fake_github.writes())
    report = tmp_path / "artifacts" / "mlops-ci-report"
    assert {"comment.md", "gate.json"} <= {p.name for p in report.iterdir()}

    (comment,) = fake_github.comments(events.FORK_PR_NUMBER)
    first_line, _, rest = comment.body.partition("\n")
    assert first_line.startswith("<!-- mlops-ci:report id=")
    assert rest.startswith("> [!WARNING]\n> Reported by the run of fork commit `" + head[:12] + "`, approved for "
                           "the self-hosted runners by @\u200d" + events.MAINTAINER)
    assert "| 🟢 auc | 0.8 | 0.85 | +0.05 (+6.2%) |" in rest
    (check,) = fake_github.check_runs(head, CHECK)  # the required check, from the trusted job
    assert check.status == "completed" and check.conclusion == "success"
    assert result.step("publish").outputs["check-conclusion"] == "success"
    assert fake_github.check_runs(base, CHECK) == []


def test_unapproved_fork_head_is_refused_and_the_check_fails(seeded_runner, fake_github, tmp_path):
    repo, base, head, remote = fork_project(tmp_path)
    pushed_before = tree(remote)
    seed_fork_pr(fake_github, base, head)

    result = dispatch_fork_template(seeded_runner, fake_github, tmp_path, repo, head)
    assert result.returncode != 0
    run = result.job("run")
    assert run.result == "failure" and run.steps["guard"].outcome == "failure"
    assert run.steps["guard"].outputs["allowed"] == "false"
    # nothing after the guard ran: no checkout of the fork's commit, no pipeline
    assert [s for s, step in run.steps.items() if step.outcome != "skipped"] == ["guard"]
    assert any("refusing to run fork PR" in a.message and "not approved" in a.message for a in result.annotations)
    assert not (tmp_path / "artifacts" / "mlops-ci-report").exists()
    assert tree(remote) == pushed_before
    # the trusted job still completes the required check: failing, never "Expected" forever
    assert result.job("publish").result in ("success", "failure")
    (check,) = fake_github.check_runs(head, CHECK)
    assert check.status == "completed" and check.conclusion == "failure"
    assert fake_github.comments(events.FORK_PR_NUMBER) == []


@pytest.mark.parametrize("name", sorted(p.name for p in TEMPLATES.glob("*.yml")))
def test_every_template_has_properties_and_pins_everything(name):
    text = (TEMPLATES / name).read_text()
    props = json.loads((TEMPLATES / name.replace(".yml", ".properties.json")).read_text())
    assert props["name"] and props["description"] and props["categories"]
    for ref in re.findall(r"^\s*(?:- )?uses: (\S+)", text, re.M):  # not `statuses: write`
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", ref), f"{name}: `{ref}` is not pinned by SHA"
    assert "permissions: {}" in text, f"{name}: workflow-level permissions must be empty (jobs ask for theirs)"


# -- the bot and the drift bot --------------------------------------------------------------------

def run_template(runner, fake, tmp_path: Path, name: str, event: str, payload: dict, files: dict[str, str | bytes]):
    text = template(name)
    toolkit = tmp_path / "toolkit"
    toolkit_repo = (ActRepo(toolkit, repository="org/mlops-ci") if toolkit.exists()
                    else ActRepo.create(toolkit, repository="org/mlops-ci"))
    project = tmp_path / "project"
    if project.exists():
        repo = ActRepo(project, repository=events.REPO)
        repo.write({k: v for k, v in files.items()})
        repo.commit("update")
    else:
        repo = ActRepo.create(project, {**files, f".github/workflows/{name}": text}, toolkit=False,
                              repository=events.REPO)
    return runner.run(repo, text, event=event, payload=payload, workflow_file=name,
                      env={"GITHUB_API_URL": fake.url, "GITHUB_GRAPHQL_URL": fake.graphql_url,
                           "MLOPS_CI_E2E_SOURCE": str(repo.path)},
                      secrets={"GITHUB_TOKEN": fake.token}, extra_args=local_repositories(text, toolkit_repo),
                      timeout=300)


def test_bot_template_answers_a_writer_and_dispatches(seeded_runner, fake_github, tmp_path):
    from tests.integration.events_helpers import BOT, issue_comment

    events.seed_fake(fake_github)
    fake_github.set_permission(events.MAINTAINER, "write")
    posted = fake_github.add_comment(events.PR_NUMBER, "/mlops rerun", user=events.MAINTAINER)
    payload = issue_comment("/mlops rerun", user=events.MAINTAINER, comment_id=posted.id)

    result = run_template(seeded_runner, fake_github, tmp_path, "mlops-bot.yml", "issue_comment", payload,
                          {".mlops-ci.yml": "bot:\n  rerun_workflow: mlops-pr.yml\n"})
    result.assert_ok()
    assert result.step("bot").outputs["outcome"] == "done"
    (dispatch,) = fake_github.dispatches("mlops-pr.yml")
    assert dispatch.inputs["command"] == "rerun" and dispatch.inputs["pr"] == str(events.PR_NUMBER)
    assert [r.content for r in fake_github.reactions(posted.id)] == ["eyes", "rocket"]
    assert any(c.user == BOT and "dispatched" in c.body for c in fake_github.comments(events.PR_NUMBER))


def test_bot_template_records_a_fork_approval_and_dispatches_the_fork_workflow(seeded_runner, fake_github, tmp_path):
    """`/mlops approve <full head sha>` on a fork's PR: a commit status on exactly that commit, then mlops-fork.yml."""
    from tests.integration.events_helpers import BOT, issue_comment

    events.seed_fake(fake_github)
    body = f"Reviewed the diff.\n/mlops approve {events.FORK_HEAD_SHA}"
    posted = fake_github.add_comment(events.FORK_PR_NUMBER, body, user=events.MAINTAINER)
    payload = issue_comment(body, user=events.MAINTAINER, comment_id=posted.id, number=events.FORK_PR_NUMBER)

    result = run_template(seeded_runner, fake_github, tmp_path, "mlops-bot.yml", "issue_comment", payload,
                          {".mlops-ci.yml": "bot:\n  rerun_workflow: mlops-pr.yml\n"})
    result.assert_ok()
    assert result.step("bot").outputs["outcome"] == "done"
    (status,) = fake_github.statuses(events.FORK_HEAD_SHA, APPROVAL_CONTEXT)
    assert (status.state, status.creator) == ("success", BOT)
    assert status.description == status_description(events.MAINTAINER, posted.id)
    (dispatch,) = fake_github.dispatches("mlops-fork.yml")
    assert dispatch.inputs == {"pr": str(events.FORK_PR_NUMBER), "sha": events.FORK_HEAD_SHA, "command": "rerun"}
    assert fake_github.dispatches("mlops-pr.yml") == []


def production_parquet(drift: bool) -> bytes:
    import io

    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(11)
    shift = 0.8 if drift else 0.0
    table = pa.table({"tenure": rng.normal(shift, 1, 3000), "spend": rng.gamma(2, 2, 3000) + 3 * shift,
                      "calls": rng.normal(2 * shift, 1, 3000)})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def test_drift_template_opens_one_issue_and_closes_it(seeded_runner, fake_github, tmp_path):
    from mlops_ci.adapters.datasets import from_table
    from mlops_ci.drift.builder import build_profile
    from mlops_ci.drift.profile import write

    import pyarrow.parquet as pq
    import io

    training = pq.read_table(io.BytesIO(production_parquet(drift=False)))
    source = from_table(training, "train.parquet")
    profile_path = tmp_path / "reference-profile.json"
    write(build_profile(source, source.schema, name="train.parquet"), str(profile_path))
    files = {".mlops-ci.yml": "monitor:\n  reference: reference-profile.json\n",
             "reference-profile.json": profile_path.read_text(),
             "data/production/today.parquet": production_parquet(drift=True)}
    schedule = events.load("schedule.json")

    first = run_template(seeded_runner, fake_github, tmp_path, "mlops-drift.yml", "schedule", schedule, files)
    first.assert_ok()
    assert first.step("monitor").outputs["issue-action"] == "open"
    (issue,) = fake_github.issues(labels=["mlops:drift"])
    assert issue.state == "open"

    second = run_template(seeded_runner, fake_github, tmp_path, "mlops-drift.yml", "schedule", schedule, files)
    second.assert_ok()
    assert len(fake_github.issues(labels=["mlops:drift"])) == 1  # updated, not a second one

    calm = {"data/production/today.parquet": production_parquet(drift=False)}
    third = run_template(seeded_runner, fake_github, tmp_path, "mlops-drift.yml", "schedule", schedule, calm)
    third.assert_ok()
    (issue,) = fake_github.issues(labels=["mlops:drift"])
    assert issue.state == "closed"


# -- merge to main, then a release tag: build once, promote by digest ------------------------------

def test_main_then_release_templates_build_once_and_promote_the_digest(
        seeded_runner, fake_github, mlflow_server, docker_engine, churn_template, tmp_path):
    import os
    import shutil

    from tests.services.churn_image import MODEL

    project = tmp_path / "project"
    shutil.copytree(churn_template, project, symlinks=True)
    repository = f"{docker_engine.registry}/{MODEL}-e2e-{os.getpid()}"
    import yaml

    config = yaml.safe_load((project / ".mlops-ci.yml").read_text())
    config["build"].update(repository=repository, base_image=docker_engine.base_image)
    config["gate"].pop("fairness")  # 1,200 rows are too few for the four-fifths rule; promote would refuse
    (project / ".mlops-ci.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    repo = ActRepo(project, repository=events.REPO)
    repo.git("remote", "add", "origin", f"https://github.com/{events.REPO}.git")  # act's GITHUB_REPOSITORY
    # the PR's CI ran the pipeline; main's repro finds it up to date (dvc.lock committed)
    host_path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", os.defpath)])
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=project, check=True)
    repo.git("rm", "-r", "-q", "--cached", "data/prepared", "models", "eval", "metrics.json")  # DVC's from now on
    subprocess.run([sys.executable, "-m", "dvc", "repro", "-q"], cwd=project, check=True, capture_output=True,
                   env={**os.environ, "PATH": host_path})
    main_text, release_text = template("mlops-main.yml"), template("mlops-release.yml")
    repo.write({".github/workflows/mlops-main.yml": main_text, ".github/workflows/mlops-release.yml": release_text})
    sha = repo.commit("merge #42: retrain")
    toolkit = ActRepo.create(tmp_path / "toolkit", repository="org/mlops-ci")
    # a self-hosted runner with the project's Python stack installed: the pipeline's `python` has sklearn
    env = {"GITHUB_API_URL": fake_github.url, "GITHUB_GRAPHQL_URL": fake_github.graphql_url,
           "MLOPS_CI_E2E_SOURCE": str(project), **docker_engine.env}
    fake_github.set_ref("heads/main", sha)

    push = copy.deepcopy(events.load("push.main.json"))
    push.update(after=sha)
    push["head_commit"]["id"] = sha
    main_run = seeded_runner.run(repo, main_text, event="push", payload=push, workflow_file="mlops-main.yml",
                                 env=env, vars={"MLFLOW_TRACKING_URI": mlflow_server.url},
                                 secrets={"GITHUB_TOKEN": fake_github.token}, host_env={"PATH": host_path},
                                 extra_args=local_repositories(main_text, toolkit), timeout=600)
    main_run.assert_ok()
    assert repo.head == sha
    assert main_run.step("promote").outputs["action"] == "promoted"
    image_ref = main_run.step("build").outputs["image-ref"]
    assert image_ref.startswith(repository + "@sha256:")
    (staging,) = fake_github.deployments("staging")
    assert staging.state == "success" and staging.sha == sha
    # the registered version learned its image and where it runs (lineage by digest)
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=mlflow_server.url)
    version = main_run.step("register").outputs["model-version"]
    assert main_run.step("build").outputs["model-version"] == version
    tags = client.get_model_version(MODEL, version).tags
    assert tags["mlops-ci.image"] == image_ref and tags["mlops-ci.deployed.staging.image"] == image_ref

    repo.git("tag", "v1.2.3", sha)
    fake_github.set_ref("tags/v1.2.3", sha)
    tag = copy.deepcopy(events.load("push.tag.json"))
    tag.update(after=sha)
    tag["head_commit"]["id"] = sha
    release_run = seeded_runner.run(repo, release_text, event="push", payload=tag,
                                    workflow_file="mlops-release.yml", env=env,
                                    vars={"MLFLOW_TRACKING_URI": mlflow_server.url},
                                    secrets={"GITHUB_TOKEN": fake_github.token}, host_env={"PATH": host_path},
                                    extra_args=local_repositories(release_text, toolkit), timeout=600)
    release_run.assert_ok()
    assert release_run.step("release").outputs["image"] == image_ref  # the same digest: no rebuild
    (production,) = fake_github.deployments("production")
    assert production.state == "success" and production.sha == sha
    (release,) = fake_github.releases()
    assert release.tag_name == "v1.2.3" and image_ref.split("@")[1] in release.body
    assert client.get_model_version_by_alias(MODEL, "production").version == version
    assert client.get_model_version(MODEL, version).tags["mlops-ci.deployed.production.image"] == image_ref
    assert f"version **{version}**" in release.body and "| auc |" in release.body  # the model card, metrics and all
