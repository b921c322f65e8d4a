"""GPU-hours, the price table and how cost is shown (pure)."""

import pytest

from mlops_ci.config import parse_config
from mlops_ci.cost.config import CostConfig
from mlops_ci.cost.estimate import choose_price, estimate, from_dict, registry_tags
from mlops_ci.cost.render import body, duration, headline, money
from mlops_ci.errors import ConfigError
from mlops_ci.report.model import same_content, volatile

PRICES = CostConfig.model_validate({"currency": "EUR", "prices": {
    "gpu-a100": {"cpu_per_hour": 1.0, "gpu_per_hour": 3.0},
    "default": {"cpu_per_hour": 0.5}}})
STAGES = [("prepare", "ran", 36.0), ("train", "ran", 1800.0), ("evaluate", "cached", 3.6)]


def test_gpu_hours_are_gpus_times_wall_time():
    cost = estimate(STAGES, 1860.0, gpus=2, config=PRICES, labels=["self-hosted", "gpu-a100"],
                    gpu_names=["NVIDIA A100-SXM4-80GB"] * 2, gpu_source="doctor.json")
    assert [s.gpu_hours for s in cost.stages] == [0.02, 1.0, 0.002]
    assert cost.gpu_hours == pytest.approx(2 * 1860 / 3600)
    # 1 EUR/h for the machine + 2 GPUs × 3 EUR/GPU-h = 7 EUR/h
    assert [s.amount for s in cost.stages] == [pytest.approx(0.07), pytest.approx(3.5), pytest.approx(0.007)]
    assert cost.amount == pytest.approx(7 * 1860 / 3600)
    assert (cost.runner, cost.runner_reason, cost.currency) == ("gpu-a100", "runner label", "EUR")


def test_price_choice_order():
    assert choose_price(PRICES, ["self-hosted", "gpu-a100"]).key == "gpu-a100"
    assert choose_price(PRICES, ["self-hosted"]).reason == "default entry"
    pinned = CostConfig.model_validate({"runner": "default", "prices": PRICES.model_dump()["prices"]})
    assert choose_price(pinned, ["gpu-a100"]).reason == "cost.runner"
    assert choose_price(CostConfig(), ["gpu"]) is None


def test_no_price_still_counts_gpu_hours_and_says_why():
    cost = estimate(STAGES, 1860.0, gpus=1, config=CostConfig(), labels=["self-hosted", "gpu"])
    assert cost.amount is None and cost.gpu_hours == pytest.approx(1860 / 3600)
    assert cost.note == "no price entry for the runner labels 'self-hosted', 'gpu' or 'default' in cost.prices of " \
                        ".mlops-ci.yml"
    assert headline(cost) == "0.5167 GPU-h on 1 GPU · 31 min 00 s · no price configured"
    assert "docs/runners.md#cost" in body(cost)


def test_cpu_only_run():
    cost = estimate(STAGES, 1860.0, gpus=0, config=PRICES, labels=[])
    assert cost.gpu_hours == 0 and cost.amount == pytest.approx(0.5 * 1860 / 3600, abs=1e-6)
    assert headline(cost) == "≈ 0.26 EUR · CPU only · 31 min 00 s"


def test_rendering():
    cost = estimate(STAGES, 1860.0, gpus=2, config=PRICES, labels=["gpu-a100"], gpu_names=["NVIDIA A100"] * 2,
                    gpu_source="doctor.json")
    assert headline(cost) == "≈ 3.62 EUR · 1.0333 GPU-h on 2 GPUs · 31 min 00 s"
    text = body(cost)
    assert "| train | ran | 30 min 00 s | 1.0000 | 3.50 EUR |" in text
    assert "| **Total** (whole `dvc repro`) |  | 31 min 00 s | 1.0333 | 3.62 EUR |" in text
    assert "- **GPUs**: 2 GPUs (NVIDIA A100), counted by the runner doctor" in text
    assert "- **Price**: `gpu-a100` (runner label): 1.00 EUR/h + 3.00 EUR per GPU-hour" in text
    assert money(0.00042, "USD") == "0.0004 USD" and money(0, "USD") == "0.00 USD"
    assert duration(59.94) == "59.9 s" and duration(7325) == "2 h 02 min"


def test_a_rerun_that_only_took_longer_is_the_same_content():
    fast = estimate(STAGES, 1860.0, gpus=1, config=PRICES, labels=["gpu-a100"])
    slow = estimate([(n, s, t * 1.1) for n, s, t in STAGES], 2046.0, gpus=1, config=PRICES, labels=["gpu-a100"])
    assert same_content(body(fast, volatile), body(slow, volatile))
    assert same_content(headline(fast, volatile), headline(slow, volatile))


