"""The serving image, as data: Dockerfile text, OCI labels, tags, requirements, the runtime choice.

Pure functions: `mlops-ci build` assembles the build context and talks to the
engine; what goes into the image is decided here, testable without Docker.

The generated Dockerfile has two stages on the same slim base: a ``deps`` stage
installs exactly the wheels of the wheelhouse (pip runs from its own wheel,
``--no-deps`` over a resolved list, so the base needs no pip and the runtime
image carries none) into ``/opt/venv`` and deletes what a server never
imports — test suites, type stubs, and per runtime the build tools and
optional native libraries listed in :data:`PRUNE`; the final stage copies that
venv, the server code and the model, runs as a non-root user, and its last
step (``selfcheck``) loads the model and predicts inside the image, so a
pruned file the model needed fails the build, not a deploy. Layers are
ordered from least to most often changed (wheels → server → model), so a new
model rebuilds one small layer and the dependency layers come from the cache.
Labels are passed at build time rather than written into the Dockerfile, so a
new commit does not invalidate the cache either.

Two runtimes: ``sklearn`` serves the pickle with the model's own requirements
(scikit-learn, scipy, pandas…); ``onnx`` serves the same model converted with
skl2onnx through ONNX Runtime and numpy only — chosen only when the converted
model reproduces the pickle's predictions (:func:`runtime_parity`).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from mlops_ci.errors import BadInput

#: What the server needs besides the model's own requirements (versions pinned at build time).
SERVING_REQUIREMENTS = ("fastapi", "uvicorn", "pydantic")
#: What the `onnx` runtime needs instead of the model's requirements.
ONNX_REQUIREMENTS = ("onnxruntime", "numpy")
#: Requirements of an MLflow model directory that the server does not need.
NOT_AT_SERVING = frozenset({"mlflow", "mlflow-skinny", "mlflow-tracing"})
#: Dependencies of onnxruntime that inference never imports (model tooling, symbolic shapes, logging sugar).
NOT_AT_ONNX_SERVING = frozenset({"flatbuffers", "packaging", "protobuf", "coloredlogs", "humanfriendly", "sympy",
                                 "mpmath", "ml-dtypes"})
USER_ID = 10001
#: Paths (globs under site-packages) the deps stage deletes, per runtime. Every runtime: test suites
#: (about 100 MB with their .pyc for scipy, pandas, numpy, scikit-learn) and type stubs. `onnx`: numpy's build
#: tools and C headers and its SIMD test module; onnxruntime's model tooling (quantization, transformer
#: optimizers) and its C-API library, which the Python binding does not load (it links the runtime in).
PRUNE = {
    "common": ("*/**/tests", "**/*.pyi"),
    "sklearn": (),
    "onnx": ("numpy/f2py", "numpy/distutils", "numpy/_core/include", "numpy/_core/_simd.*.so",
             "numpy/_core/_*_tests.*.so", "onnxruntime/tools", "onnxruntime/transformers",
             "onnxruntime/quantization", "onnxruntime/capi/libonnxruntime.so*"),
}
RUNTIMES = ("sklearn", "onnx")
PORT = 8080
APP_DIR = "/opt/app"
MODEL_DIR = "/opt/model"
VENV = "/opt/venv"
LABEL_PREFIX = "org.opencontainers.image."
OWN_PREFIX = "io.mlops-ci."

_TAG_OK = re.compile(r"[^A-Za-z0-9_.-]")
_REPO_OK = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")


@dataclass(frozen=True)
class DockerfileSpec:
    base_image: str
    pip_wheel: str  # file name of pip's wheel in the wheelhouse
    requirements: str = "requirements.txt"
    user_id: int = USER_ID
    port: int = PORT
    runtime: str = "sklearn"


def prune_script(runtime: str) -> str:
    """Python run in the deps stage: delete what :data:`PRUNE` lists for ``runtime`` from site-packages."""
    globs = list(PRUNE["common"]) + list(PRUNE[runtime])
    return ("import pathlib, shutil\n"
            f"for g in {globs!r}:\n"
            "    for site in pathlib.Path('/opt/venv/lib').glob('python3*/site-packages'):\n"
            "        for p in sorted(site.glob(g), reverse=True):\n"
            "            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)\n")


def render_dockerfile(spec: DockerfileSpec) -> str:
    if not spec.base_image:
        raise BadInput("build.base_image: an image with Python 3 is required (e.g. python:3.11-slim)")
    if spec.runtime not in RUNTIMES:
        raise ValueError(f"unknown runtime {spec.runtime!r}")
    health = (f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{spec.port}/health', timeout=2)")
    run_pip = json.dumps([f"{VENV}/bin/python", f"/tmp/wheels/{spec.pip_wheel}/pip", "install", "--no-index",
                          "--no-deps", "--find-links", "/tmp/wheels", "--no-cache-dir", "--disable-pip-version-check",
                          "--requirement", f"/tmp/wheels/{spec.requirements}"])
    prune = json.dumps([f"{VENV}/bin/python", "-c", prune_script(spec.runtime)])
    entry = json.dumps(["python", "-m", "uvicorn", "--factory", "mlops_ci.serving.app:create_app",
                        "--host", "0.0.0.0", "--port", str(spec.port), "--no-access-log"])
    return f"""\
