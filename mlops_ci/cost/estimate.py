"""GPU-hours and cost of one `dvc repro`, from stage wall times, the GPU count and a price.

GPU-hours = usable GPUs × wall time: a stage holds the whole runner (and every GPU
on it) while it runs, whether or not its code uses them, and that is what is billed.
The total uses the whole `dvc repro` wall time, which includes DVC's own work between
stages; the per-stage rows show where the time went.

Held is not used: when the GPUs were sampled during the run (mlops_ci.runners.gpu_usage), each stage
also carries its measured utilisation and *busy* GPU-hours (utilisation × wall time), the run
says how much of its GPU money paid for idle GPUs, and a stage that ran under
``cost.low_gpu_utilization`` % is priced on a CPU runner too ("would cost X there").
Pure: numbers in, numbers out.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Mapping

from mlops_ci.cost.config import CostConfig, PriceEntry
from mlops_ci.runners.gpu_usage import StageGpu

PREFIX = "mlops-ci.cost."


@dataclass
class PriceChoice:
    key: str
    entry: PriceEntry
    #: How the key was chosen: "cost.runner", "runner label", or "default entry".
    reason: str


@dataclass
class StageCost:
    name: str
    status: str
    seconds: float
    gpu_hours: float
    amount: float | None = None
    #: Measured while the stage ran (None: not sampled, or the GPU does not report it).
    util_mean_pct: float | None = None
    util_peak_pct: float | None = None
    mem_peak_mib: float | None = None
    mem_total_mib: float | None = None
    busy_gpu_hours: float | None = None
    #: The stage ran under cost.low_gpu_utilization % GPU utilisation.
    low_gpu: bool = False
    #: What the same wall time costs on the CPU runner (set for low_gpu stages with a CPU price).
    cpu_runner_amount: float | None = None


@dataclass
class CostEstimate:
    currency: str
    gpus: int
    seconds: float
    gpu_hours: float
    stages: list[StageCost] = field(default_factory=list)
    gpu_names: list[str] = field(default_factory=list)
    #: Where the GPU count came from: "doctor.json" (the doctor ran earlier in the job) or "nvidia-smi".
    gpu_source: str = "nvidia-smi"
    runner: str | None = None
    runner_reason: str | None = None
    cpu_per_hour: float | None = None
    gpu_per_hour: float | None = None
    amount: float | None = None
    #: Why there is no amount (no matching price entry), for the report.
    note: str | None = None
    #: How the GPUs were sampled ("NVML, every 1 s"), or why they were not; None on CPU runners.
    gpu_sampling: str | None = None
    #: Σ busy GPU-hours of the sampled stages, the GPU-hours those stages held, and what the idle part cost.
    busy_gpu_hours: float | None = None
    sampled_gpu_hours: float | None = None
    idle_gpu_amount: float | None = None
    low_gpu_utilization: float = 10.0
    #: The CPU runner's price entry, for low_gpu stages.
    cpu_runner: str | None = None
    cpu_runner_per_hour: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def from_dict(data: Mapping[str, Any]) -> CostEstimate:
    stages = [StageCost(**{k: s[k] for k in StageCost.__dataclass_fields__ if k in s}) for s in data.get("stages", [])]
    fields = {k: data[k] for k in CostEstimate.__dataclass_fields__ if k in data and k != "stages"}
    return CostEstimate(**fields, stages=stages)


def choose_price(config: CostConfig, labels: Iterable[str]) -> PriceChoice | None:
    """``cost.runner`` if set, else the first runner label with an entry, else the ``default`` entry."""
    if config.runner is not None:
        return PriceChoice(config.runner, config.prices[config.runner], "cost.runner")
    for label in labels:
        if label in config.prices:
            return PriceChoice(label, config.prices[label], "runner label")
    if "default" in config.prices:
        return PriceChoice("default", config.prices["default"], "default entry")
    return None


def choose_cpu_price(config: CostConfig) -> PriceChoice | None:
    """``cost.cpu_runner``, else the ``default`` entry when it prices no GPU, else none."""
    if config.cpu_runner is not None:
        return PriceChoice(config.cpu_runner, config.prices[config.cpu_runner], "cost.cpu_runner")
    entry = config.prices.get("default")
    if entry is not None and entry.gpu_per_hour == 0:
        return PriceChoice("default", entry, "default entry")
    return None


def hourly(entry: PriceEntry, gpus: int) -> float:
    return entry.cpu_per_hour + gpus * entry.gpu_per_hour


def estimate(stages: Iterable[tuple[str, str, float]], total_seconds: float, *, gpus: int, config: CostConfig,
             labels: Iterable[str] = (), gpu_names: Iterable[str] = (), gpu_source: str = "nvidia-smi",
             usage: Mapping[str, StageGpu] | None = None, gpu_sampling: str | None = None) -> CostEstimate:
    """``stages`` are (name, status, seconds) in run order, as `repro` recorded them; ``usage`` is the
    measured GPU use per stage name, and ``gpu_sampling`` how it was measured (or why not)."""
    labels = list(labels)
    choice = choose_price(config, labels)
    rate = hourly(choice.entry, gpus) if choice else None

    def money(seconds: float) -> float | None:
        return None if rate is None else round(seconds / 3600 * rate, 6)

    rows = [StageCost(name, status, round(seconds, 3), round(gpus * seconds / 3600, 6), money(seconds))
            for name, status, seconds in stages]
    result = CostEstimate(currency=config.currency, gpus=gpus, seconds=round(total_seconds, 3),
                          gpu_hours=round(gpus * total_seconds / 3600, 6), stages=rows, gpu_names=list(gpu_names),
                          gpu_source=gpu_source, amount=money(total_seconds))
    if gpus:
        _add_usage(result, usage or {}, config, choice, gpu_sampling)
    if choice:
        result.runner, result.runner_reason = choice.key, choice.reason
        result.cpu_per_hour, result.gpu_per_hour = choice.entry.cpu_per_hour, choice.entry.gpu_per_hour
    else:
        looked = ", ".join(f"'{label}'" for label in labels)
        result.note = ("no price entry for " + (f"the runner labels {looked} or " if looked else "")
                       + "'default' in cost.prices of .mlops-ci.yml")
    return result


def _add_usage(result: CostEstimate, usage: Mapping[str, StageGpu], config: CostConfig,
               choice: PriceChoice | None, sampling: str | None) -> None:
    """Measured utilisation per stage, busy vs held GPU-hours, the idle GPUs' cost, CPU-runner prices."""
    result.gpu_sampling = sampling
    result.low_gpu_utilization = config.low_gpu_utilization
    cpu = choose_cpu_price(config)
    if cpu:
        result.cpu_runner, result.cpu_runner_per_hour = cpu.key, cpu.entry.cpu_per_hour
    busy = held = 0.0
    measured = False
    for row in result.stages:
        gpu = usage.get(row.name)
        if gpu is None:
            continue
        row.util_mean_pct, row.util_peak_pct = gpu.util_mean_pct, gpu.util_peak_pct
        row.mem_peak_mib, row.mem_total_mib = gpu.mem_peak_mib, gpu.mem_total_mib
        if gpu.busy_gpu_seconds is not None:
            row.busy_gpu_hours = round(gpu.busy_gpu_seconds / 3600, 6)
            busy += row.busy_gpu_hours
            held += row.gpu_hours
            measured = True
        if row.status == "ran" and gpu.low(config.low_gpu_utilization):
            row.low_gpu = True
            if cpu:
                row.cpu_runner_amount = round(row.seconds / 3600 * cpu.entry.cpu_per_hour, 6)
    if measured:
        result.busy_gpu_hours, result.sampled_gpu_hours = round(busy, 6), round(held, 6)
        if choice:
            result.idle_gpu_amount = round(max(0.0, held - busy) * choice.entry.gpu_per_hour, 6)


