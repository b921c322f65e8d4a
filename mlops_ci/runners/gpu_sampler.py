"""Samples GPU utilisation and memory in the background while `dvc repro` runs.

Two sources, best first:

* **NVML** through `nvidia-ml-py` (``import pynvml``), when it is installed: a library call
  per GPU and tick, no process. NVIDIA's own images ship it; `pip install nvidia-ml-py`.
* **nvidia-smi** ``--query-gpu=index,utilization.gpu,memory.used,memory.total --loop-ms=N``:
  one long-running process streaming a CSV row per GPU and tick.

Both count the GPUs the driver shows this container, which is what `runner doctor` counts and
what the runner is billed for. Sampling never fails the job: a source that cannot start gives
no sampler and a reason, and a hung NVML call or nvidia-smi (a wedged GPU) is abandoned at
stop time instead of being waited for. Readings are kept (thinned past
:data:`MAX_READINGS`) for :func:`mlops_ci.runners.gpu_usage.stage_usage`.
"""

from __future__ import annotations

import abc
import logging
import os
import shutil
import subprocess
import threading
import time
from typing import Any, Callable, Mapping

from mlops_ci.runners.gpu_usage import SAMPLE_ARGS, GpuReading, parse_sample_line

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 1.0
#: A day of one-second ticks on 4 GPUs; past it every second reading is dropped (means survive).
MAX_READINGS = 4 * 86_400
MIB = 1024 * 1024


class Sampler(abc.ABC):
    """Collects :class:`GpuReading` objects from a background thread; subclasses say how."""

    source = "none"

    def __init__(self, interval_s: float = DEFAULT_INTERVAL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval_s = interval_s
        self.clock = clock
        self._readings: list[GpuReading] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _add(self, readings: list[GpuReading]) -> None:
        with self._lock:
            self._readings.extend(readings)
            if len(self._readings) > MAX_READINGS:
                self._readings = self._readings[::2]

    def readings(self) -> list[GpuReading]:
        with self._lock:
            return list(self._readings)

    def recent(self, n: int = 64) -> list[GpuReading]:
        """The last ``n`` readings (enough for the newest one of every GPU)."""
        with self._lock:
            return self._readings[-n:]

    def start(self) -> "Sampler":
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"mlops-ci-gpu-{self.source}")
        self._thread.start()
        return self

    @abc.abstractmethod
    def _run(self) -> None:
        """Append readings until :meth:`stop`; each source (NVML, nvidia-smi) samples its own way."""

    def stop(self) -> None:
        """Stop sampling; gives a stuck source 2 s, then leaves its (daemon) thread behind."""
        self._stop.set()
        self._close()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        self._release()

    def _close(self) -> None:
        """Make the sampling thread end (before it is joined)."""

    def _release(self) -> None:
        """Free what the source holds (after the thread ended, or was given up on)."""


class NvmlSampler(Sampler):
    """NVML, through a module with pynvml's interface (the real one, or a test's stand-in)."""

    source = "nvml"

    def __init__(self, nvml: Any, interval_s: float = DEFAULT_INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(interval_s, clock)
        self.nvml = nvml
        nvml.nvmlInit()  # raises nvml.NVMLError when there is no driver: the caller falls back
        self._handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(nvml.nvmlDeviceGetCount())]

    @property
    def gpus(self) -> int:
        return len(self._handles)

    def sample_once(self) -> list[GpuReading]:
        now = self.clock()
        readings = []
        for index, handle in enumerate(self._handles):
            util = used = total = None
            try:
                util = float(self.nvml.nvmlDeviceGetUtilizationRates(handle).gpu)
            except self.nvml.NVMLError:  # MIG mode, unsupported board: utilisation unknown, not 0
                pass
            try:
                memory = self.nvml.nvmlDeviceGetMemoryInfo(handle)
                used, total = memory.used / MIB, memory.total / MIB
            except self.nvml.NVMLError:
                pass
            readings.append(GpuReading(now, index, util, used, total))
        self._add(readings)
        return readings

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sample_once()
            except Exception as exc:  # noqa: BLE001 - a GPU that fell off the bus ends sampling, not the job
                log.warning("GPU sampling (NVML) stopped: %s", exc)
                return
            self._stop.wait(self.interval_s)

    def _release(self) -> None:
        if self._thread is None or not self._thread.is_alive():  # never under a call still running
            try:
                self.nvml.nvmlShutdown()
            except Exception:  # noqa: BLE001
                pass


class SmiSampler(Sampler):
    """`nvidia-smi --query-gpu=… --loop-ms=N`, read line by line."""

    source = "nvidia-smi"

    def __init__(self, binary: str, env: Mapping[str, str], interval_s: float = DEFAULT_INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(interval_s, clock)
        self.args = [binary, *SAMPLE_ARGS, f"--loop-ms={max(50, int(interval_s * 1000))}"]
        self._proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, env=dict(env), text=True, errors="replace",
                                      bufsize=1, start_new_session=True)

    def _run(self) -> None:
        assert self._proc.stdout is not None
        try:
            for line in self._proc.stdout:
                reading = parse_sample_line(line, self.clock())
                if reading is not None:
                    self._add([reading])
                elif line.strip():
                    log.debug("nvidia-smi (sampling): %s", line.strip())
        except (OSError, ValueError):
            pass

    def _close(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=2.0)
            except subprocess.TimeoutExpired:
                self._proc.kill()  # and never wait: nvidia-smi stuck in the driver cannot die


def start_sampler(env: Mapping[str, str], interval_s: float = DEFAULT_INTERVAL_S,
                  nvml: Any | None = None) -> tuple[Sampler | None, str]:
    """A running sampler and its description, or None and why there is none.

    ``nvml``: a pynvml-like module (default: ``import pynvml`` from nvidia-ml-py, if installed).
    """
    why_not_nvml = "nvidia-ml-py is not installed"
    if nvml is None:
        try:
            import pynvml as nvml  # type: ignore[import-not-found,no-redef]
        except ImportError:
            nvml = None
    if nvml is not None:
        try:
            sampler = NvmlSampler(nvml, interval_s)
            if sampler.gpus:
                return sampler.start(), f"NVML, every {interval_s:g} s"
            why_not_nvml = "NVML sees no GPU"
        except Exception as exc:  # noqa: BLE001 - NVMLError, a missing libnvidia-ml.so: try nvidia-smi
            why_not_nvml = f"NVML: {exc}"
    binary = shutil.which("nvidia-smi", path=env.get("PATH", os.defpath))
    if binary is None:
        return None, f"no GPU sampling: {why_not_nvml} and nvidia-smi is not on the PATH"
    try:
        return SmiSampler(binary, env, interval_s).start(), f"nvidia-smi --loop-ms, every {interval_s:g} s"
    except OSError as exc:
        return None, f"no GPU sampling: {why_not_nvml}; nvidia-smi could not start: {exc}"
