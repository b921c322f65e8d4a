"""One definition of what a secret looks like in text we show, and one way to hide it.

Why a single module: secrets reach our text from places we do not write. MLflow puts the whole
tracking URI, credentials included, into its exception messages; a dropped connection or a 500 then
carried ``http://user:password@host`` into a PR comment, a check run, the job summary and the log
(security review F7). ``::add-mask::`` cannot help there: it hides values in the job *log* only,
while comments, check runs, issues, summaries and artifacts are API content the runner never sees.
So every sink (``MlopsError``, the CLI's error line, the GitHub adapter's request bodies, the
Actions runtime) calls :func:`redact` on its way out, and a new code path cannot forget it.

What counts as a secret:

* the userinfo of any URI (``scheme://user:pass@host``, ``scheme://token@host``) → ``scheme://***@host``;
* the values of environment variables named like secrets (``*_TOKEN``, ``*_PASSWORD``, ``*_SECRET``
  and a few well-known names), and the userinfo of ``MLFLOW_TRACKING_URI``/``MLFLOW_REGISTRY_URI``,
  wherever they appear literally — shorter than 4 characters or boolean-like values excepted, which
  would blank out ordinary words.

Imports only the standard library: the CLI uses it before any command runs (masks) and
``mlops-ci --help`` must stay fast.
"""

from __future__ import annotations

import os
import re
from typing import Any, Iterable, Mapping
from urllib.parse import unquote

MASK = "***"

#: Userinfo of a URI: after ``://``, up to the last ``@`` before the host. It stops at whitespace,
#: quotes, ``/ ? #`` and brackets, so ``http://host/path?a=b@c`` and ``user@example.com`` are left alone.
_USERINFO = re.compile(r"(?<=://)[^\s/?#\"'`<>()\[\]{}]+@")

#: Suffixes of environment variable names whose values are secrets (case-insensitive).
SECRET_SUFFIXES = ("_TOKEN", "_PASSWORD", "_SECRET")
#: Secret variables whose names do not end in one of the suffixes.
SECRET_NAMES = frozenset({"MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN", "AWS_SECRET_ACCESS_KEY"})
#: Variables holding a URI whose userinfo is a secret.
URI_NAMES = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
MIN_SECRET_LENGTH = 4
#: Values too common to hide: ``FOO_TOKEN=true`` must not turn every "true" into ***.
_NOT_SECRETS = frozenset({"true", "false", "none", "null", "undefined"})


def has_uri_credentials(text: str) -> bool:
    """True when ``text`` holds a URI with userinfo (``scheme://user:pass@`` or ``scheme://token@``)."""
    return _USERINFO.search(text) is not None


def is_secret_name(name: str) -> bool:
    upper = name.upper()
    return upper in SECRET_NAMES or upper.endswith(SECRET_SUFFIXES)


def _plausible(value: str) -> bool:
    value = value.strip()
    return len(value) >= MIN_SECRET_LENGTH and value.lower() not in _NOT_SECRETS


def uri_secrets(uri: str) -> list[str]:
    """What to hide of a URI with credentials: the URI, its userinfo, the password (also decoded)."""
    match = _USERINFO.search(uri or "")
    if match is None:
        return []
    userinfo = match.group(0)[:-1]
    found = [uri, userinfo]
    if ":" in userinfo:
        password = userinfo.split(":", 1)[1]
        found += [password, unquote(password)]
    else:  # scheme://token@host: the whole userinfo is the token
        found.append(unquote(userinfo))
    return found


def secret_values(env: Mapping[str, str] | None = None) -> list[str]:
    """The secret values found in ``env`` (default: the process environment), each line of a
    multi-line value on its own, without duplicates, in a stable order (what ``::add-mask::`` gets)."""
    env = os.environ if env is None else env
    found: list[str] = []
    for name, value in env.items():
        if not value:
            continue
        if is_secret_name(name):
            found += value.splitlines() or [value]
        elif name.upper() in URI_NAMES:
            found += uri_secrets(value)
    return [v for v in dict.fromkeys(found) if _plausible(v)]


class Redactor:
    """Replaces URI userinfo and known secret values; build one per batch of strings."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # longest first, so a value that contains another is replaced whole
        self.secrets = sorted({s for s in secrets if s and _plausible(s)}, key=len, reverse=True)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, extra: Iterable[str] = ()) -> "Redactor":
        return cls([*secret_values(env), *extra])

    def text(self, value: str) -> str:
        # userinfo first: "http://***@host" says more than a URI blanked out whole
        value = _USERINFO.sub(MASK + "@", value)
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return value

    def data(self, value: Any) -> Any:
        """Every string inside JSON-like data (dict values, list items), redacted; keys are ours."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.data(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.data(v) for v in value]
        return value


def redact(text: str, env: Mapping[str, str] | None = None) -> str:
    """``text`` without URI credentials or secret values from ``env`` (default: the process environment)."""
    if not text:
        return text
    return Redactor.from_env(env).text(text)


def redact_data(value: Any, env: Mapping[str, str] | None = None) -> Any:
    """:func:`redact` for every string in a JSON body."""
    return Redactor.from_env(env).data(value)


def describe(exc: BaseException) -> str:
    """An exception as one redacted text: ours render themselves, others as ``Type: message``.

    The single replacement for ``f"{type(exc).__name__}: {exc}"`` wherever an error becomes text
    someone will read (a check run, a reply, a verdict).
    """
    from mlops_ci.errors import MlopsError

    text = exc.render() if isinstance(exc, MlopsError) else f"{type(exc).__name__}: {exc}"
    return redact(text)
