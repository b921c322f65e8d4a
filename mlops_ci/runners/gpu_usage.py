"""How busy the GPUs were while each stage ran: readings in, per-stage figures out.

A GPU runner is billed for every second it is held, whether its GPUs compute or idle. The
doctor counts the GPUs (what is paid for); this module says how much of that was used. A
sampler (:mod:`mlops_ci.runners.gpu_sampler`, NVML or `nvidia-smi --loop-ms`) records one
:class:`GpuReading` per GPU and tick; :func:`stage_usage` turns the readings that fall in a
stage's time window into utilisation (mean and peak), peak memory and GPU-seconds.

Utilisation is NVML's "percent of time over the past sample period during which one or more
kernels was executing on the GPU": a GPU at 100 % may still be poorly used, but a GPU at 3 %
is certainly idle, and that is what the cost report warns about. MIG-enabled GPUs and some
boards report no utilisation (``[N/A]``): then the figures say "unknown", never 0 %.
Pure: no NVML, no subprocess here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

#: The `nvidia-smi` query the sampler streams; :func:`parse_sample_line` expects these columns.
SAMPLE_FIELDS = ("index", "utilization.gpu", "memory.used", "memory.total")
SAMPLE_ARGS = ("--query-gpu=" + ",".join(SAMPLE_FIELDS), "--format=csv,noheader,nounits")
#: Below this mean utilisation (percent) a stage "did not need the GPU" (cost.low_gpu_utilization).
LOW_UTILIZATION_PCT = 10.0


@dataclass(frozen=True)
class GpuReading:
    """One GPU at one moment (``t``: the sampler's monotonic clock, seconds)."""

    t: float
    index: int
    util_pct: float | None = None
    mem_used_mib: float | None = None
    mem_total_mib: float | None = None


@dataclass
class StageGpu:
    """What the GPUs did during one stage; repro.json carries it per stage."""

    gpus: int
    #: Readings per GPU inside the stage window (0: the stage was shorter than the interval and
    #: the last reading before its end stood in for it).
    samples: int
    util_mean_pct: float | None
    util_peak_pct: float | None
    #: The highest memory use of any one GPU (an out-of-memory error is per GPU), and its size.
    mem_peak_mib: float | None
    mem_total_mib: float | None
    #: GPUs × wall time: what the stage held (and what is billed).
    gpu_seconds: float
    #: Σ utilisation × wall time: what the stage used; None when utilisation is not reported.
    busy_gpu_seconds: float | None

    def low(self, threshold_pct: float = LOW_UTILIZATION_PCT) -> bool:
        """True when the stage used the GPUs under ``threshold_pct`` of its time."""
        return self.util_mean_pct is not None and self.util_mean_pct < threshold_pct


def stage_gpu_from_dict(data: object) -> StageGpu | None:
    """Inverse of ``asdict(StageGpu)`` for repro.json read back later (None when absent or malformed)."""
    if not isinstance(data, dict):
        return None
    try:
        return StageGpu(**{k: data[k] for k in StageGpu.__dataclass_fields__})
    except (KeyError, TypeError):
        return None


def _value(raw: str) -> float | None:
    text = raw.strip()
    if not text or text.startswith("[") or text in ("N/A", "Not Supported"):
        return None
    try:
        return float(text.split()[0])
    except ValueError:
        return None


def parse_sample_line(line: str, t: float) -> GpuReading | None:
    """One row of ``--query-gpu=index,utilization.gpu,memory.used,memory.total`` (None: not a row).

    nvidia-smi streams one row per GPU and tick; error sentences and blank lines in between are
    skipped. ``[N/A]`` cells (MIG, unified memory) become None.
    """
    parts = line.split(",")
    if len(parts) != len(SAMPLE_FIELDS) or not parts[0].strip().isdigit():
        return None
    _, util, used, total = parts
    return GpuReading(t, int(parts[0]), _value(util), _value(used), _value(total))


def _window(readings: Sequence[GpuReading], start: float, end: float, stale_s: float) -> list[GpuReading]:
    inside = [r for r in readings if start <= r.t <= end]
    if inside:
        return inside
    # A stage shorter than the interval: the latest reading of each GPU before its end, if recent.
    latest: dict[int, GpuReading] = {}
    for r in readings:
        if start - stale_s <= r.t <= end:
            latest[r.index] = r
    return list(latest.values())


def stage_usage(readings: Sequence[GpuReading], start: float, end: float, *, interval_s: float = 1.0
                ) -> StageGpu | None:
    """The GPUs' use between ``start`` and ``end`` (None when no reading tells anything about it)."""
    window = _window(readings, start, end, stale_s=2 * interval_s)
    if not window:
        return None
    gpus = len({r.index for r in window})
    seconds = max(0.0, end - start)
    utils = [r.util_pct for r in window if r.util_pct is not None]
    per_gpu: dict[int, list[float]] = {}
    for r in window:
        if r.util_pct is not None:
            per_gpu.setdefault(r.index, []).append(r.util_pct)
    busy = sum(sum(v) / len(v) for v in per_gpu.values()) / 100 * seconds if per_gpu else None
    mem = [(r.mem_used_mib, r.mem_total_mib) for r in window if r.mem_used_mib is not None]
    peak = max(mem, key=lambda m: m[0]) if mem else (None, None)
    in_window = sum(1 for r in window if start <= r.t <= end)
    return StageGpu(gpus=gpus, samples=in_window // gpus,
                    util_mean_pct=round(sum(utils) / len(utils), 1) if utils else None,
                    util_peak_pct=max(utils) if utils else None,
                    mem_peak_mib=peak[0], mem_total_mib=peak[1] or _total(window),
                    gpu_seconds=round(gpus * seconds, 3),
                    busy_gpu_seconds=None if busy is None else round(busy, 3))


def _total(window: Iterable[GpuReading]) -> float | None:
    totals = [r.mem_total_mib for r in window if r.mem_total_mib is not None]
    return max(totals) if totals else None


def latest(readings: Sequence[GpuReading]) -> list[GpuReading]:
    """The newest reading of each GPU, by index."""
    newest: dict[int, GpuReading] = {}
    for r in readings:
        newest[r.index] = r
    return [newest[i] for i in sorted(newest)]


def gib(mib: float | None) -> str:
    return "?" if mib is None else f"{mib / 1024:.1f}"


def now_text(readings: Sequence[GpuReading]) -> str | None:
    """The GPUs right now, for the heartbeat: 'GPU 87 %, 23.1 / 139.8 GiB' (None without readings)."""
    current = latest(readings)
    if not current:
        return None

    def one(r: GpuReading) -> str:
        util = "utilisation n/a" if r.util_pct is None else f"{r.util_pct:.0f} %"
        return f"{util}, {gib(r.mem_used_mib)} / {gib(r.mem_total_mib)} GiB"

    if len(current) == 1:
        return "GPU " + one(current[0])
    if len(current) <= 4:
        return "; ".join(f"GPU {r.index} {one(r)}" for r in current)
    utils = [r.util_pct for r in current if r.util_pct is not None]
    mem = [r.mem_used_mib for r in current if r.mem_used_mib is not None]
    mean = f"{sum(utils) / len(utils):.0f} % mean" if utils else "utilisation n/a"
    return f"{len(current)} GPUs {mean}, max {gib(max(mem) if mem else None)} GiB used on one GPU"
