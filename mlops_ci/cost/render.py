"""The cost estimate as Markdown: the PR report's Cost section and the repro job summary.

Amounts and times differ on every run without meaning anything, so they are wrapped
with ``volatile`` (see mlops_ci.report.model): a re-run does not edit the sticky
comment just because training took 3 s longer. Pure.
"""

from __future__ import annotations

from typing import Callable

from mlops_ci import render
from mlops_ci.cost.estimate import CostEstimate, StageCost


def money(amount: float | None, currency: str) -> str:
    if amount is None:
        return "—"
    text = f"{amount:.2f}" if amount >= 0.01 or amount == 0 else f"{amount:.4f}"
    return f"{text} {currency}"


def duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes} min {secs:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def gpu_hours(value: float) -> str:
    return f"{value:.4f}" if value < 10 else f"{value:.1f}"


def _keep(text: str) -> str:
    return text


def headline(cost: CostEstimate, volatile: Callable[[str], str] = _keep) -> str:
    """One line: '≈ 0.42 USD · 0.0812 GPU-h on 1 GPU · 4 min 52 s'."""
    parts = [f"≈ {volatile(money(cost.amount, cost.currency))}"] if cost.amount is not None else []
    if cost.gpus:
        parts.append(f"{volatile(gpu_hours(cost.gpu_hours))} GPU-h on {cost.gpus} GPU{'s' if cost.gpus != 1 else ''}")
    else:  # "0.0000 GPU-h on 0 GPUs" is noise; say what the run was priced as
        parts.append("CPU only")
    if cost.gpus and cost.busy_gpu_hours is not None and cost.sampled_gpu_hours:
        parts.append(f"GPUs busy {volatile(f'{cost.busy_gpu_hours / cost.sampled_gpu_hours * 100:.0f} %')}")
    parts.append(volatile(duration(cost.seconds)))
    if cost.amount is None:
        parts.append("no price configured")
    return " · ".join(parts)


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f} %"


def _gpu_cells(s: StageCost, volatile: Callable[[str], str]) -> list[str]:
    measured = not (s.util_mean_pct is None and s.util_peak_pct is None and s.mem_peak_mib is None)
    util = "—" if not measured else \
        volatile(f"{pct(s.util_mean_pct)} / {pct(s.util_peak_pct)}")
    memory = "—" if s.mem_peak_mib is None else volatile(
        f"{s.mem_peak_mib / 1024:.1f}" + ("" if s.mem_total_mib is None else f" / {s.mem_total_mib / 1024:.0f}") + " GiB")
    return [util + (" ⚠️" if s.low_gpu else ""), memory]


def body(cost: CostEstimate, volatile: Callable[[str], str] = _keep) -> str:
    measured = any(s.util_mean_pct is not None or s.mem_peak_mib is not None for s in cost.stages)
    header = ["Stage", "Status", "Wall time"] + (["GPU util mean / peak", "GPU memory peak"] if measured else []) \
        + ["GPU-hours", "Cost"]
    rows = [[s.name, s.status, volatile(duration(s.seconds))]
            + (_gpu_cells(s, volatile) if measured else [])
            + [volatile(gpu_hours(s.gpu_hours)), volatile(money(s.amount, cost.currency))] for s in cost.stages]
    rows.append(["**Total** (whole `dvc repro`)", "", volatile(duration(cost.seconds))] + (["", ""] if measured else [])
                + [volatile(gpu_hours(cost.gpu_hours)), volatile(money(cost.amount, cost.currency))])
    lines = [render.table(header, rows, ["left", "left", "right"] + (["right", "right"] if measured else [])
                          + ["right", "right"]), ""]
    gpus = f"{cost.gpus} GPU{'s' if cost.gpus != 1 else ''}"
    if cost.gpu_names:
        gpus += f" ({', '.join(sorted(set(cost.gpu_names)))})"
    source = "the runner doctor" if cost.gpu_source == "doctor.json" else "nvidia-smi"
    lines.append(f"- **GPUs**: {gpus}, counted by {source}")
    lines.extend(_usage_lines(cost, volatile))
    if cost.amount is not None:
        lines.append(f"- **Price**: `{cost.runner}` ({cost.runner_reason}): {money(cost.cpu_per_hour, cost.currency)}"
                     f"/h + {money(cost.gpu_per_hour, cost.currency)} per GPU-hour")
    else:
        lines.append(f"- **Price**: {cost.note} — see docs/runners.md#cost")
    return "\n".join(lines)


def _usage_lines(cost: CostEstimate, volatile: Callable[[str], str]) -> list[str]:
    """What the GPUs did for their money: busy share, idle cost, and stages that did not need them."""
    if not cost.gpus:
        return []
    lines = []
    if cost.busy_gpu_hours is not None and cost.sampled_gpu_hours:
        share = cost.busy_gpu_hours / cost.sampled_gpu_hours * 100
        text = (f"- **GPU use** (sampled: {cost.gpu_sampling}): {volatile(gpu_hours(cost.busy_gpu_hours))} of "
                f"{volatile(gpu_hours(cost.sampled_gpu_hours))} GPU-hours held by the stages were busy "
                f"({volatile(f'{share:.0f} %')})")
        if cost.idle_gpu_amount is not None:
            text += f"; the idle GPU time cost ≈ {volatile(money(cost.idle_gpu_amount, cost.currency))}"
        lines.append(text)
    elif cost.gpu_sampling:
        lines.append(f"- **GPU use**: not measured ({cost.gpu_sampling})"
                     if cost.gpu_sampling.startswith("no ") else
                     f"- **GPU use** (sampled: {cost.gpu_sampling}): the GPUs reported no utilisation "
                     "(MIG instances and some boards do not)")
    low = [s for s in cost.stages if s.low_gpu]
    if low:
        names = ", ".join(f"`{s.name}` ({volatile(pct(s.util_mean_pct))} of {volatile(duration(s.seconds))})"
                          for s in low)
        threshold = f"{cost.low_gpu_utilization:g} %"
        line = f"- ⚠️ **Barely used the GPU** (under {threshold} of the time): {names}."
        spent = [s.amount for s in low if s.amount is not None]
        on_cpu = [s.cpu_runner_amount for s in low if s.cpu_runner_amount is not None]
        if on_cpu and len(on_cpu) == len(low):
            what = "this stage" if len(low) == 1 else "these stages"
            line += (f" On a CPU runner (`{cost.cpu_runner}`, {money(cost.cpu_runner_per_hour, cost.currency)}/h) "
                     f"{what} would cost {volatile(money(sum(on_cpu), cost.currency))}"
                     + (f" instead of {volatile(money(sum(spent), cost.currency))}" if len(spent) == len(low) else "")
                     + " at the same wall time.")
        else:
            line += " On a CPU runner they would cost only the machine; name its price entry in cost.cpu_runner " \
                    "to see how much."
        lines.append(line)
    return lines
