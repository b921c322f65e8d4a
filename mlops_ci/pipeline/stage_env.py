"""The environment `dvc repro` — and so every DVC stage, the pull request's own code — runs with.

Stages are whatever the pull request put in dvc.yaml and its scripts. Whatever they inherit, the PR
author can read: the job's GitHub token, the runner's OIDC/cache/runtime tokens, database URLs with
passwords. Worse, ``GITHUB_ENV`` and ``GITHUB_PATH`` let a stage write ``BASH_ENV=…`` or a PATH entry
that every later step of the job — the steps that do hold the token — would obey (security review F8).

So `dvc repro` gets a scrubbed copy of the environment:

* never handed over, whatever the config says: GitHub's tokens (``GITHUB_TOKEN``, ``GH_TOKEN``,
  ``MLOPS_CI_GITHUB_TOKEN``), the runner's files (``GITHUB_ENV``, ``GITHUB_PATH``, ``GITHUB_OUTPUT``,
  ``GITHUB_STATE``, ``GITHUB_STEP_SUMMARY``) and everything ``ACTIONS_*`` (runtime, OIDC, cache, results);
* withheld unless listed in ``repro.pass_env``: any name containing TOKEN, PASSWORD or SECRET (any
  case), and any value holding URI credentials (``scheme://user:pass@…``).

The floor exists because ``.mlops-ci.yml`` is part of the pull request: a PR that lists ``*`` gets
its own remote credentials back, never the job's token or the runner's files.

`dvc pull` / `dvc push` keep the full environment: they run no stage commands, and they need the
remote's credentials.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Iterable, Mapping

from mlops_ci.redact import has_uri_credentials

#: Never handed to stages, even when ``repro.pass_env`` names them.
NEVER_PASSED = frozenset({"GITHUB_TOKEN", "GH_TOKEN", "MLOPS_CI_GITHUB_TOKEN", "GITHUB_ENV", "GITHUB_PATH",
                          "GITHUB_OUTPUT", "GITHUB_STATE", "GITHUB_STEP_SUMMARY"})
NEVER_PASSED_PREFIXES = ("ACTIONS_",)
#: A name containing one of these (any case) looks like a secret.
SECRET_WORDS = ("TOKEN", "PASSWORD", "SECRET")


def never_passed(name: str) -> bool:
    return name in NEVER_PASSED or name.startswith(NEVER_PASSED_PREFIXES)


def looks_secret(name: str, value: str) -> bool:
    upper = name.upper()
    return any(word in upper for word in SECRET_WORDS) or has_uri_credentials(value)


def scrub(env: Mapping[str, str], pass_env: Iterable[str] = ()) -> tuple[dict[str, str], list[str]]:
    """(the environment for `dvc repro`, the sorted names withheld from it — never their values)."""
    patterns = list(pass_env)
    kept: dict[str, str] = {}
    withheld: list[str] = []
    for name, value in env.items():
        listed = any(fnmatchcase(name, pattern) for pattern in patterns)
        if never_passed(name) or (looks_secret(name, value) and not listed):
            withheld.append(name)
        else:
            kept[name] = value
    return kept, sorted(withheld)


def withheld_line(names: list[str]) -> str:
    """The one log line naming what the stages did not get (names only)."""
    return (f"dvc repro: withheld from the stages' environment: {', '.join(names)} "
            "(to hand a variable to the stages anyway, list it under repro.pass_env in .mlops-ci.yml; "
            "GitHub's tokens, ACTIONS_* and the runner's GITHUB_ENV/PATH/OUTPUT/STATE/STEP_SUMMARY never go)")


def with_interpreter_on_path(env: Mapping[str, str], executable: str | None = None,
                             prefix: str | None = None) -> dict[str, str]:
    """``env`` with the directory of the interpreter running mlops-ci first on PATH.

    A stage's ``cmd: python train.py`` then finds the interpreter that has the project's packages
    even when mlops-ci was started by its full path, without its virtualenv on PATH (as after
    `mlops-ci demo`). Not when another environment is active (``VIRTUAL_ENV`` / ``CONDA_PREFIX``
    naming something else than the one running mlops-ci): its ``python`` is the user's choice.
    """
    import os
    import sys

    executable = executable or sys.executable
    prefix = os.path.realpath(prefix or sys.prefix)
    out = dict(env)
    active = [env.get(name) for name in ("VIRTUAL_ENV", "CONDA_PREFIX") if env.get(name)]
    if not executable or any(os.path.realpath(str(path)) != prefix for path in active):
        return out
    directory = os.path.dirname(executable)
    entries = [e for e in out.get("PATH", "").split(os.pathsep) if e]
    if entries[:1] != [directory]:
        out["PATH"] = os.pathsep.join([directory, *entries])
    return out
