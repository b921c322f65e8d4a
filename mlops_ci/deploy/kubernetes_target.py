"""The `kubernetes` target: apply Deployment + Service, wait for the rollout, undo on failure.

The rolling update itself protects traffic (``maxUnavailable: 0``: old pods
serve until new ones are ready). What this adds: waiting for the rollout like
`kubectl rollout status` (bounded by the health timeout, and failing early
when Kubernetes reports ``ProgressDeadlineExceeded``); the smoke parity check
against the environment URL once rolled out; and on any failure an undo — the
Deployment is patched back to the image it ran before (recorded in its
annotations), and that rollout is waited for too.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable

from mlops_ci.deploy import manifests
from mlops_ci.deploy.outcome import Outcome, SmokeCheck

if TYPE_CHECKING:
    from mlops_ci.adapters.kubernetes_api import KubernetesApi
    from mlops_ci.deploy.config import KubernetesConfig


class KubernetesTarget:
    name = "kubernetes"

    def __init__(self, api: "KubernetesApi", *, service: str, environment: str, namespace: str,
                 settings: "KubernetesConfig", replicas: int, health_timeout: float, url: str | None,
                 poll_interval: float = 1.0, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.api = api
        self.service = service
        self.environment = environment
        self.namespace = namespace
        self.settings = settings
        self.replicas = replicas
        self.health_timeout = health_timeout
        self.url = url
        self.poll_interval = poll_interval
        self.clock, self.sleep = clock, sleep

    def _current(self) -> dict[str, Any] | None:
        return self.api.get_deployment(self.namespace, self.service)

    def current_image(self) -> str | None:
        return manifests.container_image(self._current())

    def previous_image(self) -> str | None:
        current = self._current() or {}
        return ((current.get("metadata") or {}).get("annotations") or {}).get(manifests.ANNOTATION_PREVIOUS)

    def render(self, image: str, previous: str | None) -> list[dict[str, Any]]:
        s = self.settings
        return [
            manifests.service_manifest(service=self.service, environment=self.environment, namespace=self.namespace,
                                       service_type=s.service_type),
            manifests.deployment(service=self.service, environment=self.environment, namespace=self.namespace,
                                 image=image, replicas=self.replicas, cpu_request=s.cpu_request,
                                 memory_request=s.memory_request, cpu_limit=s.cpu_limit, memory_limit=s.memory_limit,
                                 progress_deadline=int(self.health_timeout), previous_image=previous,
                                 image_pull_secret=s.image_pull_secret),
        ]

    def _apply(self, image: str, previous: str | None) -> None:
        service, deployment = self.render(image, previous)
        self.api.apply_service(service)
        # with no previous image, a stale one from an undone rollout must not stay as the rollback target
        self.api.apply_deployment(deployment, remove_annotations=[manifests.ANNOTATION_PREVIOUS])

    def wait_rollout(self) -> tuple[bool, str, float]:
        started = self.clock()
        why = "no status yet"
        while True:
            obj = self._current()
            state, why = manifests.rollout_state(obj) if obj else ("failed", "the deployment disappeared")
            if state == "done":
                return True, why, self.clock() - started
            if state == "failed":
                return False, why, self.clock() - started
            if self.clock() - started >= self.health_timeout:
                return False, f"rollout not finished after {self.health_timeout:.0f} s: {why}", \
                    self.clock() - started
            self.sleep(self.poll_interval)

    def deploy(self, image: str, smoke: SmokeCheck | None) -> Outcome:
        started = self.clock()
        current = self.current_image()
        before = self.previous_image()  # what `current` replaced: stays the rollback target after an undo
        timings: dict[str, float] = {}
        self._apply(image, current if current != image else before)
        ok, why, seconds = self.wait_rollout()
        timings["rollout_s"] = round(seconds, 3)
        smoke_result = None
        reason = f"rolled out: {why}"
        if ok and smoke is not None and self.url:
            result = smoke(self.url)
            smoke_result = {"ok": result.ok, "checked": result.checked, "agreed": result.agreed,
                            "reason": result.reason, "mismatches": result.mismatches}
            ok = result.ok
            reason = f"rolled out, {result.reason}" if ok else f"smoke test failed: {result.reason}"
        elif not ok:
            reason = f"rollout failed: {why}"
        if ok:
            timings["total_s"] = round(self.clock() - started, 3)
            return Outcome(True, self.environment, image, self.url, current, reason, serving_image=image,
                           timings=timings, smoke=smoke_result)
        if not current or current == image:
            timings["total_s"] = round(self.clock() - started, 3)
            return Outcome(False, self.environment, image, self.url, current, reason + "; nothing to undo to",
                           timings=timings, smoke=smoke_result)
        undo_started = self.clock()
        self._apply(current, before if before != current else None)
        back, back_why, _ = self.wait_rollout()
        timings["rollback_s"] = round(self.clock() - undo_started, 3)
        timings["total_s"] = round(self.clock() - started, 3)
        reason += f"; undone to {current}" + ("" if back else f", which did not roll out either: {back_why}")
        return Outcome(False, self.environment, image, self.url, current, reason, rolled_back=back,
                       serving_image=current if back else None, timings=timings, smoke=smoke_result)