def test_round_trip_and_registry_tags():
    cost = estimate(STAGES, 1860.0, gpus=2, config=PRICES, labels=["gpu-a100"], gpu_names=["NVIDIA A100"] * 2)
    assert from_dict(cost.to_dict()) == cost
    assert registry_tags(cost) == {
        "mlops-ci.cost.wall_seconds": "1860.0", "mlops-ci.cost.gpus": "2", "mlops-ci.cost.gpu_hours": "1.0333",
        "mlops-ci.cost.gpu_names": "NVIDIA A100", "mlops-ci.cost.amount": "3.6167",
        "mlops-ci.cost.currency": "EUR", "mlops-ci.cost.runner": "gpu-a100", "mlops-ci.cost.stages_ran": "2 of 3"}
    unpriced = estimate(STAGES, 10.0, gpus=0, config=CostConfig())
    assert set(registry_tags(unpriced)) == {"mlops-ci.cost.wall_seconds", "mlops-ci.cost.gpus",
                                            "mlops-ci.cost.gpu_hours", "mlops-ci.cost.stages_ran"}
    restored = estimate([(n, "cached", 0.4) for n, _, _ in STAGES], 2.0, gpus=1, config=PRICES, labels=["gpu-a100"])
    tags = registry_tags(restored)
    assert tags["mlops-ci.cost.stages_ran"] == "0 of 3" and "restored from the DVC run-cache" in tags["mlops-ci.cost.note"]


@pytest.mark.parametrize("text, line, key, fragment", [
    ("cost:\n  prices:\n    gpu: {gpu_per_hour: -1}\n", 3, "cost.prices.gpu.gpu_per_hour", "greater than or equal to 0"),
    ("cost:\n  prices:\n    gpu: {gpu_per_hr: 2}\n", 3, "cost.prices.gpu.gpu_per_hr", "unknown key"),
    ("cost:\n  runner: a100\n  prices:\n    gpu: {gpu_per_hour: 2}\n", 1, "cost",
     "runner: 'a100' has no entry in cost.prices (entries: gpu)"),
    ("cost:\n  currency: 'US D'\n", 2, "cost.currency", "pattern"),
])
def test_config_errors_name_file_line_and_key(text, line, key, fragment):
    with pytest.raises(ConfigError) as info:
        parse_config(text, ".mlops-ci.yml")
    assert info.value.exit_code == 2 and info.value.key == key and f".mlops-ci.yml:{line}:" in info.value.message
    assert fragment in info.value.message


def test_config_reads_the_table():
    cfg = parse_config("cost:\n  currency: EUR\n  prices:\n    g5.xlarge: {cpu_per_hour: 1.006}\n", "x.yml").cost
    assert cfg.currency == "EUR" and cfg.prices["g5.xlarge"].cpu_per_hour == 1.006


# -- measured GPU use: busy vs held, idle cost, stages that did not need the GPU ------------------

from mlops_ci.runners.gpu_usage import StageGpu  # noqa: E402


def gpu(util, seconds, gpus=2, mem=30000.0):
    busy = None if util is None else util / 100 * seconds * gpus
    return StageGpu(gpus=gpus, samples=3, util_mean_pct=util, util_peak_pct=None if util is None else util + 5,
                    mem_peak_mib=mem, mem_total_mib=81920.0, gpu_seconds=gpus * seconds, busy_gpu_seconds=busy)


USAGE = {"prepare": gpu(2.0, 36.0), "train": gpu(85.0, 1800.0), "evaluate": gpu(0.0, 3.6)}


