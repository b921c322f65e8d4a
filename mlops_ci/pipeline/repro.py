"""What happened during `dvc repro`, reconstructed from its log.

DVC prints one line when a stage starts running, is restored from the
run-cache, or is skipped as unchanged. We timestamp every line as it arrives
and turn the stream into per-stage records (status and wall time), which the
report, the cost estimate and the job summary use. While DVC runs, :meth:`ReproLogParser.phase`
tells the watchdog (:mod:`mlops_ci.pipeline.watch`) which stage is running since when. Pure: feed it lines.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Literal, Sequence

from mlops_ci.runners.gpu_usage import GpuReading, StageGpu, stage_usage
from mlops_ci.pipeline.watch import Phase, Stopped, duration

StageStatus = Literal["ran", "cached", "unchanged", "failed", "skipped"]
TAIL_LINES = 20

_RUNNING = re.compile(r"^Running stage '(?P<name>[^']+)':")
_UNCHANGED = re.compile(r"^Stage '(?P<name>[^']+)' didn't change, skipping")
_CACHED = re.compile(r"^Stage '(?P<name>[^']+)' is cached - skipping run, checking out outputs")
_FAILED = re.compile(r"failed to reproduce(?: stages:)? (?P<names>.+?)(?::|$)")
_SKIPPED = re.compile(r"^(?:WARNING: )?Stages? (?P<names>.+) will be skipped due to this failure")
_STAGE_FAILED_CMD = re.compile(r"failed to run: (?P<cmd>.+?), exited with (?P<rc>-?\d+)")
_DONE = re.compile(r"^(Updating lock file|Use `dvc push`|To track the changes with git|Data and pipelines are up to date)")
_QUOTED = re.compile(r"'([^']+)'")


@dataclass
class StageRun:
    name: str
    status: StageStatus
    seconds: float = 0.0
    detail: str | None = None
    #: When the stage started, in seconds after `dvc repro` started (None: it never started).
    started: float | None = None
    #: What the GPUs did meanwhile (GPU runners; see mlops_ci.runners.gpu_usage).
    gpu: StageGpu | None = None


@dataclass
class ReproResult:
    stages: list[StageRun] = field(default_factory=list)
    returncode: int = 0
    seconds: float = 0.0
    #: The last lines DVC and the stage printed (what a failure message should show).
    log_tail: list[str] = field(default_factory=list)
    #: Set when mlops-ci stopped DVC (a stage over its time limit).
    stopped: Stopped | None = None
    #: Processes a stage left running after DVC ended (stopped by mlops-ci), as "pid command".
    leftovers: list[str] = field(default_factory=list)
    #: The monotonic clock when `dvc repro` started (stage ``started`` offsets count from it; not saved).
    clock_start: float = 0.0

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def failed(self) -> list[str]:
        return [s.name for s in self.stages if s.status == "failed"]

    def names(self, status: StageStatus) -> list[str]:
        return [s.name for s in self.stages if s.status == status]

    def add_gpu_usage(self, readings: Sequence[GpuReading], interval_s: float) -> None:
        """Attach to each stage what the GPUs did while it ran (readings on the same monotonic clock)."""
        for stage in self.stages:
            if stage.started is not None:
                begin = self.clock_start + stage.started
                stage.gpu = stage_usage(readings, begin, begin + stage.seconds, interval_s=interval_s)

    def to_dict(self) -> dict:
        data = {"ok": self.ok, "returncode": self.returncode, "seconds": round(self.seconds, 3),
                "stages": [_stage_dict(s) for s in self.stages]}
        if self.stopped:
            data["stopped"] = asdict(self.stopped) | {"message": self.stopped.message}
        if self.leftovers:
            data["leftovers"] = list(self.leftovers)
        return data


def _stage_dict(stage: StageRun) -> dict:
    data = asdict(stage) | {"seconds": round(stage.seconds, 3)}
    if stage.started is not None:
        data["started"] = round(stage.started, 3)
    if stage.gpu is None:
        del data["gpu"]
    return data


class ReproLogParser:
    """Feed ``(line, timestamp)`` pairs in order; :meth:`finish` returns the result."""

    def __init__(self, start: float) -> None:
        self._start = start
        self._stages: dict[str, StageRun] = {}
        self._open: tuple[str, float] | None = None  # stage being run or restored, since when
        self._error_detail: str | None = None
        self._tail: list[str] = []
        self._idle_since = start  # DVC's own work since the last stage ended
        self._last: str | None = None

    def phase(self) -> Phase:
        """(running stage or None for DVC's own work, since when, the stage before)."""
        if self._open:
            name, since = self._open
            return name, since, self._last
        return None, self._idle_since, self._last

    def _close(self, now: float) -> None:
        if self._open:
            name, since = self._open
            self._stages[name].seconds = max(0.0, now - since)
            self._open = None
            self._idle_since = now
            self._last = name

    def _stage(self, name: str, status: StageStatus) -> StageRun:
        stage = self._stages.get(name)
        if stage is None:
            stage = self._stages[name] = StageRun(name, status)
        else:
            stage.status = status
        return stage

    def feed(self, line: str, now: float) -> None:
        text = line.strip()
        if text:
            self._tail = (self._tail + [line.rstrip()])[-TAIL_LINES:]
        if m := _RUNNING.match(text):
            self._close(now)
            self._stage(m["name"], "ran").started = now - self._start
            self._open = (m["name"], now)
        elif m := _CACHED.match(text):
            self._close(now)
            self._stage(m["name"], "cached").started = now - self._start
            self._open = (m["name"], now)
        elif m := _UNCHANGED.match(text):
            self._close(now)
            self._stage(m["name"], "unchanged")
        elif m := _SKIPPED.match(text):
            for name in _QUOTED.findall(m["names"]):
                self._stage(name, "skipped")
        elif "failed to reproduce" in text and (m := _FAILED.search(text)):
            self._close(now)
            if c := _STAGE_FAILED_CMD.search(text):
                self._error_detail = f"`{c['cmd']}` exited with {c['rc']}"
            for name in _QUOTED.findall(m["names"]):
                self._stage(name, "failed").detail = self._error_detail
        elif _DONE.match(text):
            self._close(now)
        elif c := _STAGE_FAILED_CMD.search(text):
            self._error_detail = f"`{c['cmd']}` exited with {c['rc']}"

    def finish(self, now: float, returncode: int, *, stopped: Stopped | None = None,
               leftovers: list[str] | None = None) -> ReproResult:
        """``stopped``: mlops-ci stopped DVC (the running stage then failed for that reason)."""
        if returncode != 0 and self._open:
            # DVC died while a stage was running and named no culprit: it was that stage.
            name, _ = self._open
            self._close(now)
            self._stages[name].status = "failed"
            self._stages[name].detail = self._error_detail
            if stopped and stopped.stage == name:
                self._stages[name].detail = (f"stopped after {duration(stopped.elapsed_s)}: over its time limit "
                                             f"of {duration(stopped.limit_s)} ({stopped.source})")
        self._close(now)
        if stopped:
            stopped.tail = list(self._tail)
        return ReproResult(list(self._stages.values()), returncode, max(0.0, now - self._start), list(self._tail),
                           stopped, list(leftovers or []), self._start)