def registry_tags(cost: CostEstimate) -> dict[str, str]:
    """Flat string tags for the model version (MLflow tags are strings).

    They describe the repro of the job that registers: on main that is usually a restore from the
    DVC run-cache, whose cost is not the training's, so the tags say how many stages really ran.
    """
    ran = [s for s in cost.stages if s.status == "ran"]
    tags = {PREFIX + "wall_seconds": f"{cost.seconds:.1f}", PREFIX + "gpus": str(cost.gpus),
            PREFIX + "gpu_hours": f"{cost.gpu_hours:.4f}",
            PREFIX + "stages_ran": f"{len(ran)} of {len(cost.stages)}"}
    if cost.stages and not ran:
        tags[PREFIX + "note"] = ("every stage was restored from the DVC run-cache: this is the cost of the "
                                 "restore; the training was paid for in the pull request's run")
    if cost.busy_gpu_hours is not None:
        tags[PREFIX + "busy_gpu_hours"] = f"{cost.busy_gpu_hours:.4f}"
    if cost.gpu_names:
        tags[PREFIX + "gpu_names"] = ", ".join(sorted(set(cost.gpu_names)))
    if cost.amount is not None:
        tags[PREFIX + "amount"] = f"{cost.amount:.4f}"
        tags[PREFIX + "currency"] = cost.currency
        tags[PREFIX + "runner"] = str(cost.runner)
    return tags
