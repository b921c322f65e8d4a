"""The PR comment and a whole job summary, written by the real writers, rendered by GitHub's parser.

The job summary is every step's part run together, so the test appends, through one real
``Runtime``, what a PR job and a deploy job write: repro, gate, drift, report, a serving
image build, a failed deploy with its container log, its rollback, and the runner doctor.
cmark-gfm (github.com's parser) must then find no table with a wrong cell count, every
``<details>`` closed, no heading shown as literal ``###`` text, no visible HTML comment,
and headings in order — and the stage table only once.
"""

from __future__ import annotations

import json
import re

from mlops_ci.commands.build import _summary as build_summary
from mlops_ci.report.outputs import write_outputs
from mlops_ci.pipeline.run import summary_markdown as repro_summary
from mlops_ci.cost.config import CostConfig
from mlops_ci.cost.estimate import estimate
from mlops_ci.deploy.outcome import Outcome
from mlops_ci.deploy.run import outcome_summary
from mlops_ci.drift import markdown as drift_markdown
from mlops_ci.gate.evaluate import ChallengerData, ChampionData, evaluate_gate
from mlops_ci.gate.verdict import render_markdown as gate_markdown
from mlops_ci.github.actions import Runtime
from mlops_ci.metrics import diff_metrics, direction_for
from mlops_ci.params import diff_params
from mlops_ci.plots import plot_specs
from mlops_ci.report.assemble import AssembledReport
from mlops_ci.report.facts import RunFacts
from mlops_ci.report.loaders import LOADERS
from mlops_ci.report.model import Report
from mlops_ci.report.plots_section import plots_section, render_plots
from mlops_ci.report.sections import metrics_section, params_section, run_facts_section
from mlops_ci.pipeline.repro import ReproResult, StageRun
from tests.render.markdown_checks import problems, to_html
from tests.unit.drift_helpers import drift_of

GATE = {"rules": [{"metric": "auc", "min": 0.7, "max_regression": 0.01},
                  {"metric": "model_size_bytes", "max": 50_000_000},
                  {"metric": "fairness.disparate_impact", "min": 0.8, "max_regression": 0.001}]}
CHAMPION = {"auc": 0.760444, "model_size_bytes": 150764, "fairness.disparate_impact": 0.983327}
CHALLENGER = {"auc": 0.769251, "model_size_bytes": 116185, "fairness.disparate_impact": 0.98337529}


def pr_job(out):
    """Everything a PR job writes, through the real writers; returns (runtime, comment body)."""
    import numpy as np
    import pandas as pd

    rt = Runtime(in_github=False, out_dir=out)
    repro = ReproResult([StageRun("prepare", "ran", 1.1), StageRun("train | fit", "ran", 7.2),
                         StageRun("evaluate", "cached", 0.0)], 0, 17.1)
    cost = estimate([(s.name, s.status, s.seconds) for s in repro.stages], repro.seconds, gpus=0, config=CostConfig())
    out.mkdir(parents=True, exist_ok=True)
    (out / "repro.json").write_text(json.dumps({"cost": cost.to_dict()}))
    rt.append_summary(repro_summary(repro, cost))

    verdict = evaluate_gate(GATE, ChampionData(CHAMPION, "MLflow model `churn` alias champion"),
                            ChallengerData(CHALLENGER), direction_of=lambda m: direction_for(m, {}), precision=4)
    (out / "gate.json").write_text(verdict.to_json())
    rt.append_summary(gate_markdown(verdict))

    rng = np.random.default_rng(7)
    ref = pd.DataFrame({"customer_id": np.arange(1, 5001), "charges": rng.normal(1670, 1270, 5000),
                        "lr": rng.uniform(1e-6, 5e-5, 5000),
                        "calls": rng.choice(["0", "1", "2", "3", "10"], 5000, p=[.4, .3, .15, .1, .05])})
    cur = ref.copy()
    cur["charges"] = cur["charges"] * 1.4
    cur["calls"] = rng.choice(["0", "1", "2", "3", "10"], 5000, p=[.2, .3, .3, .1, .1])
    drift = drift_of(ref, cur)
    (out / "drift.json").write_text(json.dumps(drift.to_dict(), default=str))
    rt.append_summary(drift_markdown.render(drift))

    metrics = diff_metrics({"m.json": CHAMPION | {"a|b": 1.0}}, {"m.json": CHALLENGER | {"a|b": 2.0}},
                           base_label="main", head_label="PR", precision=4)
    params = diff_params({"params.yaml": {"train": {"lr": 0.1}}}, {"params.yaml": {"train": {"lr": 0.05}}},
                         base_label="main", head_label="PR")
    specs = plot_specs({"plots": [{"roc.csv": {"x": "fpr", "y": "tpr", "title": "ROC curve"}},
                                  {"loss.csv": {"x": "step", "y": ["loss", "val_loss"]}},
                                  {"confusion.csv": {"template": "confusion", "x": "actual", "y": "predicted"}}]})
    files = {("b", "roc.csv"): "fpr,tpr\n0,0\n0.1,0.00002\n1,1\n", ("h", "roc.csv"): "fpr,tpr\n0,0\n0.1,0.4\n1,1\n",
             ("b", "loss.csv"): "step,loss,val_loss\n" + "".join(f"{i},{1 / (1 + i)},{'nan' if i == 3 else 2 / (2 + i)}\n"
                                                                  for i in range(0, 20001, 500)),
             ("h", "loss.csv"): "step,loss,val_loss\n" + "".join(f"{i},{0.9 / (1 + i)},{1.8 / (2 + i)}\n"
                                                                  for i in range(0, 20001, 500)),
             ("b", "confusion.csv"): "actual,predicted\n" + "0,0\n" * 80 + "0,1\n" * 20 + "1,1\n" * 100,
             ("h", "confusion.csv"): "actual,predicted\n" + "0,0\n" * 170 + "0,1\n" * 30 + "1,0\n" * 50 + "1,1\n" * 150}
    plots = render_plots(specs, lambda rev, path: files.get((rev, path), "").encode() or None,
                         [("base", "b", "main"), ("head", "h", "PR")])

    report = Report(title="mlops-ci report", report_id="ci/pr", footer="Generated by mlops-ci")
    report.add(metrics_section(metrics))
    report.add(params_section(params))
    report.add(plots_section(plots))
    loaded = [s for s in (loader(out) for loader in LOADERS) if s is not None]
    assert {s.key for s in loaded} == {"gate", "drift", "cost"}
    # as assemble() does when this job's repro step wrote its part of the summary
    report.add(run_facts_section(RunFacts(repro=repro, base="`abc1234`", head="working tree"), stage_table=False,
                                 stages_above=True))
    for section in loaded:
        section.summary_body = "" if section.key == "cost" else section.summary_body
        report.add(section)
    body = write_outputs(rt, AssembledReport(report, plots))
    return rt, body


