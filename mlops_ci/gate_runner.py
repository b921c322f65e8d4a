"""Between the pure gate and the places it runs: `mlops-ci gate`, `promote` and the demo.

:func:`run_gate` is the whole verdict on a change: the base commit's rules fixed first, then
the challenger (this change's metrics and holdout predictions) and the
champion (resolved as :mod:`mlops_ci.registry.champion` describes), evaluates the
configured rules, and finds the file lines a failing rule should point at.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from mlops_ci.errors import BadInput
from mlops_ci.metrics import direction_for

if TYPE_CHECKING:
    from mlops_ci.registry.mlflow_registry import ModelRecord, Registry
    from mlops_ci.registry.champion import Champion
    from mlops_ci.gate.evaluate import ChallengerData, ChampionData
    from mlops_ci.gate.verdict import GateVerdict
    from mlops_ci.workspace import Workspace


def read_predictions(path: Path | None) -> Any:
    if path is None or not Path(path).is_file():
        return None
    import pandas as pd

    return pd.read_csv(path)


def champion_data(champion: "Champion | None") -> "ChampionData | None":
    from mlops_ci.gate.evaluate import ChampionData

    if champion is None:
        return None
    return ChampionData(champion.metrics, champion.source, read_predictions(champion.predictions))


def evaluate(ws: "Workspace", champion: "ChampionData | None", challenger: "ChallengerData") -> "GateVerdict":
    from mlops_ci.gate.evaluate import evaluate_gate

    directions = ws.config.metrics.direction
    return evaluate_gate(ws.config.gate, champion, challenger, direction_of=lambda m: direction_for(m, directions),
                         precision=ws.config.metrics.precision)


def evaluate_records(ws: "Workspace", registry: "Registry", candidate: "ModelRecord",
                     champion: "ModelRecord | None") -> dict[str, Any]:
    """The gate for a registered version against the registered champion (used by `promote`).

    Both versions' logged holdout predictions are fetched, so significance and
    fairness rules are evaluated on exactly what was registered.
    """
    from mlops_ci.registry.mlflow_registry import temp_dir
    from mlops_ci.gate.evaluate import ChallengerData, ChampionData

    scratch = temp_dir()

    def predictions(record: "ModelRecord") -> Any:
        if not record.run_id:
            return None
        folder = registry.download(record.run_id, "predictions", scratch / record.version)
        files = sorted(folder.glob("*.csv")) if folder is not None and folder.is_dir() else []
        return read_predictions(files[0] if files else folder)

    verdict = evaluate(
        ws,
        ChampionData(champion.metrics, f"MLflow model `{champion.name}` version {champion.version}",
                     predictions(champion)) if champion else None,
        ChallengerData(candidate.metrics, f"MLflow model `{candidate.name}` version {candidate.version}",
                       predictions(candidate)))
    return {"conclusion": verdict.conclusion, "title": verdict.title, "verdict": verdict.to_dict()}


def metric_locations(ws: "Workspace", files: Mapping[str, Mapping[str, float]]) -> dict[str, tuple[str, int]]:
    """``{metric: (path, line)}`` in the working tree's metric files, for annotations."""
    out: dict[str, tuple[str, int]] = {}
    prefix = _repo_prefix(ws)
    for path, values in files.items():
        file = ws.dvc_root / path
        if not file.is_file():
            continue
        text = file.read_text(encoding="utf-8", errors="replace")
        lines = text.splitlines()
        doc = _located(text, path)
        for name in values:
            exact = doc.lines.get(tuple(name.split("."))) if doc is not None else None
            line = exact or _scan_line(lines, name.split(".")) or _scan_line(lines, [name]) or 1
            out.setdefault(name, (prefix + path, line))
    return out


def _located(text: str, path: str) -> Any:
    """JSON / YAML metrics with every key's line (None for other formats or unparsable files)."""
    from mlops_ci.errors import MlopsError
    from mlops_ci.yamlsource import load_yaml

    if not path.lower().endswith((".json", ".yaml", ".yml")):
        return None
    try:
        return load_yaml(text, path)
    except MlopsError:
        return None


