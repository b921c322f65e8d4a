"""Secrets never leave: each attack of the security review (F7, F8, F15) reproduced, then held off.

* F7 — MLflow credentials in the tracking URI reached the PR comment, the check run, the job
  summary and the log when the server answered /health and then dropped the API connection.
* F8 — the umbrella action handed the GitHub token to `repro`, and DVC stages (PR code) inherited
  it, with GITHUB_ENV / GITHUB_PATH to poison later steps.
* F15 — an error message carrying "\\n::warning …" became a workflow command on stderr; the bot's
  help reply echoed a backtick that broke out of its code span and mentioned a team.

Everything runs for real: the CLI in subprocesses, the fake GitHub (requests validated against
GitHub's OpenAPI description), DVC, bash.
"""

from __future__ import annotations

import http.server
import io
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from mlops_ci.bots import chatops
from mlops_ci.github.actions import Runtime
from mlops_ci.redact import describe, redact
from tests.fakegithub import events
from tests.integration.events_helpers import BOT, actions_env, issue_comment

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "S3cr3tPassw0rd"
USER = "mlflow-user"
RULES = "gate:\n  rules:\n    - metric: auc\n      direction: higher\n      max_regression: 0.01\n"
GUARD_S = 240  # a hang guard for the subprocesses, not a timing assertion


# ---------------------------------------------------------------------------------------------
# the redaction function itself
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("API request to http://mlflow-user:S3cr3tPassw0rd@127.0.0.1:5000/api/2.0/x failed",
     "API request to http://***@127.0.0.1:5000/api/2.0/x failed"),
    ("clone https://ghp_abcdefgh1234@github.com/o/r.git", "clone https://***@github.com/o/r.git"),
    ("two: s3://k:v@b/p and postgresql+psycopg2://u:p@db:5432/x",
     "two: s3://***@b/p and postgresql+psycopg2://***@db:5432/x"),
    ("quoted 'http://u:p@h:1' and (http://u:p@h)", "quoted 'http://***@h:1' and (http://***@h)"),
    ("raw at-sign in the password http://u:p@ss@host/x", "raw at-sign in the password http://***@host/x"),
    ("no credentials: http://127.0.0.1:5000/api?x=a@b and git@github.com:o/r and a@b.c",
     "no credentials: http://127.0.0.1:5000/api?x=a@b and git@github.com:o/r and a@b.c"),
])
def test_redact_replaces_uri_userinfo(text, expected):
    assert redact(text, env={}) == expected


def test_redact_replaces_values_of_secret_variables_and_of_the_tracking_uri():
    env = {"MY_SECRET": "hunter2-value", "DB_PASSWORD": "pw-1234", "SOME_TOKEN": "true", "X_TOKEN": "abc",
           "MLFLOW_TRACKING_URI": f"http://{USER}:{PASSWORD}@mlflow.internal", "PLAIN": "not-a-secret"}
    text = f"a hunter2-value b pw-1234 c {PASSWORD} d true abc not-a-secret"
    assert redact(text, env=env) == "a *** b *** c *** d true abc not-a-secret"


def test_describe_redacts_any_exception():
    class Boom(Exception):
        pass

    assert describe(Boom(f"GET http://{USER}:{PASSWORD}@h/x")) == "Boom: GET http://***@h/x"
    from mlops_ci.errors import BadInput

    err = BadInput(f"cannot read http://{USER}:{PASSWORD}@h", hint=f"try https://tok@h")
    assert PASSWORD not in describe(err) and "tok@" not in describe(err)
    assert PASSWORD not in str(err) and PASSWORD not in err.render()


def test_runtime_sinks_redact(tmp_path):
    stream = io.StringIO()
    env = {"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(tmp_path / "output"),
           "GITHUB_STEP_SUMMARY": str(tmp_path / "summary")}
    rt = Runtime(in_github=True, out_dir=tmp_path / "out", env=env, stream=stream)
    leak = f"http://{USER}:{PASSWORD}@h/api"
    rt.append_summary(f"summary {leak}")
    rt.annotate("error", f"annotation {leak}", title=f"title {leak}")
    rt.set_output("reason", f"output {leak}")
    rt.write_file("gate.json", json.dumps({"reason": leak}))
    rt.mask("masked-value-123")
    rt.append_summary("and the masked value masked-value-123 too")
    written = [stream.getvalue(), *(p.read_text() for p in (tmp_path / "summary", tmp_path / "output",
                                                               tmp_path / "out" / "gate.json"))]
    for text in written:
        assert PASSWORD not in text
    assert "masked-value-123" not in (tmp_path / "summary").read_text()
    assert "http://***@h/api" in (tmp_path / "summary").read_text()


