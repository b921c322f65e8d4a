"""An unreachable MLflow fails the gate closed, and fast, with MLflow's HTTP settings left at their defaults.

MLflow alone retries 7 times with exponential backoff and waits 120 s per request: about 4 minutes
before the gate could fail. These runs set no MLFLOW_HTTP_REQUEST_* variables; the subprocess timeout
is only a guard against hanging, not a timing assertion.
"""

import http.server
import json
import socket
import subprocess
import sys
import threading

import pytest

from mlops_ci.registry.mlflow_registry import RegistryUnreachable, probe
from tests.integration.test_gate import RULES, gh_env

pytestmark = pytest.mark.integration

GUARD_S = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def silent_server():
    """Accepts TCP connections (the kernel's backlog) and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


@pytest.fixture
def answering_server():
    """Answers every request with ``status`` (a reverse proxy, an auth wall, a server without /health)."""
    seen: list[tuple[str, str | None]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        status = 404

        def do_GET(self):  # noqa: N802
            seen.append((self.path, self.headers.get("Authorization")))
            self.send_response(self.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server, Handler, seen
    server.shutdown()
    server.server_close()


def clean_env(dvc_repo, **extra):
    env = {k: v for k, v in dvc_repo.env.items() if not k.startswith("MLFLOW_HTTP_")}
    return {**env, **extra}


def mlops(dvc_repo, env, *args):
    return subprocess.run([sys.executable, "-m", "mlops_ci", *args], cwd=dvc_repo.root, env=env,
                          capture_output=True, text=True, timeout=GUARD_S)


@pytest.fixture(params=["refused", "silent"])
def down_uri(request, silent_server):
    return f"http://127.0.0.1:{free_port()}" if request.param == "refused" else silent_server


def test_unreachable_mlflow_fails_the_local_gate_with_the_reason(dvc_repo, tmp_path, down_uri):
    dvc_repo.write(".mlops-ci.yml", RULES)
    challenger = tmp_path / "challenger.json"
    challenger.write_text(json.dumps({"auc": 0.85, "loss": 0.30}))
    proc = mlops(dvc_repo, clean_env(dvc_repo, MLFLOW_TRACKING_URI=down_uri),
                 "gate", "--challenger-metrics", str(challenger), "--model-name", "churn")
    assert proc.returncode == 1, proc.stderr
    assert f"MLflow ({down_uri}) is unreachable" in proc.stderr
    assert "MLFLOW_HTTP_REQUEST_TIMEOUT" in proc.stderr  # the hint says how to tune it
    assert "Traceback" not in proc.stderr


def test_unreachable_mlflow_fails_the_check_in_actions(fake_github, dvc_repo, tmp_path, down_uri):
    dvc_repo.write(".mlops-ci.yml", RULES)
    dvc_repo.write("metrics.json", json.dumps({"auc": 0.80, "loss": 0.40}, indent=2))
    base = dvc_repo.commit("base")
    dvc_repo.write("metrics.json", json.dumps({"auc": 0.85, "loss": 0.30}, indent=2))
    head = dvc_repo.commit("better")
    env = clean_env(dvc_repo, **{**gh_env(fake_github, tmp_path, dvc_repo, head, base),
                                 "MLFLOW_TRACKING_URI": down_uri})
    proc = mlops(dvc_repo, env, "gate", "--model-name", "churn")
    assert proc.returncode == 1, proc.stderr
    (check,) = fake_github.check_runs(head, "mlops-ci / gate")
    assert check.status == "completed" and check.conclusion == "failure"
    assert "is unreachable" in check.title and down_uri in check.summary


def test_user_http_settings_are_kept_and_the_error_still_says_unreachable(dvc_repo, tmp_path):
    dvc_repo.write(".mlops-ci.yml", RULES)
    challenger = tmp_path / "challenger.json"
    challenger.write_text(json.dumps({"auc": 0.85, "loss": 0.30}))
    uri = f"http://127.0.0.1:{free_port()}"
    env = clean_env(dvc_repo, MLFLOW_TRACKING_URI=uri, MLFLOW_HTTP_REQUEST_MAX_RETRIES="0",
                    MLFLOW_HTTP_REQUEST_TIMEOUT="2")
    proc = mlops(dvc_repo, env, "gate", "--challenger-metrics", str(challenger), "--model-name", "churn")
    assert proc.returncode == 1, proc.stderr
    # no probe: MLflow's own request failed, with the user's settings, and is reported as unreachable
    assert f"MLflow ({uri}) is unreachable: reading alias churn@champion failed" in proc.stderr


@pytest.mark.parametrize("status", [200, 401, 404, 503])
def test_any_http_answer_is_reachable(answering_server, status):
    server, handler, seen = answering_server
    handler.status = status
    probe(f"http://user:s3cret@127.0.0.1:{server.server_port}/prefix/", timeout=5, attempts=1)
    assert seen == [("/prefix/health", None)]  # credentials in the URI are not sent by the probe


def test_probe_message_names_the_uri_without_credentials():
    port = free_port()
    with pytest.raises(RegistryUnreachable) as caught:
        probe(f"http://user:s3cret@127.0.0.1:{port}", timeout=1, attempts=2, pause=0)
    text = caught.value.render()
    assert f"MLflow (http://***@127.0.0.1:{port}) is unreachable" in text
    assert "2 attempts" in text and "s3cret" not in text


@pytest.mark.parametrize("uri", ["sqlite:///tmp/x.db", "file:///tmp/mlruns", "databricks", "databricks-uc", ""])
def test_probe_leaves_non_http_stores_alone(uri):
    probe(uri, timeout=0.1, attempts=1)
