"""The fork-PR hand-over: a report packed as an artifact, posted later by a trusted job.

A fork's `pull_request` run has a read-only token, so it cannot comment. It
writes this payload instead; a `workflow_run` job (which has write access and
never runs PR code) reads it back and posts it — after checking it belongs to
the commit that run actually built. Everything in the payload is untrusted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlops_ci.errors import BadInput
from mlops_ci.report.model import COMMENT_LIMIT

if TYPE_CHECKING:
    from mlops_ci.context import RunContext

PAYLOAD_FILE = "mlops-ci-payload.json"
BODY_FILE = "comment.md"
GATE_FILE = "gate.json"
GATE_LIMIT = 5_000_000  # a verdict is kilobytes; anything this large is not one
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
    path = directory / PAYLOAD_FILE
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
        body = (directory / BODY_FILE).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise BadInput(f"{exc.filename}: missing; expected the directory written by `mlops-ci report "
                       "--to-artifact` (download the artifact first)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: not a valid mlops-ci payload ({exc})") from None
    if not isinstance(meta, dict) or meta.get("version") != VERSION:
        raise BadInput(f"{path}: unsupported payload version {meta.get('version') if isinstance(meta, dict) else '?'}"
                       f"; expected {VERSION}")
    number = meta.get("pull_request")
    sha = meta.get("head_sha")
    if number is not None and not isinstance(number, int):
        raise BadInput(f"{path}: pull_request must be a number")
    if sha is not None and (not isinstance(sha, str) or len(sha) != 40 or any(c not in "0123456789abcdef" for c in sha)):
        raise BadInput(f"{path}: head_sha must be a 40-character commit SHA")
    mode = meta.get("mode", "update")
    if mode not in ("update", "recreate", "append"):
        raise BadInput(f"{path}: mode must be update, recreate or append")
    if len(body) > COMMENT_LIMIT:
        raise BadInput(f"{directory / BODY_FILE}: {len(body)} characters; GitHub accepts at most {COMMENT_LIMIT}")
    return Payload(meta.get("repository"), number, sha, str(meta.get("marker_id", "report"))[:200], mode,
                   bool(meta.get("hide_previous")), body, _read_gate(directory, meta))


def _read_gate(directory: Path, meta: dict) -> dict | None:
    if meta.get("gate_file") is None:
        return None
    path = directory / GATE_FILE  # never a path the payload names: it is untrusted
    try:
        if path.stat().st_size > GATE_LIMIT:
            raise BadInput(f"{path}: {path.stat().st_size} bytes; a gate verdict is far smaller")
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(f"{path}: missing, but {PAYLOAD_FILE} says the run evaluated the gate") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: not a gate verdict ({exc})") from None
    if not isinstance(data, dict):
        raise BadInput(f"{path}: not a gate verdict (expected a JSON object)")
    return data
