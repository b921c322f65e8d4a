"""`mlops-ci report` / `publish` against the fake GitHub API (validated against @octokit/openapi)."""

import json
import threading
from pathlib import Path

import pytest

from tests.fakegithub.webhooks import validate_event

pytestmark = pytest.mark.integration
EVENTS = Path(__file__).resolve().parents[1] / "fixtures" / "events"
PR = 42


@pytest.fixture
def pr_repo(dvc_repo):
    """Base commit on main with metrics; a PR branch whose working tree has new metrics and params."""
    dvc_repo.write("metrics.json", json.dumps({"auc": 0.80, "loss": 0.40}))
    base = dvc_repo.commit("base")
    dvc_repo.sh("git", "checkout", "-q", "-b", "feature")
    dvc_repo.write("params.yaml", "prepare:\n  scale: 2.0\ntrain:\n  bias: 0.3\n")
    dvc_repo.write("metrics.json", json.dumps({"auc": 0.85, "loss": 0.45}))
    head = dvc_repo.commit("change")
    dvc_repo.base, dvc_repo.head = base, head
    return dvc_repo


def event_file(tmp_path, name, event_name, **patch):
    payload = json.loads((EVENTS / f"{name}.json").read_text())
    for path, value in patch.items():
        node = payload
        *parents, leaf = path.split(".")
        for key in parents:
            node = node[key]
        node[leaf] = value
    validate_event(event_name, payload)
    target = tmp_path / f"{name}.json"
    target.write_text(json.dumps(payload))
    return target


def gh_env(fake, tmp_path, repo, event_name="pull_request", name="pull_request.opened", token=None, **patch):
    if event_name == "pull_request":
        patch = {"number": PR, "pull_request.number": PR, "pull_request.head.sha": repo.head,
                 "pull_request.base.sha": repo.base, **patch}
    path = event_file(tmp_path, name, event_name, **patch)
    (tmp_path / "out").mkdir(exist_ok=True)
    return {**fake.env(token), "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": event_name,
            "GITHUB_EVENT_PATH": str(path), "GITHUB_SHA": repo.head, "GITHUB_WORKFLOW": "mlops-pr",
            "GITHUB_RUN_ID": "77", "GITHUB_OUTPUT": str(tmp_path / "out" / "output"),
            "GITHUB_STEP_SUMMARY": str(tmp_path / "out" / "summary")}


def outputs(tmp_path):
    lines = (tmp_path / "out" / "output").read_text().splitlines()
    return {ln.split("=", 1)[0]: ln.split("=", 1)[1] for ln in lines if "=" in ln and "<<" not in ln}


def test_rerun_updates_one_comment_and_unchanged_sends_nothing(fake_github, pr_repo, tmp_path):
    fake = fake_github
    fake.add_pull(PR, head_sha=pr_repo.head, base_sha=pr_repo.base)
    env = gh_env(fake, tmp_path, pr_repo)

    first = pr_repo.mlops("report", env=env)
    assert first.returncode == 0, first.stderr
    comments = fake.comments(PR)
    assert len(comments) == 1
    body = comments[0].body
    assert body.startswith("<!-- mlops-ci:report id=mlops-pr/report -->")
    assert "| 🟢 auc | 0.8 | 0.85 | +0.05 (+6.2%) |" in body
    assert "| 🔴 loss | 0.4 | 0.45 | +0.05 (+12.5%) |" in body
    assert "| train.bias | `0.25` | `0.3` | modified |" in body
    assert outputs(tmp_path)["comment-action"] == "created"
    assert "mlops-ci report" in (tmp_path / "out" / "summary").read_text()

    pr_repo.write("metrics.json", json.dumps({"auc": 0.86, "loss": 0.45}))
    assert pr_repo.mlops("report", env=env).returncode == 0
    assert len(fake.comments(PR)) == 1 and "0.86" in fake.comments(PR)[0].body
    assert outputs(tmp_path)["comment-action"] == "updated"

    fake.clear_log()
    third = pr_repo.mlops("report", env=env)
    assert third.returncode == 0, third.stderr
    assert fake.writes() == [] and outputs(tmp_path)["comment-action"] == "unchanged"
    assert fake.count() <= 3  # the API budget for a no-op report


