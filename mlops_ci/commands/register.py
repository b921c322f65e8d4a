"""`mlops-ci register`: log the model trained on main, with its lineage, as a new version.

The work is :func:`mlops_ci.registry.register.register_model`; this command passes the options
in and writes the outputs (step outputs, registry.json, the job summary). The gate and
`promote` take it from there.
"""

from __future__ import annotations

import json
import os

import click

from mlops_ci.commands import config_option, option, project_option


@click.command()
@project_option()
@config_option()
@option("--model-name", default=None, help="Registered model name (default: config mlflow.model_name, else the "
        "repository name).")
@option("--alias", default="challenger", show_default=True, help="Alias to point at the new version.")
@option("--model-path", default=None, help="Model pickle (default: config registry.model_path).")
@option("--pr", "pr_number", type=int, default=None, help="PR the model came from (default: from the event or "
        "the merge commit's message).")
def register(project_dir: str, config_path: str | None, model_name: str | None, alias: str,
             model_path: str | None, pr_number: int | None) -> None:
    """Log the trained model to MLflow with lineage and set alias `challenger`."""
    from mlops_ci.registry.register import register_model
    from mlops_ci.workspace import open_workspace

    ws = open_workspace(project_dir, config_path, os.environ)
    result = register_model(ws, model_name=model_name, alias=alias, model_path=model_path, pr_number=pr_number)
    rt = ws.runtime
    for key in ("model-name", "model-version", "run-id", "model-uri"):
        rt.set_output(key, str(result[key]))
    rt.write_file("registry.json", json.dumps(result, indent=2) + "\n")
    rt.append_summary(f"### Model registered\n\n`{result['model-name']}` version **{result['model-version']}** "
                      f"(alias `{alias}`), run `{result['run-id']}`, {len(result['lineage'])} lineage tags.\n")
    again = " (already registered from this commit: no new version)" if result.get("reused") else ""
    click.echo(f"registered {result['model-name']} v{result['model-version']} as @{alias} "
               f"(run {result['run-id']}){again}")
