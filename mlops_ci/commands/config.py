"""`mlops-ci config`: validate, describe and start `.mlops-ci.yml`."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import click

from mlops_ci.commands import config_option, option, project_option
from mlops_ci.errors import BadInput


@click.group()
def config() -> None:
    """Validate, describe (JSON Schema) or create .mlops-ci.yml."""


@config.command()
@project_option()
@config_option()
@option("--show", is_flag=True, help="Print the effective configuration (defaults filled in) as JSON.")
def validate(project_dir: str, config_path: str | None, show: bool) -> None:
    """Check .mlops-ci.yml; errors name the file, line and key."""
    from mlops_ci.config import load_config

    cfg = load_config(project_dir, config_path)
    if show:
        click.echo(json.dumps(cfg.model_dump(mode="json"), indent=2))
    if cfg.source:
        click.echo(f"{cfg.source}: valid", err=show)
    else:
        click.echo("no .mlops-ci.yml found: using the defaults", err=show)


@config.command()
@option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
        help="Write the schema to this file instead of stdout.")
def schema(output: Path | None) -> None:
    """Print the JSON Schema of .mlops-ci.yml (for editors and yaml-language-server)."""
    from mlops_ci.config import json_schema

    text = json.dumps(json_schema(), indent=2) + "\n"
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


@config.command()
@project_option()
@option("--force", is_flag=True, help="Overwrite an existing file.")
def init(project_dir: str, force: bool) -> None:
    """Write a commented starter .mlops-ci.yml (with gate, drift and contract examples); ignore .mlops-ci/ in git."""
    from mlops_ci.config import CONFIG_FILENAME

    target = Path(project_dir) / CONFIG_FILENAME
    if target.exists() and not force:
        raise BadInput(f"{target}: already exists; pass --force to overwrite it")
    text = resources.files("mlops_ci").joinpath("templates/mlops-ci.yml").read_text(encoding="utf-8")
    target.write_text(text, encoding="utf-8")
    click.echo(f"wrote {target}")
    if _ignore_local_state(Path(project_dir) / ".gitignore"):
        click.echo(f"added {LOCAL_STATE} to {Path(project_dir) / '.gitignore'}")


#: Where local runs keep their outputs, the embedded MLflow store and the demo's DVC remote.
LOCAL_STATE = ".mlops-ci/"


def _ignore_local_state(gitignore: Path) -> bool:
    """Add ``.mlops-ci/`` to .gitignore unless a line already ignores it; True when added."""
    try:
        text = gitignore.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    if any(line.strip().strip("/") == LOCAL_STATE.strip("/") for line in text.splitlines()):
        return False
    gitignore.write_text(text + ("" if not text or text.endswith("\n") else "\n") + LOCAL_STATE + "\n",
                         encoding="utf-8")
    return True
