"""The cost estimate as Markdown: the PR report's Cost section and the repro job summary.

Amounts and times differ on every run without meaning anything, so they are wrapped
with ``volatile`` (see mlops_ci.report.model): a re-run does not edit the sticky
comment just because training took 3 s longer. Pure.
"""

from __future__ import annotations

from typing import Callable

from mlops_ci import render
from mlops_ci.cost.estimate import CostEstimate


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
    parts.append(volatile(duration(cost.seconds)))
    if cost.amount is None:
        parts.append("no price configured")
    return " · ".join(parts)


def body(cost: CostEstimate, volatile: Callable[[str], str] = _keep) -> str:
    rows = [[s.name, s.status, volatile(duration(s.seconds)), volatile(gpu_hours(s.gpu_hours)),
             volatile(money(s.amount, cost.currency))] for s in cost.stages]
    rows.append(["**Total** (whole `dvc repro`)", "", volatile(duration(cost.seconds)),
                 volatile(gpu_hours(cost.gpu_hours)), volatile(money(cost.amount, cost.currency))])
    lines = [render.table(["Stage", "Status", "Wall time", "GPU-hours", "Cost"], rows,
                          ["left", "left", "right", "right", "right"]), ""]
    gpus = f"{cost.gpus} GPU{'s' if cost.gpus != 1 else ''}"
    if cost.gpu_names:
        gpus += f" ({', '.join(sorted(set(cost.gpu_names)))})"
    source = "the runner doctor" if cost.gpu_source == "doctor.json" else "nvidia-smi"
    lines.append(f"- **GPUs**: {gpus}, counted by {source}")
    if cost.amount is not None:
        lines.append(f"- **Price**: `{cost.runner}` ({cost.runner_reason}): {money(cost.cpu_per_hour, cost.currency)}"
                     f"/h + {money(cost.gpu_per_hour, cost.currency)} per GPU-hour")
    else:
        lines.append(f"- **Price**: {cost.note} — see docs/runners.md#cost")
    return "\n".join(lines)
