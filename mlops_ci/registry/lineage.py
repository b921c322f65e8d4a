"""Lineage: what a registered model was made from, as flat tags.

MLflow stores tags as short strings, so lineage is flattened into
``mlops-ci.*`` keys: the commit, repository, PR, workflow run, each DVC
stage's dependency/output hashes from dvc.lock and each DVC-tracked data
file's hash. Pure: parsed files in, tags out.
"""

from __future__ import annotations

import json
import re
from typing import Any, Mapping

PREFIX = "mlops-ci."
_PR_IN_MESSAGE = re.compile(r"(?:Merge pull request #(\d+)|\(#(\d+)\)\s*$)", re.MULTILINE)


def pr_from_commit_message(message: str) -> int | None:
    """PR number of a merge commit ("Merge pull request #12 …") or a squash merge ("… (#12)")."""
    match = _PR_IN_MESSAGE.search(message or "")
    if not match:
        return None
    return int(match.group(1) or match.group(2))


def stage_hashes(lock: Mapping[str, Any]) -> dict[str, dict[str, dict[str, str]]]:
    """``{stage: {"deps": {path: md5}, "outs": {path: md5}}}`` from a parsed dvc.lock."""
    out: dict[str, dict[str, dict[str, str]]] = {}
    for name, stage in (lock.get("stages") or {}).items():
        entry: dict[str, dict[str, str]] = {}
        for kind in ("deps", "outs"):
            items = {str(i.get("path")): str(i.get("md5") or i.get("hash") or "") for i in stage.get(kind) or []
                     if isinstance(i, dict)}
            if items:
                entry[kind] = items
        out[str(name)] = entry
    return out


def data_hashes(dvc_files: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """``{path: md5}`` of DVC-tracked data, from parsed ``*.dvc`` files keyed by their own path."""
    out = {}
    for dvc_path, content in dvc_files.items():
        base = dvc_path.rsplit("/", 1)[0] + "/" if "/" in dvc_path else ""
        for item in content.get("outs") or []:
            if isinstance(item, dict) and item.get("path"):
                out[base + str(item["path"])] = str(item.get("md5") or item.get("hash") or "")
    return out


def lineage_tags(*, sha: str | None, repository: str | None, pr_number: int | None, run_url: str | None,
                 lock: Mapping[str, Any] | None, dvc_files: Mapping[str, Mapping[str, Any]],
                 extra: Mapping[str, str] | None = None) -> dict[str, str]:
    tags: dict[str, str] = {}
    if sha:
        tags[PREFIX + "git_sha"] = sha
    if repository:
        tags[PREFIX + "repository"] = repository
    if pr_number is not None:
        tags[PREFIX + "pr"] = str(pr_number)
    if run_url:
        tags[PREFIX + "workflow_run"] = run_url
    for stage, hashes in stage_hashes(lock or {}).items():
        tags[f"{PREFIX}dvc.stage.{stage}"] = json.dumps(hashes, sort_keys=True, separators=(",", ":"))
    for path, md5 in data_hashes(dvc_files).items():
        tags[f"{PREFIX}data.{path}"] = md5
    tags.update(extra or {})
    return tags
