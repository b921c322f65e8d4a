"""What `nvidia-smi` says about the GPUs of this machine, parsed without trusting its format.

`nvidia-smi`'s output "is not guaranteed to be backwards compatible" (its own
man page), and a GPU runner is exactly where a half-broken driver shows up:
values read ``[N/A]`` or ``[Not Supported]`` (MIG mode, unified-memory boards,
consumer cards), a GPU that fell off the bus prints an error line in the
middle of the CSV, and a missing kernel module replaces everything with one
sentence. So this module takes raw text and exit codes (collected by
:mod:`mlops_ci.runners.nvidia`) and returns what is *usable*, with a reason
for everything that is not. Pure: no subprocess here.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

#: The query the doctor runs; the parser expects these columns in this order.
QUERY_FIELDS = ("name", "memory.total", "memory.used", "utilization.gpu", "driver_version")
QUERY_ARGS = ("--query-gpu=" + ",".join(QUERY_FIELDS), "--format=csv,noheader,nounits")
#: Optional second query (drivers ≥ 450); failing it only loses the MIG mode column.
MIG_QUERY_ARGS = ("--query-gpu=index,mig.mode.current", "--format=csv,noheader")

_CUDA_VERSION = re.compile(r"CUDA Version\s*:?\s*(?P<v>\d+(?:\.\d+)*|N/A)")
_DRIVER_VERSION = re.compile(r"Driver Version\s*:?\s*(?P<v>\d+(?:\.\d+)*)")
_LIST_GPU = re.compile(r"^GPU (?P<index>\d+): (?P<name>.+?) \(UUID: (?P<uuid>[^)]+)\)\s*$")
_LIST_MIG = re.compile(r"^\s+MIG (?P<profile>\S+)\s+Device\s+(?P<index>\d+): \(UUID: (?P<uuid>[^)]+)\)\s*$")
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?")
#: Lines that stand for one GPU nvidia-smi could not query.
_DEVICE_ERRORS = ("unable to determine the device handle", "gpu is lost", "gpu requires reset")

#: Sentences nvidia-smi prints instead of data, and what they mean for a CI job.
_FAILURES = (
    ("couldn't communicate with the nvidia driver", "the NVIDIA kernel driver is not loaded or not reachable"),
    ("driver/library version mismatch", "the NVIDIA driver and its user-space library differ: reboot after a "
                                        "driver upgrade, or reinstall the driver"),
    ("failed to initialize nvml", "NVML could not be initialised"),
    ("no devices were found", "the driver is loaded but sees no GPU; in a container: no GPU was assigned to it"),
    ("unable to determine the device handle", "a GPU is present but unreachable: it fell off the bus or needs "
                                              "a reset"),
    ("gpu is lost", "a GPU fell off the bus; the machine needs a reboot"),
    ("insufficient permissions", "nvidia-smi lacks permission to open the GPU devices"),
)


@dataclass
class GpuDevice:
    index: int
    name: str
    memory_total_mib: int | None = None
    memory_used_mib: int | None = None
    utilization_pct: int | None = None
    driver_version: str | None = None
    #: "Enabled", "Disabled" or None when the GPU cannot do MIG / the driver did not say.
    mig_mode: str | None = None
    #: MIG instances listed by `nvidia-smi -L` under this GPU (profile names, e.g. "3g.40gb").
    mig_devices: list[str] = field(default_factory=list)
    #: Why this GPU cannot run a job; None when it can.
    problem: str | None = None

    @property
    def usable(self) -> bool:
        return self.problem is None


@dataclass
class GpuProbe:
    """Everything the doctor knows about GPUs; ``error`` is set when none could be listed at all."""

    devices: list[GpuDevice] = field(default_factory=list)
    driver_version: str | None = None
    cuda_version: str | None = None
    error: str | None = None
    #: Lines nvidia-smi printed besides the data (e.g. "WARNING: infoROM is corrupted at gpu …").
    warnings: list[str] = field(default_factory=list)
    #: False when there is no nvidia-smi at all (a CPU machine, not a broken GPU one).
    found: bool = True

    @property
    def usable(self) -> list[GpuDevice]:
        return [d for d in self.devices if d.usable]

    @property
    def count(self) -> int:
        """Usable physical GPUs: what a job can use and what GPU-hours are billed for."""
        return len(self.usable)

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "driver_version": self.driver_version, "cuda_version": self.cuda_version,
                "error": self.error, "warnings": list(self.warnings), "found": self.found, "devices": [asdict(d) | {"usable": d.usable} for d in self.devices]}


def probe_from_dict(data: dict[str, Any]) -> GpuProbe:
    """Inverse of :meth:`GpuProbe.to_dict` (for doctor.json written earlier in the job)."""
    devices = [GpuDevice(**{k: v for k, v in d.items() if k in GpuDevice.__dataclass_fields__})
               for d in data.get("devices") or []]
    return GpuProbe(devices, data.get("driver_version"), data.get("cuda_version"), data.get("error"),
                    list(data.get("warnings") or []), bool(data.get("found", True)))


def explain_failure(output: str, returncode: int | None) -> str:
    """One sentence for a failed nvidia-smi call: what it printed, and what that usually means."""
    first = next((line.strip() for line in output.splitlines() if line.strip()), "")
    lowered = output.lower()
    for needle, meaning in _FAILURES:
        if needle in lowered:
            return f"nvidia-smi: {first} ({meaning})"
    code = f" (exit code {returncode})" if returncode not in (None, 0) else ""
    return f"nvidia-smi failed{code}: {first}" if first else f"nvidia-smi failed{code} and printed nothing"


def _value(raw: str) -> str | None:
    """A CSV cell, or None for the bracketed non-values: [N/A], [Not Supported], [Unknown Error], …"""
    text = raw.strip()
    if not text or text in ("N/A", "Not Supported") or (text.startswith("[") and text.endswith("]")):
        return None
    return text


def _int(raw: str) -> int | None:
    """``81920``, ``81920 MiB`` or ``35 %`` → int; anything else → None (units appear without nounits)."""
    text = _value(raw)
    match = _NUMBER.match(text) if text else None
    return int(float(match.group(0))) if match else None


def parse_query(output: str, returncode: int | None = 0) -> tuple[list[GpuDevice], list[str]]:
    """Rows of ``--query-gpu=name,memory.total,memory.used,utilization.gpu,driver_version``.

    Returns the GPUs and the other lines (warnings). nvidia-smi prints an error line in
    place of the row of a GPU it cannot reach (fallen off the bus, needs a reset): that
    GPU is kept, unusable, so the index of the GPUs after it stays right. A GPU name may
    contain a comma, so the four other columns are split from the right.
    """
    devices: list[GpuDevice] = []
    others: list[str] = []
    for line in output.splitlines():
        if not line.strip():
            continue
        parts = line.rsplit(",", len(QUERY_FIELDS) - 1)
        if len(parts) == len(QUERY_FIELDS) and _looks_like_row(parts):
            name, total, used, util, driver = parts
            devices.append(GpuDevice(index=len(devices), name=name.strip(), memory_total_mib=_int(total),
                                     memory_used_mib=_int(used), utilization_pct=_int(util),
                                     driver_version=_value(driver)))
        elif any(needle in line.lower() for needle in _DEVICE_ERRORS):
            devices.append(GpuDevice(index=len(devices), name="unreachable GPU",
                                     problem=explain_failure(line, returncode)))
        else:
            others.append(line.strip())
    return devices, others


def _looks_like_row(parts: list[str]) -> bool:
    # A real row has a driver version (digits and dots) or a bracketed non-value in the last column.
    driver = parts[-1].strip()
    return bool(re.fullmatch(r"\d+(?:\.\d+)+", driver)) or driver.startswith("[")


def parse_mig_modes(output: str) -> dict[int, str | None]:
    """``index, mig.mode.current`` rows → {index: "Enabled"/"Disabled"/None}."""
    modes: dict[int, str | None] = {}
    for line in output.splitlines():
        index, _, mode = line.partition(",")
        if index.strip().isdigit():
            modes[int(index)] = _value(mode)
    return modes


def parse_list(output: str) -> dict[int, list[str]]:
    """`nvidia-smi -L` → {GPU index: [MIG profile of each MIG device under it]}."""
    gpus: dict[int, list[str]] = {}
    current: int | None = None
    for line in output.splitlines():
        if m := _LIST_GPU.match(line):
            current = int(m["index"])
            gpus[current] = []
        elif (m := _LIST_MIG.match(line)) and current is not None:
            gpus[current].append(m["profile"])
    return gpus


def cuda_version(banner: str) -> str | None:
    """The CUDA version the driver supports, from the `nvidia-smi` banner or `nvidia-smi -q`.

    Old drivers (before 410) print no CUDA version; "N/A" means the driver has no CUDA library.
    """
    match = _CUDA_VERSION.search(banner or "")
    return match["v"] if match and match["v"] != "N/A" else None


def driver_version(banner: str) -> str | None:
    match = _DRIVER_VERSION.search(banner or "")
    return match["v"] if match else None


def build_probe(*, found: bool, query_output: str = "", query_returncode: int | None = 0, banner: str = "",
                listing: str = "", mig_output: str = "") -> GpuProbe:
    """Combine the raw outputs of the doctor's nvidia-smi calls into one verdict per GPU."""
    if not found:
        return GpuProbe(error="nvidia-smi not found on the PATH: no NVIDIA driver is installed here "
                              "(or the container was started without the NVIDIA runtime)", found=False)
    devices, warnings = parse_query(query_output, query_returncode)
    if all(d.problem for d in devices):  # no GPU row at all: nvidia-smi printed an error instead
        reason = devices[0].problem if devices else explain_failure(query_output, query_returncode)
        return GpuProbe(devices, error=reason, driver_version=driver_version(banner),
                        cuda_version=cuda_version(banner))

    modes = parse_mig_modes(mig_output)
    listed = parse_list(listing)
    for device in devices:
        if device.problem:
            continue
        device.mig_devices = listed.get(device.index, [])
        # Drivers without the mig.mode.current field still list MIG devices under their GPU.
        device.mig_mode = modes.get(device.index) or ("Enabled" if device.mig_devices else None)
        if device.mig_mode == "Enabled" and not device.mig_devices:
            device.problem = "MIG mode is enabled but no MIG instance was created, so CUDA sees no device"
        elif (device.memory_total_mib, device.memory_used_mib, device.driver_version) == (None, None, None):
            device.problem = "nvidia-smi reports no data for this GPU"
    driver = next((d.driver_version for d in devices if d.driver_version), None) or driver_version(banner)
    return GpuProbe(devices, driver_version=driver, cuda_version=cuda_version(banner), warnings=warnings)


