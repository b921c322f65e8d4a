"""`mlops-ci profile build` and `mlops-ci drift` on real files: formats, bad input, exit codes, outputs."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlops_ci.cli import main

pytestmark = pytest.mark.integration

N = 5000


def table(seed: int, drift: bool = False, n: int = N) -> pa.Table:
    rng = np.random.default_rng(seed)
    shift = 0.5 if drift else 0.0
    p = [0.3, 0.5, 0.2] if drift else [0.5, 0.3, 0.2]
    return pa.table({
        "a": rng.normal(shift, 1, n), "b": rng.normal(shift, 1, n), "c": rng.gamma(2, 2, n) + 3 * shift,
        "plan": pa.array(rng.choice(["basic", "pro", "team"], n, p=p)),
        "age": rng.integers(18, 90, n),
    })


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for key in list(os.environ):
        if key.startswith(("GITHUB_", "MLOPS_CI_")):
            monkeypatch.delenv(key)


@pytest.fixture
def data(tmp_path):
    (tmp_path / "ref").mkdir()
    (tmp_path / "cur").mkdir()
    ref = table(1)
    pq.write_table(ref.slice(0, 2000), tmp_path / "ref" / "part-0.parquet")
    pq.write_table(ref.slice(2000), tmp_path / "ref" / "part-1.parquet")
    pq.write_table(table(2), tmp_path / "same.parquet")
    pq.write_table(table(3, drift=True), tmp_path / "cur" / "drifted.parquet")
    return tmp_path


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_no_drift_exit_0_with_all_outputs(data, capsys):
    out_dir = data / "out"
    code, out, err = run(capsys, "drift", "-r", str(data / "ref"), "-c", str(data / "same.parquet"),
                         "--out", str(out_dir))
    assert code == 0, err
    assert out.startswith("### 🟢 Data drift: no dataset drift — 0 of 5 columns drifted")
    report = json.loads((out_dir / "drift.json").read_text())
    assert report["dataset_drift"] is False and report["n_tested"] == 5
    assert (out_dir / "drift.md").read_text() == out
    assert (out_dir / "drift.html").read_text().startswith("<!doctype html>")


def test_drift_exit_1_from_a_stored_profile_and_a_glob(data, capsys):
    profile = data / "ref.json.gz"
    code, out, err = run(capsys, "profile", "build", str(data / "ref"), "-o", str(profile))
    assert code == 0, err and "profile of 5,000 rows, 5 columns" in out
    code, out, err = run(capsys, "drift", "-r", str(profile), "-c", str(data / "cur" / "*.parquet"),
                         "--format", "json", "--out", str(data / "o"))
    assert code == 1
    report = json.loads(out)
    assert report["dataset_drift"] is True
    assert {c["name"] for c in report["columns"] if c["drifted"]} == {"a", "b", "c", "plan"}
    code, _, _ = run(capsys, "drift", "-r", str(profile), "-c", str(data / "cur"), "--no-fail-on-drift",
                     "--out", str(data / "o"))
    assert code == 0


def test_csv_inputs_and_non_utf8(tmp_path, capsys):
    ref, cur = table(1).to_pandas(), table(2).to_pandas()
    ref.to_csv(tmp_path / "ref.csv", index=False)
    cur["plan"] = cur["plan"].replace({"team": "équipe"})
    cur.to_csv(tmp_path / "cur.csv", index=False, encoding="latin-1")
    code, out, err = run(capsys, "drift", "-r", str(tmp_path / "ref.csv"), "-c", str(tmp_path / "cur.csv"),
                         "--out", str(tmp_path / "o"))
    assert code == 2 and "cur.csv: not UTF-8 text" in err and "--csv-encoding" in err
    code, out, err = run(capsys, "drift", "-r", str(tmp_path / "ref.csv"), "-c", str(tmp_path / "cur.csv"),
                         "--csv-encoding", "latin-1", "--no-fail-on-drift", "--out", str(tmp_path / "o"))
    assert code == 0, err
    report = json.loads((tmp_path / "o" / "drift.json").read_text())
    plan = next(c for c in report["columns"] if c["name"] == "plan")
    assert plan["drifted"] is True  # "équipe" is a value the reference never had


@pytest.mark.parametrize("case,message", [
    ("missing", "no such file or directory"),
    ("glob", "the glob matches no file"),
    ("empty", "current data has no rows"),
    ("version", "profile format version 99"),
    ("garbage", "not readable as Parquet"),
    ("empty_csv", "empty CSV file"),
    ("bad_value", "does not match its column's type"),
])
def test_bad_input_is_exit_2_with_a_clear_message(data, capsys, monkeypatch, case, message):
    ref = str(data / "ref")
    cur = str(data / "same.parquet")
    if case == "missing":
        cur = str(data / "nope.parquet")
    elif case == "glob":
        cur = str(data / "*.nothing")
    elif case == "empty":
        pq.write_table(table(1).slice(0, 0), data / "empty.parquet")
        cur = str(data / "empty.parquet")
    elif case == "version":
        run(capsys, "profile", "build", ref, "-o", str(data / "p.json"))
        doc = json.loads((data / "p.json").read_text())
        doc["version"] = 99
        (data / "p.json").write_text(json.dumps(doc))
        ref = str(data / "p.json")
    elif case == "garbage":
        (data / "bad.parquet").write_bytes(b"PAR1 this is not parquet")
        cur = str(data / "bad.parquet")
    elif case == "empty_csv":
        (data / "e.csv").write_text("")
        cur = str(data / "e.csv")
    elif case == "bad_value":
        monkeypatch.setattr("mlops_ci.adapters.datasets.CSV_BLOCK", 1 << 16)  # types come from the first block
        rows = "a,b\n" + "\n".join(f"{i},{i}" for i in range(50_000)) + "\nsurprise,1\n"
        (data / "late.csv").write_text(rows)
        ref = cur = str(data / "late.csv")
    code, out, err = run(capsys, "drift", "-r", ref, "-c", cur, "--out", str(data / "o"))
    assert code == 2, (out, err)
    assert message in err
    assert "Traceback" not in err


def test_type_change_all_null_nan_and_ids_are_reported_not_crashing(tmp_path, capsys):
    n = 20_000
    rng = np.random.default_rng(5)
    ref = pa.table({"x": rng.normal(size=n), "kind": rng.integers(0, 3, n), "y": rng.normal(size=n),
                    "user_id": [f"user-{i}" for i in range(n)]})
    x = rng.normal(size=n)
    x[:50] = np.nan
    x[50:60] = np.inf
    cur = pa.table({"x": x, "kind": pa.array([str(v) for v in rng.integers(0, 3, n)]),
                    "y": pa.nulls(n, pa.float64()), "user_id": [f"user-{n + i}" for i in range(n)]})
    pq.write_table(ref, tmp_path / "ref.parquet")
    pq.write_table(cur, tmp_path / "cur.parquet")
    code, out, err = run(capsys, "drift", "-r", str(tmp_path / "ref.parquet"), "-c", str(tmp_path / "cur.parquet"),
                         "--out", str(tmp_path / "o"))
    assert code == 1  # the type change is a contract error by default
    report = json.loads((tmp_path / "o" / "drift.json").read_text())
    cols = {c["name"]: c for c in report["columns"]}
    assert "type changed (int64 -> string)" in cols["kind"]["reason"]
    assert cols["y"]["status"] == "skipped" and "no usable value" in cols["y"]["reason"]
    assert cols["user_id"]["status"] == "skipped" and "distinct" in cols["user_id"]["reason"]
    assert cols["x"]["status"] == "tested" and cols["x"]["current"]["nan"] == 50
    checks = {(r["check"], r["column"]): r for r in report["contracts"]}
    assert checks[("schema.dtype_change", "kind")]["severity"] == "error"
    assert checks[("schema.non_finite", "x")]["violations"] == 60
    assert checks[("schema.all_null", "y")]["severity"] == "warn"


def test_contracts_file_and_severity(data, capsys, tmp_path):
    suite = {"expectation_suite_name": "churn", "expectations": [
        {"expectation_type": "expect_column_values_to_be_between",
         "kwargs": {"column": "age", "min_value": 18, "max_value": 60}, "meta": {"severity": "warn"}},
        {"expectation_type": "expect_column_values_to_be_in_set",
         "kwargs": {"column": "plan", "value_set": ["basic", "pro", "team"]}}]}
    (tmp_path / "suite.json").write_text(json.dumps(suite))
    args = ["drift", "-r", str(data / "ref"), "-c", str(data / "same.parquet"), "--out", str(tmp_path / "o")]
    code, out, err = run(capsys, *args, "--contracts", str(tmp_path / "suite.json"))
    assert code == 0, err  # a warning only
    assert "⚠️ Data contracts: 1 warning(s) in 2 checks" in out
    (tmp_path / "strict.yml").write_text("contracts:\n  columns:\n    age: {max: 60}\n")
    code, out, err = run(capsys, *args, "--contracts", str(tmp_path / "strict.yml"))
    assert code == 1 and "❌ Data contracts: 1 error(s)" in out
    (tmp_path / "bad.yml").write_text("columns:\n  age: {maximum: 60}\n")
    code, out, err = run(capsys, *args, "--contracts", str(tmp_path / "bad.yml"))
    assert code == 2 and "bad.yml: invalid contracts" in err


def test_github_actions_outputs_and_summary(data, capsys, monkeypatch, tmp_path):
    output, summary = tmp_path / "output", tmp_path / "summary"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, out, err = run(capsys, "drift", "-r", str(data / "ref"), "-c", str(data / "cur"), "--out",
                         str(tmp_path / "o"))
    assert code == 1
    outputs = output.read_text()
    assert "dataset-drift=true\n" in outputs and "drift-share=0.8000\n" in outputs
    assert f"report-json={tmp_path / 'o' / 'drift.json'}\n" in outputs
    assert summary.read_text().startswith("## 🔴 Data drift: **dataset drift**")  # a summary part starts at h2
    assert "::error title=mlops-ci::dataset drift: 4 of 5 columns drifted" in out
    assert "mlops-ci: error: dataset drift: 4 of 5 columns drifted (share 0.80 >= 0.50)" in err


def test_profile_merge_command(data, capsys):
    for i in (0, 1):
        assert run(capsys, "profile", "build", str(data / "ref" / f"part-{i}.parquet"), "-o",
                   str(data / f"p{i}.json"))[0] == 0
    code, out, _ = run(capsys, "profile", "merge", str(data / "p0.json"), str(data / "p1.json"), "-o",
                       str(data / "m.json"))
    assert code == 0 and "5,000 rows" in out
    code, out, _ = run(capsys, "drift", "-r", str(data / "m.json"), "-c", str(data / "same.parquet"),
                       "--format", "json", "--out", str(data / "o"))
    assert code == 0 and json.loads(out)["n_drifted"] == 0
    # issue 14: any order gives the same file; a partition given twice is refused, nothing written
    assert run(capsys, "profile", "merge", str(data / "p1.json"), str(data / "p0.json"), "-o",
               str(data / "m10.json"))[0] == 0
    assert (data / "m10.json").read_bytes() == (data / "m.json").read_bytes()
    code, _, err = run(capsys, "profile", "merge", str(data / "m.json"), str(data / "p1.json"), "-o",
                       str(data / "twice.json"))
    assert code == 2 and f"{data / 'p1.json'}: describes a partition already in {data / 'm.json'}" in err
    assert not (data / "twice.json").exists()


def test_reference_read_from_a_dvc_revision(tmp_path, capsys):
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x.invalid", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@x.invalid", "DVC_NO_ANALYTICS": "1"}
    dvc = [sys.executable, "-m", "dvc"]

    def sh(*cmd):
        subprocess.run(list(cmd), cwd=repo, env=env, check=True, capture_output=True)

    sh("git", "init", "-q", "-b", "main")
    sh(*dvc, "init", "-q")
    pq.write_table(table(1), repo / "data.parquet")
    sh(*dvc, "add", "-q", "data.parquet")
    sh("git", "add", "-A")
    sh("git", "commit", "-qm", "v1")
    sh("git", "tag", "v1")
    pq.write_table(table(3, drift=True), repo / "data.parquet")  # the working tree moved on
    code, out, err = run(capsys, "drift", "-C", str(repo), "-r", "data.parquet", "--reference-rev", "v1",
                         "-c", "data.parquet", "--format", "json", "--out", str(tmp_path / "o"))
    assert code == 1, err
    report = json.loads(out)
    assert report["reference"]["source"] == "data.parquet@v1" and report["dataset_drift"] is True
    code, out, err = run(capsys, "drift", "-C", str(repo), "-r", "data.parquet", "--reference-rev", "nope",
                         "-c", "data.parquet", "--out", str(tmp_path / "o"))
    assert code == 2 and "revision nope" in err


def test_help_stays_light():
    code = subprocess.run([sys.executable, "-c", "import sys, mlops_ci.commands.drift, mlops_ci.commands.profile;"
                           "bad = [m for m in ('numpy', 'pandas', 'pyarrow', 'scipy') if m in sys.modules];"
                           "sys.exit(1 if bad else 0)"], capture_output=True)
    assert code.returncode == 0
    assert Path(__file__)  # keep the import of Path used


def test_python_api_for_the_demo_and_the_report(tmp_path):
    """What `mlops-ci demo` and the PR report call: data frames in, report and files out."""
    from mlops_ci.drift.job import run_drift, write_outputs
    from mlops_ci.drift import markdown
    from mlops_ci.drift.config import ContractsConfig, DriftConfig
    from mlops_ci.drift.report import from_dict

    report = run_drift(table(1).to_pandas(), table(3, drift=True), drift=DriftConfig(fail_on_drift=False),
                       contracts=ContractsConfig.model_validate({"columns": {"age": {"max": 80}}}))
    assert report.dataset_drift and not report.fail_on_drift and report.failed  # the contract error fails
    files = write_outputs(report, tmp_path / "drift")
    assert sorted(files) == ["html", "json", "md"] and all(p.exists() for p in files.values())
    again = from_dict(json.loads(files["json"].read_text()))
    assert again.n_drifted == report.n_drifted and len(again.contract_errors) == 1
    section = markdown.render(again, max_chars=3000, heading="###")
    assert len(section) <= 3000 and section.startswith("### 🔴 Data drift")
