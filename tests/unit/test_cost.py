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
