"""The fake GitHub behaves like GitHub for the clients we use, and catches what GitHub would reject."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import github
import pytest
import requests
from urllib3.util.retry import Retry

from tests.fakegithub import FakeGitHub, MAIN_SHA
from tests.fakegithub.app import operations
from tests.fakegithub import spec as spec_mod

HEAD = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
MINIMIZE = ("mutation($id: ID!, $classifier: ReportedContentClassifiers!) {"
            " minimizeComment(input: {subjectId: $id, classifier: $classifier}) {"
            " minimizedComment { isMinimized minimizedReason } } }")


def gh(fake: FakeGitHub, token: str | None = None, retry: object = None) -> github.Github:
    """PyGithub as production builds it, minus the politeness sleeps that would slow tests."""
    return github.Github(base_url=fake.url, auth=github.Auth.Token(token or fake.token), retry=retry,
                         seconds_between_requests=None, seconds_between_writes=None)


def session(fake: FakeGitHub, token: str | None = None, retries: int = 0) -> requests.Session:
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {token or fake.token}"
    if retries:
        retry = Retry(total=retries, backoff_factor=0, status_forcelist=[502], allowed_methods=None)
        s.mount("http://", requests.adapters.HTTPAdapter(max_retries=retry))
    return s


# -- comments -------------------------------------------------------------------
def test_issue_comment_crud_with_pygithub(fake_github: FakeGitHub) -> None:
    fake_github.add_pull(7, head_sha=HEAD, head_ref="feature/x")
    issue = gh(fake_github).get_repo(fake_github.repo).get_issue(7)

    created = issue.create_comment("first")
    assert created.user.login == "github-actions[bot]" and created.raw_data["node_id"].startswith("IC_")
    created.edit("edited")
    assert [c.body for c in issue.get_comments()] == ["edited"]
    assert [c.body for c in fake_github.comments(7)] == ["edited"]
    created.delete()
    assert fake_github.comments(7) == []
    with pytest.raises(github.UnknownObjectException):
        gh(fake_github).get_repo(fake_github.repo).get_issue(7).get_comment(created.id)
    assert [(w.method, w.status) for w in fake_github.writes()] == [("POST", 201), ("PATCH", 200), ("DELETE", 204)]


def test_commit_comments_and_pulls_for_commit(fake_github: FakeGitHub) -> None:
    fake_github.add_pull(3, head_sha=HEAD, head_ref="feature/x")
    s, api = session(fake_github), f"{fake_github.url}/repos/{fake_github.repo}"
    made = s.post(f"{api}/commits/{HEAD}/comments", json={"body": "report"})
    assert made.status_code == 201
    assert s.patch(f"{api}/comments/{made.json()['id']}", json={"body": "v2"}).status_code == 200
    assert [c.body for c in fake_github.commit_comments(HEAD)] == ["v2"]
    assert [p["number"] for p in s.get(f"{api}/commits/{HEAD}/pulls").json()] == [3]
    assert s.delete(f"{api}/comments/{made.json()['id']}").status_code == 204


def test_pagination_follows_link_headers(fake_github: FakeGitHub) -> None:
    fake_github.add_issue("drift", number=5)
    for i in range(120):
        fake_github.add_comment(5, f"comment {i}")
    comments = list(gh(fake_github).get_repo(fake_github.repo).get_issue(5).get_comments())
    assert [c.body for c in comments] == [f"comment {i}" for i in range(120)]
    assert fake_github.count("GET", f"/repos/{fake_github.repo}/issues/5/comments") == 4  # 30 per page

    page = session(fake_github).get(f"{fake_github.url}/repos/{fake_github.repo}/issues/5/comments",
                                    params={"per_page": 50, "page": 2})
    assert len(page.json()) == 50
    links = requests.utils.parse_header_links(page.headers["Link"])
    assert {link["rel"]: link["url"].rsplit("page=", 1)[-1] for link in links} == \
        {"prev": "1", "next": "3", "last": "3", "first": "1"}


def test_concurrent_creates_both_succeed(fake_github: FakeGitHub) -> None:
    fake_github.add_issue("race", number=9)
    barrier, results = threading.Barrier(2), []

    def create(body: str) -> None:
        s = session(fake_github)
        barrier.wait()
        results.append(s.post(f"{fake_github.url}/repos/{fake_github.repo}/issues/9/comments", json={"body": body}))

    threads = [threading.Thread(target=create, args=(f"from {n}",)) for n in "ab"]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(r.status_code for r in results) == [201, 201]
    assert len({c.id for c in fake_github.comments(9)}) == 2


def test_comment_size_limit_is_githubs(fake_github: FakeGitHub) -> None:
    fake_github.add_issue("big", number=2)
    url = f"{fake_github.url}/repos/{fake_github.repo}/issues/2/comments"
    s = session(fake_github)
    assert s.post(url, json={"body": "x" * 65_536}).status_code == 201
    too_long = s.post(url, json={"body": "x" * 65_537})
    assert too_long.status_code == 422 and "too long" in too_long.json()["errors"][0]["message"]


# -- check runs -----------------------------------------------------------------
def test_check_runs_with_pygithub(fake_github: FakeGitHub) -> None:
    repo = gh(fake_github).get_repo(fake_github.repo)
    run = repo.create_check_run("mlops-ci / gate", HEAD, status="in_progress",
                                output={"title": "Evaluating…", "summary": "running"})
    notes = [{"path": "metrics.json", "start_line": 1, "end_line": 1, "annotation_level": "warning",
              "message": f"note {i}"} for i in range(50)]
    run.edit(conclusion="success", output={"title": "Gate passed", "summary": "ok", "annotations": notes})
    run.edit(output={"title": "Gate passed", "summary": "ok", "annotations": notes[:5]})  # appended
    stored = fake_github.check_runs(HEAD, name="mlops-ci / gate")[0]
    assert (stored.status, stored.conclusion, len(stored.annotations)) == ("completed", "success", 55)
    assert repo.get_check_run(run.id).output.annotations_count == 55

    listed = session(fake_github).get(f"{fake_github.url}/repos/{fake_github.repo}/commits/{HEAD}/check-runs",
                                      params={"check_name": "mlops-ci / gate"}).json()
    assert listed["total_count"] == 1 and listed["check_runs"][0]["id"] == run.id


def test_more_than_50_annotations_is_rejected(fake_github: FakeGitHub) -> None:
    run = gh(fake_github).get_repo(fake_github.repo).create_check_run("gate", HEAD)
    notes = [{"path": "a.py", "start_line": 1, "end_line": 1, "annotation_level": "notice", "message": "m"}] * 51
    with pytest.raises(github.GithubException) as err:
        run.edit(output={"title": "t", "summary": "s", "annotations": notes})
    assert err.value.status == 422
    assert fake_github.check_runs(HEAD)[0].annotations == []
    failures = fake_github.take_failures()  # GitHub's schema says maxItems 50: a client bug
    assert len(failures) == 1 and "[maxItems=50 failed]" in failures[0]


def test_check_run_text_limit(fake_github: FakeGitHub) -> None:
    url = f"{fake_github.url}/repos/{fake_github.repo}/check-runs"
    ok = {"name": "gate", "head_sha": HEAD, "output": {"title": "t", "summary": "s" * 65_535}}
    assert session(fake_github).post(url, json=ok).status_code == 201
    too_long = {"name": "gate", "head_sha": HEAD, "output": {"title": "t", "summary": "s" * 65_536}}
    assert session(fake_github).post(url, json=too_long).status_code == 422
    failures = fake_github.take_failures()  # GitHub's schema says maxLength 65535: a client bug
    assert len(failures) == 1 and "[maxLength=65535 failed]" in failures[0]


def test_pat_cannot_write_checks(fake_github: FakeGitHub) -> None:
    with pytest.raises(github.GithubException) as err:
        gh(fake_github, fake_github.admin_token).get_repo(fake_github.repo).create_check_run("gate", HEAD)
    assert err.value.status == 403 and "GitHub App" in err.value.data["message"]


# -- auth -----------------------------------------------------------------------
def test_read_only_token_gets_403_on_writes(fake_github: FakeGitHub) -> None:
    fake_github.add_pull(8, head_sha=HEAD, from_fork=True, user="outside-contrib")
    repo = gh(fake_github, fake_github.read_token).get_repo(fake_github.repo)
    assert repo.get_pull(8).head.repo.full_name == "outside-contrib/churn-model"  # reads work
    with pytest.raises(github.GithubException) as err:
        repo.get_issue(8).create_comment("hi")
    assert err.value.status == 403 and err.value.data["message"] == "Resource not accessible by integration"
    assert fake_github.comments(8) == []


def test_missing_or_bad_token_is_401(fake_github: FakeGitHub) -> None:
    url = f"{fake_github.url}/repos/{fake_github.repo}"
    assert requests.get(url).status_code == 401
    assert requests.get(url, headers={"Authorization": "token nope"}).json()["message"] == "Bad credentials"


# -- GitHub Enterprise layout ---------------------------------------------------
def test_ghe_prefix_rest_and_graphql(fake_github_ghe: FakeGitHub) -> None:
    fake = fake_github_ghe
    assert fake.url.endswith("/api/v3") and fake.graphql_url.endswith("/api/graphql")
    fake.add_pull(4, head_sha=HEAD)
    client = gh(fake)
    comment = client.get_repo(fake.repo).get_issue(4).create_comment("old report")
    _, data = client.requester.graphql_query(MINIMIZE, {"id": comment.raw_data["node_id"], "classifier": "OUTDATED"})
    assert data["data"]["minimizeComment"]["minimizedComment"] == {"isMinimized": True, "minimizedReason": "outdated"}
    assert fake.comments(4)[0].minimized_reason == "outdated"
    for i in range(34):
        fake.add_comment(4, f"more {i}")
    assert len(list(client.get_repo(fake.repo).get_issue(4).get_comments())) == 35  # Link URLs keep /api/v3
    assert requests.get(f"{fake.base}/repos/{fake.repo}", headers={"Authorization": f"token {fake.token}"}
                        ).status_code == 404  # only under /api/v3
    assert fake.take_failures() == [f"unknown endpoint: GET /repos/{fake.repo} (not implemented by the fake)"]


# -- GraphQL --------------------------------------------------------------------
def test_graphql_minimize_and_node_lookup(fake_github: FakeGitHub) -> None:
    fake_github.add_issue("t", number=1)
    c = fake_github.add_comment(1, "stale sticky comment")
    client = gh(fake_github)
    client.requester.graphql_query(MINIMIZE, {"id": c.node_id, "classifier": "OUTDATED"})
    _, data = client.requester.graphql_query(
        "query($id: ID!) { node(id: $id) { __typename ... on IssueComment { databaseId isMinimized"
        " minimizedReason author { login } } } }", {"id": c.node_id})
    assert data["data"]["node"] == {"__typename": "IssueComment", "databaseId": c.id, "isMinimized": True,
                                    "minimizedReason": "outdated", "author": {"login": "github-actions[bot]"}}
    rest = session(fake_github).get(f"{fake_github.url}/repos/{fake_github.repo}/issues/comments/{c.id}").json()
    assert rest["minimized"] == {"reason": "outdated"}
    assert [w.path for w in fake_github.writes()] == ["/graphql"]  # the query was not a write


def test_graphql_invalid_query_is_an_error_and_a_failure(fake_github: FakeGitHub) -> None:
    resp = session(fake_github).post(fake_github.graphql_url, json={
        "query": "mutation { minimizeComment(input: {subjectId: \"x\", classifier: STALE}) { clientMutationId } }"})
    assert resp.status_code == 200 and "STALE" in resp.json()["errors"][0]["message"]
    failures = fake_github.take_failures()
    assert len(failures) == 1 and "invalid against schema.graphql" in failures[0]


def test_graphql_minimize_with_read_only_token_is_forbidden(fake_github: FakeGitHub) -> None:
    fake_github.add_issue("t", number=1)
    c = fake_github.add_comment(1, "x")
    body = session(fake_github, fake_github.read_token).post(fake_github.graphql_url, json={
        "query": MINIMIZE, "variables": {"id": c.node_id, "classifier": "OUTDATED"}}).json()
    assert body["errors"][0]["type"] == "FORBIDDEN" and not fake_github.comments(1)[0].is_minimized


# -- fault injection ------------------------------------------------------------
def test_injected_502_is_retried_and_changes_nothing(fake_github: FakeGitHub) -> None:
    fake_github.add_issue("t", number=1)
    fake_github.inject("POST", r"/issues/1/comments$", status=502, times=1)
    url = f"{fake_github.url}/repos/{fake_github.repo}/issues/1/comments"
    assert session(fake_github).post(url, json={"body": "a"}).status_code == 502
    assert fake_github.comments(1) == []
    fake_github.inject("POST", r"/issues/1/comments$", status=502, times=2)
    assert session(fake_github, retries=3).post(url, json={"body": "b"}).status_code == 201
    assert [r.injected for r in fake_github.requests if r.method == "POST"] == ["502", "502", "502", None]


def test_secondary_rate_limit_is_honoured_by_pygithub(fake_github: FakeGitHub) -> None:
    fake_github.add_issue("t", number=1)
    fake_github.inject_secondary_rate_limit("POST", r"/issues/1/comments$", retry_after=1)
    start = time.monotonic()
    gh(fake_github, retry=github.GithubRetry(total=3)).get_repo(fake_github.repo).get_issue(1).create_comment("ok")
    assert time.monotonic() - start >= 1.0
    posts = [r for r in fake_github.requests if r.method == "POST"]
    assert [(r.status, r.injected) for r in posts] == [(403, "403"), (201, None)]
    assert len(fake_github.comments(1)) == 1


def test_injected_429_carries_headers(fake_github: FakeGitHub) -> None:
    fake_github.inject("GET", r"^/repos/[^/]+/[^/]+$", status=429, headers={"Retry-After": "7"})
    resp = session(fake_github).get(f"{fake_github.url}/repos/{fake_github.repo}")
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "7"
    assert "secondary rate limit" in resp.json()["message"]


def test_primary_rate_limit_reports_the_reset(fake_github: FakeGitHub) -> None:
    fake_github.inject_primary_rate_limit("GET", r"^/repos/[^/]+/[^/]+$", reset_in=5)
    resp = session(fake_github).get(f"{fake_github.url}/repos/{fake_github.repo}")
    assert resp.status_code == 403 and resp.headers["X-RateLimit-Remaining"] == "0"
    assert 3 <= int(resp.headers["X-RateLimit-Reset"]) - time.time() <= 6
    assert resp.json()["message"].startswith("API rate limit exceeded")


def test_connection_reset(fake_github: FakeGitHub) -> None:
    fake_github.inject_reset("GET", r"^/repos/[^/]+/[^/]+$", times=1)
    url = f"{fake_github.url}/repos/{fake_github.repo}"
    with pytest.raises(requests.ConnectionError):
        session(fake_github).get(url)
    fake_github.inject_reset("GET", r"^/repos/[^/]+/[^/]+$", times=1)
    assert session(fake_github, retries=2).get(url).status_code == 200
    assert [r.injected for r in fake_github.requests] == ["reset", "reset", None]


# -- validation catches mistakes ------------------------------------------------
def test_unknown_endpoint_is_404_and_a_failure(fake_github: FakeGitHub) -> None:
    resp = session(fake_github).get(f"{fake_github.url}/repos/{fake_github.repo}/branches")
    assert resp.status_code == 404
    with pytest.raises(AssertionError, match="unknown endpoint: GET /repos/octo-org/churn-model/branches"):
        fake_github.assert_clean()
    fake_github.take_failures()


def test_invalid_request_body_is_caught_by_openapi(fake_github: FakeGitHub) -> None:
    resp = session(fake_github).post(f"{fake_github.url}/repos/{fake_github.repo}/check-runs",
                                     json={"name": "gate", "head_sha": HEAD, "conclusion": "passed"})
    assert resp.status_code == 422
    failures = fake_github.take_failures()
    assert len(failures) == 1 and "conclusion" in failures[0] and "'passed' is not one of" in failures[0]
    assert fake_github.check_runs() == []


def test_response_validation_catches_a_broken_fake(fake_github: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.fakegithub.render import Renderer

    original = Renderer.comment
    monkeypatch.setattr(Renderer, "comment", lambda self, c: {k: v for k, v in original(self, c).items()
                                                              if k != "node_id"})
    fake_github.add_issue("t", number=1)
    session(fake_github).post(f"{fake_github.url}/repos/{fake_github.repo}/issues/1/comments", json={"body": "x"})
    failures = fake_github.take_failures()
    assert len(failures) == 1 and "'node_id' is a required property" in failures[0]


# -- the rest of the surface ----------------------------------------------------
def test_issues_labels_permissions(fake_github: FakeGitHub) -> None:
    repo = gh(fake_github).get_repo(fake_github.repo)
    issue = repo.create_issue("Data drift detected", body="PSI 0.3", labels=["drift"])
    # The object form: PyGithub's add_to_labels sends a bare array, which GitHub's description
    # mentions in prose but its schema rejects — the fake flags that.
    labels_url = f"{fake_github.url}/repos/{fake_github.repo}/issues/{issue.number}/labels"
    added = session(fake_github).post(labels_url, json={"labels": ["mlops"]}).json()
    assert [lab["name"] for lab in added] == ["drift", "mlops"]
    issue.remove_from_labels("mlops")
    assert [i.number for i in repo.get_issues(state="open", labels=["drift"])] == [issue.number]
    issue.edit(state="closed")
    assert fake_github.issues(state="closed", labels=["drift"])[0].title == "Data drift detected"
    fake_github.set_permission("mia", "maintain")
    assert repo.get_collaborator_permission("mia") == "write"
    assert repo.get_collaborator_permission("octo-org") == "admin"


def test_reactions(fake_github: FakeGitHub) -> None:
    fake_github.add_issue("t", number=1)
    c = fake_github.add_comment(1, "/mlops rerun", user="mia")
    comment = gh(fake_github).get_repo(fake_github.repo).get_issue(1).get_comment(c.id)
    comment.create_reaction("eyes")
    comment.create_reaction("eyes")  # same user + content: GitHub answers 200, no duplicate
    assert [r.content for r in fake_github.reactions(c.id)] == ["eyes"]


def test_deployments_releases_dispatch_runners(fake_github: FakeGitHub) -> None:
    fake_github.set_ref("v1.2.3", HEAD)
    repo = gh(fake_github).get_repo(fake_github.repo)
    first = repo.create_deployment("main", environment="production", required_contexts=[], auto_merge=False)
    first.create_status("success", environment_url="https://churn.example")
    second = repo.create_deployment("v1.2.3", environment="production", required_contexts=[], auto_merge=False)
    second.create_status("success")
    deps = fake_github.deployments("production")
    assert [(d.sha, d.state) for d in deps] == [(MAIN_SHA, "inactive"), (HEAD, "success")]
    assert [s.state for s in repo.get_deployment(first.id).get_statuses()] == ["inactive", "success"]

    repo.create_git_release("v1.2.3", "v1.2.3", "notes")
    assert repo.get_release("v1.2.3").tag_name == "v1.2.3"
    s = session(fake_github)
    api = f"{fake_github.url}/repos/{fake_github.repo}"
    assert s.post(f"{api}/actions/workflows/retrain.yml/dispatches", json={"ref": "main"}).status_code == 204
    assert s.post(f"{api}/actions/workflows/retrain.yml/dispatches", json={"ref": "nope"}).status_code == 422
    assert [(d.workflow_id, d.ref) for d in fake_github.dispatches()] == [("retrain.yml", "main")]

    body = {"name": "gpu-1", "runner_group_id": 1, "labels": ["self-hosted", "gpu"]}
    assert s.post(f"{api}/actions/runners/generate-jitconfig", json=body).status_code == 403
    made = session(fake_github, fake_github.admin_token).post(f"{api}/actions/runners/generate-jitconfig", json=body)
    assert made.status_code == 201 and made.json()["runner"]["name"] == "gpu-1"


def test_workflow_run_and_pull_lookup(fake_github: FakeGitHub) -> None:
    fake_github.add_pull(43, head_sha=HEAD, from_fork=True, user="outside-contrib", head_ref="fix")
    fake_github.add_workflow_run(HEAD, id=777, head_repo="outside-contrib/churn-model", head_branch="fix")
    run = gh(fake_github).get_repo(fake_github.repo).get_workflow_run(777)
    assert run.head_sha == HEAD and run.pull_requests == []  # fork runs list no PRs, as on GitHub
    pulls = session(fake_github).get(f"{fake_github.url}/repos/{fake_github.repo}/pulls",
                                     params={"state": "open"}).json()
    assert [(p["number"], p["head"]["repo"]["full_name"]) for p in pulls] == [(43, "outside-contrib/churn-model")]


def test_a_subprocess_reaches_the_fake(fake_github: FakeGitHub) -> None:
    code = ("import os, json, urllib.request as u; r = u.Request(os.environ['GITHUB_API_URL'] + '/repos/' + "
            "os.environ['GITHUB_REPOSITORY'], headers={'Authorization': 'token ' + os.environ['GITHUB_TOKEN']});"
            "print(json.load(u.urlopen(r))['full_name'])")
    out = subprocess.run([sys.executable, "-c", code], env=fake_github.env(), capture_output=True, text=True,
                         timeout=30, check=True)
    assert out.stdout.strip() == fake_github.repo


def test_validator_build_time_cold_and_warm(tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Cold = extract the subset from the 13 MB description (+ spec-validate it); warm = cached JSON."""
    monkeypatch.setattr(spec_mod, "CACHE_DIR", tmp_path)
    cold = spec_mod.build(operations())
    warm = spec_mod.build(operations())
    assert (cold.cached, warm.cached) == (False, True)
    assert len(json.dumps(warm.doc)) < 1_000_000
    with capsys.disabled():
        print(f"\n[fakegithub] validator build: cold {cold.load_seconds + cold.build_seconds:.2f}s, "
              f"warm {warm.load_seconds + warm.build_seconds:.3f}s, subset {len(json.dumps(warm.doc)) // 1024} KiB, "
              f"{len(warm.doc['paths'])} paths")