def _scan_line(lines: list[str], keys: list[str]) -> int | None:
    """1-based line of the nested key ``keys`` by a text scan: each key after its parent's line.

    So ``test.rmse`` lands on the ``rmse`` below ``test`` (a TOML ``[test]`` table, a JSON or YAML
    mapping), never on the ``rmse`` of ``train`` above it.
    """
    start, found = 0, None
    for key in keys:
        pattern = re.compile(rf"""(^|[\s{{,"'\[.]){re.escape(key)}["']?\s*[:=,\]]""")
        found = next((i for i in range(start, len(lines)) if pattern.search(lines[i])), None)
        if found is None:
            return None
        start = found
    return None if found is None else found + 1


def param_locations(ws: "Workspace", changed: list[tuple[str, str]]) -> dict[str, tuple[str, int]]:
    """``{param: (path, line)}`` for the parameters this change modified."""
    from mlops_ci.errors import MlopsError
    from mlops_ci.yamlsource import load_yaml

    out: dict[str, tuple[str, int]] = {}
    prefix = _repo_prefix(ws)
    docs: dict[str, Any] = {}
    for path, name in changed:
        file = ws.dvc_root / path
        if path not in docs:
            try:
                docs[path] = load_yaml(file.read_text(encoding="utf-8"), path) if file.is_file() else None
            except (MlopsError, UnicodeDecodeError):
                docs[path] = None
        doc = docs[path]
        line = doc.line_of(tuple(name.split("."))) if doc is not None else None
        out[name] = (prefix + path, line or 1)
    return out


def _repo_prefix(ws: "Workspace") -> str:
    """Annotations need paths from the repository root; the DVC project may live in a subfolder."""
    try:
        rel = ws.dvc_root.relative_to(ws.git.toplevel().resolve())
    except (ValueError, Exception):  # noqa: BLE001 - outside git: paths as they are
        return ""
    return "" if str(rel) == "." else f"{rel.as_posix()}/"


def write_verdict(ws: "Workspace", verdict: "GateVerdict") -> Path:
    return ws.runtime.write_file("gate.json", verdict.to_json() + "\n")


def load_verdict(out_dir: Path) -> "GateVerdict | None":
    from mlops_ci.gate.verdict import GateVerdict

    path = out_dir / "gate.json"
    if not path.is_file():
        return None
    try:
        return GateVerdict.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError):
        return None


def run_gate(ws: "Workspace", *, champion_metrics: Path | None = None, challenger_metrics: Path | None = None,
             champion_predictions: Path | None = None, challenger_predictions: Path | None = None,
             base: str | None = None, model_name: str | None = None,
             repro_outcome: str | None = None) -> "GateVerdict":
    """The verdict on this change, judged by the base commit's rules (see :mod:`mlops_ci.policy`); gate.json written.

    The rules are fixed before anything else is looked at; no rules is a failing verdict, and so is
    a pipeline that did not produce fresh metrics in this job.
    """
    from mlops_ci.gate.verdict import GateVerdict

    policy = ws.policy(policy_base(ws, base))
    ws = dataclasses.replace(ws, config=policy.config)
    stale = None if challenger_metrics is not None else pipeline_problem(ws.runtime.out_dir, repro_outcome)
    gate_cfg = policy.config.gate
    if gate_cfg.enabled and gate_cfg.is_empty():
        verdict = GateVerdict.unruled(policy.source, self_judged=policy.self_judged,
                                      challenger_source="this change (working tree)")
    elif stale is not None:
        verdict = GateVerdict.from_error(stale, challenger_source="this change (working tree)")
    else:
        verdict = _evaluate(ws, champion_metrics=champion_metrics, challenger_metrics=challenger_metrics,
                            champion_predictions=champion_predictions,
                            challenger_predictions=challenger_predictions, base_rev=base_or_none(ws, base),
                            model_name=model_name)
    verdict.policy_source, verdict.proposed_policy = policy.source, list(policy.proposed)
    write_verdict(ws, verdict)
    return verdict