def deploy_job(rt):
    """What a main-branch job adds: a build, a failed deploy with its log and mismatches, the rollback, the doctor."""
    rt.append_summary(build_summary({"model-name": "churn", "model-version": "3", "model-uri": "models:/churn/3",
                                     "image-ref": "127.0.0.1:5000/churn@sha256:ab", "image-id": "sha256:ab",
                                     "tags": ["127.0.0.1:5000/churn:abc", "127.0.0.1:5000/churn:v3"],
                                     "runtime": "onnx", "runtime-note": "converted", "parity-case": "embedded",
                                     "size-bytes": 123_000_000, "seconds": 29.2, "cached-steps": 0, "steps": 23}))
    failed = Outcome(False, "staging", "churn@sha256:ab", None, "churn@sha256:00", "smoke parity failed",
                     rolled_back=True, timings={"start": 1.2, "health": 3.4},
                     smoke={"reason": "parity 140/150 rows", "mismatches": ["row 3: 0.71 vs 0.12", "row 9: 1 vs 0"]},
                     logs="Traceback (most recent call last):\n  UnpicklingError: ```bad```\n")
    rt.append_summary(outcome_summary("Deploy", failed, ["Registry alias unchanged."]))
    rt.append_summary(outcome_summary("Rollback of staging", Outcome(True, "staging", "churn@sha256:00",
                                                                     "http://127.0.0.1:8080", None, "healthy")))
    from mlops_ci.runners.doctor import DoctorReport, render_markdown as doctor_markdown
    from mlops_ci.runners.gpu import GpuProbe

    rt.append_summary(doctor_markdown(DoctorReport(gpu=GpuProbe(), problems=["no GPU"], gpu_required=True)))


def test_comment_and_whole_job_summary_render_cleanly(tmp_path):
    out = tmp_path / "out"
    rt, comment = pr_job(out)
    deploy_job(rt)
    summary = (out / "summary.md").read_text()

    assert problems(comment, first_heading=2) == [], comment
    assert problems(summary, first_heading=2) == [], summary

    # every step's part is a top-level section of the page, in the order the steps ran
    tops = re.findall(r"(?m)^## (.*)$", summary)
    assert [t.split(" ", 1)[-1] if t[0] in "✅❌⚠️ℹ️" else t for t in tops][:1] == ["DVC pipeline"]
    assert any("Gate passed" in t for t in tops) and any("mlops-ci report" in t for t in tops)
    assert [t for t in tops if t in ("Serving image built", "Deploy", "Rollback of staging")] == [
        "Serving image built", "Deploy", "Rollback of staging"]
    # the stage table and the cost line once per page: the report leaves them to the repro part
    assert summary.count("| Stage |") == 1 and summary.count("whole `dvc repro`") == 1
    assert comment.count("| Stage |") == 1 and "Per stage: see **Cost** below." in comment
    # the gate table honours metrics.precision and never writes scientific notation
    assert "≤ 50,000,000" in comment and "116,185" in comment and "| +0.00005 |" in comment
    assert not re.search(r"\d[eE][+-]?\d", re.sub(r"```mermaid.*?```", "", comment, flags=re.S))
    # the facts of a deploy stay apart: one list item each, the log folded and closed
    html = to_html(summary)
    for fact in ("Rolled back", "Smoke parity", "Timings", "Previous image"):
        assert re.search(rf"<li><strong>{fact}</strong>", html), fact
    assert "<li>row 3: 0.71 vs 0.12</li>" in html  # the mismatches nest under smoke parity, Timings stays apart
    assert "UnpicklingError: ```bad```" in html


def test_summary_parts_never_glue(tmp_path):
    rt = Runtime(in_github=False, out_dir=tmp_path)
    rt.append_summary("### first\n\n<details><summary>log</summary>\n\n```\nx\n```\n</details>")
    rt.append_summary("text without a newline at the end")
    rt.append_summary("#### deep part\n\n##### its child\n\n<details><summary>a</summary>\n\nb\n</details>\nafter")
    summary = (tmp_path / "summary.md").read_text()
    assert problems(summary) == [], summary
    assert summary.startswith("## first\n") and "\n\n## deep part\n\n### its child\n" in summary
    assert "</details>\n\nafter" in summary and "</details>\n\ntext without" in summary
