"""doctor → repro → report → register: GPU-hours and cost travel through repro.json to the PR report and
the registry tags. The GPUs come from the fake nvidia-smi (four T4s), the pipeline is real DVC."""

from __future__ import annotations

import json
import os

import pytest

from tests.integration.test_runner_doctor import fake_path

pytestmark = pytest.mark.integration

COST = """\
cost:
  currency: EUR
  prices:
    gpu: {cpu_per_hour: 0.6, gpu_per_hour: 2.5}
"""


def gpu_env(dvc_repo, tmp_path, scenario: str = "t4-x4") -> dict[str, str]:
    """The fake nvidia-smi on the PATH (no NVML here: without nvidia-ml-py, repro samples with it)."""
    from tests.integration.test_runner_doctor import FIXTURES

    return {"PATH": fake_path(tmp_path, scenario) + os.pathsep + dvc_repo.env["PATH"],
            "FAKE_NVIDIA_SMI": str(FIXTURES / scenario)}


def record(dvc_repo) -> dict:
    return json.loads((dvc_repo.root / ".mlops-ci" / "out" / "repro.json").read_text())


def test_gpu_hours_and_cost_from_doctor_to_report(dvc_repo, tmp_path):
    dvc_repo.write(".mlops-ci.yml", COST)
    dvc_repo.commit("price table")
    env = gpu_env(dvc_repo, tmp_path)
    doctor = dvc_repo.mlops("runner", "doctor", "--labels", "self-hosted,gpu", "--min-free-gb", "0", env=env)
    assert doctor.returncode == 0, doctor.stderr

    proc = dvc_repo.mlops("repro", "--no-push", env=env)
    assert proc.returncode == 0, proc.stderr
    rec = record(dvc_repo)
    assert rec["gpus"] == 4
    for stage in rec["stages"]:
        assert stage["gpu_hours"] == pytest.approx(4 * stage["seconds"] / 3600, abs=1e-5)
    cost = rec["cost"]
    assert (cost["runner"], cost["runner_reason"], cost["gpu_source"]) == ("gpu", "runner label", "doctor.json")
    assert cost["amount"] == pytest.approx(rec["seconds"] / 3600 * (0.6 + 4 * 2.5), abs=1e-5)
    assert cost["gpu_names"] == ["Tesla T4"] * 4
    assert rec["gpu_sampling"].startswith("nvidia-smi --loop-ms") or rec["gpu_sampling"].startswith("NVML")
    for stage in rec["stages"]:  # the recorded tick: 87 %, 0 %, 100 %, 0 % on four T4s
        assert (stage["gpu"]["gpus"], stage["gpu"]["util_mean_pct"], stage["gpu"]["util_peak_pct"]) == (4, 46.8, 100)
        assert (stage["gpu"]["mem_peak_mib"], stage["gpu"]["mem_total_mib"]) == (14021, 15360)
    summary = (dvc_repo.root / ".mlops-ci" / "out" / "summary.md").read_text()
    assert "**Cost**: ≈ " in summary and "EUR" in summary and "GPU-h on 4 GPUs" in summary
    outputs = json.loads((dvc_repo.root / ".mlops-ci" / "out" / "outputs.json").read_text())
    assert outputs["cost"].endswith(" EUR") and float(outputs["gpu-hours"]) == pytest.approx(rec["gpu_hours"], abs=1e-6)

    report = dvc_repo.mlops("report", "--no-plots", env=env)
    assert report.returncode == 0, report.stderr
    body = (dvc_repo.root / ".mlops-ci" / "out" / "comment.md").read_text()
    assert "### ℹ️ Cost" in body and "- **Cost**: ≈ " in body
    assert "- **GPUs**: 4 GPUs (Tesla T4), counted by the runner doctor" in body
    assert "- **Price**: `gpu` (runner label): 0.60 EUR/h + 2.50 EUR per GPU-hour" in body
    assert body.index("### ℹ️ Cost") > body.index("Run"), "cost comes after the run facts"