def test_measured_use_prices_the_idle_gpus_and_the_stages_that_did_not_need_them():
    cost = estimate(STAGES, 1860.0, gpus=2, config=PRICES, labels=["gpu-a100"], usage=USAGE,
                    gpu_sampling="NVML, every 1 s")
    prepare, train, evaluate = cost.stages
    assert (prepare.low_gpu, train.low_gpu, evaluate.low_gpu) == (True, False, False), \
        "a stage restored from the run-cache computed nothing: no advice"
    assert prepare.cpu_runner_amount == pytest.approx(36 / 3600 * 0.5) and train.cpu_runner_amount is None
    assert (cost.cpu_runner, cost.cpu_runner_per_hour) == ("default", 0.5)
    assert cost.busy_gpu_hours == pytest.approx((0.02 * 36 * 2 + 0.85 * 1800 * 2) / 3600, abs=1e-5)
    assert cost.sampled_gpu_hours == pytest.approx(0.02 + 1.0 + 0.002)
    assert cost.idle_gpu_amount == pytest.approx((cost.sampled_gpu_hours - cost.busy_gpu_hours) * 3.0, abs=1e-5)
    assert headline(cost) == "≈ 3.62 EUR · 1.0333 GPU-h on 2 GPUs · GPUs busy 83 % · 31 min 00 s"
    text = body(cost)
    assert "| Stage | Status | Wall time | GPU util mean / peak | GPU memory peak | GPU-hours | Cost |" in text
    assert "| prepare | ran | 36.0 s | 2 % / 7 % ⚠️ | 29.3 / 80 GiB | 0.0200 | 0.07 EUR |" in text
    assert "- **GPU use** (sampled: NVML, every 1 s): 0.8504 of 1.0220 GPU-hours held by the stages were busy " \
           "(83 %); the idle GPU time cost ≈ 0.51 EUR" in text
    assert ("- ⚠️ **Barely used the GPU** (under 10 % of the time): `prepare` (2 % of 36.0 s). On a CPU runner "
            "(`default`, 0.50 EUR/h) this stage would cost 0.0050 EUR instead of 0.07 EUR at the same wall time."
            ) in text
    assert from_dict(cost.to_dict()) == cost
    assert registry_tags(cost)["mlops-ci.cost.busy_gpu_hours"] == "0.8504"


def test_without_a_cpu_price_the_advice_says_how_to_get_one():
    gpu_only = CostConfig.model_validate({"prices": {"gpu": {"cpu_per_hour": 1.0, "gpu_per_hour": 2.0}}})
    cost = estimate(STAGES, 1860.0, gpus=1, config=gpu_only, labels=["gpu"], usage=USAGE, gpu_sampling="x")
    assert cost.stages[0].low_gpu and cost.stages[0].cpu_runner_amount is None
    assert "name its price entry in cost.cpu_runner to see how much" in body(cost)
    pinned = CostConfig.model_validate({"cpu_runner": "cpu", "low_gpu_utilization": 90,
                                        "prices": {"gpu": {"gpu_per_hour": 2.0}, "cpu": {"cpu_per_hour": 0.2}}})
    cost = estimate(STAGES, 1860.0, gpus=1, config=pinned, labels=["gpu"], usage=USAGE, gpu_sampling="x")
    assert [s.low_gpu for s in cost.stages] == [True, True, False], "85 % is under a 90 % threshold"
    assert "On a CPU runner (`cpu`, 0.20 USD/h) these stages would cost" in body(cost)


def test_unmeasured_gpus_say_why_and_mig_says_unknown():
    cost = estimate(STAGES, 1860.0, gpus=1, config=PRICES, labels=["gpu-a100"],
                    gpu_sampling="no GPU sampling: nvidia-ml-py is not installed and nvidia-smi is not on the PATH")
    assert cost.busy_gpu_hours is None and "GPU util" not in body(cost)
    assert "- **GPU use**: not measured (no GPU sampling: nvidia-ml-py is not installed" in body(cost)
    mig = estimate(STAGES, 1860.0, gpus=1, config=PRICES, labels=["gpu-a100"],
                   usage={"train": gpu(None, 1800.0, gpus=1)}, gpu_sampling="nvidia-smi --loop-ms, every 1 s")
    assert not any(s.low_gpu for s in mig.stages) and mig.busy_gpu_hours is None
    assert "the GPUs reported no utilisation (MIG instances and some boards do not)" in body(mig)
    assert "| train | ran | 30 min 00 s | n/a / n/a | 29.3 / 80 GiB |" in body(mig)
    cpu = estimate(STAGES, 1860.0, gpus=0, config=PRICES, usage=USAGE, gpu_sampling=None)
    assert not any(s.low_gpu for s in cpu.stages) and "GPU use" not in body(cpu), "a CPU runner has no GPU to waste"


def test_cpu_runner_must_name_a_price_entry():
    with pytest.raises(ConfigError) as info:
        parse_config("cost:\n  cpu_runner: cpu\n  prices:\n    gpu: {gpu_per_hour: 2}\n", ".mlops-ci.yml")
    assert "cpu_runner: 'cpu' has no entry in cost.prices (entries: gpu)" in info.value.message
