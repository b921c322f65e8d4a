"""Pure build/deploy decisions: Dockerfile, labels, tags, release tags, smoke parity, rollback choice, model card."""

from __future__ import annotations

import pytest

from mlops_ci.deploy import modelcard
from mlops_ci.deploy.plan import (check_environment, dns_name, parse_release_tag, previous_image, service_name,
                                  split_reference, staged_image)
from mlops_ci.deploy.smoke import (build_case, case_document, case_from_document, choose_parity_source, compare)
from mlops_ci.errors import BadInput
from mlops_ci.image.spec import (DockerfileSpec, image_tags, install_list, metrics_digest, oci_labels, prune_script,
                                 render_dockerfile, runtime_parity, sanitize_tag, serving_requirements,
                                 validate_repository)

DIGEST = "sha256:" + "ab" * 32


def test_generated_dockerfile_is_two_stage_non_root_and_cache_friendly():
    text = render_dockerfile(DockerfileSpec(base_image="python:3.11-slim", pip_wheel="pip-26.3-py3-none-any.whl"))
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    assert lines[0] == "ARG BASE_IMAGE=python:3.11-slim"
    assert "FROM ${BASE_IMAGE} AS deps" in lines and lines.count("FROM ${BASE_IMAGE}") == 1
    # wheels first, then the server, then the model: a new model rebuilds only the last layer
    order = [text.index(marker) for marker in ("COPY wheels/", "COPY --from=deps", "COPY app/", "COPY model/")]
    assert order == sorted(order)
    assert '"--no-index"' in text and "/tmp/wheels/pip-26.3-py3-none-any.whl/pip" in text
    assert "USER 10001:10001" in text and "HEALTHCHECK" in text and "/health" in text
    assert "LABEL" not in text  # labels come with the build call so they do not break the cache
    # exactly the resolved wheel list, and the image proves it can load and run its model before it exists
    assert '"--no-deps"' in text and 'RUN ["python", "-m", "mlops_ci.serving.selfcheck"]' in lines
    assert text.index("USER 10001") < text.index("selfcheck")
    with pytest.raises(BadInput, match="build.base_image"):
        render_dockerfile(DockerfileSpec(base_image="", pip_wheel="pip.whl"))


def test_requirements_drop_mlflow_and_keep_one_line_per_package():
    reqs = serving_requirements(["mlflow==3.1", "scikit-learn==1.9.1", "numpy==2.4", "# comment", "-r other.txt"],
                                ["fastapi==0.1", "numpy==9", "uvicorn==0.5"])
    assert reqs == ["scikit-learn==1.9.1", "numpy==2.4", "fastapi==0.1", "uvicorn==0.5"]


def test_tags_labels_and_repositories():
    assert image_tags("abc123", "1.2.3", ["extra/tag"]) == ["abc123", "1.2.3", "extra-tag"]
    assert image_tags(None, None) == ["latest"]
    assert sanitize_tag(".-weird tag+1") == "weird-tag-1"
    assert validate_repository("127.0.0.1:5000/churn") and validate_repository("ghcr.io/org/churn-model")
    with pytest.raises(BadInput, match="lowercase"):
        validate_repository("ghcr.io/Org/Churn")
    with pytest.raises(BadInput, match="required"):
        validate_repository("")
    labels = oci_labels(revision="abc", source="https://github.com/o/r", created="2026-01-01T00:00:00Z",
                        version="1.2.3", model_name="churn", model_version="4", metrics_digest_value="sha256:x")
    assert labels["org.opencontainers.image.revision"] == "abc"
    assert labels["org.opencontainers.image.source"] == "https://github.com/o/r"
    assert labels["org.opencontainers.image.version"] == "1.2.3"
    assert labels["io.mlops-ci.model.version"] == "4" and labels["io.mlops-ci.metrics.digest"] == "sha256:x"
    assert metrics_digest({"a": 1, "b": 2.5}) == metrics_digest({"b": 2.5, "a": 1}) != metrics_digest({"a": 2})


def test_release_tags():
    assert parse_release_tag("v1.2.3").version == "1.2.3"
    tag = parse_release_tag("refs/tags/churn@v2.0.0-rc.1")
    assert (tag.model, tag.version, tag.tag) == ("churn", "2.0.0-rc.1", "churn@v2.0.0-rc.1")
    for bad in ("1.2", "release-1", "churn#prod#3", ""):
        with pytest.raises(BadInput, match="release tag"):
            parse_release_tag(bad)


