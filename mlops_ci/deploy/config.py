"""The `build:` and `deploy:` sections of `.mlops-ci.yml`.

Defaults fit a repository whose pipeline writes ``models/model.pkl``; what a
deploy cannot guess (where the service runs, which port, which namespace) has
a default that works on one Docker host and is overridable per environment.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class BuildConfig(_Section):
    repository: str | None = Field(
        None, description="Image repository to push to, e.g. ghcr.io/org/churn or 127.0.0.1:5000/churn. "
        "Default: ghcr.io/<owner>/<repo> on GitHub.")
    model: str | None = Field(
        None, description="What to bake in: a model file written by the pipeline (a DVC output, relative to the "
        "DVC root) or an MLflow model URI (models:/name@alias, models:/name/3). Default: registry.model_path.")
    dockerfile: str | None = Field(
        None, description="Your own Dockerfile (relative to the repository root); default: a generated one.")
    base_image: str = Field(
        "python:3.11-slim", description="Base of the generated Dockerfile: any image with Python 3 (no pip needed).")
    sample: str | None = Field(
        None, description="Example inputs (CSV or Parquet, relative to the DVC root): the input schema is inferred "
        "from their columns and types, restricted to the model's features. Also the smoke test's rows.")
    schema_file: str | None = Field(
        None, alias="schema", description="An explicit input schema (JSON: {\"fields\": [{\"name\", \"type\", "
        "\"nullable\"}]}), used instead of inferring one from `sample`.")
    requirements: list[str] = Field(
        default_factory=list, description="Model requirements (default: those of the MLflow model, else "
        "registry.pip_requirements, else scikit-learn, numpy, pandas, scipy, cloudpickle — pinned to the versions "
        "installed here).")
    cache_from: list[str] = Field(
        default_factory=list, description="Images to use as layer cache on runners without a warm engine "
        "(pulled when they exist).")
    push: bool = Field(True, description="Push the image and report its digest (needed by deploy/release).")
    max_batch: int = Field(1000, ge=1, le=100_000, description="Largest number of rows one /predict request may send.")
    runtime: Literal["auto", "onnx", "sklearn"] = Field(
        "auto", description="How the generated image runs a scikit-learn model: `onnx` (ONNX Runtime, a much "
        "smaller image), `sklearn` (the pickle with the full scientific stack), or `auto`: ONNX when the converted "
        "model reproduces the pickle's predictions on build.sample within deploy.smoke.tolerance, else sklearn.")
    embed_parity: bool = Field(
        True, description="Bake the parity case (up to deploy.smoke.max_rows sample rows and their offline "
        "predictions) into the image, so any later deploy or rollback of it checks against its own predictions.")

    model_config = ConfigDict(extra="forbid", validate_default=True, populate_by_name=True)


class SmokeConfig(_Section):
    enabled: bool = Field(True, description="Send holdout rows to /predict after each deploy and check parity.")
    sample: str | None = Field(None, description="Rows to send (default: build.sample).")
    id_column: str | None = Field(None, description="Column of `sample` that identifies a row (joined with the "
                                  "predictions file).")
    predictions: str | None = Field(None, description="Offline predictions to compare with (default: "
                                    "registry.predictions).")
    predictions_id_column: str = Field("row_id", description="Row identifier in the predictions file.")
    score_column: str | None = Field("y_score", description="Positive-class score in the predictions file.")
    label_column: str | None = Field("y_pred", description="Predicted label in the predictions file.")
    tolerance: float = Field(1e-4, ge=0, description="Largest score difference still counted as parity.")
    max_rows: int = Field(200, ge=1, description="Rows sent (the first N of the sample with a prediction).")
    min_agreement: float = Field(1.0, ge=0, le=1, description="Share of rows that must agree.")


class EnvironmentConfig(_Section):
    url: str | None = Field(None, description="Public URL of the service (the GitHub environment URL). Default: "
                            "http://<host_address>:<port> for docker.")
    port: int | None = Field(None, ge=1, le=65535, description="docker: the stable host port of this environment.")
    namespace: str | None = Field(None, description="kubernetes: namespace (default: deploy.kubernetes.namespace).")
    replicas: int | None = Field(None, ge=1, description="kubernetes: replicas (default: deploy.kubernetes.replicas).")


class KubernetesConfig(_Section):
    namespace: str = Field("default", description="Namespace of the Deployment and Service.")
    context: str | None = Field(None, description="kubeconfig context (default: the current one, or in-cluster).")
    replicas: int = Field(2, ge=1)
    cpu_request: str = Field("250m")
    memory_request: str = Field("512Mi")
    cpu_limit: str | None = Field("1")
    memory_limit: str = Field("1Gi")
    service_type: Literal["ClusterIP", "NodePort", "LoadBalancer"] = Field("ClusterIP")
    image_pull_secret: str | None = Field(None, description="Secret for pulling from a private registry.")


class DeployConfig(_Section):
    target: Literal["docker", "kubernetes"] = Field("docker", description="Where the service runs.")
    service: str | None = Field(None, description="Service / container name (default: the model name).")
    health_timeout: float = Field(120, gt=0, description="Seconds to wait for /health before rolling back.")
    post_switch_watch: float = Field(
        10, ge=0, le=600, description="docker: seconds the new container is watched after the switch while the "
        "previous one still runs; 3 failed health probes in a row, an exit or a restart switch back at once.")
    host_address: str = Field("127.0.0.1", description="docker: address the stable port is published on.")
    environments: dict[str, EnvironmentConfig] = Field(
        default_factory=lambda: {"staging": EnvironmentConfig(port=8001), "production": EnvironmentConfig(port=8000)},
        description="Per-environment settings (port, url, namespace, replicas).")
    smoke: SmokeConfig = Field(default_factory=SmokeConfig)
    kubernetes: KubernetesConfig = Field(default_factory=KubernetesConfig)