@pytest.mark.parametrize("fault", ["502", "secondary-rate-limit", "reset", "429"])
def test_transient_faults_are_retried(fake_github, pr_repo, tmp_path, fault):
    fake = fake_github
    fake.add_pull(PR, head_sha=pr_repo.head, base_sha=pr_repo.base)
    if fault == "502":
        fake.inject("POST", r"/issues/\d+/comments$", status=502, times=1)
    elif fault == "secondary-rate-limit":
        fake.inject_secondary_rate_limit("POST", r"/issues/\d+/comments$", retry_after=1, times=1)
    elif fault == "429":
        fake.inject("GET", r"/issues/\d+/comments", status=429, headers={"Retry-After": "1"}, times=1)
    else:
        fake.inject_reset("GET", r"/issues/\d+/comments", times=1)
    proc = pr_repo.mlops("report", env=gh_env(fake, tmp_path, pr_repo))
    assert proc.returncode == 0, proc.stderr
    assert len(fake.comments(PR)) == 1 and "auc" in fake.comments(PR)[0].body


def test_exhausted_retries_fail_clearly_and_post_nothing(fake_github, pr_repo, tmp_path):
    fake = fake_github
    fake.add_pull(PR, head_sha=pr_repo.head, base_sha=pr_repo.base)
    fake.inject("POST", r"/issues/\d+/comments$", status=502, times=50)
    proc = pr_repo.mlops("report", env=gh_env(fake, tmp_path, pr_repo))
    assert proc.returncode == 1
    assert "GitHub POST /repos/octo-org/churn-model/issues/42/comments failed" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert fake.comments(PR) == []


def test_two_concurrent_runs_leave_one_comment(fake_github, pr_repo, tmp_path):
    fake = fake_github
    fake.add_pull(PR, head_sha=pr_repo.head, base_sha=pr_repo.base)
    env = gh_env(fake, tmp_path, pr_repo)
    results = []
    barrier = threading.Barrier(2)

    def run():
        barrier.wait()
        results.append(pr_repo.mlops("report", "--no-plots", env=env))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    comments = fake.comments(PR)
    assert len(comments) == 1 and "| 🟢 auc |" in comments[0].body


def test_read_only_token_explains_the_fork_path(fake_github, pr_repo, tmp_path):
    fake = fake_github
    fake.add_pull(PR, head_sha=pr_repo.head, base_sha=pr_repo.base)
    proc = pr_repo.mlops("report", env=gh_env(fake, tmp_path, pr_repo, token=fake.read_token))
    assert proc.returncode == 1
    assert "read-only" in proc.stderr and "--to-artifact" in proc.stderr
    assert fake.comments(PR) == []


def test_hide_previous_minimizes_through_graphql(fake_github, pr_repo, tmp_path):
    fake = fake_github
    fake.add_pull(PR, head_sha=pr_repo.head, base_sha=pr_repo.base)
    env = gh_env(fake, tmp_path, pr_repo)
    assert pr_repo.mlops("report", env=env).returncode == 0
    proc = pr_repo.mlops("report", "--mode", "append", "--hide-previous", env=env)
    assert proc.returncode == 0, proc.stderr
    comments = fake.comments(PR)
    assert len(comments) == 2
    assert comments[0].minimized_reason == "outdated" and comments[1].minimized_reason is None


def test_github_enterprise_base_url(fake_github_ghe, pr_repo, tmp_path):
    fake = fake_github_ghe
    assert fake.url.endswith("/api/v3")
    fake.add_pull(PR, head_sha=pr_repo.head, base_sha=pr_repo.base)
    proc = pr_repo.mlops("report", env=gh_env(fake, tmp_path, pr_repo))
    assert proc.returncode == 0, proc.stderr
    assert len(fake.comments(PR)) == 1


def test_push_comments_on_the_pr_of_the_commit_else_on_the_commit(fake_github, pr_repo, tmp_path):
    fake = fake_github
    env = gh_env(fake, tmp_path, pr_repo, event_name="push", name="push.main",
                 before=pr_repo.base, after=pr_repo.head)
    assert pr_repo.mlops("report", env=env).returncode == 0
    assert len(fake.commit_comments(pr_repo.head)) == 1  # no PR has this head yet
    fake.add_pull(PR, head_sha=pr_repo.head, base_sha=pr_repo.base)
    assert pr_repo.mlops("report", env=env).returncode == 0
    assert len(fake.comments(PR)) == 1
    issue = fake.add_issue("Model quality tracking")
    assert pr_repo.mlops("report", "--target", f"issue/{issue.number}", env=env).returncode == 0
    assert len(fake.comments(issue.number)) == 1