def test_names_environments_and_pinned_references():
    assert service_name(None, "Churn_Model", "staging") == "churn-model-staging"
    assert dns_name("x" * 80) == "x" * 63
    assert check_environment("staging", {"staging": {}}) == "staging"
    with pytest.raises(BadInput, match="not configured"):
        check_environment("prod", {"staging": {}, "production": {}})
    with pytest.raises(BadInput, match="letters"):
        check_environment("a b", {"a b": {}})
    assert split_reference(f"reg/churn@{DIGEST}") == ("reg/churn", DIGEST)
    with pytest.raises(BadInput, match="pinned by digest"):
        split_reference("reg/churn:latest")


def test_previous_image_is_the_newest_other_good_one():
    deployments = [{"id": 5, "payload": {"image": "c"}}, {"id": 4, "payload": {"image": "b"}},
                   {"id": 3, "payload": {"image": "bad"}}, {"id": 2, "payload": {"image": "a"}},
                   {"id": 1, "payload": "not a mapping"}]
    statuses = {5: "success", 4: "failure", 3: "failure", 2: "inactive"}
    assert previous_image(deployments, statuses, current="c") == "a"
    assert previous_image(deployments, {5: "success"}, current="x") == "c"
    assert previous_image([], {}, current=None) is None


def test_smoke_parity():
    sample = [{"id": i, "x": float(i), "cat": "a", "target": 1} for i in range(6)]
    preds = [{"row_id": i, "y_score": i / 10, "y_pred": int(i / 10 >= 0.5)} for i in range(1, 6)]
    case = build_case(sample, preds, id_column="id", predictions_id_column="row_id", features=["x", "cat"],
                      score_column="y_score", label_column="y_pred", max_rows=4)
    assert case.ids == [1, 2, 3, 4] and case.rows[0] == {"x": 1.0, "cat": "a"}
    served = [{"score": e["score"] + 1e-7, "prediction": e["label"]} for e in case.expected]
    result = compare(case, served, tolerance=1e-4, min_agreement=1.0)
    assert result.ok and result.reason == "parity 4/4 rows"
    served[1] = {"score": 0.9, "prediction": 1}
    result = compare(case, served, tolerance=1e-4, min_agreement=1.0)
    assert not result.ok and result.agreed == 3
    assert result.mismatches == ["row 2: score 0.900000 != offline 0.200000"]
    assert compare(case, served, tolerance=1e-4, min_agreement=0.75).ok
    assert not compare(case, served[:2], tolerance=1e-4, min_agreement=0.5).ok
    # on the threshold either label is fine
    edge = build_case([{"id": 1, "x": 1}], [{"row_id": 1, "y_score": 0.5, "y_pred": 1}], id_column="id",
                      predictions_id_column="row_id", features=["x"], score_column="y_score", label_column="y_pred",
                      max_rows=5)
    assert compare(edge, [{"score": 0.5, "prediction": 0}], tolerance=1e-4, min_agreement=1).ok
    empty = build_case(sample, [], id_column="id", predictions_id_column="row_id", features=["x"],
                       score_column="y_score", label_column=None, max_rows=5)
    assert not compare(empty, [], tolerance=0, min_agreement=1).ok


def test_model_card_compares_with_previous_production():
    card = modelcard.render(modelcard.CardInput(
        tag="v1.3.0", version="1.3.0", model_name="churn", model_version="5", image=f"reg/churn@{DIGEST}",
        sha="f" * 40, url="https://churn.example", metrics={"auc": 0.86, "latency_ms": 3.0},
        previous_metrics={"auc": 0.84, "latency_ms": 2.0}, previous_version="4", params={"train.lr": 0.1},
        lineage={"mlops-ci.git_sha": "f" * 40, "mlops-ci.pr": "12", "mlops-ci.data.data/customers.csv": "abc",
                 "mlops-ci.dvc.stage.train": '{"deps": {"a": "1"}, "outs": {"m": "2"}}'},
        drift={"dataset_drift": False, "drift_share": 0.1, "n_tested": 10, "n_drifted": 1},
        directions={"auc": "higher", "latency_ms": "lower"}))
    assert f"`reg/churn@{DIGEST}`" in card and "version **5**" in card
    assert "| auc | 0.84 | 0.86 | 🟢 +0.02 |" in card
    assert "| latency_ms | 2 | 3 | 🔴 +1 |" in card
    assert "no dataset drift: 1/10 columns drifted (share 0.10)" in card
    assert "- data `data/customers.csv`: md5 `abc`" in card and "- pr: 12" in card
    assert "stage `train`: 1 dependencies, 1 outputs hashed" in card
    assert "| replaces | version 4 |" in card
    first = modelcard.render(modelcard.CardInput(tag="v1", version="1", model_name="m", model_version="1",
                                                 image="i", sha="s", metrics={"auc": 0.8}))
    assert "| auc | 0.8 |" in first and "No drift report" in first and "No lineage" in first
    huge = modelcard.render(modelcard.CardInput(tag="v1", version="1", model_name="m", model_version="1", image="i",
                                                sha="s", params={f"p{i}": "x" * 100 for i in range(2000)}))
    assert len(huge) <= modelcard.BODY_LIMIT


