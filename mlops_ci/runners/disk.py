"""Disk facts for the runner doctor: free space, and the DVC cache's size and writability.

A GPU runner that fills its disk fails late and confusingly (a half-written
checkpoint, a `dvc pull` that dies after 20 minutes), so the doctor measures
up front. Counting the cache is bounded: a multi-terabyte cache must not make
the doctor slower than the job it protects.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from mlops_ci.runners.doctor import CacheFacts, DiskUsage

#: Stop counting the DVC cache after this many entries (the size is then a lower bound).
MAX_ENTRIES = 200_000

_SECTION = re.compile(r"^\s*\[(?P<name>[^\]]+)\]\s*$")
_KEY = re.compile(r"^\s*(?P<key>[A-Za-z_][\w.-]*)\s*=\s*(?P<value>.*?)\s*$")


def disk_usage(path: str | os.PathLike[str]) -> DiskUsage:
    """Free space of the filesystem holding ``path`` (or its nearest existing parent)."""
    target = _existing(Path(path))
    usage = shutil.disk_usage(target)
    return DiskUsage(str(Path(path)), usage.total, usage.free)


def cache_dir_from_config(text: str) -> str | None:
    """``[cache] dir = …`` from a DVC config file (configobj syntax, keys usually indented)."""
    section = None
    for line in text.splitlines():
        if line.strip().startswith(("#", ";")):
            continue
        if m := _SECTION.match(line):
            section = m["name"].strip().strip("'\"")
        elif section == "cache" and (m := _KEY.match(line)) and m["key"] == "dir":
            return m["value"].strip("'\"") or None
    return None


def find_dvc_cache(project: Path, explicit: str | None = None) -> tuple[Path, str] | None:
    """Where this DVC project keeps its cache, and which file said so; None outside a DVC project.

    Relative `cache.dir` values are relative to the `.dvc` directory, as DVC resolves them.
    Global and system DVC configs are not read: pass ``explicit`` (`--dvc-cache`) for those setups.
    """
    if explicit:
        return Path(explicit), "--dvc-cache"
    dvc_dir = project / ".dvc"
    if not dvc_dir.is_dir():
        return None
    for name in ("config.local", "config"):
        file = dvc_dir / name
        if file.is_file():
            value = cache_dir_from_config(file.read_text(encoding="utf-8", errors="replace"))
            if value:
                path = Path(os.path.expanduser(value))
                return (path if path.is_absolute() else (dvc_dir / path)).resolve(), f".dvc/{name}"
    return (dvc_dir / "cache").resolve(), "default"


def inspect_cache(path: Path, source: str, max_entries: int = MAX_ENTRIES) -> CacheFacts:
    facts = CacheFacts(str(path), source, exists=path.is_dir())
    try:
        facts.free_bytes = shutil.disk_usage(_existing(path)).free
    except OSError as exc:
        facts.problem = f"cannot stat the filesystem of {path}: {exc}"
        return facts
    if facts.exists:
        facts.size_bytes, facts.files, facts.truncated = _measure(path, max_entries)
    facts.writable = _writable(path if facts.exists else _existing(path))
    if not facts.writable:
        facts.problem = f"the DVC cache {path} is not writable by this user (uid {os.getuid()})"
    return facts


def _existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _measure(root: Path, max_entries: int) -> tuple[int, int, bool]:
    size = files = seen = 0
    stack = [root]
    while stack:
        current = stack.pop()
        try:
            with os.scandir(current) as entries:
                for entry in entries:
                    seen += 1
                    if seen > max_entries:
                        return size, files, True
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(Path(entry.path))
                        elif entry.is_file(follow_symlinks=False):
                            size += entry.stat(follow_symlinks=False).st_size
                            files += 1
                    except OSError:
                        continue
        except OSError:
            continue
    return size, files, False


def _writable(directory: Path) -> bool:
    """Really create a file: ``os.access`` is wrong on read-only mounts and for root-squashed NFS."""
    try:
        fd, name = tempfile.mkstemp(prefix=".mlops-ci-doctor-", dir=directory)
    except OSError:
        return False
    os.close(fd)
    os.unlink(name)
    return True
