"""Only the token's own comments are the sticky report: a marker in someone else's comment is ignored.

The marker is public and predictable; a fork author who posts it must not get the report written into
a comment they own (and can edit later), nor get ours deleted as a "duplicate" of theirs.
"""

import json

import pytest

from tests.integration.test_report_github import PR, gh_env, outputs, pr_repo  # noqa: F401 - fixture

pytestmark = pytest.mark.integration
MARK = "<!-- mlops-ci:report id=mlops-pr/report -->"
BAIT = f"{MARK}\n## mlops-ci report\nAll good, merge it! (written by a fork author)"


def test_a_fork_authors_marker_comment_is_never_edited_or_deleted(fake_github, pr_repo, tmp_path):
    fake = fake_github
    fake.add_pull(PR, head_sha=pr_repo.head, base_sha=pr_repo.base)
    bait = fake.add_comment(PR, BAIT, user="outside-contrib")
    env = gh_env(fake, tmp_path, pr_repo)

    first = pr_repo.mlops("report", env=env)
    assert first.returncode == 0, first.stderr
    assert outputs(tmp_path)["comment-action"] == "created"
    comments = fake.comments(PR)
    assert [c.user for c in comments] == ["outside-contrib", "github-actions[bot]"]
    assert comments[0].id == bait.id and comments[0].body == BAIT
    assert "| 🟢 auc |" in comments[1].body
    assert fake.count("GET", "/user") == 0  # GITHUB_TOKEN: identity known without asking

    pr_repo.write("metrics.json", json.dumps({"auc": 0.86, "loss": 0.45}))
    assert pr_repo.mlops("report", env=env).returncode == 0
    assert outputs(tmp_path)["comment-action"] == "updated"
    comments = fake.comments(PR)
    assert comments[0].body == BAIT and "0.86" in comments[1].body and len(comments) == 2

    fake.clear_log()
    third = pr_repo.mlops("report", env=env)
    assert third.returncode == 0, third.stderr
    assert outputs(tmp_path)["comment-action"] == "unchanged"
    assert fake.writes() == [] and fake.count() <= 3
    assert fake.comments(PR)[0].body == BAIT


def test_a_maintainer_quoting_the_marker_is_not_overwritten(fake_github, pr_repo, tmp_path):
    fake = fake_github
    fake.add_pull(PR, head_sha=pr_repo.head, base_sha=pr_repo.base)
    env = gh_env(fake, tmp_path, pr_repo)
    assert pr_repo.mlops("report", env=env).returncode == 0
    ours = fake.comments(PR)[0]
    quote = fake.add_comment(PR, f"> {MARK}\n> ## mlops-ci report\n\nWhy did loss go up?", user="mia-maintainer")

    pr_repo.write("metrics.json", json.dumps({"auc": 0.9, "loss": 0.45}))
    for mode in ("update", "recreate"):
        proc = pr_repo.mlops("report", "--mode", mode, env=env)
        assert proc.returncode == 0, proc.stderr
    comments = fake.comments(PR)
    assert any(c.id == quote.id and c.body.endswith("Why did loss go up?") for c in comments)
    assert ours.id not in [c.id for c in comments]  # recreate deleted our old report, and only that
    assert [c.user for c in comments] == ["mia-maintainer", "github-actions[bot]"]


def test_a_personal_token_finds_its_login_with_get_user(fake_github, pr_repo, tmp_path):
    fake = fake_github
    fake.add_pull(PR, head_sha=pr_repo.head, base_sha=pr_repo.base)
    fake.add_comment(PR, BAIT, user="outside-contrib")
    fake.add_comment(PR, f"{MARK}\nan old report by GITHUB_TOKEN")  # not this token's either
    env = gh_env(fake, tmp_path, pr_repo, token=fake.admin_token)  # a PAT: login octo-org-admin
    assert pr_repo.mlops("report", env=env).returncode == 0
    assert outputs(tmp_path)["comment-action"] == "created"
    assert [c.user for c in fake.comments(PR)] == ["outside-contrib", "github-actions[bot]", "octo-org-admin"]
    assert fake.count("GET", "/user") == 1

    fake.clear_log()
    assert pr_repo.mlops("report", env=env).returncode == 0
    assert outputs(tmp_path)["comment-action"] == "unchanged"
    assert fake.writes() == [] and fake.count() <= 3 and fake.count("GET", "/user") == 1
    assert fake.comments(PR)[0].body == BAIT


