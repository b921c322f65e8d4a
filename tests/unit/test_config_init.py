"""`mlops-ci config init` and the JSON Schema file the examples link to.

The starter file shows commented gate, drift and contract examples that are valid once uncommented,
and `.mlops-ci/` (local outputs, the embedded MLflow store) is kept out of git. The committed
mlops-ci.schema.json (the wheel's mlops_ci/mlops-ci.schema.json links to it) is what `mlops-ci config schema` prints today, and every example's
`$schema` link points at it.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from mlops_ci.cli import main
from mlops_ci.config import json_schema, load_config

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "mlops-ci.schema.json"
PACKAGED = ROOT / "mlops_ci" / "mlops-ci.schema.json"  # a link to it, a copy in the wheel


def _uncomment_examples(text: str) -> str:
    """The starter with its commented-out sections (`# gate:` and what is indented below it) uncommented."""
    out, inside = [], False
    for line in text.splitlines():
        if re.match(r"^# [a-z_]+:\s*$", line):
            inside = True
        elif inside and not line.startswith("#   "):
            inside = False
        out.append(line[2:] if inside else line)
    return "\n".join(out) + "\n"


def test_init_writes_commented_examples_that_are_valid_uncommented(tmp_path):
    assert main(["config", "init", "-C", str(tmp_path)]) == 0
    starter = (tmp_path / ".mlops-ci.yml").read_text()
    for section in ("gate", "drift", "contracts"):
        assert f"\n# {section}:\n" in starter
    defaults = load_config(tmp_path)
    assert defaults.gate.is_empty()  # commented out: the defaults hold

    (tmp_path / ".mlops-ci.yml").write_text(_uncomment_examples(starter))
    cfg = load_config(tmp_path)
    assert [r.metric for r in cfg.gate.rules] == ["auc", "latency_p95_ms"]
    assert cfg.gate.fairness[0].group_column == "segment"
    assert cfg.drift.reference == "data/train.csv" and cfg.drift.ignore == ["customer_id"]
    assert cfg.contracts.row_count.min == 1000 and "plan" in cfg.contracts.columns


def test_init_ignores_local_state_in_git_once(tmp_path, capsys):
    (tmp_path / ".gitignore").write_text("__pycache__/\n*.pyc")  # no newline at the end
    assert main(["config", "init", "-C", str(tmp_path)]) == 0
    assert (tmp_path / ".gitignore").read_text() == "__pycache__/\n*.pyc\n.mlops-ci/\n"
    assert "added .mlops-ci/ to" in capsys.readouterr().out
    assert main(["config", "init", "-C", str(tmp_path), "--force"]) == 0
    assert (tmp_path / ".gitignore").read_text().count(".mlops-ci") == 1


def test_init_creates_gitignore(tmp_path):
    assert main(["config", "init", "-C", str(tmp_path)]) == 0
    assert (tmp_path / ".gitignore").read_text() == ".mlops-ci/\n"


def test_committed_schema_is_current():
    current = json.dumps(json_schema(), indent=2) + "\n"
    assert SCHEMA_FILE.read_text() == current, (
        "mlops-ci.schema.json is stale: run `.venv/bin/mlops-ci config schema -o mlops-ci.schema.json`")
    assert PACKAGED.resolve() == SCHEMA_FILE.resolve()


@pytest.mark.parametrize("config", sorted(ROOT.glob("examples/*/.mlops-ci.yml")), ids=lambda p: p.parent.name)
def test_example_schema_links_point_at_the_schema(config):
    link = re.search(r"^# yaml-language-server: \$schema=(\S+)$", config.read_text(), re.M)
    assert link, f"{config}: no $schema link"
    target = (config.parent / link.group(1)).resolve()
    assert target == SCHEMA_FILE.resolve(), target
    # the same relative link from where the wheel puts the example (site-packages/mlops_ci/examples/<name>/)
    packaged = os.path.normpath(ROOT / "mlops_ci" / "examples" / config.parent.name / link.group(1))
    assert packaged == str(PACKAGED)
