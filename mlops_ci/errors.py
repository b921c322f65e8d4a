"""Errors the CLI turns into a one-paragraph message and an exit code.

Commands raise these instead of printing and exiting themselves, so the exit-code
contract lives in one place (``cli.main``): 2 for bad input or usage, 1 for a
legitimate negative outcome (a failed gate, drift found), and anything unexpected
is a bug that shows its traceback only with ``--debug``.
"""

from __future__ import annotations

from mlops_ci.redact import redact


class MlopsError(Exception):
    """Base class: an error we expected and can explain to the user.

    Message and hint are redacted (URI credentials, secret values) when the error is made and
    again when rendered: an error's text goes to comments, check runs and logs, and often quotes a
    library's exception that carries a URI with its password.
    """

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        message = redact(message)
        super().__init__(message)
        self.message = message
        self.hint = redact(hint) if hint else hint

    def render(self) -> str:
        return redact(f"{self.message}\n{self.hint}" if self.hint else self.message)


class BadInput(MlopsError):
    """The user's files, config or arguments are not what we need (exit 2).

    The message names the file / key / column and says what was expected.
    """

    exit_code = 2


class ConfigError(BadInput):
    """`.mlops-ci.yml` is invalid; carries file, line and key for annotations."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 key: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.file = file
        self.line = line
        self.key = key


class StepFailed(MlopsError):
    """An external step (a DVC stage, a deploy) ran and failed (exit 1)."""

    exit_code = 1