def test_an_explicit_comment_author_wins_and_asks_nothing(fake_github, pr_repo, tmp_path):
    fake = fake_github
    fake.add_pull(PR, head_sha=pr_repo.head, base_sha=pr_repo.base)
    app = fake.add_token("ghs_fakeAppToken00000000000000000000000", "octo-reporter[bot]", "write")
    fake.add_comment(PR, f"{MARK}\nold", user="octo-reporter[bot]")
    fake.add_comment(PR, BAIT, user="outside-contrib")
    env = {**gh_env(fake, tmp_path, pr_repo, token=app.token), "MLOPS_CI_COMMENT_AUTHOR": "octo-reporter[bot]"}
    proc = pr_repo.mlops("report", env=env)
    assert proc.returncode == 0, proc.stderr
    assert outputs(tmp_path)["comment-action"] == "updated"
    comments = fake.comments(PR)
    assert len(comments) == 2 and "| 🟢 auc |" in comments[0].body and comments[1].body == BAIT
    assert fake.count("GET", "/user") == 0


def test_publish_from_workflow_run_ignores_the_fork_authors_bait(fake_github, pr_repo, tmp_path):
    fake = fake_github
    fake.add_pull(43, head_sha=pr_repo.head, base_sha=pr_repo.base, from_fork=True, user="outside-contrib")
    bait = fake.add_comment(43, BAIT, user="outside-contrib")
    payload_dir = tmp_path / "payload"
    payload_dir.mkdir()
    (payload_dir / "comment.md").write_text(f"{MARK}\nthe real report")
    (payload_dir / "mlops-ci-payload.json").write_text(json.dumps({
        "version": 1, "repository": fake.repo, "pull_request": 43, "head_sha": pr_repo.head,
        "marker_id": "mlops-pr/report", "mode": "update", "hide_previous": False, "body_file": "comment.md"}))
    env = gh_env(fake, tmp_path, pr_repo, event_name="workflow_run", name="workflow_run.completed",
                 **{"workflow_run.head_sha": pr_repo.head})
    for _ in range(2):
        proc = pr_repo.mlops("publish", str(payload_dir), env=env)
        assert proc.returncode == 0, proc.stderr
    comments = fake.comments(43)
    assert [(c.id, c.body) for c in comments][0] == (bait.id, BAIT)
    assert [c.user for c in comments] == ["outside-contrib", "github-actions[bot]"]
    assert comments[1].body.startswith(f"{MARK}\n> [!WARNING]\n> Reported by the run of fork commit")
    assert comments[1].body.endswith("\n\nthe real report")


def test_get_user_refused_falls_back_to_github_actions(fake_github, pr_repo, tmp_path):
    fake = fake_github
    fake.add_pull(PR, head_sha=pr_repo.head, base_sha=pr_repo.base)
    token = fake.add_token("v1.fakeInstallationTokenWithoutPrefix", "github-actions[bot]", "write")  # 403 on /user
    fake.add_comment(PR, BAIT, user="outside-contrib")
    env = gh_env(fake, tmp_path, pr_repo, token=token.token)
    assert pr_repo.mlops("report", env=env).returncode == 0
    fake.clear_log()
    proc = pr_repo.mlops("report", env=env)
    assert proc.returncode == 0, proc.stderr
    assert outputs(tmp_path)["comment-action"] == "unchanged"
    assert fake.count("GET", "/user", status=403) == 1 and fake.writes() == [] and fake.count() <= 3
    assert [c.user for c in fake.comments(PR)] == ["outside-contrib", "github-actions[bot]"]
