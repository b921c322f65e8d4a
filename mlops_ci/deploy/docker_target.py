"""The `docker` target: one Docker host, one environment = a front proxy on the stable port + one model server.

A deploy never touches what serves until the new image has proven itself, and
the switch itself drops no request:

1. a *candidate* container starts on the environment's network (and a free
   host port the deploy can probe), restart policy ``no``: a crash shows as an
   exit at once — a crash-looping image fails in seconds, not after the
   health timeout;
2. its ``/health`` (the model loaded) and the smoke parity check must pass;
3. the switch: the front proxy (:mod:`mlops_ci.serving.proxy`, container
   ``<service>-proxy``, the only one on the stable port) sends every new
   request to the candidate; requests in flight finish on the old container;
4. the *watch*: for ``post_switch_watch`` seconds the new container is probed
   while the old one still runs — three failed probes in a row, an exit or a
   restart switch the proxy back at once (an automatic rollback in about two
   seconds, not after a health timeout);
5. the old container, drained (no request in flight), is stopped and renamed
   ``<service>-previous`` (kept, image and all, for `rollback`); the candidate
   becomes ``<service>`` with restart policy ``unless-stopped``.

Whatever goes wrong before the switch, the candidate is removed and the
previous container never stopped answering. An environment deployed by an
older mlops-ci (its model server on the stable port itself) gets its proxy at
the next deploy, after one last stop/start gap.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Callable

import requests

from mlops_ci.adapters.service_http import wait_healthy
from mlops_ci.deploy.docker_proxy import FrontProxy, ProxyError, upstream_of
from mlops_ci.deploy.outcome import Outcome, SmokeCheck
from mlops_ci.image.spec import PORT

if TYPE_CHECKING:
    from mlops_ci.adapters.docker_engine import ContainerInfo, DockerEngine

LABEL_ENV = "io.mlops-ci.environment"
LABEL_IMAGE = "io.mlops-ci.image"
LABEL_SERVICE = "io.mlops-ci.service"
#: Failed health probes in a row (0.5 s apart) that end the post-switch watch with a rollback.
WATCH_FAILURES = 3


class DockerTarget:
    name = "docker"

    def __init__(self, engine: "DockerEngine", *, service: str, environment: str, port: int, host_address: str,
                 health_timeout: float, post_switch_watch: float = 10.0, drain_timeout: float = 30.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.engine = engine
        self.service = service
        self.environment = environment
        self.port = port
        self.host_address = host_address
        self.health_timeout = health_timeout
        self.post_switch_watch = post_switch_watch
        self.drain_timeout = drain_timeout
        self.sleep = sleep
        self.previous_name = f"{service}-previous"
        self.candidate_name = f"{service}-candidate"
        self.network = f"{service}-net"
        self.proxy = FrontProxy(engine, name=f"{service}-proxy", network=self.network, host_address=host_address,
                                port=port, labels={LABEL_ENV: environment, LABEL_SERVICE: service})

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

    def _live(self) -> "ContainerInfo | None":
        """The container that serves: the proxy's upstream, else (no proxy yet) ``<service>``."""
        if self.proxy.running():
            upstream = self.proxy.upstream()
            info = self.engine.container(upstream.split(":", 1)[0]) if upstream else None
            if info is not None:
                return info
        return self.engine.container(self.service)

    def current_image(self) -> str | None:
        return self._image_of(self._live())

    def previous_image(self) -> str | None:
        return self._image_of(self.engine.container(self.previous_name))

    def _normalize(self) -> "ContainerInfo | None":
        """After an interrupted deploy the live container may still be called ``-candidate``: name it back."""
        live = self._live()
        if live is None or live.name == self.service:
            return live
        other = self.engine.container(self.service)
        if other is not None:
            self.engine.stop(self.service)
            self.engine.remove(self.previous_name)
            self.engine.rename(self.service, self.previous_name)
        self.engine.rename(live.name, self.service)
        self.engine.set_restart_policy(self.service, "unless-stopped")
        return self.engine.container(self.service)

    def _alive(self, name: str) -> Callable[[], bool]:
        def alive() -> bool:
            info = self.engine.container(name)
            return info is not None and not info.crashed
        return alive

    def _crash_detail(self, name: str) -> str:
        info = self.engine.container(name)
        if info is None:
            return "the container is gone"
        if info.restart_count:
            return f"the container restarted {info.restart_count} time(s) (crash loop)"
        return f"the container exited with code {info.exit_code}" if info.exit_code is not None else \
            f"the container is {info.status}"

    def _candidate_healthy(self, url: str) -> tuple[bool, str, float]:
        health = wait_healthy(url, self.health_timeout, still_running=self._alive(self.candidate_name))
        detail = health.detail
        if not health.ok and detail.startswith("the container exited"):
            detail = self._crash_detail(self.candidate_name)
        return health.ok, detail, health.seconds

    def _watch(self, name: str, url: str) -> tuple[bool, str]:
        """Probe the freshly switched-to container; (False, why) at the first sign it is not serving."""
        deadline = time.monotonic() + self.post_switch_watch
        failures, detail = 0, ""
        while time.monotonic() < deadline:
            if not self._alive(name)():
                return False, self._crash_detail(name)
            try:
                resp = requests.get(f"{url}/health", timeout=2)
                ok, detail = resp.status_code == 200, f"HTTP {resp.status_code}"
            except requests.RequestException as exc:
                ok, detail = False, f"no answer ({exc.__class__.__name__})"
            failures = 0 if ok else failures + 1
            if failures >= WATCH_FAILURES:
                return False, f"{detail} on {WATCH_FAILURES} health probes in a row"
            self.sleep(0.5)
        return True, ""

    def deploy(self, image: str, smoke: SmokeCheck | None) -> Outcome:
        started = time.monotonic()
        live = self._normalize()
        current_image = self._image_of(live)
        timings: dict[str, float] = {}
        self.engine.ensure_image(image)
        self.engine.ensure_network(self.network, {LABEL_SERVICE: self.service, LABEL_ENV: self.environment})
        timings["pull_s"] = round(time.monotonic() - started, 3)

        def failed(reason: str, logs: str = "", smoke_result: dict | None = None) -> Outcome:
            serving = current_image if live is not None and live.status == "running" else None
            return Outcome(False, self.environment, image, self.url, current_image,
                           reason + (f"; {current_image} still serving" if serving else ""),
                           rolled_back=serving is not None, serving_image=serving,
                           timings={**timings, "total_s": round(time.monotonic() - started, 3)},
                           smoke=smoke_result, logs=logs)

        self.engine.remove(self.candidate_name)
        switched = False
        try:
            # 1-2. the candidate proves itself next to what serves
            candidate = self.engine.run(image, self.candidate_name, container_port=PORT,
                                        host_address=self.host_address, host_port=None, network=self.network,
                                        restart="no", labels={**self._labels(image), "io.mlops-ci.role": "candidate"})
            candidate_url = f"http://{self.host_address}:{candidate.host_port}"
            ok, detail, seconds = self._candidate_healthy(candidate_url)
            timings["candidate_healthy_s"] = round(seconds, 3)
            if not ok:
                logs = self.engine.logs(self.candidate_name)
                self.engine.remove(self.candidate_name)
                return failed(f"health check failed: {detail}", logs)
            smoke_result = None
            if smoke is not None:
                smoke_started = time.monotonic()
                result = smoke(candidate_url)
                timings["smoke_s"] = round(time.monotonic() - smoke_started, 3)
                smoke_result = {"ok": result.ok, "checked": result.checked, "agreed": result.agreed,
                                "reason": result.reason, "mismatches": result.mismatches}
                if not result.ok:
                    self.engine.remove(self.candidate_name)
                    return failed(f"smoke test failed: {result.reason}; " + "; ".join(result.mismatches[:3]),
                                  smoke_result=smoke_result)

            # 3. the switch: the proxy sends new requests to the candidate
            switch_started = time.monotonic()
            legacy = live is not None and live.host_port == self.port and not self.proxy.running()
            if self.proxy.running():
                self.proxy.switch(upstream_of(candidate))
            else:
                if legacy:  # an environment from before the proxy: its server holds the stable port
                    self.engine.stop(self.service)
                self._start_proxy(image, candidate, live if legacy else None)
            switched = True
            timings["switch_s"] = round(time.monotonic() - switch_started, 3)

            # 4. the watch, with the previous container still running
            watch_started = time.monotonic()
            ok, detail = self._watch(self.candidate_name, candidate_url)
            timings["watch_s"] = round(time.monotonic() - watch_started, 3)
            if not ok:
                return self._switch_back(image, live, legacy, current_image, detail, timings, started, smoke_result)

            # 5. retire the previous container once drained
            if live is not None:
                if not legacy:
                    drain_started = time.monotonic()
                    self.proxy.drain(upstream_of(live), self.drain_timeout)
                    timings["drain_s"] = round(time.monotonic() - drain_started, 3)
                    self.engine.stop(self.service)
                self.engine.remove(self.previous_name)
                self.engine.rename(self.service, self.previous_name)
            self.engine.rename(self.candidate_name, self.service)
            self.engine.set_restart_policy(self.service, "unless-stopped")
        except BaseException:
            if not switched:
                self.engine.remove(self.candidate_name)
            raise
        timings["total_s"] = round(time.monotonic() - started, 3)
        return Outcome(True, self.environment, image, self.url, current_image, "healthy" + (
            f", {smoke_result['reason']}" if smoke_result else ""), serving_image=image, timings=timings,
            smoke=smoke_result)

    def _start_proxy(self, image: str, candidate: "ContainerInfo", legacy: "ContainerInfo | None") -> None:
        try:
            self.proxy.start(image, upstream_of(candidate))
        except Exception:
            if legacy is not None:  # give the stable port back to the server that had it
                self.engine.remove(self.proxy.name)
                self.engine.start(self.service)
            raise

    def _switch_back(self, image: str, live: "ContainerInfo | None", legacy: bool, current_image: str | None,
                     detail: str, timings: dict[str, float], started: float, smoke_result: dict | None) -> Outcome:
        """The new container failed under traffic: the proxy goes back to the previous one (still running)."""
        logs = self.engine.logs(self.candidate_name)
        rollback_started = time.monotonic()
        back = False
        if live is not None and not legacy:
            try:
                self.proxy.switch(upstream_of(live))
                back = True
            except ProxyError:
                back = False
        elif live is not None:  # the previous server had the stable port itself: it gets it back
            self.engine.remove(self.proxy.name)
            self.engine.start(self.service)
            back = wait_healthy(self.url, self.health_timeout).ok
        else:  # first deploy: nothing to go back to; free the stable port rather than answer 502
            self.engine.remove(self.proxy.name)
        self.engine.remove(self.candidate_name)
        timings["rollback_s"] = round(time.monotonic() - rollback_started, 3)
        timings["total_s"] = round(time.monotonic() - started, 3)
        reason = f"health check failed after the switch: {detail}"
        if live is not None:
            reason += f"; rolled back to {current_image}" + ("" if back else ", which is not serving either")
        return Outcome(False, self.environment, image, self.url, current_image, reason, rolled_back=back,
                       serving_image=current_image if back else None, timings=timings, smoke=smoke_result, logs=logs)
