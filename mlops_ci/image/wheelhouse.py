"""A local wheelhouse for the serving image, made with `pip download` on the build host.

The image build itself needs no network: wheels for the image's Python and
platform are fetched here (honouring the host's pip configuration — index,
mirrors, certificates — exactly as `pip install` would), cached under a key of
the requirements and the target, and copied into the build context. Same
requirements, same wheels, same build-context bytes: the engine's layer cache
then skips the install step entirely.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterable, Mapping

from mlops_ci.errors import BadInput, StepFailed

#: manylinux tags a Debian bookworm / python:3.x-slim image (glibc 2.36) can run.
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64",
             "linux_x86_64")
_DONE = ".complete"


def cache_root(env: Mapping[str, str]) -> Path:
    base = env.get("MLOPS_CI_CACHE") or os.path.join(env.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
                                                     "mlops-ci")
    return Path(base) / "wheelhouse"


def wheelhouse(requirements: Iterable[str], python_version: str, env: Mapping[str, str],
               pip_version: str | None = None) -> Path:
    """A directory holding every wheel the requirements need, plus pip's own wheel."""
    reqs = sorted(set(requirements))
    pip_req = f"pip=={pip_version}" if pip_version else "pip"
    key = hashlib.sha256("\n".join([python_version, *PLATFORMS, pip_req, *reqs]).encode()).hexdigest()[:16]
    target = cache_root(env) / f"py{python_version}-{key}"
    if (target / _DONE).is_file():
        return target
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    platform_args = [arg for p in PLATFORMS for arg in ("--platform", p)]
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--dest", str(tmp),
           "--only-binary=:all:", "--python-version", python_version, "--implementation", "cp",
           *platform_args, pip_req, *reqs]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(env))
    if proc.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        errors = [ln for ln in proc.stderr.splitlines() if "is ignored: it is neither" not in ln]
        raise StepFailed(f"pip download of the serving requirements failed for Python {python_version}:\n"
                         + "\n".join(errors[-15:]),
                         hint="Every requirement needs a wheel for linux x86_64 (no sdists are built into the "
                              "image); pin a version that has one.")
    (tmp / _DONE).write_text("\n".join(reqs) + "\n")
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)
    return target


def pip_wheel(directory: Path) -> str:
    found = sorted(p.name for p in directory.glob("pip-*.whl"))
    if not found:
        raise BadInput(f"{directory}: no pip wheel in the wheelhouse")
    return found[-1]


def copy_wheels(source: Path, dest: Path) -> list[str]:
    """Hard-link (or copy) the wheels into the build context; returns their names."""
    dest.mkdir(parents=True, exist_ok=True)
    names = []
    for wheel in sorted(source.glob("*.whl")):
        target = dest / wheel.name
        try:
            os.link(wheel, target)
        except OSError:
            shutil.copy2(wheel, target)
        names.append(wheel.name)
    return names