# Generated by `mlops-ci build` (runtime: {spec.runtime}). To use your own, set build.dockerfile in .mlops-ci.yml.
ARG BASE_IMAGE={spec.base_image}

FROM ${{BASE_IMAGE}} AS deps
COPY wheels/ /tmp/wheels/
RUN ["python3", "-m", "venv", "--without-pip", "{VENV}"]
RUN {run_pip}
RUN {prune}

FROM ${{BASE_IMAGE}}
COPY --from=deps {VENV} {VENV}
COPY app/ {APP_DIR}/
COPY model/ {MODEL_DIR}/
ENV PATH={VENV}/bin:/usr/local/bin:/usr/bin:/bin \\
    PYTHONPATH={APP_DIR} \\
    PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1 \\
    MLOPS_SERVING_MODEL_DIR={MODEL_DIR}
USER {spec.user_id}:{spec.user_id}
RUN ["python", "-m", "mlops_ci.serving.selfcheck"]
EXPOSE {spec.port}
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=3 \\
  CMD {json.dumps(["python", "-c", health])}
ENTRYPOINT {entry}
"""


def install_list(wheel_names: Iterable[str], runtime: str) -> list[str]:
    """``name==version`` of every wheel the image installs (pip runs ``--no-deps`` over exactly this list).

    The wheelhouse holds the resolved closure of the requirements; what the
    runtime never imports (:data:`NOT_AT_ONNX_SERVING`) and pip itself stay out.
    """
    skip = {"pip"} | (NOT_AT_ONNX_SERVING if runtime == "onnx" else set())
    out = []
    for wheel in sorted(wheel_names):
        parts = wheel.split("-")
        if len(parts) < 5 or not wheel.endswith(".whl"):
            continue
        name = re.sub(r"[-_.]+", "-", parts[0]).lower()
        if name not in skip:
            out.append(f"{name}=={parts[1]}")
    return out


@dataclass(frozen=True)
class RuntimeParity:
    ok: bool
    checked: int
    agreed: int
    max_abs_diff: float
    detail: str


def runtime_parity(expected: list[dict[str, Any]], got: list[dict[str, Any]], tolerance: float) -> RuntimeParity:
    """Do two runtimes answer alike? Every class probability within ``tolerance``, and the same label —
    except where the two most probable classes are within ``tolerance`` of each other (a tie either may break)."""
    if not expected:
        return RuntimeParity(False, 0, 0, 0.0, "no rows to compare the runtimes on")
    if len(expected) != len(got):
        return RuntimeParity(False, len(expected), 0, 0.0, f"{len(expected)} rows in, {len(got)} predictions out")
    agreed, worst, first = 0, 0.0, ""
    for i, (want, have) in enumerate(zip(expected, got)):
        p_want, p_have = want.get("probabilities") or {}, have.get("probabilities") or {}
        diffs = [abs(float(p_want[k]) - float(p_have.get(k, float("inf")))) for k in p_want]
        diff = max(diffs) if diffs else 0.0
        worst = max(worst, diff)
        ranked = sorted((float(v) for v in p_want.values()), reverse=True)
        tie = len(ranked) > 1 and ranked[0] - ranked[1] <= tolerance
        same_label = str(want.get("prediction")) == str(have.get("prediction")) or tie
        if diff <= tolerance and same_label and set(p_want) == set(p_have):
            agreed += 1
        elif not first:
            first = (f"row {i}: prediction {have.get('prediction')!r} vs {want.get('prediction')!r}, "
                     f"max |Δp| {diff:.3g}")
    ok = agreed == len(expected)
    detail = f"{agreed}/{len(expected)} rows agree, max |Δp| {worst:.3g}" + ("" if ok else f"; {first}")
    return RuntimeParity(ok, len(expected), agreed, worst, detail)


def serving_requirements(model_requirements: Iterable[str], serving_pins: Iterable[str]) -> list[str]:
    """The image's requirements: the model's (minus MLflow itself) plus the server's, one per package."""
    out: dict[str, str] = {}
    for line in list(model_requirements) + list(serving_pins):
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        name = re.split(r"[\s\[<>=!~;@]", line, maxsplit=1)[0].lower().replace("_", "-")
        if name in NOT_AT_SERVING:
            continue
        out.setdefault(name, line)
    return list(out.values())


