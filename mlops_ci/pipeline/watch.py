"""Time limits and heartbeats for `dvc repro`: no stage may hold a runner silently or forever.

A GPU job that hangs (a deadlocked DataLoader, a wedged GPU, a stage waiting on a lock)
prints nothing and keeps the most expensive runner until the job's own timeout, hours later.
So while `dvc repro` runs, :class:`Watchdog` is asked once a second:

* **is the current phase over its limit?** A stage gets the limit named for it in
  ``repro.stage_timeout`` (exact name first, then globs in the order given, then ``*``), or
  the plain number / ``--stage-timeout`` for every stage. DVC's own work between stages
  (hashing, checking out) is held to the default limit. Over it, the caller stops the whole
  process tree and the run fails naming the stage.
* **is a heartbeat due?** At most ``heartbeat`` seconds apart, one line says what runs, for how
  long, and — on a GPU runner — how busy the GPUs are right now, so a stuck job shows in the
  live log.

Pure: times in, decisions and sentences out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Literal, Mapping

DEFAULT_HEARTBEAT_S = 60.0


def duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes} min {secs:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


@dataclass(frozen=True)
class StageLimits:
    """Seconds each stage may run; None: no limit."""

    default: float | None = None
    #: (stage name or glob, seconds), in the order given; "*" is folded into ``default``.
    stages: tuple[tuple[str, float], ...] = ()
    #: Where the limits came from, for messages: "repro.stage_timeout" or "--stage-timeout".
    source: str = "repro.stage_timeout"

    @classmethod
    def build(cls, configured: float | Mapping[str, float] | None, flag: float | None = None) -> "StageLimits":
        """``--stage-timeout`` (0: none) replaces the config; else the config's number or mapping."""
        if flag is not None:
            return cls(default=flag or None, source="--stage-timeout")
        if configured is None or isinstance(configured, (int, float)):
            return cls(default=configured)
        named = tuple((k, float(v)) for k, v in configured.items() if k != "*")
        star = configured.get("*")
        return cls(default=None if star is None else float(star), stages=named)

    def for_stage(self, name: str | None) -> float | None:
        """The limit of stage ``name`` (None: DVC's own work between stages, held to the default)."""
        if name is None:
            return self.default
        # A stage of a nested dvc.yaml is addressed as 'sub/dvc.yaml:train': its bare name matches too.
        candidates = (name, name.rsplit(":", 1)[-1])
        for pattern, seconds in self.stages:
            if pattern in candidates:
                return seconds
        for pattern, seconds in self.stages:
            if any(fnmatchcase(c, pattern) for c in candidates):
                return seconds
        return self.default

    @property
    def any(self) -> bool:
        return self.default is not None or bool(self.stages)


@dataclass
class Stopped:
    """Why mlops-ci stopped `dvc repro` before it ended (repro.json "stopped", the report)."""

    reason: Literal["stage_timeout"]
    #: The stage that ran too long; None when DVC itself (no stage running) did.
    stage: str | None
    limit_s: float
    elapsed_s: float
    source: str
    #: The stage before, when DVC itself overran between stages.
    after: str | None = None
    #: The last lines of output before the stop.
    tail: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        what = f"stage '{self.stage}'" if self.stage else (
            "DVC itself (no stage running" + (f", after stage '{self.after}')" if self.after else ")"))
        return (f"{what} exceeded its time limit of {duration(self.limit_s)} ({self.source}): stopped it and "
                f"every process it started, {duration(self.elapsed_s)} after it began")


def stopped_from_dict(data: object) -> Stopped | None:
    """Inverse of the "stopped" block of repro.json (None when absent or malformed)."""
    if not isinstance(data, dict):
        return None
    try:
        return Stopped(**{k: data[k] for k in Stopped.__dataclass_fields__ if k in data})
    except TypeError:
        return None


#: (stage name or None for DVC itself, since when, the last stage before) — see ReproLogParser.phase.
Phase = tuple["str | None", float, "str | None"]


class Watchdog:
    """Asked every tick with the current phase of `dvc repro`; says when to stop and when to speak."""

    def __init__(self, limits: StageLimits, heartbeat_s: float = DEFAULT_HEARTBEAT_S, *, start: float) -> None:
        self.limits = limits
        self.heartbeat_s = heartbeat_s
        self._last_beat = start

    def overrun(self, now: float, phase: Phase) -> Stopped | None:
        stage, since, after = phase
        limit = self.limits.for_stage(stage)
        elapsed = now - since
        if limit is None or elapsed <= limit:
            return None
        return Stopped("stage_timeout", stage, limit, round(elapsed, 1), self.limits.source, after=after)

    def heartbeat(self, now: float, phase: Phase, gpu: str | None = None) -> str | None:
        """The heartbeat line when one is due (``gpu``: the GPUs right now, on a GPU runner)."""
        if now - self._last_beat < self.heartbeat_s:
            return None
        self._last_beat = now
        stage, since, after = phase
        limit = self.limits.for_stage(stage)
        if stage:
            what = f"stage '{stage}' running for {duration(now - since)}"
        else:
            what = "DVC working, no stage running" + (f" (after stage '{after}')" if after else "") + \
                   f", for {duration(now - since)}"
        parts = [what + (f" (limit {duration(limit)})" if limit is not None else "")]
        if gpu:
            parts.append(gpu)
        return "⏳ mlops-ci: " + " · ".join(parts)
