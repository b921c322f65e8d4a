"""Facts about the run that produced a report: stages, runner, links."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from mlops_ci.pipeline.repro import ReproResult, StageRun


@dataclass
class RunFacts:
    repro: ReproResult | None = None
    runner: str | None = None
    run_url: str | None = None
    artifact_url: str | None = None
    mlflow_url: str | None = None
    base: str | None = None
    head: str | None = None


def repro_from_record(record: Mapping[str, Any]) -> ReproResult:
    from mlops_ci.runners.gpu_usage import stage_gpu_from_dict
    from mlops_ci.pipeline.watch import stopped_from_dict

    stages = [StageRun(s["name"], s["status"], float(s.get("seconds", 0.0)), s.get("detail"),
                       gpu=stage_gpu_from_dict(s.get("gpu")))
              for s in record.get("stages", [])]
    return ReproResult(stages, int(record.get("returncode", 0)), float(record.get("seconds", 0.0)),
                       stopped=stopped_from_dict(record.get("stopped")), leftovers=list(record.get("leftovers") or []))


def load_repro(out_dir: Path) -> ReproResult | None:
    """The record the repro step left in the output directory, if it ran in this job."""
    path = out_dir / "repro.json"
    if not path.is_file():
        return None
    try:
        return repro_from_record(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError):
        return None


def runner_description(env: Mapping[str, str], labels: str | None = None) -> str | None:
    name = env.get("RUNNER_NAME")
    if not name:
        return None
    parts = [name]
    kind = " / ".join(v for v in (env.get("RUNNER_OS"), env.get("RUNNER_ARCH")) if v)
    if kind:
        parts.append(f"({kind})")
    if labels:
        parts.append("labels: " + ", ".join(f"`{x.strip()}`" for x in labels.replace(",", " ").split() if x.strip()))
    return " ".join(parts)


def repro_summary_job(out_dir: Path) -> str | None:
    """Which job's summary shows the repro step's stage table (``summary_job`` in repro.json), if known."""
    try:
        job = json.loads((out_dir / "repro.json").read_text(encoding="utf-8")).get("summary_job")
    except (OSError, ValueError, AttributeError):
        return None
    return job if isinstance(job, str) else None
