"""How `mlops-ci repro` learns its GPU count and price, and writes the cost into repro.json.

The GPU count comes from the doctor when it ran earlier in the job (it also knows
the runner labels that pick the price), else from one quick nvidia-smi probe. A
probe that finds nothing means 0 GPUs: cost is a record, never a reason to fail.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from mlops_ci.cost.estimate import CostEstimate, estimate

if TYPE_CHECKING:
    from mlops_ci.pipeline.repro import ReproResult
    from mlops_ci.workspace import Workspace

log = logging.getLogger(__name__)

DOCTOR_FILE = "doctor.json"


def gpu_facts(ws: "Workspace") -> tuple[int, list[str], list[str], str]:
    """(usable GPUs, their names, runner labels, source) for this job."""
    path = ws.runtime.out_dir / DOCTOR_FILE
    if path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            devices = [d for d in data["gpu"]["devices"] if d.get("usable")]
            return int(data["gpu"]["count"]), [str(d["name"]) for d in devices], list(data.get("labels") or []), \
                DOCTOR_FILE
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring unreadable %s: %s", path, exc)
    from mlops_ci.runners.nvidia import probe_gpus

    probe = probe_gpus(ws.env, timeout=10.0)
    return probe.count, [d.name for d in probe.usable], [], "nvidia-smi"


def add_cost(ws: "Workspace", result: "ReproResult", record: dict[str, Any],
             facts: tuple[int, list[str], list[str], str] | None = None, gpu_sampling: str | None = None
             ) -> CostEstimate:
    """Put GPU-hours next to each stage's wall time in ``record`` (repro.json) and the estimate under "cost".

    ``facts``: :func:`gpu_facts`, when the caller already has them; ``gpu_sampling``: how the GPUs
    were sampled during the run (or why not), the measured use being on the stages.
    """
    gpus, names, labels, source = facts or gpu_facts(ws)
    usage = {s.name: s.gpu for s in result.stages if s.gpu is not None}
    cost = estimate([(s.name, s.status, s.seconds) for s in result.stages], result.seconds, gpus=gpus,
                    config=ws.config.cost, labels=labels, gpu_names=names, gpu_source=source, usage=usage,
                    gpu_sampling=gpu_sampling)
    record["gpus"] = gpus
    for stage, row in zip(record.get("stages", []), cost.stages):
        stage["gpu_hours"] = row.gpu_hours
    record["gpu_hours"] = cost.gpu_hours
    if gpu_sampling is not None:
        record["gpu_sampling"] = gpu_sampling
    if cost.busy_gpu_hours is not None:
        record["busy_gpu_hours"] = cost.busy_gpu_hours
    record["cost"] = cost.to_dict()
    return cost
