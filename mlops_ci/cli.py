"""The `mlops-ci` command line.

Sub-commands are loaded lazily from ``COMMANDS``, and ``main`` is the single
place where expected errors become a short message and an exit code:
0 ok, 1 a negative outcome (gate failed, drift, a stage failed), 2 bad input.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys

import click

from mlops_ci import __version__
from mlops_ci.errors import MlopsError

#: name -> "module:attribute". Only commands that work end to end are listed.
COMMANDS: dict[str, str] = {
    "version": "mlops_ci.commands.version:version",
    "config": "mlops_ci.commands.config:config",
    "context": "mlops_ci.commands.context:context",
    "demo": "mlops_ci.commands.demo:demo",
    "gate": "mlops_ci.commands.gate:gate",
    "metrics": "mlops_ci.commands.metrics:metrics",
    "promote": "mlops_ci.commands.promote:promote",
    "repro": "mlops_ci.commands.repro:repro",
    "register": "mlops_ci.commands.register:register",
    "report": "mlops_ci.commands.report:report",
    "publish": "mlops_ci.commands.publish:publish",
    "drift": "mlops_ci.commands.drift:drift",
    "profile": "mlops_ci.commands.profile:profile",
    "build": "mlops_ci.commands.build:build",
    "guard": "mlops_ci.commands.guard:guard",
    "bot": "mlops_ci.commands.bot:bot",
    "monitor": "mlops_ci.commands.monitor:monitor",
    "deploy": "mlops_ci.commands.deploy:deploy",
    "release": "mlops_ci.commands.release:release",
    "rollback": "mlops_ci.commands.rollback:rollback",
    "runner": "mlops_ci.commands.runner:runner",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        return getattr(importlib.import_module(module_name), attr)


def _debug_requested() -> bool:
    return os.environ.get("MLOPS_CI_DEBUG", "") not in ("", "0", "false") or os.environ.get("RUNNER_DEBUG") == "1"


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--debug", is_flag=True, envvar="MLOPS_CI_DEBUG", help="Verbose logs and full tracebacks.")
@click.version_option(__version__, "-V", "--version", prog_name="mlops-ci")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """mlops-ci: DVC pipelines on GPU runners, one sticky PR report, a champion-challenger gate.

    Every option can also be set through an environment variable MLOPS_CI_<OPTION>
    (shown in each command's --help); that is how the GitHub Actions pass inputs.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")


def _report_error(err: MlopsError) -> None:
    text = err.render()
    click.echo(f"mlops-ci: error: {text}", err=True)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        from mlops_ci.gha import error_annotation

        file = getattr(err, "file", None)
        line = getattr(err, "line", None)
        sys.stdout.write(error_annotation(text, file=file, line=line, title="mlops-ci") + "\n")
        sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; returns the process exit code."""
    debug = _debug_requested() or "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        # With standalone_mode=False click returns the code of a click.exceptions.Exit raised by a
        # command (how commands end non-zero after writing their outputs) instead of raising it.
        result = cli.main(args=argv, prog_name="mlops-ci", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return 2 if isinstance(exc, click.UsageError) else exc.exit_code
    except MlopsError as err:
        if debug:
            import traceback

            traceback.print_exc()
        _report_error(err)
        return err.exit_code
    except KeyboardInterrupt:
        return 130
    except ModuleNotFoundError as exc:
        extra = _OPTIONAL_MODULES.get((exc.name or "").split(".")[0])
        if extra is None or debug:
            raise
        from mlops_ci.errors import BadInput

        _report_error(BadInput(f"this command needs the Python package '{exc.name}', which is not installed",
                               hint=f"Install the '{extra}' extra: pip install 'mlops-ci[{extra}]' "
                                    "(or mlops-ci[all])."))
        return 2
    return result if isinstance(result, int) else 0


#: Optional dependencies (pyproject's extras): a command that needs one says which extra to install.
_OPTIONAL_MODULES = {"mlflow": "mlflow", "docker": "docker", "fastapi": "docker", "uvicorn": "docker",
                     "kubernetes": "kubernetes", "sklearn": "example", "dask": "distributed",
                     "torch": "gpu-example"}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