def test_onnx_images_install_and_keep_only_what_inference_imports():
    wheels = ["pip-26.3-py3-none-any.whl", "numpy-2.4.6-cp311-cp311-manylinux_2_27_x86_64.whl",
              "onnxruntime-1.32.0-cp311-cp311-manylinux_2_28_x86_64.whl", "protobuf-7.36.2-cp39-abi3-manylinux.whl",
              "flatbuffers-25.12.19-py2.py3-none-any.whl", "pydantic_core-2.50.4-cp311-cp311-manylinux.whl",
              "python_dateutil-2.9.0.post0-py2.py3-none-any.whl", "README.txt"]
    assert install_list(wheels, "onnx") == ["numpy==2.4.6", "onnxruntime==1.32.0", "pydantic-core==2.50.4",
                                            "python-dateutil==2.9.0.post0"]
    # the pickle runtime installs the whole resolved closure (but never pip itself)
    assert "protobuf==7.36.2" in install_list(wheels, "sklearn") and "pip==26.3" not in install_list(wheels, "sklearn")
    onnx, sklearn = prune_script("onnx"), prune_script("sklearn")
    for common in ("'*/**/tests'", "'**/*.pyi'"):
        assert common in onnx and common in sklearn
    assert "'onnxruntime/capi/libonnxruntime.so*'" in onnx and "'numpy/f2py'" in onnx
    assert "onnxruntime" not in sklearn and "f2py" not in sklearn
    compile(onnx, "prune", "exec")  # valid Python, run as is in the deps stage
    text = render_dockerfile(DockerfileSpec(base_image="b", pip_wheel="pip.whl", runtime="onnx"))
    assert "runtime: onnx" in text and "libonnxruntime.so" in text


def test_runtime_parity_is_every_probability_and_every_label():
    def row(p1: float, label: int | None = None) -> dict:
        return {"prediction": label if label is not None else int(p1 > 0.5),
                "probabilities": {"0": 1 - p1, "1": p1}, "score": p1}

    pickle_side = [row(0.1), row(0.7), row(0.5)]
    same = runtime_parity(pickle_side, [row(0.1 + 1e-7), row(0.7 - 1e-7), row(0.5, label=1)], tolerance=1e-4)
    assert same.ok and same.agreed == 3 and same.max_abs_diff < 1e-6  # a tie may break either way
    off = runtime_parity(pickle_side, [row(0.1), row(0.72), row(0.5)], tolerance=1e-4)
    assert not off.ok and off.agreed == 2 and "row 1" in off.detail and "0.02" in off.detail
    flipped = runtime_parity([row(0.7)], [row(0.7, label=0)], tolerance=1e-4)
    assert not flipped.ok and "prediction 0 vs 1" in flipped.detail
    assert not runtime_parity([], [], 1e-4).ok
    assert not runtime_parity(pickle_side, pickle_side[:1], 1e-4).ok


def test_the_parity_case_travels_with_the_image():
    case = build_case([{"id": 1, "x": 2.0}, {"id": 2, "x": 3.0}],
                      [{"row_id": 1, "y_score": 0.25, "y_pred": 0}, {"row_id": 2, "y_score": 0.75, "y_pred": 1}],
                      id_column="id", predictions_id_column="row_id", features=["x"], score_column="y_score",
                      label_column="y_pred", max_rows=10)
    doc = case_document(case, revision="a" * 40, sample="s.parquet", predictions="p.csv")
    import json

    back = case_from_document(json.loads(json.dumps(doc)))
    assert (back.ids, back.rows, back.expected) == (case.ids, case.rows, case.expected)
    assert doc["revision"] == "a" * 40 and doc["sample"] == "s.parquet"
    for bad in ({}, {"version": 1, "ids": [1], "rows": [], "expected": []}, {"version": 2}):
        with pytest.raises(ValueError):
            case_from_document(bad)


