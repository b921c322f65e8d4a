"""Health check and tamper check of a cached mlops-ci virtualenv.

    <venv>/bin/python check_venv.py VERSION EXTRAS PYTHON_X_Y
    python3 -I check_venv.py --write-manifest VENV
    python3 -I check_venv.py --verify-manifest VENV RECORD_DIGEST ENTRY_DIGEST

Health check, run BY the venv's own interpreter: exit 0 when the venv is usable: ``mlops_ci``
imports with ``__version__ == VERSION``, the ``mlops-ci`` distribution has that version, the
interpreter is Python PYTHON_X_Y (empty: any), and every requirement of ``mlops-ci[EXTRAS]`` is
installed at a version that satisfies it. Exit 1 otherwise, with the reason on stderr. Only the
standard library (plus pip's vendored ``packaging`` when present) is used, so it runs in a
half-installed venv too.

Manifest (security review F5), run by the SYSTEM interpreter with ``-I`` - never by the venv's
own, which is what is being checked:

- ``--write-manifest`` records every file of the venv with its sha256 (and every symlink with its
  target) in ``VENV/.mlops-ci-manifest`` and prints the manifest's own sha256. Each file's
  device, inode, size and ctime are recorded too.
- ``--verify-manifest`` exits 0 when the manifest's sha256 equals both digests given (the copy
  in ``.mlops-ci-setup`` and the one outside the venv, in the cache entry) and the venv holds
  exactly the recorded files, links and contents: a changed, removed or added file - an extra
  ``*.pth``, ``sitecustomize``, ``usercustomize``, a ``.pyc`` - fails it, with the first few
  paths on stderr. A file whose (device, inode, size, ctime) is the recorded one is not hashed
  again: an unprivileged user cannot write to a file, or replace it, without the kernel setting
  its ctime to the present. ``MLOPS_CI_SETUP_VERIFY=full`` hashes every file anyway.

Ownership is the boundary, not this check: whoever can write the venv and the cache entry can
also rewrite the manifest and both of its digests. What it catches is a venv changed after it was
built by anyone who did not also rewrite those three.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from importlib import metadata

DIST = "mlops-ci"
MANIFEST = ".mlops-ci-manifest"
RECORD = ".mlops-ci-setup"  # written by setup.sh; holds the manifest's digest, so it is not in it
MANIFEST_FORMAT = "mlops-ci-venv-manifest/1"
SHOWN = 3  # paths named in a failure


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


# ---- manifest ----------------------------------------------------------------------------------
# {"format": MANIFEST_FORMAT,
#  "files": {"bin/mlops-ci": [sha256, st_dev, st_ino, st_size, st_ctime_ns], ...},
#  "links": {"bin/python": "/usr/bin/python3.12", ...},
#  "other": {"path": st_mode, ...}}          (fifos, sockets, devices: none in a healthy venv)
# Paths are relative to the venv, "/"-separated; directories are not listed (a new file in one is).

def _sha256(path: str) -> str:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with open(fd, "rb", buffering=0) as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _entries(root: str):
    """(relative path, DirEntry) of everything below root except directories and our two records."""
    pending = [("", root)]
    while pending:
        prefix, directory = pending.pop()
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    pending.append((prefix + entry.name + "/", entry.path))
                elif prefix or entry.name not in (MANIFEST, RECORD):
                    yield prefix + entry.name, entry


def write_manifest(venv: str) -> int:
    files: dict[str, list] = {}
    links: dict[str, str] = {}
    other: dict[str, int] = {}
    for rel, entry in _entries(venv):
        if entry.is_symlink():
            links[rel] = os.readlink(entry.path)
            continue
        st = entry.stat(follow_symlinks=False)
        if entry.is_file(follow_symlinks=False):
            files[rel] = [_sha256(entry.path), st.st_dev, st.st_ino, st.st_size, st.st_ctime_ns]
        else:
            other[rel] = st.st_mode
    body = json.dumps({"format": MANIFEST_FORMAT, "files": files, "links": links, "other": other},
                      sort_keys=True, separators=(",", ":")).encode()
    path = os.path.join(venv, MANIFEST)
    temporary = f"{path}.{os.getpid()}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o444)
    with open(fd, "wb") as f:
        f.write(body)
    os.replace(temporary, path)
    print(hashlib.sha256(body).hexdigest())
    return 0


def _compare(venv: str, manifest: dict, full: bool) -> tuple[list[str], int, int]:
    """("changed: path", ...) sorted by path, files checked, files hashed - in one walk of the venv.

    A file whose (device, inode, size, ctime) is the recorded one is not read again unless full.
    """
    files, links, other = manifest.get("files", {}), manifest.get("links", {}), manifest.get("other", {})
    problems: list[tuple[str, str]] = []
    to_hash: list[tuple[str, str, object]] = []
    seen = 0
    for rel, entry in _entries(venv):
        record = files.get(rel)
        if record is not None and entry.is_file(follow_symlinks=False):
            seen += 1
            st = entry.stat(follow_symlinks=False)
            if full or not isinstance(record, list) or len(record) != 5 \
                    or record[1] != st.st_dev or record[2] != st.st_ino or record[3] != st.st_size \
                    or record[4] != st.st_ctime_ns:
                to_hash.append((rel, entry.path, record))
        elif rel in links and entry.is_symlink():
            seen += 1
            if os.readlink(entry.path) != links[rel]:
                problems.append((rel, "changed"))
        elif rel in other and not entry.is_symlink() and not entry.is_file(follow_symlinks=False):
            seen += 1
            if entry.stat(follow_symlinks=False).st_mode != other[rel]:
                problems.append((rel, "changed"))
        elif rel in files or rel in links or rel in other:
            seen += 1
            problems.append((rel, "changed"))  # a file became a link, or the other way round
        else:
            problems.append((rel, "added"))
    if seen != len(files) + len(links) + len(other):
        present = {rel for rel, _ in _entries(venv)}
        problems += [(rel, "removed") for rel in (*files, *links, *other) if rel not in present]
    hashed = 0
    for rel, path, record in sorted(to_hash):
        if len(problems) > SHOWN:
            break  # it is rebuilt anyway; naming a few is enough
        hashed += 1
        try:
            digest = _sha256(path)
        except OSError:
            digest = ""
        if not isinstance(record, list) or not record or digest != record[0]:
            problems.append((rel, "changed"))
    return [f"{what}: {rel}" for rel, what in sorted(problems)], len(files), hashed


def verify_manifest(venv: str, expected: dict[str, str]) -> int:
    def fail(*reasons: str) -> int:
        shown = ", ".join(reasons[:SHOWN])
        more = f" and {len(reasons) - SHOWN} more" if len(reasons) > SHOWN else ""
        print(shown + more, file=sys.stderr)
        return 1

    try:
        fd = os.open(os.path.join(venv, MANIFEST), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        with open(fd, "rb") as f:
            body = f.read()
    except OSError as exc:
        return fail(f"its manifest {MANIFEST} cannot be read ({exc.strerror})")
    digest = hashlib.sha256(body).hexdigest()
    for where, want in expected.items():
        if not want:
            return fail(f"the manifest's digest is missing from {where}")
        if want != digest:
            return fail(f"{MANIFEST} does not match the digest in {where}")
    try:
        manifest = json.loads(body)
    except ValueError:
        return fail(f"{MANIFEST} is not valid JSON")
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        return fail(f"{MANIFEST} is not a {MANIFEST_FORMAT} manifest")
    full = os.environ.get("MLOPS_CI_SETUP_VERIFY", "") == "full"
    problems, checked, hashed = _compare(venv, manifest, full)
    if problems:
        return fail(*problems)
    links = len(manifest.get("links", {}))
    print(f"{checked} files and {links} links match its manifest; {hashed} files hashed")
    return 0


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[1] == "--write-manifest":
        return write_manifest(argv[2])
    if len(argv) == 5 and argv[1] == "--verify-manifest":
        return verify_manifest(argv[2], {".mlops-ci-setup": argv[3], "the cache entry": argv[4]})
    if len(argv) != 4:
        print("usage: check_venv.py VERSION EXTRAS PYTHON_X_Y | --write-manifest VENV"
              " | --verify-manifest VENV RECORD_DIGEST ENTRY_DIGEST", file=sys.stderr)
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
