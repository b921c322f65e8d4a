"""A registry that predates model aliases (MLflow < 2.3): stages stand in for them.

No such old server installs here, so a real MLflow server sits behind a small proxy that answers
the alias endpoints as an old server does: 404 with an HTML page, not an MLflow error.
"""

from __future__ import annotations

import json
import threading
import uuid
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.integration.test_promote import RULES
from tests.integration.test_register import add_model

pytestmark = pytest.mark.integration

NOT_FOUND = b"<!doctype html>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n"


@pytest.fixture
def pre_alias_server(mlflow_server):
    upstream = mlflow_server.url.rstrip("/")
    seen: list[str] = []

    class Proxy(BaseHTTPRequestHandler):
        def _forward(self) -> None:
            seen.append(f"{self.command} {self.path.split('?')[0]}")
            if "/registered-models/alias" in self.path:
                self.send_response(404)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(NOT_FOUND)))
                self.end_headers()
                self.wfile.write(NOT_FOUND)
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
            request = urllib.request.Request(upstream + self.path, data=body, headers=headers, method=self.command)
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    status, payload, kind = response.status, response.read(), response.headers.get("Content-Type")
            except urllib.error.HTTPError as err:
                status, payload, kind = err.code, err.read(), err.headers.get("Content-Type")
            self.send_response(status)
            self.send_header("Content-Type", kind or "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

        def log_message(self, *args) -> None:  # noqa: ANN002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def register(repo, env, auc, name):
    repo.write("metrics.json", json.dumps({"auc": auc}))
    repo.commit(f"auc {auc}")
    proc = repo.mlops("register", "--model-name", name, env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads((repo.root / ".mlops-ci" / "out" / "registry.json").read_text())["model-version"]


def test_register_promote_and_gate_use_stages_without_aliases(dvc_repo, mlflow_server, pre_alias_server):
    from mlflow import MlflowClient

    url, seen = pre_alias_server
    env = {"MLFLOW_TRACKING_URI": url}
    name = f"legacy-{uuid.uuid4().hex[:8]}"  # the server is shared: a model of its own
    dvc_repo.write(".mlops-ci.yml", RULES)
    add_model(dvc_repo)
    v1 = register(dvc_repo, env, 0.80, name)  # alias challenger -> stage Staging
    client = MlflowClient(mlflow_server.url)  # the real server, to look behind the proxy
    assert client.get_model_version(name, v1).current_stage == "Staging"

    promoted = dvc_repo.mlops("promote", "--model-name", name, env=env)
    assert promoted.returncode == 0, promoted.stderr
    assert client.get_model_version(name, v1).current_stage == "Production"
    assert client.get_registered_model(name).aliases == {}
    assert any("alias" in s for s in seen)  # it did ask for aliases first

    v2 = register(dvc_repo, env, 0.86, name)
    assert dvc_repo.mlops("promote", "--model-name", name, env=env).returncode == 0
    assert client.get_model_version(name, v2).current_stage == "Production"
    assert client.get_model_version(name, v1).current_stage == "Archived"  # the previous champion

    dvc_repo.write("metrics.json", json.dumps({"auc": 0.5}))  # far worse than the champion (0.86)
    gated = dvc_repo.mlops("gate", "--model-name", name, env=env)
    assert gated.returncode == 1, gated.stderr
    verdict = json.loads((dvc_repo.root / ".mlops-ci" / "out" / "gate.json").read_text())
    assert "stage Production" in verdict["champion_source"] and f"version {v2}" in verdict["champion_source"]
