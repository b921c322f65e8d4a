"""`mlops-ci demo`: the whole pull-request flow on the bundled example, locally.

The story: copy the example into a fresh git repository; play its "main" CI
(train, push data and run-cache, register the model and make it the champion,
commit the results); open a PR branch that changes data and parameters; then
run the PR job exactly as a runner would — repro, gate against the champion,
report — with embedded defaults instead of GitHub and an MLflow server (a
SQLite registry under `.mlops-ci/`). Everything a PR job would post lands
under `.mlops-ci/out/`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from mlops_ci.commands import option


MODEL_NAME = "churn"


@click.command()
@option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=None,
        help="Where to create the demo repository (must be empty; default: a new temporary directory).")
@option("--example", type=click.Path(file_okay=False, path_type=Path), default=None,
        help="Example project to use (default: the bundled examples/churn).")
def demo(workdir: Path | None, example: Path | None) -> None:
    """Run the full PR flow on the bundled example, locally; print where the report is."""
    from mlops_ci.extras import require

    # Before anything is created: the example trains with scikit-learn (in DVC stages, where a missing
    # module would surface as a failed stage) and the demo registers the model in MLflow.
    require(["sklearn", "mlflow"], "mlops-ci demo (the example trains with scikit-learn, the model goes to MLflow)")
    from mlops_ci.registry.mlflow_registry import Registry
    from mlops_ci.gate_runner import run_gate
    from mlops_ci.registry.promote import GateRefused, promote_version
    from mlops_ci.registry.register import register_model
    from mlops_ci.report.outputs import write_outputs
    from mlops_ci.pipeline.run import run_repro
    from mlops_ci.demo_project import DemoRepo, bundled_example, load_scenario
    from mlops_ci.report.assemble import assemble
    from mlops_ci.workspace import open_workspace

    example = example or bundled_example()
    scenario = load_scenario(example)
    root = (workdir or Path(tempfile.mkdtemp(prefix="mlops-ci-demo-"))).resolve()
    quiet = lambda line: None  # noqa: E731 - stage logs go to repro.json, not the console

    step("create a git repository from", example, "at", root)
    repo = DemoRepo.create(example, root)
    repo.apply(scenario.base, scenario.track)
    repo.commit(scenario.base.message)

    step("main branch CI: dvc repro, push data and run-cache, register the model, make it the champion")
    main_ws = open_workspace(root, env={**repo.env, "MLOPS_CI_OUT_DIR": str(root / ".mlops-ci" / "main-ci")})
    run_repro(main_ws, echo=quiet)
    base_sha = repo.commit("CI: train on main")
    build_training_profile(main_ws)
    registered = register_model(main_ws, model_name=MODEL_NAME)
    try:
        promoted = promote_version(main_ws, Registry(main_ws.mlflow_tracking_uri()), MODEL_NAME, version=None,
                                   from_alias="challenger", to_alias="champion", reason="first model",
                                   force=False)["message"]
    except GateRefused as refused:  # as on a real main branch: no champion, the PR is compared with main
        promoted = f"not promoted: {refused.message}"
    click.echo(f"    registered {MODEL_NAME} v{registered['model-version']}; {promoted}")

    step(f"open a pull request ({scenario.pr_branch}): {scenario.pr.message}")
    repo.sh(f"git checkout --quiet -b {scenario.pr_branch}")
    repo.apply(scenario.pr, scenario.track)
    repo.commit(scenario.pr.message)

    step("pull request CI: dvc pull, dvc repro, dvc push")
    ws = open_workspace(root, env=repo.env)
    result = run_repro(ws, echo=quiet)
    for stage in result.stages:
        click.echo(f"    {stage.name:<12} {stage.status:<10} {stage.seconds:6.1f} s")

    step("pull request CI: data drift and contracts against the base branch's data")
    drift = run_pr_drift(ws, base_sha)
    click.echo(f"    {drift.n_drifted} of {drift.n_tested} columns drifted (share {drift.drift_share:.2f}); "
               f"{len(drift.contract_errors)} contract error(s), {len(drift.contract_warnings)} warning(s)")

    step("pull request CI: champion-challenger gate")
    verdict = run_gate(ws, base=base_sha, model_name=MODEL_NAME)
    click.echo(f"    {verdict.conclusion}: {verdict.title}")
    click.echo(f"    champion: {verdict.champion_source}")

    step("compare with the base branch and write the report")
    built = assemble(ws, base=base_sha, report_id="local/report")
    body = write_outputs(ws.runtime, built)

    out = ws.runtime.out_dir
    click.echo("")
    click.echo(body)
    click.echo(f"Everything a PR job would post is in: {out}")
    click.echo(str(out))


def build_training_profile(ws) -> None:  # noqa: ANN001 - Workspace, imported lazily
    """`mlops-ci profile build` on the training data: register stores it with the model as drift reference."""
    from mlops_ci.drift.job import DEFAULT_PROFILE_NAME, build_reference_profile
    from mlops_ci.drift.profile import write

    cfg = ws.config.drift
    prof = build_reference_profile(str(ws.dvc_root / cfg.reference), bins=cfg.bins, top_k=cfg.top_k,
                                   max_categories=cfg.max_categories)
    ws.runtime.out_dir.mkdir(parents=True, exist_ok=True)
    write(prof, str(ws.runtime.out_dir / DEFAULT_PROFILE_NAME))


def run_pr_drift(ws, base_sha: str):  # noqa: ANN001, ANN201 - Workspace -> DriftReport, imported lazily
    """`mlops-ci drift --reference-rev BASE` as the PR job runs it: outputs land next to the report's."""
    from mlops_ci.drift.job import run_drift, write_outputs as write_drift

    cfg = ws.policy(base_sha).config  # the base branch's drift and contract rules, as in a real PR job
    report = run_drift(cfg.drift.reference, str(ws.dvc_root / cfg.drift.current), drift=cfg.drift,
                       contracts=cfg.contracts, reference_rev=base_sha, repo=str(ws.dvc_root))
    write_drift(report, ws.runtime.out_dir, columns_shown=cfg.drift.columns_shown, pictures=cfg.drift.pictures)
    return report


def step(*words: object) -> None:
    click.secho("==> " + " ".join(str(w) for w in words), fg="cyan", err=True)
