"""The FastAPI app of the serving image.

    uvicorn --factory mlops_ci.serving.app:create_app --host 0.0.0.0 --port 8080

- ``GET /health``: 200 only once the model is loaded; 503 (with the reason) while
  loading or when loading failed — the readiness signal deploys wait for.
- ``POST /predict``: ``{"instances": [{feature: value, …}, …]}``, validated
  against the baked-in schema; a bad request gets a 422 whose ``errors`` name
  the field (``instances[0].tenure_months: …``), never a 500.
- ``GET /metrics``: Prometheus text (request count, latency histogram,
  prediction distribution, model info).
- ``GET /schema``: the input fields ``/predict`` accepts.

Every response carries the model's name and version (``X-Model-Name`` and
``X-Model-Version`` headers; JSON bodies also have a ``model`` object), so a
client or a smoke test always knows which model answered.

The model loads in a background thread: the server answers ``/health`` at once
(503 "loading"), which is what lets an orchestrator tell "still starting" from
"dead".
"""

# No `from __future__ import annotations`: FastAPI reads the request model from the
# runtime annotation of `predict`, which is a class made in `create_app`.
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from mlops_ci.serving import MODEL_DIR
from mlops_ci.serving.metrics import CONTENT_TYPE, ServingMetrics
from mlops_ci.serving.model import ModelInfo, load_model
from mlops_ci.serving.schema import describe_errors, request_model

log = logging.getLogger("mlops_ci.serving")


class ModelHolder:
    """The model once loaded, or why it is not (yet)."""

    def __init__(self, model_dir: Path) -> None:
        self.model_dir = model_dir
        self.info = ModelInfo.read(model_dir)
        self.model: Any = None
        self.error: str | None = None
        self.loaded = threading.Event()

    def load(self) -> None:
        started = time.perf_counter()
        try:
            self.model = load_model(self.model_dir, self.info)
            log.warning("model %s v%s loaded in %.2f s", self.info.name, self.info.version,
                        time.perf_counter() - started)
        except Exception as exc:  # noqa: BLE001 - any failure means "never ready", with the reason shown
            self.error = f"{exc.__class__.__name__}: {exc}"
            log.error("model %s v%s failed to load: %s", self.info.name, self.info.version, self.error)
        finally:
            self.loaded.set()


def create_app(model_dir: str | None = None, *, load_in_background: bool = True) -> Any:
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, PlainTextResponse

    holder = ModelHolder(Path(model_dir or os.environ.get("MLOPS_SERVING_MODEL_DIR") or MODEL_DIR))
    info = holder.info
    metrics = ServingMetrics()
    metrics.info.set(1, name=info.name, version=info.version)
    metrics.ready.set(0)
    PredictRequest = request_model(info.fields, info.max_batch)  # noqa: N806 - a class
    model_json = {"name": info.name, "version": info.version}

    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(_app: Any):  # noqa: ANN202
        if load_in_background:
            threading.Thread(target=holder.load, name="model-loader", daemon=True).start()
        else:
            holder.load()
        yield

    app = FastAPI(title=f"{info.name} v{info.version}", version=info.version, lifespan=lifespan,
                  docs_url=None, redoc_url=None)
    app.state.holder = holder
    app.state.metrics = metrics

    @app.middleware("http")
    async def observe(request: Request, call_next: Any) -> Any:
        started = time.perf_counter()
        path = request.url.path if request.url.path in ("/health", "/predict", "/metrics", "/schema") else "other"
        response = await call_next(request)
        response.headers["X-Model-Name"] = info.name
        response.headers["X-Model-Version"] = info.version
        metrics.requests.inc(path=path, method=request.method, status=str(response.status_code))
        metrics.latency.observe(time.perf_counter() - started, path=path)
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> Any:
        errors = describe_errors(exc.errors())
        return JSONResponse(status_code=422, content={"model": model_json, "error": "invalid request",
                                                      "errors": errors})

    @app.get("/health")
    def health() -> Any:
        if holder.model is not None:
            return {"status": "ok", "model": model_json}
        state = "failed" if holder.error else "loading"
        return JSONResponse(status_code=503, content={"status": state, "error": holder.error, "model": model_json})

    @app.get("/schema")
    def schema() -> Any:
        """The input fields /predict accepts (clients and the deploy smoke test read it)."""
        return {"model": model_json, "fields": [f.to_dict() for f in info.fields], "max_batch": info.max_batch}

    @app.post("/predict")
    def predict(body: PredictRequest) -> Any:  # type: ignore[valid-type]
        model = holder.model
        if model is None:
            return JSONResponse(status_code=503, content={"model": model_json, "error": "model not ready",
                                                          "detail": holder.error or "loading"})
        rows = [row.model_dump() for row in body.instances]  # type: ignore[attr-defined]
        try:
            predictions = model.predict(rows)
        except (ValueError, TypeError) as exc:
            # Valid JSON types, but values the model cannot take (e.g. all-null column): the caller's problem.
            return JSONResponse(status_code=422, content={"model": model_json, "error": "invalid request",
                                                          "errors": [f"instances: {exc}"]})
        for item in predictions:
            metrics.predictions.inc(label=str(item["prediction"]))
            if "score" in item:
                metrics.scores.observe(item["score"])
        return {"model": model_json, "predictions": predictions}

    @app.get("/metrics")
    def prometheus() -> Any:
        metrics.ready.set(1 if holder.model is not None else 0)
        return PlainTextResponse(metrics.render(), media_type=CONTENT_TYPE)

    return app