def test_without_doctor_or_prices_repro_probes_and_reports_gpu_hours_only(dvc_repo, tmp_path):
    env = gpu_env(dvc_repo, tmp_path)
    assert dvc_repo.mlops("repro", "--no-push", env=env).returncode == 0
    cost = record(dvc_repo)["cost"]
    assert (cost["gpus"], cost["gpu_source"], cost["amount"]) == (4, "nvidia-smi", None)
    assert "no price entry for 'default'" in cost["note"]

    assert dvc_repo.mlops("repro", "--no-push").returncode == 0  # no nvidia-smi at all: a CPU runner
    assert record(dvc_repo)["cost"]["gpus"] == 0 and record(dvc_repo)["gpu_hours"] == 0


def test_register_appends_cost_tags(dvc_repo, tmp_path):
    from tests.integration.test_register import add_model

    dvc_repo.write(".mlops-ci.yml", COST)
    env = gpu_env(dvc_repo, tmp_path)
    assert dvc_repo.mlops("runner", "doctor", "--labels", "gpu", "--min-free-gb", "0", env=env).returncode == 0
    assert dvc_repo.mlops("repro", "--no-push", env=env).returncode == 0
    add_model(dvc_repo)
    dvc_repo.commit("model")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    proc = dvc_repo.mlops("register", "--model-name", "costly", env={**env, "MLFLOW_TRACKING_URI": uri})
    assert proc.returncode == 0, proc.stderr

    from mlflow import MlflowClient

    tags = MlflowClient(uri).get_model_version("costly", "1").tags
    amount = record(dvc_repo)["cost"]["amount"]
    assert tags["mlops-ci.cost.gpus"] == "4" and tags["mlops-ci.cost.currency"] == "EUR"
    assert tags["mlops-ci.cost.runner"] == "gpu" and tags["mlops-ci.cost.gpu_names"] == "Tesla T4"
    assert float(tags["mlops-ci.cost.amount"]) == pytest.approx(amount, abs=1e-4)
    assert float(tags["mlops-ci.cost.gpu_hours"]) == pytest.approx(record(dvc_repo)["gpu_hours"], abs=1e-4)
    assert "mlops-ci.git_sha" in tags, "cost tags come on top of the lineage"

    from mlops_ci.registry.register import cost_tags

    assert cost_tags(tmp_path / "no-such-dir") == {}


def test_a_pipeline_that_barely_uses_its_gpu_is_told_what_a_cpu_runner_would_cost(dvc_repo, tmp_path):
    dvc_repo.write(".mlops-ci.yml", "cost:\n  currency: EUR\n  cpu_runner: cpu\n  prices:\n"
                                    "    gpu: {cpu_per_hour: 0.6, gpu_per_hour: 2.5}\n    cpu: {cpu_per_hour: 0.4}\n")
    dvc_repo.commit("prices")
    env = gpu_env(dvc_repo, tmp_path, "a100-x1")  # one A100 at 3 % utilisation
    assert dvc_repo.mlops("runner", "doctor", "--labels", "gpu", "--min-free-gb", "0", env=env).returncode == 0
    proc = dvc_repo.mlops("repro", "--no-push", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "GPU sampling: " in proc.stdout
    rec = record(dvc_repo)
    for stage in rec["stages"]:
        assert (stage["gpu"]["util_mean_pct"], stage["gpu"]["mem_peak_mib"], stage["gpu"]["mem_total_mib"]) == \
            (3.0, 1210, 81920)
        assert stage["gpu"]["busy_gpu_seconds"] == pytest.approx(0.03 * stage["seconds"], abs=2e-3)
    cost = rec["cost"]
    assert [s["low_gpu"] for s in cost["stages"]] == [True, True, True]
    assert all(s["cpu_runner_amount"] == pytest.approx(s["seconds"] / 3600 * 0.4, abs=1e-6) for s in cost["stages"])
    assert rec["busy_gpu_hours"] == cost["busy_gpu_hours"] and cost["idle_gpu_amount"] > 0

    report = dvc_repo.mlops("report", "--no-plots", env=env)
    assert report.returncode == 0, report.stderr
    body = (dvc_repo.root / ".mlops-ci" / "out" / "comment.md").read_text()
    assert "| Stage | Status | Wall time | GPU util mean / peak | GPU memory peak | GPU-hours | Cost |" in body
    assert "- ⚠️ **Barely used the GPU** (under 10 % of the time): `prepare` (" in body
    assert "On a CPU runner (`cpu`, 0.40 EUR/h) these stages would cost" in body
    assert "GPU-hours held by the stages were busy" in body and "the idle GPU time cost ≈" in body
