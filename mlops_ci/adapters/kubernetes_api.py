"""The Kubernetes API, through the official Python client.

Only what a deploy needs: read a Deployment, create-or-patch a Deployment and
a Service (the same effect as `kubectl apply` for objects we own), and
read rollout status. Connection set-up follows kubectl: the kubeconfig (an
optional context), else the in-cluster service account.
"""

from __future__ import annotations

from typing import Any, Iterable

from mlops_ci.errors import BadInput, MlopsError


class KubernetesError(MlopsError):
    """The API server refused or failed (exit 1)."""


class KubernetesApi:
    def __init__(self, api_client: Any) -> None:
        from kubernetes import client

        self.api_client = api_client
        self.apps = client.AppsV1Api(api_client)
        self.core = client.CoreV1Api(api_client)

    @classmethod
    def from_config(cls, context: str | None = None) -> "KubernetesApi":
        try:
            from kubernetes import client, config
        except ImportError:
            raise BadInput("the kubernetes target needs the `kubernetes` package: pip install 'mlops-ci[kubernetes]'") \
                from None
        try:
            config.load_kube_config(context=context)
        except Exception as kube_exc:  # noqa: BLE001 - no kubeconfig: try the in-cluster account
            try:
                config.load_incluster_config()
            except Exception:  # noqa: BLE001
                raise BadInput(f"no Kubernetes credentials: {kube_exc}",
                               hint="Provide a kubeconfig (KUBECONFIG, e.g. from your cloud's login action) or run "
                                    "inside the cluster.") from None
        return cls(client.ApiClient())

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        from kubernetes.client.rest import ApiException

        try:
            return fn(*args, **kwargs)
        except ApiException as exc:
            raise KubernetesError(f"Kubernetes: {what} failed with {exc.status}: {exc.reason} "
                                  f"{(exc.body or '')[:300]}") from exc
        except Exception as exc:  # noqa: BLE001 - connection errors
            raise KubernetesError(f"Kubernetes: {what} failed: {exc.__class__.__name__}: {exc}") from exc

    def _plain(self, obj: Any) -> dict[str, Any]:
        return self.api_client.sanitize_for_serialization(obj)

    def get_deployment(self, namespace: str, name: str) -> dict[str, Any] | None:
        from kubernetes.client.rest import ApiException

        try:
            return self._plain(self.apps.read_namespaced_deployment(name, namespace))
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise KubernetesError(f"Kubernetes: reading deployment {namespace}/{name} failed with {exc.status}: "
                                  f"{exc.reason}") from exc

    def apply_deployment(self, manifest: dict[str, Any], remove_annotations: Iterable[str] = ()) -> dict[str, Any]:
        """Create, or patch to ``manifest``; ``remove_annotations`` absent from it are deleted by the patch.

        A merge patch only sets what it names: an annotation the new manifest no
        longer has would otherwise stay, stale, on the object.
        """
        ns, name = manifest["metadata"]["namespace"], manifest["metadata"]["name"]
        if self.get_deployment(ns, name) is None:
            return self._plain(self._call(f"creating deployment {ns}/{name}", self.apps.create_namespaced_deployment,
                                          ns, manifest))
        annotations = dict(manifest["metadata"].get("annotations") or {})
        for key in remove_annotations:
            annotations.setdefault(key, None)  # null in a merge patch deletes the key
        patch = {**manifest, "metadata": {**manifest["metadata"], "annotations": annotations}}
        return self._plain(self._call(f"patching deployment {ns}/{name}", self.apps.patch_namespaced_deployment,
                                      name, ns, patch))

    def apply_service(self, manifest: dict[str, Any]) -> dict[str, Any]:
        from kubernetes.client.rest import ApiException

        ns, name = manifest["metadata"]["namespace"], manifest["metadata"]["name"]
        try:
            self.core.read_namespaced_service(name, ns)
        except ApiException as exc:
            if exc.status != 404:
                raise KubernetesError(f"Kubernetes: reading service {ns}/{name} failed with {exc.status}") from exc
            return self._plain(self._call(f"creating service {ns}/{name}", self.core.create_namespaced_service,
                                          ns, manifest))
        return self._plain(self._call(f"patching service {ns}/{name}", self.core.patch_namespaced_service,
                                      name, ns, manifest))
