"""Health check of a cached mlops-ci virtualenv, run BY that virtualenv's own interpreter.

    <venv>/bin/python check_venv.py VERSION EXTRAS PYTHON_X_Y

Exit 0 when the venv is usable: ``mlops_ci`` imports with ``__version__ == VERSION``, the
``mlops-ci`` distribution has that version, the interpreter is Python PYTHON_X_Y (empty: any),
and every requirement of ``mlops-ci[EXTRAS]`` is installed at a version that satisfies it.
Exit 1 otherwise, with the reason on stderr. Only the standard library (plus pip's vendored
``packaging`` when present) is used, so it runs in a half-installed venv too.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata

DIST = "mlops-ci"


def _requirement_parser():
    for mod in ("packaging.requirements", "pip._vendor.packaging.requirements"):
        try:
            module = __import__(mod, fromlist=["Requirement"])
            return module.Requirement
        except Exception:  # noqa: BLE001 - any import problem means "not available"
            continue
    return None


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _missing_requirements(extras: list[str]) -> list[str]:
    """Requirements of mlops-ci[extras] that are absent (or at a wrong version)."""
    requirement = _requirement_parser()
    problems: list[str] = []
    wanted = set(extras)
    seen: set[str] = set()
    while wanted - seen:
        extra = sorted(wanted - seen)[0]
        seen.add(extra)
        for spec in metadata.requires(DIST) or []:
            if requirement is not None:
                req = requirement(spec)
                if req.marker is not None and not req.marker.evaluate({"extra": extra}):
                    continue
                if req.marker is None and extra != "":
                    continue  # unconditional requirements are checked once, with extra ""
                name, req_extras, specifier = req.name, set(req.extras), req.specifier
            else:  # no packaging at all: a plain parse, presence only
                body, _, marker = spec.partition(";")
                mentioned = re.findall(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
                if (mentioned and extra not in mentioned) or (not mentioned and extra != ""):
                    continue
                match = re.match(r"\s*([A-Za-z0-9._-]+)\s*(?:\[([^\]]*)\])?", body)
                if not match:
                    continue
                name = match.group(1)
                req_extras = {e.strip() for e in (match.group(2) or "").split(",") if e.strip()}
                specifier = None
            if _normalize(name) == DIST:  # mlops-ci[mlflow,docker,...] refers to our own extras
                wanted |= req_extras
                continue
            try:
                installed = metadata.version(name)
            except metadata.PackageNotFoundError:
                problems.append(f"{name} is not installed (required by {DIST}[{extra}])" if extra
                                else f"{name} is not installed")
                continue
            if specifier is not None and not specifier.contains(installed, prereleases=True):
                problems.append(f"{name} {installed} does not satisfy {name}{specifier}")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print("usage: check_venv.py VERSION EXTRAS PYTHON_X_Y", file=sys.stderr)
        return 2
    version, extras_arg, python_xy = argv[1:]
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    if python_xy and running != python_xy:
        print(f"the venv runs Python {running}, Python {python_xy} was asked for", file=sys.stderr)
        return 1
    try:
        import mlops_ci
    except Exception as exc:  # noqa: BLE001 - a broken install fails in many ways
        print(f"cannot import mlops_ci: {exc!r}", file=sys.stderr)
        return 1
    found = getattr(mlops_ci, "__version__", None)
    if found != version:
        print(f"mlops_ci {found} is installed, {version} was asked for", file=sys.stderr)
        return 1
    try:
        dist_version = metadata.version(DIST)
    except metadata.PackageNotFoundError:
        print(f"the {DIST} distribution metadata is missing", file=sys.stderr)
        return 1
    if dist_version != version:
        print(f"the {DIST} distribution is {dist_version}, {version} was asked for", file=sys.stderr)
        return 1
    extras = [""] + [e.strip() for e in extras_arg.split(",") if e.strip()]
    problems = _missing_requirements(extras)
    if problems:
        for problem in problems[:20]:
            print(problem, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
