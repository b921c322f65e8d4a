"""`mlops-ci context`: show where we run, as the other commands will see it."""

from __future__ import annotations

import json
import os

import click

from mlops_ci.commands import config_option, project_option


@click.command()
@project_option()
@config_option()
def context(project_dir: str, config_path: str | None) -> None:
    """Print the run context as JSON: the GitHub event, or local git."""
    from mlops_ci.workspace import open_workspace

    ws = open_workspace(project_dir, config_path, os.environ)
    if os.environ.get("GITHUB_ACTIONS") != "true":
        ws.require_git()
    click.echo(json.dumps(ws.context.to_dict(), indent=2, sort_keys=True))
