"""The fork-PR hand-over: a report packed as an artifact, posted later by a trusted job.

A fork's `pull_request` run has a read-only token, so it cannot comment. It
writes this payload instead; a `workflow_run` job (which has write access and
never runs PR code) reads it back and posts it — after checking it belongs to
the commit that run actually built. Everything in the payload is untrusted.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_ci.errors import BadInput
from mlops_ci.report.model import COMMENT_LIMIT

if TYPE_CHECKING:
    from mlops_ci.github.context import RunContext

PAYLOAD_FILE = "mlops-ci-payload.json"
BODY_FILE = "comment.md"
GATE_FILE = "gate.json"
GATE_LIMIT = 5_000_000  # a verdict is kilobytes; anything this large is not one
PAYLOAD_LIMIT = 64 * 1024  # a dozen short fields
BODY_LIMIT = 4 * COMMENT_LIMIT  # bytes: 65,536 characters of up to 4 bytes each
_MISSING = "missing; expected the directory written by `mlops-ci report --to-artifact` (download the artifact first)"
VERSION = 1


@dataclass
class Payload:
    repository: str | None
    pull_request: int | None
    head_sha: str | None
    marker_id: str
    mode: str
    hide_previous: bool
    body: str
    #: The gate's verdict (gate.json) when the run evaluated one: the publishing job reports it as
    #: the check run the fork's read-only token could not create. Untrusted like the rest.
    gate: dict | None = None


def write_payload(directory: Path, *, body: str, marker_id: str, context: "RunContext", mode: str,
                  hide_previous: bool, gate_verdict: Path | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / BODY_FILE).write_text(body, encoding="utf-8")
    pr = context.pull_request
    meta = {"version": VERSION, "repository": context.repository, "pull_request": pr.number if pr else None,
            "head_sha": (pr.head_sha if pr else None) or context.head_sha, "marker_id": marker_id, "mode": mode,
            "hide_previous": hide_previous, "body_file": BODY_FILE}
    if gate_verdict is not None and gate_verdict.is_file():
        (directory / GATE_FILE).write_bytes(gate_verdict.read_bytes())
        meta["gate_file"] = GATE_FILE
    path = directory / PAYLOAD_FILE
    path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return path


def read_payload(directory: Path) -> Payload:
    """The payload in ``directory``, read as hostile input; anything unexpected is :class:`BadInput` (exit 2).

    The artifact was written by a fork's run, so every file may be a trap: a symlink to
    ``/proc/self/environ`` (the publishing job's token would be posted), a FIFO or ``/dev/zero`` (a
    read that never ends), a huge or deeply nested JSON (memory, RecursionError). Files are opened
    without following links, must be regular files and are read up to a cap; the payload names no
    path we open — the file names are fixed here.
    """
    _require_directory(directory)
    path = directory / PAYLOAD_FILE
    meta = _json(path, read_capped(path, PAYLOAD_LIMIT))
    if not isinstance(meta, dict) or meta.get("version") != VERSION:
        raise BadInput(f"{path}: unsupported payload version {meta.get('version') if isinstance(meta, dict) else '?'}"
                       f"; expected {VERSION}")
    body_path = directory / BODY_FILE
    try:
        body = read_capped(body_path, BODY_LIMIT).decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"{body_path}: not UTF-8 text") from None
    number = meta.get("pull_request")
    sha = meta.get("head_sha")
    if number is not None and (not isinstance(number, int) or isinstance(number, bool) or number < 1):
        raise BadInput(f"{path}: pull_request must be a positive number")
    if sha is not None and (not isinstance(sha, str) or len(sha) != 40 or any(c not in "0123456789abcdef" for c in sha)):
        raise BadInput(f"{path}: head_sha must be a 40-character commit SHA")
    repository = meta.get("repository")
    if repository is not None and (not isinstance(repository, str) or repository.count("/") != 1):
        raise BadInput(f"{path}: repository must be owner/name")
    mode = meta.get("mode", "update")
    if mode not in ("update", "recreate", "append"):
        raise BadInput(f"{path}: mode must be update, recreate or append")
    if not isinstance(meta.get("hide_previous", False), bool):
        raise BadInput(f"{path}: hide_previous must be true or false")
    if len(body) > COMMENT_LIMIT:
        raise BadInput(f"{body_path}: {len(body)} characters; GitHub accepts at most {COMMENT_LIMIT}")
    return Payload(repository, number, sha, str(meta.get("marker_id", "report"))[:200], mode,
                   bool(meta.get("hide_previous")), body, _read_gate(directory, meta))


def _read_gate(directory: Path, meta: dict) -> dict | None:
    if meta.get("gate_file") is None:
        return None
    path = directory / GATE_FILE  # never a path the payload names: it is untrusted
    data = _json(path, read_capped(path, GATE_LIMIT, missing=f"missing, but {PAYLOAD_FILE} says the run "
                                                                "evaluated the gate"))
    if not isinstance(data, dict):
        raise BadInput(f"{path}: not a gate verdict (expected a JSON object)")
    return data


def _require_directory(directory: Path) -> None:
    try:
        info = os.lstat(directory)
    except FileNotFoundError:
        raise BadInput(f"{directory}: missing; expected the directory written by `mlops-ci report --to-artifact` "
                       "(download the artifact first)") from None
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise BadInput(f"{directory}: not a directory (a symbolic link or a file); refusing to read it")


def read_capped(path: Path, limit: int, *, missing: str | None = None) -> bytes:
    """The bytes of ``path`` if it is a regular file (not a link, FIFO or device) of at most ``limit`` bytes."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise BadInput(f"{path}: {missing or _MISSING}") from None
    except OSError as exc:  # ELOOP: a symbolic link
        raise BadInput(f"{path}: not a regular file ({exc.strerror.lower() if exc.strerror else exc}); "
                       "refusing to read it") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise BadInput(f"{path}: not a regular file; refusing to read it")
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise BadInput(f"{path}: larger than {limit:,} bytes; refusing to read it")
    return data


def _json(path: Path, data: bytes) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadInput(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise BadInput(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise BadInput(f"{path}: JSON nested too deeply") from None
