"""The runner doctor's verdict: can this machine run this job?

A GPU job that lands on a runner without a usable GPU does not fail — PyTorch
quietly trains on the CPU for hours and the PR gets a slow, expensive, maybe
different result. So when the job asks for a GPU (``--require-gpu`` or a
runner label naming one), no usable GPU is a failure with a reason, found in
the first seconds of the job. Disk is judged the same way: too little free
space or an unwritable DVC cache fails now instead of an hour into training.
Pure: facts in (from the nvidia and disk adapters), a report out.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from mlops_ci import render
from mlops_ci.runners.gpu import GpuProbe, XidEvent, xid_warnings

GIB = 1024 ** 3


@dataclass
class DiskUsage:
    path: str
    total_bytes: int
    free_bytes: int


@dataclass
class CacheFacts:
    path: str
    #: Where the path came from: ".dvc/config.local", ".dvc/config", "default" or "--dvc-cache".
    source: str
    exists: bool
    size_bytes: int = 0
    files: int = 0
    #: True when counting stopped early (adapters.disk.MAX_ENTRIES): size_bytes is then a lower bound.
    truncated: bool = False
    writable: bool = False
    free_bytes: int | None = None
    problem: str | None = None


@dataclass
class KernelLog:
    """What the kernel log says about the GPUs: the driver's Xid error reports since boot."""

    readable: bool
    #: Why it could not be read (containers usually cannot): then Xid errors are not checked.
    note: str = ""
    xid: list[XidEvent] = field(default_factory=list)
    uptime_s: float | None = None


@dataclass
class DoctorReport:
    gpu: GpuProbe
    gpu_required: bool
    labels: list[str] = field(default_factory=list)
    disks: list[tuple[str, DiskUsage]] = field(default_factory=list)
    cache: CacheFacts | None = None
    min_free_bytes: int = 0
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    kernel: KernelLog | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "problems": list(self.problems), "warnings": list(self.warnings),
                "gpu_required": self.gpu_required, "labels": list(self.labels), "gpu": self.gpu.to_dict(),
                "disk": [{"role": role, **asdict(d)} for role, d in self.disks],
                "dvc_cache": asdict(self.cache) if self.cache else None,
                "min_free_bytes": self.min_free_bytes,
                "kernel_log": asdict(self.kernel) if self.kernel else None}


def diagnose(gpu: GpuProbe, *, required_by: str | None, labels: list[str], disks: list[tuple[str, DiskUsage]],
             cache: CacheFacts | None, min_free_bytes: int, kernel: KernelLog | None = None) -> DoctorReport:
    """``required_by`` says why a GPU is needed (``--require-gpu``, ``runner label 'gpu'``), None if not.

    ``kernel``: the kernel log's Xid reports (only where an NVIDIA driver is there). An Xid is a
    warning, never a failure: the log covers the whole boot, and a GPU reset since then does not
    clear it; nvidia-smi's answer decides whether a GPU is usable now.
    """
    report = DoctorReport(gpu, required_by is not None, labels, disks, cache, min_free_bytes,
                          kernel=kernel if gpu.found else None)
    if gpu.count == 0:
        reason = gpu.error or "; ".join(f"GPU {d.index} ({d.name}): {d.problem}" for d in gpu.devices) \
            or "nvidia-smi listed no GPU"
        if required_by:
            report.problems.append(f"no usable GPU, but this job needs one ({required_by}): {reason}")
        elif gpu.found:  # a driver that is there but broken is worth a word even on a CPU job
            report.warnings.append(f"no usable GPU: {reason}")
    else:
        for device in gpu.devices:
            if device.problem:
                report.warnings.append(f"GPU {device.index} ({device.name}) is not usable: {device.problem}")
    report.warnings.extend(f"nvidia-smi: {w}" for w in gpu.warnings)
    if report.kernel is not None and report.kernel.readable:
        report.warnings.extend(xid_warnings(report.kernel.xid, report.kernel.uptime_s))

    for role, usage in disks:
        if min_free_bytes and usage.free_bytes < min_free_bytes:
            report.problems.append(f"only {_gib(usage.free_bytes)} free on the {role} disk ({usage.path}); "
                                   f"at least {_gib(min_free_bytes)} required (--min-free-gb)")
    if cache is not None:
        if cache.problem:
            report.problems.append(cache.problem)
        elif min_free_bytes and cache.free_bytes is not None and cache.free_bytes < min_free_bytes:
            report.problems.append(f"only {_gib(cache.free_bytes)} free for the DVC cache ({cache.path}); "
                                   f"at least {_gib(min_free_bytes)} required (--min-free-gb)")
        if cache.truncated:
            report.warnings.append(f"the DVC cache has more than {cache.files:,} files; its size is a lower bound")
    return report


