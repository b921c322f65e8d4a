"""`mlops-ci drift`: current data against a reference (data or stored profile), plus data contracts.

Exit codes: 0 no drift and no contract error; 1 dataset drift (with
``fail_on_drift``, the default) or a contract error; 2 bad input. The outputs
(drift.json, drift.md, drift.html) are written before exiting 1.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mlops_ci.commands import config_option, option, project_option
from mlops_ci.drift.job import (failure_message, load_settings, require_in_repo, resolve_in_project, run_drift,
                                write_outputs)
from mlops_ci.errors import BadInput, MlopsError

if TYPE_CHECKING:
    from mlops_ci.drift.report import DriftReport

METHODS = ["auto", "ks", "wasserstein", "jensenshannon", "psi", "chi2", "ztest"]


class DriftFailed(MlopsError):
    """Dataset drift (with fail_on_drift) or a contract error: a negative outcome, exit 1, outputs written."""

    exit_code = 1


def publish(report: "DriftReport", files: dict[str, Path], project_dir: str, summary: bool | None,
            columns_shown: int, pictures: int) -> None:
    """Step outputs, job summary and annotations through the Actions runtime (local: under .mlops-ci/out)."""
    from mlops_ci.drift import markdown
    from mlops_ci.github.actions import Runtime

    rt = Runtime.detect(project_dir)
    rt.set_output("dataset-drift", "true" if report.dataset_drift else "false")
    rt.set_output("drift-share", f"{report.drift_share:.4f}")
    rt.set_output("drifted-columns", str(report.n_drifted))
    rt.set_output("contract-errors", str(len(report.contract_errors)))
    rt.set_output("report-json", str(files["json"]))
    if summary if summary is not None else rt.in_github:
        rt.append_summary(markdown.render(report, columns_shown=columns_shown, pictures=pictures))
    if rt.in_github:  # the failure itself is annotated by the CLI's error handler
        for result in report.contract_errors[1:10]:
            rt.annotate("error", result.message, title="mlops-ci data contract")
        for result in report.contract_warnings[:10]:
            rt.annotate("warning", result.message, title="mlops-ci data contract")
        if report.dataset_drift and not report.fail_on_drift:
            rt.annotate("warning", markdown.headline(report).replace("**", ""), title="mlops-ci drift")


@click.command()
@project_option()
@config_option()
@option("--reference", "-r", default=None, help="Reference: Parquet/CSV file, directory or glob, or a profile "
        "JSON from `mlops-ci profile build`. Default: drift.reference in the config.")
@option("--current", "-c", default=None, help="Current data: Parquet/CSV file, directory or glob. "
        "Default: drift.current in the config.")
@option("--reference-rev", default=None, help="Read --reference from this git/DVC revision (DVC-tracked data "
        "comes from the cache or remote).")
@option("--current-rev", default=None, help="Read --current from this git/DVC revision.")
@option("--contracts", "contracts_path", default=None, type=click.Path(dir_okay=False),
        help="Contracts file (YAML/JSON, or a Great Expectations suite) instead of the config's contracts:.")
@option("--format", "fmt", type=click.Choice(["md", "json", "html"]), default="md", show_default=True,
        help="What to print on stdout.")
@option("--out", "out_dir", default=None, type=click.Path(file_okay=False),
        help="Directory for drift.json, drift.md, drift.html. Default: the run's output directory "
        "(.mlops-ci/out locally), where `mlops-ci report` picks drift.json up.")
@option("--method", type=click.Choice(METHODS), default=None, help="Test for every column (default: config, auto).")
@option("--threshold", type=float, default=None, help="Threshold for every column (default: per method).")
@option("--drift-share", type=click.FloatRange(0, 1, min_open=True), default=None,
        help="Share of drifted columns at which the dataset drifts (default: config, 0.5).")
@option("--bins", type=click.IntRange(50, 20000), default=None, help="Histogram resolution when the reference "
        "is data (default: config, 1000; KS error <= 1/bins).")
@option("--ignore", multiple=True, help="Column (or glob) to leave out of drift; repeatable.")
@option("--fail-on-drift/--no-fail-on-drift", default=None, help="Exit 1 on dataset drift (default: config, on).")
@option("--csv-encoding", default=None, help="Encoding of CSV inputs (default: UTF-8).")
@option("--summary/--no-summary", default=None, help="Append the Markdown to the job summary (default: in Actions).")
@option("--base", default=None, help="Revision whose drift and contract rules judge the data (default: "
        "--reference-rev, else the pull request's base in Actions; locally without either, the working tree's).")
def drift(project_dir: str, config_path: str | None, reference: str | None, current: str | None,
          reference_rev: str | None, current_rev: str | None, contracts_path: str | None, fmt: str,
          out_dir: str | None, method: str | None, threshold: float | None, drift_share: float | None,
          bins: int | None, ignore: tuple[str, ...], fail_on_drift: bool | None, csv_encoding: str | None,
          summary: bool | None, base: str | None) -> None:
    """Data drift and data contracts of current data against a reference."""
    from mlops_ci.github.actions import Runtime

    drift_cfg, contracts_cfg = load_settings(project_dir, config_path, contracts_path,
                                             base or reference_rev or _pull_request_base(), strict=bool(base))
    updates: dict[str, Any] = {}
    if method:
        updates["method"] = method
    if drift_share is not None:
        updates["drift_share"] = drift_share
    if bins is not None:
        updates["bins"] = bins
    if ignore:
        updates["ignore"] = list(drift_cfg.ignore) + list(ignore)
    if fail_on_drift is not None:
        updates["fail_on_drift"] = fail_on_drift
    drift_cfg = drift_cfg.model_copy(update=updates)
    if threshold is not None:
        rule = drift_cfg.numeric.model_copy(update={"threshold": threshold})
        drift_cfg = drift_cfg.model_copy(update={"numeric": rule, "categorical": drift_cfg.categorical.model_copy(
            update={"threshold": threshold})})
    # data named by the repository's config must lie inside it; paths typed here are the caller's choice
    fenced = {side for side, given in (("reference", reference), ("current", current)) if not given}
    reference = reference or drift_cfg.reference
    current = current or drift_cfg.current
    if not reference or not current:
        raise BadInput("drift needs --reference and --current (or drift.reference / drift.current in the config)")
    repo = project_dir
    for side, spec in (("reference", reference), ("current", current)):
        if side in fenced:
            require_in_repo(spec, project_dir, f"drift.{side} (from .mlops-ci.yml)")
    if not os.path.isabs(reference) and reference_rev is None:
        reference = resolve_in_project(project_dir, reference)
    if not os.path.isabs(current) and current_rev is None:
        current = resolve_in_project(project_dir, current)

    started = time.perf_counter()
    report = run_drift(reference, current, drift=drift_cfg, contracts=contracts_cfg, reference_rev=reference_rev,
                       current_rev=current_rev, repo=repo, csv_encoding=csv_encoding,
                       within={side: project_dir for side in fenced})
    target = Path(out_dir) if out_dir else Runtime.detect(project_dir).out_dir
    files = write_outputs(report, target, columns_shown=drift_cfg.columns_shown, pictures=drift_cfg.pictures)
    publish(report, files, project_dir, summary, drift_cfg.columns_shown, drift_cfg.pictures)
    click.echo(files[fmt].read_text(encoding="utf-8"), nl=False)
    click.echo(f"mlops-ci: drift report in {target} ({time.perf_counter() - started:.1f}s)", err=True)
    if report.failed:
        raise DriftFailed(failure_message(report), hint=f"Full report: {files['html']}")


def _pull_request_base() -> str | None:
    """In a pull-request job, the base commit from the event (the rules' trusted side)."""
    if os.environ.get("GITHUB_ACTIONS") != "true":
        return None
    from mlops_ci.github.context import detect

    return detect(dict(os.environ)).base_sha or None
