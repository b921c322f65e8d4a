"""Paths that come from the repository must stay inside it.

dvc.yaml, `.mlops-ci.yml` and the data settings are written by whoever opened the pull
request. A metrics path like ``../../home/runner/.credentials`` or ``/proc/self/environ``,
or a committed symlink that points there, would otherwise make the toolkit read a file
outside the checkout and quote it in a PR comment or a check run. So a path read from
the repository is refused when it is absolute, when ``..`` climbs out of the repository,
or when, on disk, it resolves (symlinks followed) to somewhere outside it.

Paths typed on the command line (``--challenger-metrics FILE``, ``drift --current FILE``)
are the caller's own choice and do not come through here.
"""

from __future__ import annotations

import os

from mlops_ci.errors import BadInput


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def escapes(path: str, base: str | os.PathLike[str], boundary: str | os.PathLike[str]) -> bool:
    """Whether ``path`` (relative to ``base``) is absolute or climbs out of ``boundary`` — by its text alone."""
    if os.path.isabs(path) or path.startswith("~"):
        return True
    joined = os.path.normpath(os.path.join(os.path.abspath(base), path))
    return not _within(joined, os.path.normpath(os.path.abspath(boundary)))


def resolves_outside(path: str, base: str | os.PathLike[str], boundary: str | os.PathLike[str]) -> bool:
    """Whether ``path`` on disk, symlinks followed, lies outside ``boundary``."""
    real = os.path.realpath(os.path.join(base, path))
    return not _within(real, os.path.realpath(boundary))


def require_inside(path: str, base: str | os.PathLike[str], boundary: str | os.PathLike[str], what: str, *,
                   on_disk: bool = True) -> None:
    """Raise :class:`BadInput` naming ``path`` when it leaves the repository (``on_disk``: follow symlinks too)."""
    if escapes(path, base, boundary):
        raise BadInput(f"{path}: {what} is outside the repository",
                       hint="Files named in dvc.yaml and .mlops-ci.yml are read from the repository only: use a "
                            "path relative to it, without '..' leaving it.")
    if on_disk and resolves_outside(path, base, boundary):
        raise BadInput(f"{path}: {what} is outside the repository (a symlink leads there)",
                       hint="Files named in dvc.yaml and .mlops-ci.yml are read from the repository only; "
                            "commit the file itself rather than a link to it.")
