"""Optional dependencies (pyproject's extras): what to install when a command needs one that is missing.

`pip install mlops-ci` is the core; MLflow, Docker, Kubernetes, scikit-learn (the bundled example)
and dask come with extras. A command that reaches for a missing one must not end in a traceback
or a vague registry error: it stops with exit 2 and one line naming the package and the
`pip install "mlops-ci[...]"` that brings it.
"""

from __future__ import annotations

import importlib.util
from typing import Iterable

from mlops_ci.errors import BadInput

#: importable module -> the extra that installs it
EXTRA_FOR_MODULE = {"mlflow": "mlflow", "docker": "docker", "fastapi": "docker", "uvicorn": "docker",
                    "skl2onnx": "docker", "onnxruntime": "docker", "kubernetes": "kubernetes",
                    "sklearn": "example", "dask": "distributed", "torch": "gpu-example"}
#: importable module -> its name on the package index, where they differ
PACKAGE_FOR_MODULE = {"sklearn": "scikit-learn"}


class MissingExtra(BadInput):
    """A module of an extra is not installed (exit 2): the message says what to install, on one line."""

    def __init__(self, modules: Iterable[str], purpose: str) -> None:
        tops = list(dict.fromkeys(m.split(".")[0] for m in modules))
        extras = sorted({EXTRA_FOR_MODULE.get(m, "all") for m in tops})
        packages = " and ".join(f"'{PACKAGE_FOR_MODULE.get(m, m)}'" for m in tops)
        verb = "is" if len(tops) == 1 else "are"
        also = "" if extras == ["all"] else ' (or "mlops-ci[all]" for every command)'
        super().__init__(f"{purpose} needs {packages}, which {verb} not installed: "
                         f'pip install "mlops-ci[{",".join(extras)}]"{also}')
        self.modules, self.extras = tops, extras


def is_optional(module: str | None) -> bool:
    return (module or "").split(".")[0] in EXTRA_FOR_MODULE


def missing(modules: Iterable[str]) -> list[str]:
    """The modules that cannot be imported here (looked up, not imported: no import cost)."""
    out = []
    for module in modules:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            out.append(module)
    return out


def require(modules: Iterable[str], purpose: str) -> None:
    """Raise :class:`MissingExtra` naming every module of ``modules`` that is not installed."""
    absent = missing(modules)
    if absent:
        raise MissingExtra(absent, purpose)
