"""The `mlops-ci` command line.

Sub-commands are loaded lazily from ``COMMANDS``, and ``main`` is the single
place where expected errors become a short message and an exit code:
0 ok, 1 a negative outcome (gate failed, drift, a stage failed), 2 bad input.

In GitHub Actions the group also masks every secret of the environment before any command runs
(so a value a library prints later is hidden in the log), and everything printed from an error is
redacted and cannot be read by the runner as a workflow command.
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
    "audit": "mlops_ci.commands.audit:audit",
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


def _in_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


_masked_at_startup = False


def _mask_secrets_once() -> None:
    """``::add-mask::`` for every secret in the environment, once per process, before any command.

    The MLflow tracking URI with credentials (the URI, its userinfo, the password), the MLflow
    password/token variables and every ``*_TOKEN`` / ``*_PASSWORD`` / ``*_SECRET`` value: whatever
    prints them later — MLflow's exception text, a stage's own output — shows ``***`` in the log.
    The values are never printed otherwise. They go to stderr, which the runner reads for commands
    too, so the stdout of `mlops-ci context` or `config schema` stays pure JSON.
    """
    global _masked_at_startup
    if _masked_at_startup or not _in_actions():
        return
    _masked_at_startup = True
    from mlops_ci.github.actions import escape_data
    from mlops_ci.redact import secret_values

    lines = [f"::add-mask::{escape_data(value)}" for value in secret_values()]
    if lines:
        sys.stderr.write("\n".join(lines) + "\n")
        sys.stderr.flush()


class _SafeLogFormatter(logging.Formatter):
    """Log lines without secrets, and (in Actions) without anything the runner would obey."""

    def format(self, record: logging.LogRecord) -> str:
        from mlops_ci.redact import redact

        return _printable(redact(super().format(record)))


def _printable(text: str) -> str:
    """Text for stdout/stderr: in Actions, lines that would be workflow commands are defused."""
    if not _in_actions():
        return text
    from mlops_ci.github.actions import defuse_workflow_commands

    return defuse_workflow_commands(text)


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
    _mask_secrets_once()
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    handler = logging.StreamHandler()
    handler.setFormatter(_SafeLogFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, handlers=[handler])


def _report_error(err: MlopsError) -> None:
    from mlops_ci.redact import redact

    text = redact(err.render())
    click.echo(_printable(f"mlops-ci: error: {text}"), err=True)
    if _in_actions():
        from mlops_ci.github.actions import error_annotation

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
        _show_click_error(exc)
        return 2 if isinstance(exc, click.UsageError) else exc.exit_code
    except MlopsError as err:
        if debug:
            import traceback

            from mlops_ci.redact import redact

            sys.stderr.write(_printable(redact(traceback.format_exc())))
        _report_error(err)
        return err.exit_code
    except KeyboardInterrupt:
        return 130
    except ModuleNotFoundError as exc:
        from mlops_ci.extras import MissingExtra, is_optional

        if not is_optional(exc.name) or debug:
            raise
        _report_error(MissingExtra([exc.name or ""], _command_words(argv)))
        return 2
    return result if isinstance(result, int) else 0


def _show_click_error(exc: click.ClickException) -> None:
    """Click's usage error, which quotes the arguments: redacted, and defused in Actions."""
    import io

    from mlops_ci.redact import redact

    buffer = io.StringIO()
    exc.show(file=buffer)
    sys.stderr.write(_printable(redact(buffer.getvalue())))
    sys.stderr.flush()


def _command_words(argv: list[str] | None) -> str:
    """`mlops-ci <command>` as typed, for messages."""
    words = [w for w in (argv if argv is not None else sys.argv[1:]) if w in COMMANDS]
    return " ".join(["mlops-ci", *words[:1]])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
