"""`mlops-ci report`: one sticky PR comment, the job summary and a full report artifact.

The story: assemble the report (metrics, params, plots, run facts and whatever
other steps left behind); write the full version and PNGs to the output
directory (the artifact) and a bounded one to the job summary; then post it as
ONE comment — updated in place on re-runs, not re-sent when unchanged. On a
fork PR, whose token cannot write, the comment is packed into an artifact for
`mlops-ci publish` to post from a `workflow_run` job.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from mlops_ci.commands import config_option, option, project_option


@click.command()
@project_option()
@config_option()
@option("--base", default=None, help="Revision to compare against (default: the PR base / merge-base).")
@option("--head", default=None, help="Revision with the change (default: the working tree).")
@option("--all", "all_params", is_flag=True, help="List every parameter, not only the changed ones.")
@option("--target", default="auto", show_default=True,
        help="Where to comment: auto, pr, pr/<n>, issue/<n>, commit/<sha>. auto = the event's PR, else the "
             "PR whose head is the pushed commit, else a commit comment.")
@option("--mode", type=click.Choice(["update", "recreate", "append"]), default="update", show_default=True,
        help="update: edit our comment in place; recreate: delete it and post anew; append: always post a new one.")
@option("--hide-previous", is_flag=True, help="Minimize our previous comments as OUTDATED when posting a new one.")
@option("--report-id", default="report", show_default=True,
        help="Keeps several reports per PR apart (one sticky comment per workflow and report id).")
@option("--to-artifact", type=click.Path(file_okay=False, path_type=Path), default=None,
        help="Do not post: write the comment payload here for `mlops-ci publish` (fork PRs).")
@option("--publish/--no-publish", default=None, help="Post to GitHub (default: yes in Actions, no locally).")
@option("--plots/--no-plots", default=True, show_default=True, help="Draw DVC plots.")
@option("--runner-labels", default=None, help="Runner labels to show in the run facts.")
@option("--github-token", default=None, help="Token for the API (default: $GITHUB_TOKEN).")
def report(project_dir: str, config_path: str | None, base: str | None, head: str | None, all_params: bool,
           target: str, mode: str, hide_previous: bool, report_id: str, to_artifact: Path | None,
           publish: bool | None, plots: bool, runner_labels: str | None, github_token: str | None) -> None:
    """Build the PR report and post it as one sticky comment."""
    from mlops_ci.report.assemble import assemble
    from mlops_ci.report.payload import write_payload
    from mlops_ci.report.outputs import write_outputs
    from mlops_ci.report.target import parse_target
    from mlops_ci.workspace import open_workspace

    ws = open_workspace(project_dir, config_path, os.environ)
    rt, ctx = ws.runtime, ws.context
    rt.mask(github_token)
    wanted = parse_target(target)
    sticky_id = f"{ctx.workflow or 'local'}/{report_id}"

    built = assemble(ws, base=base, head=head, report_id=sticky_id, all_params=all_params, with_plots=plots,
                     runner_labels=runner_labels)
    body = write_outputs(rt, built)
    comment_path = rt.out_dir / "comment.md"

    fork = bool(ctx.pull_request and ctx.pull_request.from_fork and ctx.event_name == "pull_request")
    if to_artifact is not None or fork:
        directory = to_artifact or rt.out_dir / "publish"
        write_payload(directory, body=body, marker_id=sticky_id, context=ctx, mode=mode, hide_previous=hide_previous,
                      gate_verdict=rt.out_dir / "gate.json")
        rt.set_output("artifact-dir", str(directory))
        why = "fork pull request: read-only token" if fork and to_artifact is None else "--to-artifact"
        click.echo(f"report written for `mlops-ci publish` to {directory} ({why})")
        return

    if not (publish if publish is not None else ctx.in_github):
        click.echo(body)
        click.echo(f"\nreport written to {comment_path} (not posted: local run)", err=True)
        return

    from mlops_ci.github.comments import post_comment

    result = post_comment(ws, body=body, marker_id=sticky_id, target=wanted, mode=mode,
                          hide_previous=hide_previous, token=github_token)
    rt.set_output("comment-id", str(result.comment.id))
    rt.set_output("comment-url", result.comment.html_url or "")
    rt.set_output("comment-action", result.action)
    click.echo(f"comment {result.action}: {result.comment.html_url or result.comment.id}")