# -- the kernel log: Xid errors ------------------------------------------------------------------

#: "[ 1234.567890] NVRM: Xid (PCI:0000:3b:00): 79, pid=1234, name=python, GPU has fallen off the bus."
_XID = re.compile(r"NVRM: Xid \((?P<pci>[^)]*)\): (?P<code>\d+)(?:,\s*(?P<rest>.*))?")
_KERNEL_TIME = re.compile(r"^\s*\[\s*(?P<t>\d+(?:\.\d+)?)\]")
#: What an Xid means for the next job, after NVIDIA's "Xid Errors" catalogue; True: the GPU needs a
#: reset (or the machine a reboot) before it can be trusted again.
XID_MEANINGS: dict[int, tuple[str, bool]] = {
    13: ("graphics engine exception, usually a fault in the CUDA program (e.g. an out-of-bounds access)", False),
    31: ("GPU memory page fault, usually the application's", False),
    43: ("the GPU stopped processing after a fault in the application", False),
    45: ("preemptive cleanup after an earlier error", False),
    48: ("double-bit ECC error", True),
    61: ("internal micro-controller breakpoint", True),
    62: ("internal micro-controller halt", True),
    63: ("ECC page retirement or row remapping recorded", False),
    64: ("ECC page retirement or row remapping failed", True),
    74: ("NVLink error", True),
    79: ("the GPU has fallen off the bus", True),
    92: ("high single-bit ECC error rate", False),
    94: ("contained ECC error: the affected application was stopped", False),
    95: ("uncontained ECC error", True),
    119: ("GSP RPC timeout", True),
    120: ("GSP error", True),
}