def _evaluate(ws: "Workspace", *, champion_metrics: Path | None, challenger_metrics: Path | None,
              champion_predictions: Path | None, challenger_predictions: Path | None, base_rev: str | None,
              model_name: str | None) -> "GateVerdict":
    from mlops_ci.adapters.dvc import WORKSPACE
    from mlops_ci.registry.champion import Champion, flat_metrics, resolve_champion
    from mlops_ci.registry.register import model_name_for
    from mlops_ci.gate.evaluate import ChallengerData

    cfg = ws.config
    if challenger_metrics is not None:
        challenger = flat_metrics({str(challenger_metrics): _read_metrics(challenger_metrics, cfg.metrics.ignore)})
        source = f"metrics file `{challenger_metrics}`"
    else:
        ws.dvc.require_pipeline()
        challenger = flat_metrics(ws.dvc.read_metrics(WORKSPACE, cfg.metrics.files, cfg.metrics.ignore))
        source = "this change (working tree)"
    predictions = challenger_predictions or (ws.dvc_root / cfg.registry.predictions if cfg.registry.predictions
                                             else None)

    name: str | None = None
    if champion_metrics is not None:
        champion: Champion | None = Champion(
            flat_metrics({str(champion_metrics): _read_metrics(champion_metrics, cfg.metrics.ignore)}),
            f"metrics file `{champion_metrics}`", "file", champion_predictions)
    else:
        try:
            name = model_name_for(ws, model_name)
        except BadInput:
            name = ws.root.name  # not a git checkout: no repository to name the model after
        champion = resolve_champion(ws, name, base_rev, download_dir=ws.runtime.out_dir / "champion")
        if champion is not None and champion_predictions is not None:
            champion.predictions = champion_predictions

    verdict = evaluate(ws, champion_data(champion),
                                   ChallengerData(challenger, source, read_predictions(predictions)))
    if champion is not None and champion.kind == "mlflow" and champion.version and name:
        from mlops_ci.registry.mlflow_registry import model_version_url

        verdict.champion_url = model_version_url(ws.mlflow_tracking_uri(), name, champion.version)
    return verdict


def _read_metrics(path: Path, ignore: list[str]) -> dict[str, float]:
    from mlops_ci.metrics import parse_metrics

    if not path.is_file():
        raise BadInput(f"{path}: metrics file not found")
    return parse_metrics(path.read_bytes(), str(path), ignore)


def base_or_none(ws: "Workspace", explicit: str | None) -> str | None:
    """--base, the PR's base, the merge-base — None in a folder that is not a git checkout.

    A broken explicit base (a typo in --base) is an error, not a silent fallback.
    """
    try:
        return ws.base_revision(explicit)
    except BadInput:
        if explicit:
            raise
        return None


def policy_base(ws: "Workspace", explicit: str | None) -> str | None:
    """The commit whose rules judge this change: --base, and in Actions always the PR's base.

    A local run without --base is someone iterating on their own rules: they apply, and the
    verdict says they are the working tree's.
    """
    if explicit or ws.runtime.in_github:
        return base_or_none(ws, explicit)
    return None


def pipeline_problem(out_dir: Path, repro_outcome: str | None) -> str | None:
    """Why the working tree's metrics cannot be judged: the pipeline did not (fully) run in this job.

    After a failed or skipped repro the files in the checkout are whatever was committed or left
    half-written; judging them could pass a change whose pipeline is broken. Fail closed instead.
    """
    import json

    outcome = (repro_outcome or "").strip().lower()
    if outcome and outcome != "success":
        return (f"the pipeline step ended `{outcome}`, so there are no fresh metrics to judge "
                "(fix the repro step; the gate passes only on what this change's pipeline produced)")
    try:
        record = json.loads((out_dir / "repro.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # no repro in this job (metrics given or produced elsewhere): nothing to say
    if isinstance(record, dict) and record.get("ok") is False:
        failed = [s.get("name") for s in record.get("stages", []) if isinstance(s, dict) and s.get("status") == "failed"]
        where = f"at stage {', '.join(map(str, failed))}" if failed else "before it finished"
        return f"the pipeline failed {where}, so its metrics would be stale or missing"
    return None
