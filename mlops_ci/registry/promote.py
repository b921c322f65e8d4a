"""Making the challenger the champion — only if it still passes the gate.

The story: find the version to promote (the ``challenger`` alias by default); re-evaluate the
gate for that exact version against the current champion (a PR's green check was for a PR
commit, not for this registered version); move ``champion`` to it, keep the old one reachable as
``previous-champion`` for rollback, and write who, why and when into version tags and a bounded
audit log on the registered model — MLflow keeps no history of aliases. With
``registry.mode: git-tags``, a GTO-style stage tag does the same.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from mlops_ci.errors import BadInput, MlopsError

if TYPE_CHECKING:
    from mlops_ci.registry.mlflow_registry import ModelRecord, Registry
    from mlops_ci.workspace import Workspace

AUDIT_TAG = "mlops-ci.audit"
AUDIT_KEEP = 20


class GateRefused(MlopsError):
    exit_code = 1


def actor(ws: "Workspace") -> str:
    return ws.env.get("GITHUB_ACTOR") or ws.git.try_out("config", "user.name") or ws.env.get("USER") or "unknown"


def promote_version(ws: "Workspace", registry: "Registry", name: str, *, version: str | None, from_alias: str,
                    to_alias: str, reason: str | None, force: bool) -> dict[str, Any]:
    from mlops_ci.github.checks import now

    candidate = registry.version(name, version) if version else registry.by_alias(name, from_alias)
    if candidate is None:
        raise BadInput(f"model {name} has no alias {from_alias}; register a version first or pass --version")
    current = registry.by_alias(name, to_alias)
    if current is not None and current.version == candidate.version:
        return {"model-name": name, "model-version": candidate.version, "previous-version": None,
                "action": "unchanged", "message": f"{name} v{candidate.version} already is @{to_alias}."}

    verdict = recheck_gate(ws, registry, candidate, current)
    if verdict["conclusion"] == "failure" and not force:
        raise GateRefused(f"not promoting {name} v{candidate.version}: the gate fails against "
                          f"{'v' + current.version if current else 'no champion'}: {verdict['title']}",
                          hint="Fix the model, or pass --force with --reason to override (recorded).")

    when, who = now(), actor(ws)
    why = reason or f"gate {verdict['conclusion']}: {verdict['title']}"
    if current is not None:
        registry.set_alias(name, "previous-champion" if to_alias == "champion" else f"previous-{to_alias}",
                           current.version)
        registry.set_version_tags(name, current.version, {f"mlops-ci.demoted_from.{to_alias}": when})
    registry.set_alias(name, to_alias, candidate.version)
    registry.set_version_tags(name, candidate.version, {
        f"mlops-ci.promoted.{to_alias}.at": when, f"mlops-ci.promoted.{to_alias}.by": who,
        f"mlops-ci.promoted.{to_alias}.why": why, f"mlops-ci.promoted.{to_alias}.gate": verdict["conclusion"],
        **({f"mlops-ci.promoted.{to_alias}.forced": "true"} if force and verdict["conclusion"] == "failure" else {}),
        **({f"mlops-ci.promoted.{to_alias}.run": ws.context.run_url} if ws.context.run_url else {}),
    })
    _append_audit(registry, name, {"at": when, "by": who, "alias": to_alias, "version": candidate.version,
                                   "previous": current.version if current else None, "why": why,
                                   "forced": bool(force and verdict["conclusion"] == "failure")})
    return {"model-name": name, "model-version": candidate.version,
            "previous-version": current.version if current else None, "action": "promoted", "gate": verdict,
            "message": f"{name} v{candidate.version} is now @{to_alias}"
                       + (f" (was v{current.version}, kept as previous-{to_alias})" if current else "")
                       + f"; gate: {verdict['conclusion']} — {verdict['title']}"}


def _append_audit(registry: "Registry", name: str, event: dict[str, Any]) -> None:
    try:
        log = json.loads(registry.model_tags(name).get(AUDIT_TAG, "[]"))
    except ValueError:
        log = []
    log = (log + [event])[-AUDIT_KEEP:]
    text = json.dumps(log, separators=(",", ":"))
    while len(text) > 5000 and len(log) > 1:  # MLflow's tag value limit
        log = log[1:]
        text = json.dumps(log, separators=(",", ":"))
    registry.set_model_tag(name, AUDIT_TAG, text)


def recheck_gate(ws: "Workspace", registry: "Registry", candidate: "ModelRecord",
                 champion: "ModelRecord | None") -> dict[str, Any]:
    """The gate's verdict for exactly this version against the current champion."""
    from mlops_ci.gate_runner import evaluate_records

    return evaluate_records(ws, registry, candidate, champion)


def promote_git_tag(ws: "Workspace", name: str, version: str | None, reason: str | None,
                    force: bool = False) -> dict[str, Any]:
    from mlops_ci import gate_runner
    from mlops_ci.registry.champion import flat_metrics
    from mlops_ci.gate.evaluate import ChallengerData, ChampionData
    from mlops_ci.registry.git_tags import next_stage_tag, parse_version_tag, stage_tags

    git = ws.git
    if version:
        tag = f"{name}@{version if version.startswith('v') else 'v' + version}"
    else:
        # the highest version, not the newest tag: tags made in the same second tie on creatordate
        versions = [(v, t) for t in (git.try_out("tag", "--list", f"{name}@v*") or "").split()
                    if (v := parse_version_tag(t, name))]
        if not versions:
            raise BadInput(f"no `{name}@v*` tag to promote; run `mlops-ci register` first")
        tag = max(versions)[1]
    sha = git.resolve(f"refs/tags/{tag}")
    if not sha:
        raise BadInput(f"tag {tag} does not exist")
    tags = (git.try_out("tag", "--list", f"{name}#prod#*") or "").split()
    current = stage_tags(tags, name, "prod")
    if current and git.resolve(f"refs/tags/{current[-1][1]}") == sha:
        return {"model-name": name, "model-version": tag, "action": "unchanged",
                "message": f"{tag} already is in prod ({current[-1][1]})."}
    metrics_at = lambda rev: flat_metrics(ws.dvc.read_metrics(rev, ws.config.metrics.files,  # noqa: E731
                                                              ws.config.metrics.ignore))
    champion = None
    if current:
        prod_sha = git.resolve(f"refs/tags/{current[-1][1]}")
        champion = ChampionData(metrics_at(prod_sha), f"git tag `{current[-1][1]}`") if prod_sha else None
    verdict = gate_runner.evaluate(ws, champion, ChallengerData(metrics_at(sha), f"git tag `{tag}`"))
    if verdict.conclusion == "failure" and not force:
        raise GateRefused(f"not promoting {tag}: the gate fails against "
                          f"{current[-1][1] if current else 'no champion'}: {verdict.title}",
                          hint="Fix the model, or pass --force with --reason to override (recorded).")
    stage_tag = next_stage_tag(tags, name, "prod")
    message = json.dumps({"version": tag, "by": actor(ws), "why": reason or f"gate {verdict.conclusion}",
                          "gate": verdict.conclusion, "forced": bool(force and verdict.conclusion == "failure")})
    git.run("-c", "user.name=mlops-ci", "-c", "user.email=mlops-ci@users.noreply.github.com",
            "tag", "--annotate", stage_tag, "--message", message, sha)
    if ws.context.in_github and git.try_out("remote", "get-url", "origin"):
        git.run("push", "origin", f"refs/tags/{stage_tag}")
    return {"model-name": name, "model-version": tag, "previous-version": current[-1][1] if current else None,
            "action": "promoted", "message": f"{tag} promoted to prod as {stage_tag}"}
