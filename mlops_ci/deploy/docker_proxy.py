"""The front proxy container of a docker environment, driven through the Docker engine.

One per environment, named ``<service>-proxy``: it owns the stable host port
and forwards to one model-server container at a time on the environment's
own bridge network, addressed by the container's short id (a DNS name there
that survives renames). The program it runs is :mod:`mlops_ci.serving.proxy`,
copied into the container before it starts, so any image with ``python3``
can host it. It is controlled with ``docker exec`` over a unix socket inside
the container: no control port is published, and only whoever may use the
Docker engine can flip it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from mlops_ci.image.spec import PORT

if TYPE_CHECKING:
    from mlops_ci.adapters.docker_engine import ContainerInfo, DockerEngine

PROGRAM = "/tmp/mlops-ci-proxy.py"
CONTROL = "/tmp/mlops-ci-proxy.sock"
SOURCE = Path(__file__).resolve().parents[1] / "serving" / "proxy.py"


class ProxyError(Exception):
    """The proxy did not start or did not take an order."""


def upstream_of(info: "ContainerInfo") -> str:
    """How the proxy reaches a model-server container on the environment's network."""
    return f"{info.short_id}:{PORT}"


class FrontProxy:
    def __init__(self, engine: "DockerEngine", *, name: str, network: str, host_address: str, port: int,
                 labels: Mapping[str, str], sleep: Callable[[float], None] = time.sleep) -> None:
        self.engine = engine
        self.name = name
        self.network = network
        self.host_address = host_address
        self.port = port
        self.labels = {**labels, "io.mlops-ci.role": "proxy"}
        self.sleep = sleep

    def container(self) -> "ContainerInfo | None":
        return self.engine.container(self.name)

    def running(self) -> bool:
        info = self.container()
        return info is not None and info.status == "running"

    def start(self, image: str, upstream: str, timeout: float = 30) -> None:
        """Start the proxy (from ``image``, which needs python3) on the stable port, serving ``upstream``."""
        self.engine.remove(self.name)
        self.engine.run(image, self.name, container_port=PORT, host_address=self.host_address, host_port=self.port,
                        labels=self.labels, network=self.network, restart="unless-stopped",
                        entrypoint=["python3", PROGRAM, "serve", "--port", str(PORT), "--control", CONTROL,
                                    "--upstream", upstream],
                        files={PROGRAM: SOURCE.read_bytes()})
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            info = self.container()
            if info is None or info.crashed:
                raise ProxyError(f"the front proxy {self.name} exited: {self.engine.logs(self.name)[-500:]}")
            try:
                self.status()
                return
            except ProxyError as exc:
                last = str(exc)
            self.sleep(0.2)
        raise ProxyError(f"the front proxy {self.name} did not answer in {timeout:.0f} s: {last}")

    def order(self, request: Mapping[str, Any]) -> dict[str, Any]:
        code, out = self.engine.exec(self.name, ["python3", PROGRAM, "ctl", "--control", CONTROL,
                                                 json.dumps(dict(request))])
        lines = [ln for ln in out.strip().splitlines() if ln.startswith("{")]
        try:
            answer = json.loads(lines[-1]) if lines else {}
        except ValueError:
            answer = {}
        if code != 0 or not answer.get("ok"):
            raise ProxyError(f"front proxy {self.name}: {answer.get('error') or out.strip()[-300:] or 'no answer'}")
        return answer

    def status(self) -> dict[str, Any]:
        return self.order({"op": "status"})

    def upstream(self) -> str | None:
        try:
            return self.status().get("upstream")
        except ProxyError:
            return None

    def switch(self, upstream: str) -> dict[str, Any]:
        """Send every new request to ``upstream``; requests already forwarded finish where they are."""
        return self.order({"op": "set", "upstream": upstream})

    def drain(self, upstream: str, timeout: float) -> bool:
        """Wait until no request is in flight to ``upstream`` (True), or ``timeout`` passed (False)."""
        deadline = time.monotonic() + timeout
        while True:
            inflight = (self.status().get("inflight") or {}).get(upstream, 0)
            if not inflight:
                return True
            if time.monotonic() >= deadline:
                return False
            self.sleep(0.1)
