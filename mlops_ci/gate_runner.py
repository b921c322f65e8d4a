"""Between the pure gate and the places it runs: `mlops-ci gate` and `mlops-ci promote`.

Gathers the challenger (this change's metrics and holdout predictions) and the
champion (resolved as :mod:`mlops_ci.registry.champion` describes), evaluates the
configured rules, and finds the file lines a failing rule should point at.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

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
