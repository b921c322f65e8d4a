"""Running the pipeline once: pull, reproduce, push — and remember what each stage cost.

The story: restore data and the run-cache from the DVC remote (a missing or empty remote only
warns), run `dvc repro` while timing every stage (with its time limits and, on a GPU runner, GPU
sampling), save outputs and run-cache back so the next CI run can skip unchanged stages, and
leave a record (`repro.json`, step outputs, summary) for the report. `mlops-ci repro` and
`mlops-ci demo` both run it.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Callable, Sequence

from mlops_ci.errors import BadInput, StepFailed

if TYPE_CHECKING:
    from mlops_ci.cost.estimate import CostEstimate
    from mlops_ci.pipeline.repro import ReproResult
    from mlops_ci.runners.gpu_sampler import Sampler
    from mlops_ci.workspace import Workspace


def _echo(line: str) -> None:
    print(line, flush=True)


def run_repro(ws: "Workspace", *, targets: Sequence[str] = (), force: bool = False, keep_going: bool | None = None,
              pull: bool | None = None, push: bool | None = None, remote: str | None = None,
              push_remote: str | None = None, stage_timeout: float | None = None,
              echo: Callable[[str], None] = _echo) -> "ReproResult":
    """The repro story, shared by the command and `mlops-ci demo`; raises StepFailed on failure."""
    from mlops_ci.pipeline.cost_record import add_cost, gpu_facts
    from mlops_ci.pipeline.watch import StageLimits

    ws.dvc.require_pipeline()
    cfg = ws.config.repro
    rt = ws.runtime
    remote = remote or cfg.remote
    push_to = push_remote or cfg.push_remote or remote
    wanted = list(targets) or cfg.targets

    pulled = None
    if cfg.pull if pull is None else pull:
        with rt.group("dvc pull (data and run-cache)"):
            pulled = ws.dvc.pull(remote)
            echo(pulled.message)
        if pulled.status != "ok":
            rt.annotate("warning", pulled.message, title="dvc pull")

    facts = gpu_facts(ws)  # GPUs (from the doctor, else nvidia-smi): sampled while the stages run
    sampler, sampling = _gpu_sampler(ws, facts[0], echo)
    limits = StageLimits.build(cfg.stage_timeout, stage_timeout)
    try:
        with rt.group(f"dvc repro {' '.join(wanted)}".strip()):
            result = ws.dvc.repro(wanted, force=force,
                                  keep_going=cfg.keep_going if keep_going is None else keep_going,
                                  pull=pulled is not None and pulled.status == "ok", pass_env=_trusted_pass_env(ws),
                                  echo=echo, limits=limits, heartbeat_s=cfg.heartbeat,
                                  gpu_now=_gpu_now(sampler))
    finally:
        if sampler is not None:
            sampler.stop()
    if sampler is not None:
        result.add_gpu_usage(sampler.readings(), sampler.interval_s)

    record = result.to_dict()
    if result.ok and (cfg.push if push is None else push):
        with rt.group("dvc push (outputs and run-cache)"):
            pushed = ws.dvc.push(push_to)
            echo(pushed.message)
        record["push"] = {"status": pushed.status, "message": pushed.message}
        if pushed.status != "ok":
            rt.annotate("error" if pushed.status == "error" else "warning", pushed.message, title="dvc push")

    cost = add_cost(ws, result, record, facts, sampling)  # GPU-hours, GPU use and the estimate, in repro.json
    record["summary_job"] = rt.job_key()  # the report of this same job leaves the stage table to our summary part
    rt.write_file("repro.json", json.dumps(record, indent=2) + "\n")
    rt.set_output("stages-ran", " ".join(result.names("ran")))
    rt.set_output("stages-cached", " ".join(result.names("cached")))
    rt.set_output("seconds", f"{result.seconds:.1f}")
    rt.set_output("gpu-hours", f"{cost.gpu_hours:.6f}")
    rt.set_output("cost", "" if cost.amount is None else f"{cost.amount:.6f} {cost.currency}")
    rt.append_summary(summary_markdown(result, cost))

    if result.stopped is not None:
        message = f"dvc repro stopped: {result.stopped.message}"
        rt.annotate("error", message, file="dvc.yaml", title="dvc repro: time limit")
        tail = "\n".join(f"  | {line}" for line in result.stopped.tail[-12:])
        raise StepFailed(message, hint=(f"Last lines of the log:\n{tail}\n" if tail else "") +
                         "Raise the limit (repro.stage_timeout in .mlops-ci.yml, or --stage-timeout) if the stage "
                         "needs longer; the heartbeat lines above show whether its GPU was busy.")
    if not result.ok:
        failed = result.failed
        details = "; ".join(f"{s.name}: {s.detail}" for s in result.stages if s.status == "failed" and s.detail)
        what = ", ".join(f"'{n}'" for n in failed) if failed else "(no stage named by DVC)"
        message = (f"dvc repro failed at stage {what}" + (f" ({details})" if details else "")
                   + f"; exit code {result.returncode}")
        rt.annotate("error", message, file="dvc.yaml", title="dvc repro")
        tail = "\n".join(f"  | {line}" for line in result.log_tail[-12:])
        raise StepFailed(message, hint=f"Last lines of the log:\n{tail}" if tail else None)
    if record.get("push", {}).get("status") == "error":
        raise StepFailed(record["push"]["message"])
    return result


def _gpu_sampler(ws: "Workspace", gpus: int, echo: Callable[[str], None]) -> tuple["Sampler | None", str | None]:
    """A running GPU sampler on a GPU runner (and how it samples), else None; never fails the run."""
    if not gpus:
        return None, None
    from mlops_ci.runners.gpu_sampler import start_sampler

    sampler, how = start_sampler(ws.env)
    echo(f"GPU sampling: {how}")
    return sampler, how


def _gpu_now(sampler: "Sampler | None") -> Callable[[], str | None] | None:
    if sampler is None:
        return None
    from mlops_ci.runners.gpu_usage import now_text

    return lambda: now_text(sampler.recent())


def _trusted_pass_env(ws: "Workspace") -> list[str]:
    """Which secret-looking variables the stages may see: the base commit's list in a PR job.

    The stages are the PR's code; if its own `.mlops-ci.yml` could widen `repro.pass_env`, a PR
    could hand itself a secret the workflow meant for mlops-ci's steps.
    """
    base = ws.context.base_sha if ws.runtime.in_github else None
    if not base:
        return ws.config.repro.pass_env
    try:
        return ws.policy(ws.git.ensure_commit(base, "base")).config.repro.pass_env
    except BadInput:
        return []  # the base cannot be read: hand over nothing extra


def summary_markdown(result: "ReproResult", cost: "CostEstimate") -> str:
    """The job-summary part: counts, then one table of the stages with their times, GPU use and cost.

    The report of the same job leaves its own stage table and Cost section out of the summary
    (it finds ``summary_job`` in repro.json), so the page shows each stage once.
    """
    from mlops_ci.cost.render import body as cost_body
    from mlops_ci.cost.render import headline as cost_headline
    from mlops_ci.render import repro_counts

    return (f"## DVC pipeline\n\n{repro_counts(result)}\n\n**Cost**: {cost_headline(cost)}\n\n"
            f"{cost_body(cost)}\n")


def final_summary(record_path: "os.PathLike[str] | str", since: float) -> str:
    """The lines `mlops-ci repro` ends with: one row per stage, the total, and where repro.json is.

    Read back from repro.json (written ``since`` this run started), so it is there after a failed
    stage as well; without one, only why there is none.
    """
    from pathlib import Path

    path = Path(record_path)
    try:
        if path.stat().st_mtime < since - 1:
            raise FileNotFoundError
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "repro: no repro.json was written (dvc repro did not run)"
    stages = [s for s in record.get("stages", []) if isinstance(s, dict)]
    width = max([len("stage"), *(len(str(s.get("name", ""))) for s in stages)])
    lines = ["", f"{'stage':<{width}}  {'status':<10}  {'time':>9}"]
    lines += [f"{str(s.get('name', '')):<{width}}  {str(s.get('status', '')):<10}  "
              f"{float(s.get('seconds') or 0):>7.1f} s" for s in stages]
    verdict = "ok" if record.get("ok") else "failed"
    lines.append(f"{'total':<{width}}  {verdict:<10}  {float(record.get('seconds') or 0):>7.1f} s")
    lines.append(f"repro.json: {path.resolve()}")
    return "\n".join(lines)
