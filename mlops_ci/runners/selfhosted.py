"""Self-hosted runner vocabulary: runner labels and JIT runner requests.

The same labels travel through three places — the ARC scale set's
`scaleSetLabels`, the bare-metal host's `mlops-ci runner jit --labels`, and a
workflow's `runs-on` — so they are parsed and judged in one place. A label
that names a GPU (``gpu``, ``gpu-a100``, ``nvidia-gpu``) means the job must not
run without one; that is what lets `mlops-ci runner doctor` fail fast. Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from mlops_ci.errors import BadInput

_TOKENS = re.compile(r"[^a-z0-9]+")
GPU_WORDS = frozenset({"gpu", "gpus"})
NEGATIONS = frozenset({"no", "non", "not", "without"})
#: GitHub's documented limit on the labels of one JIT runner.
MAX_LABELS = 100


def parse_labels(values: Iterable[str] | str | None) -> list[str]:
    """Labels from ``"a,b c"`` or repeated options; order kept, duplicates (case-insensitive) dropped."""
    if values is None:
        return []
    items = [values] if isinstance(values, str) else list(values)
    out: list[str] = []
    seen: set[str] = set()
    for item in items:
        for label in re.split(r"[,\s]+", item or ""):
            if label and label.lower() not in seen:
                seen.add(label.lower())
                out.append(label)
    return out


def names_gpu(label: str) -> bool:
    """``gpu``, ``gpu-a100``, ``nvidia_gpu``, ``gpus=2`` name a GPU; ``no-gpu`` (GitHub's own
    example label), ``gpuless`` and ``cpu`` don't."""
    tokens = [t for t in _TOKENS.split(label.lower()) if t]
    return any(token in GPU_WORDS and (i == 0 or tokens[i - 1] not in NEGATIONS) for i, token in enumerate(tokens))


def gpu_required_by(labels: Iterable[str], explicit: bool = False) -> str | None:
    """Why the job needs a GPU (for the doctor's message), or None when it does not."""
    if explicit:
        return "--require-gpu"
    named = [label for label in labels if names_gpu(label)]
    return f"runner label '{named[0]}'" if named else None


@dataclass(frozen=True)
class JitRequest:
    """The body of ``POST …/actions/runners/generate-jitconfig``."""

    name: str
    labels: tuple[str, ...]
    runner_group_id: int = 1
    work_folder: str = "_work"

    def body(self) -> dict[str, object]:
        return {"name": self.name, "runner_group_id": self.runner_group_id, "labels": list(self.labels),
                "work_folder": self.work_folder}


def default_runner_name(host: str, suffix: str) -> str:
    """``<host>-<suffix>``: unique per registration, since GitHub answers 409 for a name in use."""
    host = re.sub(r"[^A-Za-z0-9._-]+", "-", host).strip("-.") or "runner"
    return f"{host[:48]}-{suffix}"


def jit_request(*, name: str, labels: list[str], runner_group_id: int, work_folder: str) -> JitRequest:
    """Validate before calling GitHub, so a typo costs a clear message instead of a 422."""
    if not labels:
        raise BadInput("--labels: at least one runner label is needed (e.g. self-hosted,linux,x64,gpu)")
    if len(labels) > MAX_LABELS:
        raise BadInput(f"--labels: {len(labels)} labels given; GitHub accepts at most {MAX_LABELS}")
    if not name.strip():
        raise BadInput("--name: the runner name must not be empty")
    if runner_group_id < 1:
        raise BadInput(f"--runner-group-id: expected a runner group id (1 is the default group), got "
                       f"{runner_group_id}")
    if not work_folder.strip():
        raise BadInput("--work-folder: must not be empty")
    return JitRequest(name.strip(), tuple(labels), runner_group_id, work_folder)
