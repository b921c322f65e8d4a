"""The PR flow as a runner runs it: checkout → setup → repro → report, by act, against the fake GitHub."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.e2e.act_harness import CHECKOUT, ActRepo
from tests.fakegithub.webhooks import validate_event

EVENTS = Path(__file__).resolve().parents[1] / "fixtures" / "events"
REPOSITORY = "octo-org/churn-model"
PR = 42

WORKFLOW = f"""\
name: mlops-pr
on: pull_request
permissions:
  contents: read
  pull-requests: write
jobs:
  pr:
    runs-on: [self-hosted, gpu]
    steps:
      - uses: {CHECKOUT}  # v4.2.2
        with:
          persist-credentials: false
          fetch-depth: 0
      - id: repro
        uses: ./actions/repro
      - id: report
        uses: ./actions/report
"""

# A pipeline whose stages need nothing but the standard library.
PIPELINE = {
    "dvc.yaml": """\
stages:
  train:
    cmd: python3 train.py
    deps: [train.py]
    params: [train.lr]
    outs: [model.txt]
  evaluate:
    cmd: python3 evaluate.py
    deps: [evaluate.py, model.txt]
    metrics:
    - metrics.json:
        cache: false
""",
    "train.py": "import re\nlr = float(re.search(r'lr: (\\S+)', open('params.yaml').read()).group(1))\n"
                "open('model.txt', 'w').write(str(lr))\n",
    "evaluate.py": "import json\nlr = float(open('model.txt').read())\n"
                   "json.dump({'auc': round(0.7 + lr, 4), 'latency_p95_ms': 12.0}, open('metrics.json', 'w'))\n",
    ".gitignore": ".mlops-ci/\n",
    ".github/workflows/e2e.yml": WORKFLOW,
}


@pytest.fixture
def pr_repo(tmp_path):
    import subprocess

    repo = ActRepo.create(tmp_path / "repo", {**PIPELINE, "params.yaml": "train:\n  lr: 0.1\n",
                                              "metrics.json": json.dumps({"auc": 0.8, "latency_p95_ms": 12.0})},
                          repository=REPOSITORY)
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=repo.path, check=True)
    base = repo.commit("dvc init")
    repo.git("checkout", "-q", "-b", "feature/lr")
    repo.write({"params.yaml": "train:\n  lr: 0.15\n"})
    head = repo.commit("raise the learning rate")
    return repo, base, head


def pr_payload(base: str, head: str) -> dict:
    payload = json.loads((EVENTS / "pull_request.opened.json").read_text())
    payload["number"] = payload["pull_request"]["number"] = PR
    payload["pull_request"]["head"].update(sha=head, ref="feature/lr")
    payload["pull_request"]["base"].update(sha=base, ref="main")
    validate_event("pull_request", payload)
    return payload


def test_pr_flow_posts_one_sticky_comment(seeded_runner, pr_repo, fake_github):
    repo, base, head = pr_repo
    fake = fake_github
    fake.add_pull(PR, head_sha=head, base_sha=base, head_ref="feature/lr")
    env = {"GITHUB_API_URL": fake.url, "GITHUB_GRAPHQL_URL": fake.graphql_url}

    first = seeded_runner.run(repo, WORKFLOW, event="pull_request", payload=pr_payload(base, head), env=env,
                              secrets={"GITHUB_TOKEN": fake.token})
    first.assert_ok()
    assert repo.head == head  # the workflow was already committed: the event's SHAs are the real ones
    repro = first.step("repro")
    assert repro.outputs["stages-ran"] == "train evaluate"
    assert any("no DVC remote is configured" in a.message for a in first.annotations)
    report = first.step("report")
    assert report.outputs["comment-action"] == "created"
    comments = fake.comments(PR)
    assert len(comments) == 1
    body = comments[0].body
    assert "| 🟢 auc | 0.8 | 0.85 | +0.05 (+6.2%) |" in body
    assert "| train.lr | `0.1` | `0.15` | modified |" in body
    assert "| train | ran |" in body  # the stages, once: in the Cost table
    assert "mlops-ci report" in report.summary

    second = seeded_runner.run(repo, WORKFLOW, event="pull_request", payload=pr_payload(base, head), env=env,
                               secrets={"GITHUB_TOKEN": fake.token})
    second.assert_ok()
    assert len(fake.comments(PR)) == 1
    assert second.step("report").outputs["comment-action"] in ("updated", "unchanged")

    fake.clear_log()
    third = seeded_runner.run(repo, WORKFLOW, event="pull_request", payload=pr_payload(base, head), env=env,
                              secrets={"GITHUB_TOKEN": fake.token})
    third.assert_ok()
    assert third.step("report").outputs["comment-action"] == "unchanged"
    assert fake.writes() == [] and len(fake.comments(PR)) == 1
