"""A faked Kubernetes API server: just enough of apps/v1 Deployments and v1 Services for rollouts.

No cluster can run here, so the kubernetes target is tested against this:
every object written is validated against the Kubernetes JSON schemas
(``kubernetes-validate``, strict), and rollouts progress one step per read of
the Deployment, like a controller would between polls:

- an image whose reference contains ``broken`` never gets ready replicas and,
  after a few reads, reports ``ProgressDeadlineExceeded``;
- an image containing ``stuck`` never progresses at all (the deploy times out);
- anything else rolls out: observedGeneration, then one updated replica per read.

Fixture ``fake_kubernetes``: ``.url``, ``.deployments``, ``.writes``, ``.kubeconfig(path)``.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

K8S_VERSION = "1.30.0"
_DEPLOY = re.compile(r"^/apis/apps/v1/namespaces/([^/]+)/deployments(?:/([^/?]+))?$")
_SERVICE = re.compile(r"^/api/v1/namespaces/([^/]+)/services(?:/([^/?]+))?$")


def validate(obj: dict[str, Any]) -> None:
    import kubernetes_validate

    kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def merge(base: Any, patch: Any) -> Any:
    """A JSON merge patch (lists replaced) — what a full-manifest strategic patch amounts to for our objects."""
    if not isinstance(base, dict) or not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(base)
    for key, value in patch.items():
        out[key] = merge(base.get(key), value) if value is not None else None
    return {k: v for k, v in out.items() if v is not None}


class FakeKubernetes:
    def __init__(self) -> None:
        self.deployments: dict[tuple[str, str], dict[str, Any]] = {}
        self.services: dict[tuple[str, str], dict[str, Any]] = {}
        self.writes: list[tuple[str, str, str]] = []  # (method, kind, image or name)
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> "FakeKubernetes":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def kubeconfig(self, path: Path) -> Path:
        path.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "fake",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "fake", "user": {"token": "fake-token"}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}]}))
        return path

    def image(self, namespace: str, name: str) -> str | None:
        dep = self.deployments.get((namespace, name))
        return dep["spec"]["template"]["spec"]["containers"][0]["image"] if dep else None

    # -- the controller ----------------------------------------------------
    def _progress(self, dep: dict[str, Any]) -> None:
        meta, spec, status = dep["metadata"], dep["spec"], dep.setdefault("status", {})
        image = spec["template"]["spec"]["containers"][0]["image"]
        want = spec.get("replicas", 1)
        if "stuck" in image:
            return
        if status.get("observedGeneration", 0) < meta["generation"]:
            status.update(observedGeneration=meta["generation"], updatedReplicas=0, reads=0)
            status["conditions"] = [{"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                                     "message": "progressing"}]
            return
        status["reads"] = status.get("reads", 0) + 1
        if "broken" in image:
            # maxSurge 1 / maxUnavailable 0: one new pod that never gets ready, the old ones keep serving
            old_ready = status.get("availableReplicas", 0)
            status.update(updatedReplicas=1, replicas=old_ready + 1, availableReplicas=old_ready,
                          unavailableReplicas=1)
            if status["reads"] >= 3:
                status["conditions"] = [{"type": "Progressing", "status": "False",
                                         "reason": "ProgressDeadlineExceeded",
                                         "message": f'ReplicaSet "{meta["name"]}" has timed out progressing.'}]
            return
        updated = min(want, status.get("updatedReplicas", 0) + 1)
        status.update(updatedReplicas=updated, replicas=want, availableReplicas=updated, readyReplicas=updated)
        status.pop("unavailableReplicas", None)

    def _public(self, dep: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(dep)
        out.get("status", {}).pop("reads", None)
        return out

    # -- HTTP ----------------------------------------------------------------
    def _handler(self):  # noqa: ANN202
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _not_found(self, kind: str, name: str) -> None:
                self._reply(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound",
                                  "message": f'{kind} "{name}" not found', "code": 404})

            def _body(self) -> dict[str, Any]:
                length = int(self.headers.get("Content-Length") or 0)
                return json.loads(self.rfile.read(length) or b"{}")

            def _route(self, method: str) -> None:
                path = self.path.split("?", 1)[0]
                with fake._lock:
                    if m := _DEPLOY.match(path):
                        self._objects(method, "Deployment", fake.deployments, m.group(1), m.group(2))
                    elif m := _SERVICE.match(path):
                        self._objects(method, "Service", fake.services, m.group(1), m.group(2))
                    else:
                        fake.errors.append(f"unknown endpoint {method} {path}")
                        self._reply(404, {"kind": "Status", "code": 404, "message": "unknown endpoint"})

            def _objects(self, method: str, kind: str, store: dict, ns: str, name: str | None) -> None:
                if method == "GET":
                    obj = store.get((ns, name))
                    if obj is None:
                        return self._not_found(kind, name or "")
                    if kind == "Deployment":
                        fake._progress(obj)
                        return self._reply(200, fake._public(obj))
                    return self._reply(200, obj)
                body = self._body()
                if method == "POST":
                    name = body["metadata"]["name"]
                    if (ns, name) in store:
                        return self._reply(409, {"kind": "Status", "code": 409, "reason": "AlreadyExists"})
                    obj = body
                else:
                    if (ns, name) not in store:
                        return self._not_found(kind, name or "")
                    obj = merge(store[(ns, name)], body)
                try:
                    validate({k: v for k, v in obj.items() if k != "status"})
                except Exception as exc:  # noqa: BLE001 - recorded and failed at teardown
                    fake.errors.append(f"{method} {kind} {name}: invalid against the Kubernetes schema: {exc}")
                    return self._reply(422, {"kind": "Status", "code": 422, "reason": "Invalid",
                                             "message": str(exc)[:500]})
                if kind == "Deployment":
                    old = store.get((ns, name))
                    generation = (old or {}).get("metadata", {}).get("generation", 0)
                    if old is None or old["spec"] != obj["spec"]:
                        generation += 1
                    obj.setdefault("metadata", {})["generation"] = generation
                    obj["status"] = (old or {}).get("status", {})
                    fake.writes.append((method, kind, obj["spec"]["template"]["spec"]["containers"][0]["image"]))
                else:
                    fake.writes.append((method, kind, name))
                store[(ns, name)] = obj
                self._reply(201 if method == "POST" else 200, fake._public(obj))

            def do_GET(self) -> None:  # noqa: N802
                self._route("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._route("POST")

            def do_PATCH(self) -> None:  # noqa: N802
                self._route("PATCH")

        return Handler


@pytest.fixture
def fake_kubernetes():
    fake = FakeKubernetes().start()
    yield fake
    fake.stop()
    assert not fake.errors, "\n".join(fake.errors)
