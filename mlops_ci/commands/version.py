"""`mlops-ci version`: the toolkit version and the versions of the tools it drives."""

from __future__ import annotations

import json
import platform

import click

from mlops_ci import __version__
from mlops_ci.commands import option

_COMPONENTS = ("dvc", "mlflow", "pygithub", "docker", "scikit-learn", "pandas", "pyarrow", "scipy")


def _installed(dist: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


@click.command()
@option("--all", "show_all", is_flag=True, help="Also list the versions of DVC, MLflow and friends.")
@option("--json", "as_json", is_flag=True, help="Print JSON.")
def version(show_all: bool, as_json: bool) -> None:
    """Print the mlops-ci version."""
    info: dict[str, object] = {"mlops-ci": __version__}
    if show_all:
        info["python"] = platform.python_version()
        info.update({name: _installed(name) for name in _COMPONENTS})
    if as_json:
        click.echo(json.dumps(info, indent=2))
    elif show_all:
        for name, ver in info.items():
            click.echo(f"{name} {ver or 'not installed'}")
    else:
        click.echo(__version__)
