"""`mlops-ci promote`: make the challenger the champion — only if it still passes the gate.

The work is :mod:`mlops_ci.registry.promote`; this command picks the registry and writes the
outputs (step outputs, promotion.json, the job summary).
"""

from __future__ import annotations

import json
import os

import click

from mlops_ci.commands import config_option, option, project_option


@click.command()
@project_option()
@config_option()
@option("--model-name", default=None, help="Registered model (default: config mlflow.model_name / repo name).")
@option("--version", "version", default=None, help="Version to promote (default: the one behind --from-alias).")
@option("--from-alias", default="challenger", show_default=True,
        help="Alias naming the version to promote (unless --version is given).")
@option("--to-alias", default="champion", show_default=True,
        help="Alias to move to that version (the one it held before is kept as previous-<alias>).")
@option("--reason", default=None, help="Why (recorded in the audit trail).")
@option("--force", is_flag=True, help="Promote even if the gate fails (the failure is recorded).")
def promote(project_dir: str, config_path: str | None, model_name: str | None, version: str | None,
            from_alias: str, to_alias: str, reason: str | None, force: bool) -> None:
    """Move alias `champion` to the version that passed the gate."""
    from mlops_ci.registry.mlflow_registry import Registry
    from mlops_ci.registry.promote import promote_git_tag, promote_version
    from mlops_ci.registry.register import model_name_for
    from mlops_ci.workspace import open_workspace

    ws = open_workspace(project_dir, config_path, os.environ)
    name = model_name_for(ws, model_name)
    if ws.config.registry.mode == "git-tags":
        result = promote_git_tag(ws, name, version, reason, force)
    else:
        registry = Registry(ws.mlflow_tracking_uri(), ws.config.mlflow.registry_uri)
        result = promote_version(ws, registry, name, version=version, from_alias=from_alias, to_alias=to_alias,
                                 reason=reason, force=force)
    rt = ws.runtime
    for key in ("model-name", "model-version", "previous-version", "action"):
        rt.set_output(key, str(result.get(key) or ""))
    rt.write_file("promotion.json", json.dumps(result, indent=2) + "\n")
    rt.append_summary(f"### Promotion\n\n{result['message']}\n")
    click.echo(result["message"])