def test_five_thousand_metrics_and_two_thousand_params_never_422(fake_github, pr_repo, tmp_path):
    fake = fake_github
    fake.add_pull(PR, head_sha=pr_repo.head, base_sha=pr_repo.base)
    pr_repo.sh("git", "checkout", "-q", pr_repo.base)
    pr_repo.write("metrics.json", json.dumps({f"m{i:04d}": i / 5000 for i in range(5000)}))
    pr_repo.write("params.yaml", "prepare:\n  scale: 2.0\ntrain:\n  bias: 0.25\n"
                  + "big:\n" + "".join(f"  p{i:04d}: {i}\n" for i in range(2000)))
    dvc_yaml = pr_repo.root.joinpath("dvc.yaml").read_text().replace("params: [prepare.scale]",
                                                                     "params: [prepare.scale, big]")
    pr_repo.write("dvc.yaml", dvc_yaml)
    pr_repo.base = pr_repo.commit("wide base")
    pr_repo.write("metrics.json", json.dumps({f"m{i:04d}": i / 4000 for i in range(5000)}))
    pr_repo.write("params.yaml", "prepare:\n  scale: 2.0\ntrain:\n  bias: 0.25\n"
                  + "big:\n" + "".join(f"  p{i:04d}: {i + 1}\n" for i in range(2000)))
    env = gh_env(fake, tmp_path, pr_repo)
    proc = pr_repo.mlops("report", env=env)
    assert proc.returncode == 0, proc.stderr
    body = fake.comments(PR)[0].body
    assert len(body) <= 65_536
    assert body.splitlines()[1].startswith("## ") and " of 5000 metrics changed" in body
    assert "… and" in body
    full = (pr_repo.root / ".mlops-ci" / "out" / "report.md").read_text()
    assert full.count("\n| 🔵 big.p") + full.count("\n| big.p") == 2000  # the artifact keeps every row


def test_fork_pr_writes_a_payload_and_publish_posts_it(fake_github, pr_repo, tmp_path):
    fake = fake_github
    fake.add_pull(43, head_sha=pr_repo.head, base_sha=pr_repo.base, from_fork=True, user="outside-contrib")
    fork_env = gh_env(fake, tmp_path, pr_repo, name="pull_request.fork.opened", token=fake.read_token,
                      number=43, **{"pull_request.number": 43})
    proc = pr_repo.mlops("report", env=fork_env)
    assert proc.returncode == 0, proc.stderr
    assert fake.writes() == [] and fake.comments(43) == []
    payload_dir = pr_repo.root / ".mlops-ci" / "out" / "publish"
    meta = json.loads((payload_dir / "mlops-ci-payload.json").read_text())
    assert meta["pull_request"] == 43 and meta["head_sha"] == pr_repo.head

    # the trusted workflow_run job: no checkout of PR code, a write token
    run_env = {**gh_env(fake, tmp_path, pr_repo, event_name="workflow_run", name="workflow_run.completed",
                        **{"workflow_run.head_sha": pr_repo.head})}
    workdir = tmp_path / "trusted"
    workdir.mkdir()
    from tests.integration.dvcrepo import DvcRepo

    trusted = DvcRepo(workdir, pr_repo.log)
    published = trusted.mlops("publish", str(payload_dir), env=run_env)
    assert published.returncode == 0, published.stderr
    assert len(fake.comments(43)) == 1 and "| 🟢 auc |" in fake.comments(43)[0].body

    # a payload for another commit is refused, and nothing is posted
    meta["head_sha"] = "e" * 40
    (payload_dir / "mlops-ci-payload.json").write_text(json.dumps(meta))
    refused = trusted.mlops("publish", str(payload_dir), env=run_env)
    assert refused.returncode == 2 and "refusing to post" in refused.stderr
    assert len(fake.comments(43)) == 1


