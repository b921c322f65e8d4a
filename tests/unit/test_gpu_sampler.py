"""GPU sampling sources: NVML through a stand-in with pynvml's interface, and the choice of source.

No GPU here, so NVML is a small fake implementing the calls the sampler makes, with NVML's own
failure modes (no driver at init, NOT_SUPPORTED utilisation on MIG). The nvidia-smi source runs
against the recorded fixtures in tests/integration/test_cost_flow.py.
"""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from mlops_ci.runners.gpu_sampler import MAX_READINGS, NvmlSampler, Sampler, start_sampler
from mlops_ci.runners.gpu_usage import GpuReading, stage_usage

MIB = 1024 * 1024


class FakeNvml:
    """pynvml's calls as the sampler uses them; ``script`` holds (util or None, used MiB) per GPU and tick."""

    class NVMLError(Exception):
        pass

    def __init__(self, script: list[list[tuple[int | None, int]]], *, total_mib: int = 81920,
                 init_error: str | None = None) -> None:
        self.script = script
        self.tick = 0
        self.total = total_mib * MIB
        self.init_error = init_error
        self.shut_down = False

    def nvmlInit(self):
        if self.init_error:
            raise self.NVMLError(self.init_error)

    def nvmlDeviceGetCount(self):
        return len(self.script[0])

    def nvmlDeviceGetHandleByIndex(self, index):
        return index

    def nvmlDeviceGetUtilizationRates(self, handle):
        util = self.script[min(self.tick, len(self.script) - 1)][handle][0]
        if util is None:
            raise self.NVMLError("Not Supported")
        return SimpleNamespace(gpu=util, memory=0)

    def nvmlDeviceGetMemoryInfo(self, handle):
        used = self.script[min(self.tick, len(self.script) - 1)][handle][1]
        if handle == len(self.script[0]) - 1:
            self.tick += 1  # the last GPU of a tick was read
        return SimpleNamespace(used=used * MIB, total=self.total, free=self.total - used * MIB)

    def nvmlShutdown(self):
        self.shut_down = True


def test_nvml_readings_per_gpu_and_tick():
    clock = iter([1.0, 2.0, 3.0]).__next__
    nvml = FakeNvml([[(5, 1000), (None, 20)], [(95, 30000), (None, 40)], [(90, 31000), (None, 40)]])
    sampler = NvmlSampler(nvml, 1.0, clock=clock)
    for _ in range(3):
        sampler.sample_once()
    readings = sampler.readings()
    assert readings[:2] == [GpuReading(1.0, 0, 5.0, 1000.0, 81920.0), GpuReading(1.0, 1, None, 20.0, 81920.0)]
    usage = stage_usage(readings, 1.5, 3.0)
    assert (usage.gpus, usage.util_mean_pct, usage.util_peak_pct, usage.mem_peak_mib) == (2, 92.5, 95.0, 31000.0)
    assert usage.busy_gpu_seconds == pytest.approx(0.925 * 1.5, abs=1e-3), "the MIG GPU's unknown share is not counted"


def test_nvml_sampler_thread_samples_until_stopped_and_shuts_nvml_down():
    nvml = FakeNvml([[(50, 100)]])
    sampler = NvmlSampler(nvml, 0.01)
    seen = threading.Event()
    original = sampler._add

    def add(readings):
        original(readings)
        if len(sampler.readings()) >= 3:
            seen.set()

    sampler._add = add
    sampler.start()
    assert seen.wait(30), "the sampler thread took no readings"
    sampler.stop()
    assert nvml.shut_down and not sampler._thread.is_alive()
    assert {r.util_pct for r in sampler.recent(2)} == {50.0}


def test_without_nvml_or_nvidia_smi_there_is_no_sampler_and_a_reason():
    sampler, why = start_sampler({"PATH": "/nonexistent"}, nvml=FakeNvml([[(1, 1)]], init_error="Driver Not Loaded"))
    assert sampler is None
    assert why == "no GPU sampling: NVML: Driver Not Loaded and nvidia-smi is not on the PATH"
    sampler, how = start_sampler({"PATH": "/nonexistent"}, 0.5, nvml=FakeNvml([[(1, 1)]]))
    try:
        assert isinstance(sampler, NvmlSampler) and how == "NVML, every 0.5 s"
    finally:
        sampler.stop()


class _Idle(Sampler):
    """A sampler whose thread is never started: only the bookkeeping of readings is under test."""

    def _run(self) -> None:
        self._stop.wait()


def test_readings_are_thinned_not_dropped_past_the_cap():
    sampler = _Idle()
    sampler._add([GpuReading(float(t), 0, 10.0) for t in range(MAX_READINGS)])
    sampler._add([GpuReading(float(MAX_READINGS), 0, 10.0)])
    readings = sampler.readings()
    assert len(readings) == (MAX_READINGS + 1 + 1) // 2
    assert readings[0].t == 0.0 and readings[-1].t == float(MAX_READINGS), "the whole run stays covered"