def _gib(n: int | float) -> str:
    return f"{n / GIB:.1f} GiB"


def headline(report: DoctorReport) -> str:
    gpus = report.gpu.usable
    if gpus:
        names = sorted({d.name for d in gpus})
        what = f"{len(gpus)} × {', '.join(names)}" if len(names) == 1 else f"{len(gpus)} GPUs ({', '.join(names)})"
    else:
        what = "no GPU"
    icon = "✅" if report.ok else "❌"
    return f"{icon} Runner doctor: {what}" + ("" if report.ok else f" — {len(report.problems)} problem(s)")


def render_markdown(report: DoctorReport) -> str:
    """The job-summary block: verdict, problems first, then one table per fact."""
    lines = [f"### {headline(report)}", ""]
    lines += [f"- ❌ {p}" for p in report.problems] + [f"- ⚠️ {w}" for w in report.warnings]
    if report.problems or report.warnings:
        lines.append("")
    gpu = report.gpu
    if gpu.devices:
        rows = [[d.index, d.name, _mib(d.memory_used_mib, d.memory_total_mib),
                 "—" if d.utilization_pct is None else f"{d.utilization_pct} %",
                 ", ".join(d.mig_devices) if d.mig_devices else (d.mig_mode or "—"),
                 "✅" if d.usable else f"❌ {d.problem}"] for d in gpu.devices]
        lines += [render.table(["GPU", "Name", "Memory used / total", "Utilisation", "MIG", "Usable"], rows), ""]
    facts = [("Driver", gpu.driver_version), ("CUDA (driver)", gpu.cuda_version),
             ("GPU required", "yes" if report.gpu_required else "no"),
             ("Labels", ", ".join(f"`{label}`" for label in report.labels) if report.labels else None)]
    if report.kernel is not None:
        k = report.kernel
        facts.append(("Kernel log", (f"{len(k.xid)} Xid error(s) since boot" if k.xid else "no Xid errors since boot")
                      if k.readable else f"not readable ({k.note}): Xid errors not checked"))
    lines += [f"- **{name}**: {value}" for name, value in facts if value]
    if report.disks or report.cache:
        rows = [[role, f"`{d.path}`", _gib(d.free_bytes), _gib(d.total_bytes)] for role, d in report.disks]
        lines += ["", render.table(["Disk", "Path", "Free", "Total"], rows, ["left", "left", "right", "right"])]
    if report.cache:
        c = report.cache
        size = f"{_gib(c.size_bytes)} in {c.files:,} files" + (" (at least)" if c.truncated else "") \
            if c.exists else "not created yet"
        where = "DVC's default location" if c.source == "default" else f"from {c.source}"
        lines += ["", f"- **DVC cache** `{c.path}` ({where}): {size}, "
                      f"{'writable' if c.writable else 'NOT writable'}"
                      + (f", {_gib(c.free_bytes)} free" if c.free_bytes is not None else "")]
    return "\n".join(lines) + "\n"


def _mib(used: int | None, total: int | None) -> str:
    if used is None and total is None:
        return "—"
    return f"{'?' if used is None else f'{used:,}'} / {'?' if total is None else f'{total:,}'} MiB"