def test_github_adapter_redacts_what_it_sends(fake_github):
    from mlops_ci.github.api import GitHub

    events.seed_fake(fake_github)
    gh = GitHub(fake_github.token, fake_github.repo, fake_github.url)
    gh.create_issue_comment(events.PR_NUMBER, f"see http://{USER}:{PASSWORD}@mlflow/x")
    gh.create_check_run("x", events.PR_HEAD_SHA, output={
        "title": f"t https://tok3n@h", "summary": f"s http://{USER}:{PASSWORD}@mlflow"})
    issue = gh.create_issue(f"http://{USER}:{PASSWORD}@h", "body")
    bodies = [c.body for c in fake_github.comments(events.PR_NUMBER)]
    (check,) = fake_github.check_runs(events.PR_HEAD_SHA, "x")
    assert any("http://***@mlflow/x" in b for b in bodies)
    assert all(PASSWORD not in b for b in bodies)
    assert PASSWORD not in check.summary and "tok3n" not in check.title
    assert PASSWORD not in issue["title"]


# ---------------------------------------------------------------------------------------------
# F7: an MLflow that answers /health, then drops / refuses / fails the API calls
# ---------------------------------------------------------------------------------------------

class _Mlflow(http.server.BaseHTTPRequestHandler):
    """/health answers 200 (the probe passes); every API call gets ``mode``."""

    mode = "drop"

    def _answer(self) -> None:
        if self.path.split("?")[0].rstrip("/").endswith("/health"):
            self._send(200, b"OK", "text/plain")
        elif self.mode == "drop":  # accept, read the request, then close without a word
            self.close_connection = True
        elif self.mode == "401":
            self._send(401, json.dumps({"error_code": "UNAUTHENTICATED",
                                        "message": "You are not authenticated."}).encode(), "application/json")
        else:
            self._send(500, b"Internal Server Error", "text/plain")

    def _send(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PATCH = do_DELETE = _answer

    def log_message(self, *args: object) -> None:
        pass


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(params=["drop", "401", "500", "unreachable"])
def bad_mlflow(request):
    """The tracking URI (credentials included) of a misbehaving MLflow, and what it does."""
    if request.param == "unreachable":
        yield f"http://{USER}:{PASSWORD}@127.0.0.1:{_free_port()}", request.param
        return
    handler = type("Handler", (_Mlflow,), {"mode": request.param})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://{USER}:{PASSWORD}@127.0.0.1:{server.server_port}", request.param
    server.shutdown()
    server.server_close()


def _mlflow_env(uri: str) -> dict[str, str]:
    # no retries: the same error path, fewer seconds
    return {"MLFLOW_TRACKING_URI": uri, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
            "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}


def _assert_only_masked(proc: subprocess.CompletedProcess[str], secret: str = PASSWORD) -> None:
    """The secret shows up in the log only on ``::add-mask::`` lines (which the runner hides)."""
    for line in (proc.stdout + proc.stderr).splitlines():
        if secret in line:
            assert line.startswith("::add-mask::"), f"leaked in the log: {line!r}"


def _assert_no_secret_in_files(*roots: Path, secret: str = PASSWORD) -> None:
    for root in roots:
        for path in [root] if root.is_file() else root.rglob("*"):
            if path.is_file() and path.suffix not in (".db", ".pyc"):
                assert secret not in path.read_text(errors="replace"), f"leaked into {path}"


def _gh_env(fake, tmp_path: Path, head: str, base: str) -> dict[str, str]:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"action": "opened", "number": 5, "repository": {"full_name": fake.repo},
                                 "pull_request": {"number": 5,
                                                  "head": {"sha": head, "repo": {"full_name": fake.repo}},
                                                  "base": {"sha": base, "repo": {"full_name": fake.repo}}}}))
    return {**fake.env(), "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(event), "GITHUB_SHA": head, "GITHUB_RUN_ID": "9",
            "GITHUB_OUTPUT": str(tmp_path / "output"), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary")}


def test_f7_gate_never_shows_mlflow_credentials(fake_github, dvc_repo, tmp_path, bad_mlflow):
    uri, mode = bad_mlflow
    dvc_repo.write(".mlops-ci.yml", RULES)
    dvc_repo.write("metrics.json", json.dumps({"auc": 0.80}))
    base = dvc_repo.commit("base")
    dvc_repo.write("metrics.json", json.dumps({"auc": 0.85}))
    head = dvc_repo.commit("better")
    env = {k: v for k, v in dvc_repo.env.items() if not k.startswith("MLFLOW_")}
    env.update(_gh_env(fake_github, tmp_path, head, base), **_mlflow_env(uri))
    proc = subprocess.run([sys.executable, "-m", "mlops_ci", "gate", "--model-name", "churn"], cwd=dvc_repo.root,
                          env=env, capture_output=True, text=True, timeout=GUARD_S)
    assert proc.returncode == 1, proc.stderr
    (check,) = fake_github.check_runs(head, "mlops-ci / gate")
    assert check.conclusion == "failure"
    assert "MLflow (http://***@127.0.0.1:" in check.summary  # still says which server, without the secret
    for text in (check.title, check.summary, json.dumps(check.annotations or [])):
        assert PASSWORD not in text and f"{USER}:" not in text
    _assert_only_masked(proc)
    assert f"::add-mask::{PASSWORD}" in proc.stderr and f"::add-mask::{uri}" in proc.stderr
    _assert_no_secret_in_files(tmp_path / "summary", tmp_path / "output", dvc_repo.root / ".mlops-ci")


def test_f7_bot_promote_reply_never_shows_mlflow_credentials(fake_github, tmp_path, bad_mlflow):
    uri, mode = bad_mlflow
    events.seed_fake(fake_github)
    project = tmp_path / "repo"
    project.mkdir()
    (project / ".mlops-ci.yml").write_text("mlflow:\n  model_name: churn\n" + RULES)
    body = "/mlops promote"
    cid = fake_github.add_comment(events.PR_NUMBER, body, user=events.MAINTAINER).id
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "MLOPS_CI_", "RUNNER_", "MLFLOW_"))}
    env.update(actions_env(fake_github, tmp_path, "issue_comment", issue_comment(body, comment_id=cid)),
               **_mlflow_env(uri))
    proc = subprocess.run([sys.executable, "-m", "mlops_ci", "bot"], cwd=project, env=env, capture_output=True,
                          text=True, timeout=GUARD_S)
    assert proc.returncode == 1, proc.stderr
    (reply,) = [c.body for c in fake_github.comments(events.PR_NUMBER) if c.user == BOT]
    assert "failed" in reply and "MLflow (http://***@127.0.0.1:" in reply
    assert PASSWORD not in reply and f"{USER}:" not in reply
    _assert_only_masked(proc)
    _assert_no_secret_in_files(tmp_path / "gha", project / ".mlops-ci")