def test_publish_skips_a_stale_report(fake_github, pr_repo, tmp_path):
    fake = fake_github
    fake.add_pull(43, head_sha="d" * 40, base_sha=pr_repo.base, from_fork=True, user="outside-contrib")
    payload_dir = tmp_path / "payload"
    payload_dir.mkdir()
    (payload_dir / "comment.md").write_text("<!-- mlops-ci:report id=mlops-pr/report -->\nhello")
    (payload_dir / "mlops-ci-payload.json").write_text(json.dumps({
        "version": 1, "repository": fake.repo, "pull_request": 43, "head_sha": pr_repo.head,
        "marker_id": "mlops-pr/report", "mode": "update", "hide_previous": False, "body_file": "comment.md"}))
    env = gh_env(fake, tmp_path, pr_repo, event_name="workflow_run", name="workflow_run.completed",
                 **{"workflow_run.head_sha": pr_repo.head})
    proc = pr_repo.mlops("publish", str(payload_dir), env=env)
    assert proc.returncode == 0, proc.stderr
    assert fake.comments(43) == [] and "stale" in proc.stdout + proc.stderr


def test_fork_gate_verdict_travels_in_the_payload_and_publish_reports_the_check(fake_github, pr_repo, tmp_path):
    from mlops_ci.github.approvals import APPROVAL_CONTEXT, status_description

    fake = fake_github
    pr_repo.write(".mlops-ci.yml", "gate:\n  rules:\n    - metric: auc\n      direction: higher\n"
                                   "      max_regression: 0.01\n")
    pr_repo.head = pr_repo.commit("gate rules")  # --base HEAD below: the rules are read from that commit
    fake.add_pull(43, head_sha=pr_repo.head, base_sha=pr_repo.base, from_fork=True, user="outside-contrib")
    fork_env = gh_env(fake, tmp_path, pr_repo, name="pull_request.fork.opened", token=fake.read_token,
                      number=43, **{"pull_request.number": 43})
    # the fork's run: the gate evaluates without a check run (a read-only token cannot create one)
    gated = pr_repo.mlops("gate", "--no-check", "--base", "HEAD", env=fork_env)
    assert gated.returncode == 0, gated.stderr
    assert pr_repo.mlops("report", env=fork_env).returncode == 0
    assert fake.writes() == [] and fake.check_runs(pr_repo.head) == []
    payload_dir = pr_repo.root / ".mlops-ci" / "out" / "publish"
    assert json.loads((payload_dir / "gate.json").read_text())["conclusion"] == "success"

    run_env = gh_env(fake, tmp_path, pr_repo, event_name="workflow_run", name="workflow_run.completed",
                     **{"workflow_run.head_sha": pr_repo.head})
    workdir = tmp_path / "trusted"
    workdir.mkdir()
    from tests.integration.dvcrepo import DvcRepo

    trusted = DvcRepo(workdir, pr_repo.log)
    # nobody approved this commit: a fork can upload any verdict, so a "success" is not believed
    unapproved = trusted.mlops("publish", str(payload_dir), env=run_env)
    assert unapproved.returncode == 0, unapproved.stderr
    (check,) = fake.check_runs(pr_repo.head, "mlops-ci / gate")
    assert check.conclusion == "failure" and check.title.startswith("Not approved")
    assert f"/mlops approve {pr_repo.head}" in check.summary

    fake.set_permission("mia-maintainer", "write")
    fake.add_status(pr_repo.head, "success", APPROVAL_CONTEXT, description=status_description("mia-maintainer", 1))
    published = trusted.mlops("publish", str(payload_dir), env=run_env)
    assert published.returncode == 0, published.stderr
    check = fake.check_runs(pr_repo.head, "mlops-ci / gate")[-1]
    assert check.status == "completed" and check.conclusion == "success"
    assert check.title.startswith("Gate passed")
    assert "Evaluated in [the fork pull request's run]" in check.summary
    assert "| `auc` |" in check.summary

    # the stated conclusion is not believed: it is recomputed from the rows
    verdict = json.loads((payload_dir / "gate.json").read_text())
    verdict["results"][0]["passed"] = False
    (payload_dir / "gate.json").write_text(json.dumps(verdict))  # "conclusion": "success" still
    again = trusted.mlops("publish", str(payload_dir), env=run_env)
    assert again.returncode == 0, again.stderr
    latest = fake.check_runs(pr_repo.head, "mlops-ci / gate")[-1]
    assert latest.conclusion == "failure" and latest.title.startswith("Gate failed")

    # a verdict that does not read as one fails closed with the reason
    verdict["results"] = "all good"
    (payload_dir / "gate.json").write_text(json.dumps(verdict))
    trusted.mlops("publish", str(payload_dir), env=run_env)
    latest = fake.check_runs(pr_repo.head, "mlops-ci / gate")[-1]
    assert latest.conclusion == "failure" and "cannot be read" in latest.title
