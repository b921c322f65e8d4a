"""The bundled example: deterministic data, a drifted production variant."""

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "churn"
sys.path.insert(0, str(EXAMPLE / "src"))

from generate import generate  # noqa: E402


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_arguments_same_bytes(tmp_path):
    cmd = [sys.executable, str(EXAMPLE / "src" / "generate.py"), "--rows", "2000", "--seed", "3"]
    subprocess.run([*cmd, "--out", str(tmp_path / "a.csv")], check=True)
    subprocess.run([*cmd, "--out", str(tmp_path / "b.csv")], check=True)
    subprocess.run([*cmd[:-1], "4", "--out", str(tmp_path / "c.csv")], check=True)
    assert digest(tmp_path / "a.csv") == digest(tmp_path / "b.csv") != digest(tmp_path / "c.csv")


def test_schema_and_label_rate():
    frame = generate(5000, seed=1)
    assert list(frame.columns)[:2] == ["customer_id", "tenure_months"] and frame.columns[-1] == "churned"
    assert frame["customer_id"].is_unique and frame.notna().all().all()
    assert 0.15 < frame["churned"].mean() < 0.45
    assert set(frame["segment"]) == {"A", "B"}


def test_production_variant_drifts_the_intended_columns():
    ref, prod = generate(50_000, seed=1), generate(50_000, seed=2, drift="production")
    same = generate(50_000, seed=2)
    shift = (prod["monthly_charges"].mean() - ref["monthly_charges"].mean()) / ref["monthly_charges"].std()
    assert 0.15 < shift < 0.35
    assert abs(same["monthly_charges"].mean() - ref["monthly_charges"].mean()) / ref["monthly_charges"].std() < 0.05
    top_ref = ref["payment_method"].value_counts().index[:2].tolist()
    top_prod = prod["payment_method"].value_counts().index[:2].tolist()
    assert top_prod == top_ref[::-1]
    assert prod["support_calls"].mean() > ref["support_calls"].mean() + 0.3
    with pytest.raises(ValueError):
        generate(10, drift="sideways")
