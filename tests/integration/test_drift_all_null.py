"""A column without a single value is "all null" whatever the file format, never a type change.

Arrow infers an entirely empty CSV column as ``null`` (read as text, since a later block may hold
values); Parquet keeps the declared type. Both must give ``schema.all_null`` (a warning) and a
skipped drift test — not ``schema.dtype_change double -> string`` (an error, exit 1).
"""

import json
import os

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from mlops_ci.adapters.datasets import open_source
from mlops_ci.cli import main
from mlops_ci.drift import profile as P

pytestmark = pytest.mark.integration

N = 3000


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for key in list(os.environ):
        if key.startswith(("GITHUB_", "MLOPS_CI_")):
            monkeypatch.delenv(key)


def table(seed: int, **columns) -> pa.Table:
    rng = np.random.default_rng(seed)
    base = {"a": rng.normal(size=N), "b": rng.normal(size=N),
            "cat": pa.array(rng.choice(["x", "y", "z"], N))}
    base.update(columns)
    return pa.table(base)


def write(t: pa.Table, path) -> str:
    if str(path).endswith(".csv"):
        pacsv.write_csv(t, path)  # nulls are written as empty cells
    else:
        pq.write_table(t, path)
    return str(path)


def drift(capsys, tmp_path, ref: str, cur: str):
    out = tmp_path / "o"
    code = main(["drift", "-r", ref, "-c", cur, "--out", str(out)])
    _, err = capsys.readouterr()
    report = json.loads((out / "drift.json").read_text())
    checks = {(r["check"], r["column"]): r for r in report["contracts"]}
    columns = {c["name"]: c for c in report["columns"]}
    return code, err, checks, columns


def assert_all_null(code, err, checks, columns, name, side):
    assert code == 0, err
    assert ("schema.dtype_change", name) not in checks, checks
    result = checks[("schema.all_null", name)]
    assert result["severity"] == "warn" and not result["passed"]
    col = columns[name]
    assert col["status"] == "skipped" and col["drifted"] is False
    assert col["reason"] == f"no usable value in {side}: all null (no drift test possible)"


@pytest.mark.parametrize("cur_format", ["csv", "parquet"])
@pytest.mark.parametrize("ref_format", ["csv", "parquet"])
def test_current_column_blanked(tmp_path, capsys, ref_format, cur_format):
    ref = write(table(1), tmp_path / f"ref.{ref_format}")
    cur = write(table(2, b=pa.nulls(N, pa.float64())), tmp_path / f"cur.{cur_format}")
    code, err, checks, columns = drift(capsys, tmp_path, ref, cur)
    assert_all_null(code, err, checks, columns, "b", "current data")
    assert checks[("schema.all_null", "b")]["message"] == "column 'b' has no usable value in current data (all null)"
    assert set(checks) == {("schema.all_null", "b")}  # nothing else: same verdict for CSV and Parquet
    assert columns["a"]["status"] == "tested" and columns["cat"]["status"] == "tested"


@pytest.mark.parametrize("cur_format", ["csv", "parquet"])
@pytest.mark.parametrize("ref_format", ["csv", "parquet"])
def test_reference_column_empty(tmp_path, capsys, ref_format, cur_format):
    ref = write(table(1, allnull=pa.nulls(N, pa.float64())), tmp_path / f"ref.{ref_format}")
    cur = write(table(2, allnull=np.random.default_rng(3).normal(size=N)), tmp_path / f"cur.{cur_format}")
    code, err, checks, columns = drift(capsys, tmp_path, ref, cur)
    assert_all_null(code, err, checks, columns, "allnull", "reference")
    assert "no value in the reference" in checks[("schema.all_null", "allnull")]["message"]
    assert set(checks) == {("schema.all_null", "allnull")}


def test_null_typed_parquet_against_csv_both_ways(tmp_path, capsys):
    """A Parquet ``null`` column (pandas writes one for all-None) meets a CSV column with values."""
    null_pq = write(table(1, c=pa.nulls(N)), tmp_path / "null.parquet")
    vals_csv = write(table(2, c=pa.array(np.random.default_rng(4).choice(["p", "q"], N))), tmp_path / "vals.csv")
    code, err, checks, columns = drift(capsys, tmp_path, vals_csv, null_pq)
    assert_all_null(code, err, checks, columns, "c", "current data")
    code, err, checks, columns = drift(capsys, tmp_path, null_pq, vals_csv)
    assert_all_null(code, err, checks, columns, "c", "reference")


def test_stored_profile_of_an_empty_csv_column_says_null(tmp_path, capsys):
    ref = write(table(1, allnull=pa.nulls(N, pa.string())), tmp_path / "ref.csv")
    assert main(["profile", "build", ref, "-o", str(tmp_path / "ref.json")]) == 0
    capsys.readouterr()
    col = P.loads((tmp_path / "ref.json").read_bytes()).columns["allnull"]
    assert (col.dtype, col.kind, col.nulls) == ("null", "empty", N)  # the profile a Parquet null column gets
    cur = write(table(2, allnull=np.random.default_rng(3).normal(size=N)), tmp_path / "cur.parquet")
    code, err, checks, columns = drift(capsys, tmp_path, str(tmp_path / "ref.json"), cur)
    assert_all_null(code, err, checks, columns, "allnull", "reference")


def test_na_cells_and_a_type_contract_on_an_empty_csv_column(tmp_path, capsys):
    """Cells Arrow reads as null ("", NA, null) make the column all null; a dtype contract has nothing to fail."""
    ref = write(table(1), tmp_path / "ref.csv")
    cur = tmp_path / "cur.csv"
    t = table(2).to_pandas()
    t["b"] = np.resize(np.array(["", "NA", "null"], dtype=object), N)
    t.to_csv(cur, index=False)
    contracts = tmp_path / "contracts.yml"
    contracts.write_text("columns:\n  b: {dtype: number, max_null_share: 1.0}\n")
    code = main(["drift", "-r", ref, "-c", str(cur), "--contracts", str(contracts), "--out", str(tmp_path / "o")])
    _, err = capsys.readouterr()
    assert code == 0, err
    report = json.loads((tmp_path / "o" / "drift.json").read_text())
    checks = {(r["check"], r["column"]): r for r in report["contracts"]}
    assert checks[("dtype", "b")]["passed"] and checks[("not_null", "b")]["passed"]
    assert not checks[("schema.all_null", "b")]["passed"] and ("schema.dtype_change", "b") not in checks


def test_a_column_empty_only_in_the_first_block_keeps_its_values(tmp_path, monkeypatch):
    """Guessed as text from an empty first block, it is not all null: its cells are read as they are."""
    monkeypatch.setattr("mlops_ci.adapters.datasets.CSV_BLOCK", 1 << 12)
    rows = ["k,note"] + [f"{i}," for i in range(2000)] + [f"{i},late {i % 3}" for i in range(2000, 2100)]
    (tmp_path / "late.csv").write_text("\n".join(rows) + "\n")
    src = open_source(str(tmp_path / "late.csv"))
    assert src.schema.field("note").type == pa.string()
    notes = pa.Table.from_batches(list(src.batches(["note"]))).column("note")
    assert notes.null_count == 2000 and notes.drop_null().to_pylist()[:3] == ["late 2", "late 0", "late 1"]
    from mlops_ci.drift.builder import BuildOptions, build_profile

    col = build_profile(src, src.schema, BuildOptions(threads=1)).columns["note"]
    assert (col.dtype, col.kind, col.nulls, col.valid) == ("string", "categorical", 2000, 100)
    assert col.categorical.cardinality == 3