@dataclass
class XidEvent:
    code: int
    #: The GPU's PCI address as the driver wrote it ("PCI:0000:3b:00").
    pci: str
    #: Seconds after boot (the kernel's timestamp), when the log has them.
    at_s: float | None
    meaning: str
    #: The GPU needs a reset (or the machine a reboot) before it can be trusted.
    fatal: bool
    line: str


def parse_xid(log: str) -> list[XidEvent]:
    """Xid lines of a kernel log (`dmesg` output), oldest first."""
    events = []
    for line in log.splitlines():
        match = _XID.search(line)
        if not match:
            continue
        code = int(match["code"])
        meaning, fatal = XID_MEANINGS.get(code, ("see NVIDIA's Xid catalogue", False))
        stamp = _KERNEL_TIME.match(line)
        events.append(XidEvent(code, match["pci"].strip(), float(stamp["t"]) if stamp else None, meaning, fatal,
                               line.strip()[:300]))
    return events


def _ago(event: XidEvent, uptime_s: float | None) -> str:
    if event.at_s is None or uptime_s is None or uptime_s < event.at_s:
        return "since boot"
    minutes = (uptime_s - event.at_s) / 60
    return f"{minutes:.0f} min ago" if minutes < 120 else f"{minutes / 60:.0f} h ago"


def xid_warnings(events: list[XidEvent], uptime_s: float | None = None) -> list[str]:
    """One warning per GPU that logged a fatal Xid, one line for the rest."""
    warnings = []
    fatal: dict[str, XidEvent] = {}
    for event in events:
        if event.fatal:
            fatal[event.pci] = event  # the latest per GPU
    for pci, event in fatal.items():
        warnings.append(f"kernel log: the GPU at {pci} logged Xid {event.code} ({event.meaning}) {_ago(event, uptime_s)}:"
                        " it needs a reset (or the machine a reboot) before it can be trusted")
    others = [e for e in events if not e.fatal]
    if others:
        counts: dict[int, int] = {}
        for e in others:
            counts[e.code] = counts.get(e.code, 0) + 1
        latest = others[-1]
        listed = ", ".join(f"Xid {code} × {n}" for code, n in sorted(counts.items()))
        warnings.append(f"kernel log: {len(others)} other Xid error(s) since boot ({listed}); latest: Xid "
                        f"{latest.code} ({latest.meaning}) on {latest.pci}, {_ago(latest, uptime_s)}")
    return warnings
