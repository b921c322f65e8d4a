"""What happened during `dvc repro`, reconstructed from its log.

DVC prints one line when a stage starts running, is restored from the
run-cache, or is skipped as unchanged. We timestamp every line as it arrives
and turn the stream into per-stage records (status and wall time), which the
report, the cost estimate and the job summary use. Pure: feed it lines.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Literal

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


@dataclass
class ReproResult:
    stages: list[StageRun] = field(default_factory=list)
    returncode: int = 0
    seconds: float = 0.0
    #: The last lines DVC and the stage printed (what a failure message should show).
    log_tail: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def failed(self) -> list[str]:
        return [s.name for s in self.stages if s.status == "failed"]

    def names(self, status: StageStatus) -> list[str]:
        return [s.name for s in self.stages if s.status == status]

    def to_dict(self) -> dict:
        return {"ok": self.ok, "returncode": self.returncode, "seconds": round(self.seconds, 3),
                "stages": [asdict(s) | {"seconds": round(s.seconds, 3)} for s in self.stages]}


class ReproLogParser:
    """Feed ``(line, timestamp)`` pairs in order; :meth:`finish` returns the result."""

    def __init__(self, start: float) -> None:
        self._start = start
        self._stages: dict[str, StageRun] = {}
        self._open: tuple[str, float] | None = None  # stage being run or restored, since when
        self._error_detail: str | None = None
        self._tail: list[str] = []

    def _close(self, now: float) -> None:
        if self._open:
            name, since = self._open
            self._stages[name].seconds = max(0.0, now - since)
            self._open = None

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
            self._stage(m["name"], "ran")
            self._open = (m["name"], now)
        elif m := _CACHED.match(text):
            self._close(now)
            self._stage(m["name"], "cached")
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

    def finish(self, now: float, returncode: int) -> ReproResult:
        if returncode != 0 and self._open:
            # DVC died while a stage was running and named no culprit: it was that stage.
            name, _ = self._open
            self._close(now)
            self._stages[name].status = "failed"
            self._stages[name].detail = self._error_detail
        self._close(now)
        return ReproResult(list(self._stages.values()), returncode, max(0.0, now - self._start), list(self._tail))