def image_tags(sha: str | None, version: str | None, extra: Iterable[str] = ()) -> list[str]:
    """Tags for one build: the commit SHA (how `release` finds it again), the version on tag pushes."""
    tags = []
    if sha:
        tags.append(sha)
    if version:
        tags.append(sanitize_tag(version))
    tags.extend(sanitize_tag(t) for t in extra if t)
    if not tags:
        tags.append("latest")
    return list(dict.fromkeys(tags))


def sanitize_tag(value: str) -> str:
    """A Docker tag: [A-Za-z0-9_.-], at most 128 characters, not starting with '.' or '-'."""
    tag = _TAG_OK.sub("-", value).lstrip(".-")[:128]
    return tag or "latest"


def validate_repository(repository: str) -> str:
    """``[registry[:port]/]path`` in Docker's grammar (lowercase path components)."""
    if not repository:
        raise BadInput("build.repository: the image repository is required (e.g. ghcr.io/org/churn)")
    first, _, rest = repository.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        path = rest
    else:
        path = repository
    if not _REPO_OK.match(path):
        raise BadInput(f"build.repository '{repository}': the path must be lowercase letters, digits and "
                       "separators (., _, -, /)")
    return repository


def metrics_digest(metrics: Mapping[str, Any]) -> str:
    """A stable digest of the metrics the model was accepted with (key order does not matter)."""
    text = json.dumps(metrics, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def oci_labels(*, revision: str | None, source: str | None, created: str, version: str | None,
               model_name: str, model_version: str, metrics_digest_value: str | None,
               base_image: str | None = None) -> dict[str, str]:
    """OCI annotations plus ours; `release` and `rollback` read these back from the registry."""
    labels = {
        LABEL_PREFIX + "created": created,
        LABEL_PREFIX + "title": model_name,
        LABEL_PREFIX + "description": f"mlops-ci serving image for {model_name} v{model_version}",
        OWN_PREFIX + "model.name": model_name,
        OWN_PREFIX + "model.version": model_version,
    }
    if revision:
        labels[LABEL_PREFIX + "revision"] = revision
    if source:
        labels[LABEL_PREFIX + "source"] = source
    # Always set: an empty value rather than the base image's own version, which a label would otherwise inherit.
    labels[LABEL_PREFIX + "version"] = version or ""
    if metrics_digest_value:
        labels[OWN_PREFIX + "metrics.digest"] = metrics_digest_value
    if base_image:
        labels[LABEL_PREFIX + "base.name"] = base_image
    return labels


def pinned_reference(repository: str, digest: str) -> str:
    """``repo@sha256:…``: the immutable reference every later step deploys."""
    if not digest.startswith("sha256:"):
        raise ValueError(f"not a digest: {digest}")
    return f"{repository}@{digest}"
