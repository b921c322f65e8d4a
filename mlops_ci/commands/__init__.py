"""One module per sub-command; each reads like a short story over the library.

Command modules import only light modules at top level: `mlops-ci --help` loads
every command to show its one-line help, and must not pay for mlflow, sklearn,
scipy, pandas or docker.
"""

from __future__ import annotations

from typing import Any, Callable

import click

ENV_PREFIX = "MLOPS_CI_"


def option(*param_decls: str, **attrs: Any) -> Callable:
    """A click option that can also be set from ``MLOPS_CI_<NAME>``.

    This is how composite actions pass their inputs: as environment variables,
    never by ``${{ }}`` interpolation into a shell script.
    """
    name = next((d for d in param_decls if d.startswith("--")), param_decls[0])
    name = name.split("/")[0].lstrip("-").replace("-", "_").upper()
    attrs.setdefault("envvar", ENV_PREFIX + name)
    attrs.setdefault("show_envvar", True)
    return click.option(*param_decls, **attrs)


def project_option() -> Callable:
    return option("--project-dir", "-C", default=".", show_default=True,
                  type=click.Path(file_okay=False, path_type=str),
                  help="Root of the user's repository (where .mlops-ci.yml and dvc.yaml live).")


def config_option() -> Callable:
    return option("--config", "config_path", default=None, type=click.Path(dir_okay=False, path_type=str),
                  help="Path to .mlops-ci.yml (default: <project-dir>/.mlops-ci.yml, if present).")