def test_which_predictions_a_deploy_checks():
    a, b = "a" * 40, "b" * 40
    assert choose_parity_source(embedded=True, image_revision=a, checkout_sha=b, checkout_configured=True,
                                rollback=True).source == "image"
    same = choose_parity_source(embedded=False, image_revision=a, checkout_sha=a, checkout_configured=True,
                                rollback=True)
    assert same.source == "checkout" and "built from aaaaaaaaaaaa" in same.reason
    # a rollback to another commit's image without a case is never compared with the wrong predictions
    other = choose_parity_source(embedded=False, image_revision=a, checkout_sha=b, checkout_configured=True,
                                 rollback=True)
    assert other.source == "skip" and "built from commit aaaaaaaaaaaa, not from the checked-out bbbbbbbbbbbb" \
        in other.reason
    assert choose_parity_source(embedded=False, image_revision=a, checkout_sha=b, checkout_configured=True,
                                rollback=False).source == "skip"
    unknown = dict(embedded=False, image_revision=None, checkout_sha=b, checkout_configured=True)
    assert choose_parity_source(**unknown, rollback=False).source == "checkout"
    assert choose_parity_source(**unknown, rollback=True).source == "skip"
    assert choose_parity_source(embedded=False, image_revision=a, checkout_sha=a, checkout_configured=False,
                                rollback=False).source == "skip"


def test_release_promotes_what_staging_ran_for_that_commit():
    sha, other = "1" * 40, "2" * 40
    deployments = [{"id": 9, "sha": sha, "payload": {"image": "repo@rebuilt-failed"}},
                   {"id": 8, "sha": other, "payload": {"image": "repo@other-commit"}},
                   {"id": 7, "sha": sha, "payload": {"image": "repo@tested"}},
                   {"id": 6, "sha": sha, "payload": {"image": "repo@older"}}]
    statuses = {9: "failure", 8: "success", 7: "inactive", 6: "inactive"}
    assert staged_image(deployments, statuses, sha) == "repo@tested"  # newest that passed, superseded or not
    assert staged_image(deployments, statuses, "3" * 40) is None
    assert staged_image(deployments, {9: "failure", 7: "failure", 6: "in_progress"}, sha) is None


def test_labels_never_inherit_the_base_version_and_the_card_has_no_unknown_version():
    labels = oci_labels(revision="abc", source=None, created="2026-01-01T00:00:00Z", version=None,
                        model_name="churn", model_version="git-abc", metrics_digest_value=None)
    assert labels["org.opencontainers.image.version"] == ""  # overrides the base image's own LABEL
    card = modelcard.render(modelcard.CardInput(tag="v1.0.0", version="1.0.0", model_name="churn",
                                                model_version="git-abc", image=f"reg/churn@{DIGEST}", sha="s",
                                                previous_image="reg/churn@sha256:" + "0" * 64))
    assert "| replaces | `reg/churn@sha256:" in card and "?" not in card.split("| replaces |")[1].split("\n")[0]


def test_the_local_journal_answers_what_staging_ran_and_what_came_before(tmp_path):
    """Without GitHub the deployments journal (.mlops-ci/out/deployments.jsonl) is the record release and
    rollback read; lines written before `ref` was on every event still count (the start event carries it)."""
    import json
    import subprocess

    from mlops_ci.deploy.record import JOURNAL, DeploymentRecorder
    from mlops_ci.workspace import open_workspace

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q",
                    "--allow-empty", "-m", "empty"], check=True)
    ws = open_workspace(tmp_path, env={"MLOPS_CI_OUT_DIR": str(tmp_path / "out")})
    recorder = DeploymentRecorder(ws)
    a, b = "a" * 40, "b" * 40
    for sha, image, ok in ((a, "repo@sha256:1", True), (b, "repo@sha256:2", False), (a, "repo@sha256:3", True),
                           (b, "repo@sha256:4", True)):
        recorder.start(ref=sha, environment="staging", payload={"image": image}, description="deploy")
        recorder.finish(ok, description="done", environment_url=None)
    journal = ws.runtime.out_dir / JOURNAL
    events = [json.loads(line) for line in journal.read_text().splitlines()]
    assert all(e["ref"] in (a, b) for e in events)
    assert recorder.staged_image("staging", a) == "repo@sha256:3"  # the newest that succeeded for that commit
    assert recorder.staged_image("staging", b) == "repo@sha256:4"
    assert recorder.staged_image("production", a) is None
    assert recorder.previous_good_image("staging", current="repo@sha256:4") == "repo@sha256:3"
    # an older journal: success events without `ref`
    journal.write_text("\n".join(json.dumps({k: v for k, v in e.items() if not (k == "ref" and e["event"] != "start")})
                                 for e in events) + "\n")
    assert recorder.staged_image("staging", a) == "repo@sha256:3"