# ---------------------------------------------------------------------------------------------
# masks at start-up
# ---------------------------------------------------------------------------------------------

def _run_cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("GITHUB_", "MLOPS_CI_", "RUNNER_", "MLFLOW_", "ACTIONS_"))
            and not k.endswith(("_TOKEN", "_PASSWORD", "_SECRET"))}
    return subprocess.run([sys.executable, "-m", "mlops_ci", *args], cwd=cwd, env={**base, **env},
                          capture_output=True, text=True, timeout=GUARD_S)


def test_secrets_are_masked_once_before_any_command_runs(tmp_path):
    uri = f"https://{USER}:{PASSWORD}@mlflow.example.com/prefix"
    env = {"GITHUB_ACTIONS": "true", "MLFLOW_TRACKING_URI": uri, "MLFLOW_TRACKING_PASSWORD": "tracking-pw",
           "MLFLOW_TRACKING_TOKEN": "tracking-token-1", "DEPLOY_TOKEN": "dtok-5678", "S3_SECRET": "s3-secret-x",
           "DB_PASSWORD": "multi\nline-pw", "SHORT_TOKEN": "abc", "EMPTY_SECRET": ""}
    proc = _run_cli(["version"], env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    # on stderr (the runner reads both streams), so stdout stays what the command prints: JSON for some
    assert "add-mask" not in proc.stdout
    masks = [line[len("::add-mask::"):] for line in proc.stderr.splitlines() if line.startswith("::add-mask::")]
    for value in (uri, f"{USER}:{PASSWORD}", PASSWORD, "tracking-pw", "tracking-token-1", "dtok-5678",
                  "s3-secret-x", "multi", "line-pw"):
        assert masks.count(value) == 1, (value, masks)
    assert "abc" not in masks and "" not in masks
    # before anything else is printed
    assert proc.stderr.splitlines()[:len(masks)] == [f"::add-mask::{m}" for m in masks]
    for secret in (PASSWORD, "tracking-pw", "dtok-5678"):
        _assert_only_masked(proc, secret)


def test_no_masks_outside_actions(tmp_path):
    proc = _run_cli(["version"], {"MLFLOW_TRACKING_PASSWORD": "tracking-pw"}, tmp_path)
    assert proc.returncode == 0 and "add-mask" not in proc.stdout + proc.stderr


# ---------------------------------------------------------------------------------------------
# F8: DVC stages (PR code) run with a scrubbed environment
# ---------------------------------------------------------------------------------------------

SPY_PIPELINE = """\
stages:
  spy:
    cmd: env > stage-env.txt
  poison:
    cmd: sh poison.sh
"""
#: What a malicious stage does with GITHUB_ENV: make every later step of the job source its script.
POISON = 'echo BASH_ENV=/tmp/evil.sh >> "${GITHUB_ENV:-/dev/null}"\n'


def test_f8_repro_stages_get_no_tokens_and_no_runner_files(dvc_repo, tmp_path):
    dvc_repo.write("dvc.yaml", SPY_PIPELINE)
    dvc_repo.write("poison.sh", POISON)
    dvc_repo.write(".mlops-ci.yml", "repro:\n  pass_env: [PASSED_TOKEN, 'KEEP_*']\n")
    dvc_repo.commit("spy stages")
    github_env, github_path = tmp_path / "github_env", tmp_path / "github_path"
    for path in (github_env, github_path):
        path.write_text("")
    secrets = {"GITHUB_TOKEN": "ghs_SECRETgithubTOKEN", "MLOPS_CI_GITHUB_TOKEN": "ghs_SECRETumbrellaTOKEN",
               "GH_TOKEN": "gho_SECRETcliTOKEN", "ACTIONS_RUNTIME_TOKEN": "rt-SECRET-token",
               "ACTIONS_ID_TOKEN_REQUEST_URL": "https://oidc.example/x", "ACTIONS_CACHE_URL": "https://cache/x",
               "MY_SECRET": "my-SECRET-value", "db_password": "lower-SECRET-pw",
               "DB_URL": "postgresql://app:SECRETdbpw@db:5432/x"}
    env = {**secrets, "GITHUB_ACTIONS": "true", "GITHUB_ENV": str(github_env), "GITHUB_PATH": str(github_path),
           "GITHUB_OUTPUT": str(tmp_path / "output"), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
           "GITHUB_STATE": str(tmp_path / "state"), "PASSED_TOKEN": "passed-token-value",
           "KEEP_ME": "kept", "PLAIN_SETTING": "plain"}
    proc = dvc_repo.mlops("repro", "--no-push", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    seen = dict(line.split("=", 1) for line in (dvc_repo.root / "stage-env.txt").read_text().splitlines()
                if "=" in line)
    for name in (*secrets, "GITHUB_ENV", "GITHUB_PATH", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_STATE"):
        assert name not in seen, f"the stage saw {name}"
    assert seen["PASSED_TOKEN"] == "passed-token-value" and seen["KEEP_ME"] == "kept"
    assert seen["PLAIN_SETTING"] == "plain" and "PATH" in seen and "HOME" in seen
    assert github_env.read_text() == ""  # the poison stage wrote nowhere that matters
    # one line names what was withheld, never a value
    (line,) = [ln for ln in proc.stdout.splitlines() if "withheld" in ln]
    for name in ("GITHUB_TOKEN", "MLOPS_CI_GITHUB_TOKEN", "ACTIONS_RUNTIME_TOKEN", "GITHUB_ENV", "MY_SECRET",
                 "DB_URL", "db_password"):
        assert name in line
    assert "PASSED_TOKEN" not in line and "repro.pass_env" in line
    for value in secrets.values():
        _assert_only_masked(proc, value)
    # mlops-ci itself still writes its outputs for the next steps
    assert "stages-ran=" in (tmp_path / "output").read_text()


def test_f8_pass_env_cannot_hand_out_the_runner_control_files(dvc_repo, tmp_path):
    """Even listed, GITHUB_ENV & co. and the GitHub tokens stay withheld (a PR can edit .mlops-ci.yml)."""
    dvc_repo.write("dvc.yaml", SPY_PIPELINE)
    dvc_repo.write("poison.sh", POISON)
    dvc_repo.write(".mlops-ci.yml", "repro:\n  pass_env: ['*']\n")
    dvc_repo.commit("spy stages, everything asked for")
    github_env = tmp_path / "github_env"
    github_env.write_text("")
    proc = dvc_repo.mlops("repro", "--no-push", env={"GITHUB_ENV": str(github_env), "GITHUB_TOKEN": "ghs_x1234",
                                                     "ACTIONS_RUNTIME_TOKEN": "rt-1234", "OTHER_TOKEN": "o-1234"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    seen = (dvc_repo.root / "stage-env.txt").read_text()
    assert "GITHUB_ENV=" not in seen and "GITHUB_TOKEN=" not in seen and "ACTIONS_RUNTIME_TOKEN=" not in seen
    assert "OTHER_TOKEN=o-1234" in seen
    assert github_env.read_text() == ""


@pytest.mark.parametrize("value", [[""], ["BAD NAME"], "GITHUB_TOKEN", [1]])
def test_bad_pass_env_is_a_config_error_naming_the_key(dvc_repo, value):
    dvc_repo.write(".mlops-ci.yml", yaml.safe_dump({"repro": {"pass_env": value}}))
    proc = dvc_repo.mlops("config", "validate")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert ".mlops-ci.yml" in proc.stderr and "repro.pass_env" in proc.stderr


# ---------------------------------------------------------------------------------------------
# F8: the umbrella action hands the token only to commands that post
# ---------------------------------------------------------------------------------------------

def _umbrella_run_step() -> dict:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    (step,) = [s for s in action["runs"]["steps"] if s.get("id") == "run"]
    return step


def _run_umbrella(tmp_path: Path, command: str) -> dict[str, str]:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True, exist_ok=True)
    dump = tmp_path / f"env-{command.replace(' ', '-')}.txt"
    fake = venv / "bin" / "mlops-ci"
    fake.write_text("#!/bin/sh\nenv > \"$DUMP_TO\"\n")
    fake.chmod(0o755)
    step = _umbrella_run_step()
    inputs = {"command": command, "github-token": "ghs_INPUTtoken", "working-directory": ".", "python": "python3"}
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DUMP_TO": str(dump),
           # a job that also exported tokens for its own steps
           "GITHUB_TOKEN": "ghs_JOBtoken", "GH_TOKEN": "ghs_JOBtoken"}
    for name, value in (step.get("env") or {}).items():
        value = str(value)
        if "steps.setup.outputs.venv-path" in value:
            env[name] = str(venv)
        elif value.startswith("${{ inputs."):
            env[name] = inputs.get(value[len("${{ inputs."):-3].strip(), "")
        else:
            env[name] = value
    proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return dict(line.split("=", 1) for line in dump.read_text().splitlines() if "=" in line)


@pytest.mark.parametrize("command", ["repro", "drift", "metrics diff", "register", "promote", "build", "context"])
def test_f8_umbrella_action_keeps_the_token_from_commands_that_do_not_post(tmp_path, command):
    seen = _run_umbrella(tmp_path, command)
    assert not [k for k, v in seen.items() if "ghs_" in v], seen


@pytest.mark.parametrize("command", ["report", "gate", "publish", "guard", "bot", "monitor", "release"])
def test_f8_umbrella_action_hands_the_token_to_commands_that_post(tmp_path, command):
    seen = _run_umbrella(tmp_path, command)
    assert seen["MLOPS_CI_GITHUB_TOKEN"] == "ghs_INPUTtoken"
    assert [k for k, v in seen.items() if "ghs_INPUT" in v] == ["MLOPS_CI_GITHUB_TOKEN"]


# ---------------------------------------------------------------------------------------------
# F15: workflow commands smuggled through error text; the bot's echo of an unknown word
# ---------------------------------------------------------------------------------------------

def _command_lines(text: str) -> list[str]:
    """Lines the runner would take as workflow commands (v2 after trimming, v1 anywhere)."""
    return [line for line in text.splitlines() if line.lstrip().startswith("::") or "##[" in line]


@pytest.mark.parametrize("args", [
    ["metrics", "diff", "--base", "nope\n::warning title=x::y"],
    ["report", "--target", "pr/x\n  ::stop-commands::abc\n##[warning]z"],
])
def test_f15_error_text_cannot_become_a_workflow_command(dvc_repo, args):
    proc = dvc_repo.mlops(*args, env={"GITHUB_ACTIONS": "true"})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "mlops-ci: error:" in proc.stderr and "warning" in proc.stderr  # the message is still there
    commands = _command_lines(proc.stdout + proc.stderr)
    assert commands and all(line.startswith("::error title=mlops-ci::") for line in commands), commands


def test_f15_usage_errors_cannot_become_workflow_commands(dvc_repo):
    proc = dvc_repo.mlops("gate", "extra\n::warning title=x::y", env={"GITHUB_ACTIONS": "true"})
    assert proc.returncode == 2
    assert "unexpected extra argument" in proc.stderr and "warning title=x" in proc.stderr
    assert _command_lines(proc.stdout + proc.stderr) == []


@pytest.mark.parametrize("word", ["x`@octo-org/security-team`[phish](https:", "``@octo-org/team``", "@someone"])
def test_f15_help_reply_cannot_break_out_of_its_code_span(word):
    command = chatops.parse(f"/mlops {word}")
    assert command is not None and command.name == "help"
    text = chatops.help_text("/mlops", command.unknown)
    head = text.split("Commands (")[0]  # "I don't know `…`. "
    spans = head.split("`")
    assert len(spans) == 3, head  # exactly one code span: nothing outside it came from the user
    assert "@" not in spans[0] + spans[2]
    assert "@octo-org" not in head and "@someone" not in head  # no mention, even inside


def test_f8_a_pr_cannot_widen_pass_env_for_its_own_stages(dvc_repo, tmp_path):
    """In a PR job the list comes from the base commit: the PR's own `.mlops-ci.yml` cannot hand its stages a
    secret the workflow meant for mlops-ci's steps."""
    dvc_repo.write("dvc.yaml", SPY_PIPELINE)
    dvc_repo.write("poison.sh", POISON)
    base = dvc_repo.commit("spy stages; the base passes nothing extra")
    dvc_repo.sh("git", "checkout", "-q", "-b", "pr")
    dvc_repo.write(".mlops-ci.yml", "repro:\n  pass_env: [MLFLOW_TRACKING_PASSWORD]\n")
    head = dvc_repo.commit("the PR asks for the MLflow password")
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"action": "opened", "number": 5, "pull_request": {
        "number": 5, "head": {"sha": head, "repo": {"full_name": "o/r"}},
        "base": {"sha": base, "repo": {"full_name": "o/r"}}}, "repository": {"full_name": "o/r"}}))
    env = {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event),
           "GITHUB_REPOSITORY": "o/r", "GITHUB_OUTPUT": str(tmp_path / "output"),
           "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"), "MLFLOW_TRACKING_PASSWORD": "mlflow-SECRET-pw"}
    proc = dvc_repo.mlops("repro", "--no-push", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "MLFLOW_TRACKING_PASSWORD" not in (dvc_repo.root / "stage-env.txt").read_text()
