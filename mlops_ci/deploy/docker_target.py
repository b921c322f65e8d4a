"""The `docker` target: one Docker host, one container per environment on a stable port.

A deploy never touches what serves until the new image has proven itself:

1. start a *candidate* container on a free port;
2. wait for its ``/health`` (the model loaded) and run the smoke parity check on it;
3. only then switch: the serving container is stopped and renamed
   ``<service>-previous`` (kept, image and all, for rollback) and the new image
   starts under the stable name and port;
4. if the switched container does not get healthy, it is removed and the
   previous one is renamed back and restarted — an automatic rollback.

A broken image therefore costs nothing: the candidate fails, is removed, and the
previous container never stopped answering. The switch itself is a stop/start
on the same port (a second or two for a small model); put a reverse proxy in
front if even that gap matters.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from mlops_ci.adapters.service_http import wait_healthy
from mlops_ci.deploy.outcome import Outcome, SmokeCheck
from mlops_ci.imagebuild import PORT

if TYPE_CHECKING:
    from mlops_ci.adapters.docker_engine import ContainerInfo, DockerEngine

LABEL_ENV = "io.mlops-ci.environment"
LABEL_IMAGE = "io.mlops-ci.image"
LABEL_SERVICE = "io.mlops-ci.service"


class DockerTarget:
    name = "docker"

    def __init__(self, engine: "DockerEngine", *, service: str, environment: str, port: int, host_address: str,
                 health_timeout: float) -> None:
        self.engine = engine
        self.service = service
        self.environment = environment
        self.port = port
        self.host_address = host_address
        self.health_timeout = health_timeout
        self.previous_name = f"{service}-previous"
        self.candidate_name = f"{service}-candidate"

    @property
    def url(self) -> str:
        return f"http://{self.host_address}:{self.port}"

    def _labels(self, image: str) -> dict[str, str]:
        return {LABEL_ENV: self.environment, LABEL_IMAGE: image, LABEL_SERVICE: self.service}

    @staticmethod
    def _image_of(info: "ContainerInfo | None") -> str | None:
        if info is None:
            return None
        return info.labels.get(LABEL_IMAGE) or info.image or None

    def current_image(self) -> str | None:
        return self._image_of(self.engine.container(self.service))

    def previous_image(self) -> str | None:
        return self._image_of(self.engine.container(self.previous_name))

    def _healthy(self, name: str, url: str) -> "tuple[bool, str, float]":
        def running() -> bool:
            info = self.engine.container(name)
            return info is not None and info.status in ("running", "created", "restarting")

        health = wait_healthy(url, self.health_timeout, still_running=running)
        return health.ok, health.detail, health.seconds

    def deploy(self, image: str, smoke: SmokeCheck | None) -> Outcome:
        started = time.monotonic()
        current = self.engine.container(self.service)
        current_image = self._image_of(current)
        timings: dict[str, float] = {}
        self.engine.ensure_image(image)
        timings["pull_s"] = round(time.monotonic() - started, 3)

        def failed(reason: str, logs: str = "", smoke_result: dict | None = None) -> Outcome:
            serving = current_image if current is not None and current.status == "running" else None
            return Outcome(False, self.environment, image, self.url, current_image,
                           reason + (f"; {current_image} still serving" if serving else ""),
                           rolled_back=serving is not None, serving_image=serving,
                           timings={**timings, "total_s": round(time.monotonic() - started, 3)},
                           smoke=smoke_result, logs=logs)

        # 1-2. the candidate proves itself on a side port
        self.engine.remove(self.candidate_name)
        candidate = self.engine.run(image, self.candidate_name, container_port=PORT, host_address=self.host_address,
                                    host_port=None, labels={**self._labels(image), "io.mlops-ci.role": "candidate"})
        candidate_url = f"http://{self.host_address}:{candidate.host_port}"
        ok, detail, seconds = self._healthy(self.candidate_name, candidate_url)
        timings["candidate_healthy_s"] = round(seconds, 3)
        if not ok:
            logs = self.engine.logs(self.candidate_name)
            self.engine.remove(self.candidate_name)
            return failed(f"health check failed: {detail}", logs)
        smoke_result = None
        if smoke is not None:
            result = smoke(candidate_url)
            smoke_result = {"ok": result.ok, "checked": result.checked, "agreed": result.agreed,
                            "reason": result.reason, "mismatches": result.mismatches}
            if not result.ok:
                self.engine.remove(self.candidate_name)
                return failed(f"smoke test failed: {result.reason}; " + "; ".join(result.mismatches[:3]),
                              smoke_result=smoke_result)
        self.engine.remove(self.candidate_name)

        # 3. switch the stable name and port
        switch_started = time.monotonic()
        if current is not None:
            self.engine.remove(self.previous_name)
            self.engine.stop(self.service)
            self.engine.rename(self.service, self.previous_name)
        self.engine.run(image, self.service, container_port=PORT, host_address=self.host_address,
                        host_port=self.port, labels=self._labels(image))
        ok, detail, seconds = self._healthy(self.service, self.url)
        timings["switch_s"] = round(time.monotonic() - switch_started, 3)
        if ok:
            timings["total_s"] = round(time.monotonic() - started, 3)
            return Outcome(True, self.environment, image, self.url, current_image, "healthy" + (
                f", {smoke_result['reason']}" if smoke_result else ""), serving_image=image, timings=timings,
                smoke=smoke_result)

        # 4. automatic rollback to the container that served before
        logs = self.engine.logs(self.service)
        self.engine.remove(self.service)
        if current is None:
            return failed(f"health check failed after the switch: {detail}", logs)
        rollback_started = time.monotonic()
        self.engine.rename(self.previous_name, self.service)
        self.engine.start(self.service)
        back, back_detail, _ = self._healthy(self.service, self.url)
        timings["rollback_s"] = round(time.monotonic() - rollback_started, 3)
        timings["total_s"] = round(time.monotonic() - started, 3)
        reason = f"health check failed after the switch: {detail}; rolled back to {current_image}"
        if not back:
            reason += f", which is not healthy either: {back_detail}"
        return Outcome(False, self.environment, image, self.url, current_image, reason, rolled_back=back,
                       serving_image=current_image if back else None, timings=timings, smoke=smoke_result, logs=logs)
