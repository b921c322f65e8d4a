"""The model server (mlops_ci.serving) over real HTTP: uvicorn in a thread, a small fitted sklearn model."""

from __future__ import annotations

import json
import pickle
import socket
import threading
import time

import pytest
import requests

from mlops_ci.serving.metrics import Counter, Histogram, ServingMetrics
from mlops_ci.serving.schema import Field, SchemaError, describe_errors, infer_fields, parse_schema

SCHEMA = {"fields": [{"name": "age", "type": "number"}, {"name": "plan", "type": "string"},
                     {"name": "calls", "type": "number", "nullable": True}]}


def fitted_model():
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    frame = pd.DataFrame({"age": [20, 30, 40, 50, 60, 70] * 5, "plan": ["a", "b", "a", "b", "c", "c"] * 5,
                          "calls": [0, 1, 2, 3, None, 5] * 5})
    y = [0, 0, 1, 1, 1, 0] * 5
    features = ColumnTransformer([("num", SimpleImputer(), ["age", "calls"]),
                                  ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"])])
    return Pipeline([("f", features), ("m", LogisticRegression())]).fit(frame, y), frame


def serve(model_dir):
    import uvicorn

    from mlops_ci.serving.app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(str(model_dir)), host="127.0.0.1", port=port,
                                           log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


@pytest.fixture
def model_dir(tmp_path):
    model, frame = fitted_model()
    (tmp_path / "model.pkl").write_bytes(pickle.dumps(model))
    (tmp_path / "serving.json").write_text(json.dumps({"model": {"name": "churn", "version": "7"},
                                                       "schema": SCHEMA, "max_batch": 10}))
    return tmp_path


@pytest.fixture
def server(model_dir):
    srv, thread, url = serve(model_dir)
    yield url
    srv.should_exit = True
    thread.join(10)


def wait_ready(url):
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if requests.get(f"{url}/health", timeout=2).status_code == 200:
            return
        time.sleep(0.05)
    raise AssertionError("never ready")


def test_predict_matches_the_model_and_names_the_model(server, model_dir):
    wait_ready(server)
    model, frame = fitted_model()
    rows = [{"age": 33.0, "plan": "b", "calls": 2.0}, {"age": 61, "plan": "z", "calls": None}]
    resp = requests.post(f"{server}/predict", json={"instances": rows}, timeout=5)
    assert resp.status_code == 200, resp.text
    assert resp.headers["X-Model-Name"] == "churn" and resp.headers["X-Model-Version"] == "7"
    body = resp.json()
    assert body["model"] == {"name": "churn", "version": "7"}
    import pandas as pd

    expected = model.predict_proba(pd.DataFrame(rows))[:, 1]
    for got, want in zip(body["predictions"], expected):
        assert got["score"] == pytest.approx(float(want), abs=1e-12)
        assert got["prediction"] == (1 if want > 0.5 else 0)
        assert set(got["probabilities"]) == {"0", "1"}


@pytest.mark.parametrize("body, error", [
    ({"instances": [{"age": "old", "plan": "a", "calls": 1}]}, "instances[0].age: Input should be a valid number"),
    ({"instances": [{"age": 3, "calls": 1}]}, "instances[0].plan: Field required"),
    ({"instances": [{"age": 3, "plan": "a", "calls": 1, "extra": 1}]}, "instances[0].extra: Extra inputs"),
    ({"instances": [{"age": 3, "plan": "a", "calls": None}] * 11}, "instances: List should have at most 10"),
    ({"rows": []}, "instances: Field required"),
])
def test_bad_input_is_a_422_naming_the_field(server, body, error):
    wait_ready(server)
    resp = requests.post(f"{server}/predict", json=body, timeout=5)
    assert resp.status_code == 422
    assert any(e.startswith(error) for e in resp.json()["errors"]), resp.json()
    assert resp.json()["model"]["version"] == "7"


def test_metrics_count_requests_latency_and_predictions(server):
    wait_ready(server)
    requests.post(f"{server}/predict", json={"instances": [{"age": 30, "plan": "a", "calls": 1}] * 3}, timeout=5)
    requests.post(f"{server}/predict", json={"instances": [{"age": "x"}]}, timeout=5)
    resp = requests.get(f"{server}/metrics", timeout=5)
    assert resp.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = resp.text
    assert 'mlops_serving_requests_total{path="/predict",method="POST",status="200"} 1' in text
    assert 'mlops_serving_requests_total{path="/predict",method="POST",status="422"} 1' in text
    assert 'mlops_serving_request_duration_seconds_bucket{path="/predict",le="+Inf"} 2' in text
    assert "mlops_serving_prediction_score_count 3" in text
    assert sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("mlops_serving_predictions_total{")) == 3
    assert 'mlops_serving_model_info{name="churn",version="7"} 1' in text
    assert "mlops_serving_model_ready 1" in text
    assert requests.get(f"{server}/schema", timeout=5).json()["fields"][1] == {"name": "plan", "type": "string",
                                                                               "nullable": False}


def test_a_model_that_cannot_load_is_never_ready(model_dir):
    (model_dir / "model.pkl").write_bytes(b"garbage")
    srv, thread, url = serve(model_dir)
    try:
        deadline = time.monotonic() + 10
        body = {}
        while time.monotonic() < deadline:
            resp = requests.get(f"{url}/health", timeout=2)
            body = resp.json()
            assert resp.status_code == 503
            if body["status"] == "failed":
                break
            time.sleep(0.05)
        assert body["status"] == "failed" and "UnpicklingError" in body["error"]
        resp = requests.post(f"{url}/predict", json={"instances": [{"age": 1, "plan": "a", "calls": 1}]}, timeout=5)
        assert resp.status_code == 503
        assert "mlops_serving_model_ready 0" in requests.get(f"{url}/metrics", timeout=5).text
    finally:
        srv.should_exit = True
        thread.join(10)


def test_schema_parsing_and_inference():
    assert parse_schema(SCHEMA)[2] == Field("calls", "number", True)
    with pytest.raises(SchemaError, match=r"fields\[0\] \(a\): type must be one of"):
        parse_schema({"fields": [{"name": "a", "type": "float"}]})
    with pytest.raises(SchemaError, match="listed twice"):
        parse_schema({"fields": [{"name": "a"}, {"name": "a"}]})
    fields = infer_fields({"id": "i", "age": "i", "fee": "f", "plan": "O", "vip": "b"}, nullable=["fee"],
                          only=["age", "fee", "plan", "vip"])
    assert [(f.name, f.type, f.nullable) for f in fields] == [
        ("age", "number", False), ("fee", "number", True), ("plan", "string", False), ("vip", "boolean", False)]
    with pytest.raises(SchemaError, match="no column.*tenure"):
        infer_fields({"age": "i"}, only=["age", "tenure"])
    assert describe_errors([{"loc": ("body", "instances", 2, "age"), "msg": "bad"}]) == ["instances[2].age: bad"]


def test_prometheus_exposition_format():
    counter = Counter("c_total", "help", ("path",))
    counter.inc(path='/a"b')
    hist = Histogram("h", "help", (0.1, 1.0))
    for value in (0.05, 0.5, 5):
        hist.observe(value)
    text = "\n".join(counter.render() + hist.render())
    assert 'c_total{path="/a\\"b"} 1' in text
    assert 'h_bucket{le="0.1"} 1' in text and 'h_bucket{le="1"} 2' in text and 'h_bucket{le="+Inf"} 3' in text
    assert "h_sum 5.55" in text and "h_count 3" in text
    assert text.splitlines()[0] == "# HELP c_total help" and "# TYPE h histogram" in text
    with pytest.raises(ValueError):
        counter.inc(other="x")
    assert ServingMetrics().render().endswith("\n")


def test_dropped_connections_are_retried_then_explained():
    from mlops_ci.adapters.service_http import ServiceError, request, wait_healthy

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(ServiceError, match="failed after 2 attempts"):
        request("GET", f"http://127.0.0.1:{port}/schema", attempts=2, timeout=1)
    health = wait_healthy(f"http://127.0.0.1:{port}", timeout=0.3, interval=0.05)
    assert not health.ok and "not healthy after 0 s: no answer" in health.detail


def test_the_same_model_served_through_onnx_answers_like_the_pickle(model_dir, tmp_path_factory):
    """The build's conversion (skl2onnx) and the server's ONNX runtime, end to end over HTTP."""
    from mlops_ci.image.onnx_export import to_onnx
    from mlops_ci.image.spec import runtime_parity
    from mlops_ci.serving.model import LoadedModel, ModelInfo

    model, frame = fitted_model()
    fields = parse_schema(SCHEMA)
    onnx_dir = tmp_path_factory.mktemp("onnx")
    (onnx_dir / "model.onnx").write_bytes(to_onnx(model, fields))
    (onnx_dir / "serving.json").write_text(json.dumps({
        "model": {"name": "churn", "version": "7", "classes": [0, 1]}, "schema": SCHEMA, "max_batch": 10,
        "runtime": "onnx"}))
    rows = [{"age": 20.0, "plan": "a", "calls": 0.0}, {"age": 65.0, "plan": "c", "calls": None},
            {"age": 41.0, "plan": "zzz-unseen", "calls": 7.0}]
    srv, thread, url = serve(onnx_dir)
    try:
        wait_ready(url)
        served = requests.post(f"{url}/predict", json={"instances": rows}, timeout=10).json()["predictions"]
        assert requests.get(f"{url}/health", timeout=5).json()["model"] == {"name": "churn", "version": "7"}
    finally:
        srv.should_exit = True
        thread.join(10)
    pickled = LoadedModel(model, ModelInfo("churn", "7", fields)).predict(rows)
    parity = runtime_parity(pickled, served, tolerance=1e-5)
    assert parity.ok, parity.detail
    assert [p["prediction"] for p in served] == [p["prediction"] for p in pickled]
    assert set(served[0]) == {"prediction", "probabilities", "score"}


def test_a_model_the_converter_cannot_take_says_why():
    from sklearn.cluster import KMeans

    from mlops_ci.image.onnx_export import ConversionFailed, to_onnx

    fields = [Field("a", "number"), Field("b", "number")]
    with pytest.raises(ConversionFailed, match="not a classifier with predict_proba"):
        to_onnx(KMeans(n_clusters=2, n_init=1).fit([[0, 0], [1, 1], [5, 5]]), fields)
    with pytest.raises(ConversionFailed, match="boolean inputs"):
        to_onnx(fitted_model()[0], [Field("a", "boolean")])
