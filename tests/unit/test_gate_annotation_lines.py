"""Gate annotations point at the line of the metric they are about: the full nested key.

A failing rule on ``test.rmse`` annotates the ``rmse`` under ``test``, not the first ``rmse`` of
the file (``train.rmse``), whatever the metrics file's format.
"""

from __future__ import annotations

import pytest

from mlops_ci.gate_runner import _scan_line, metric_locations
from mlops_ci.workspace import open_workspace

FILES = {
    "metrics.json": '{\n  "train": {\n    "rmse": 0.1,\n    "mae": 0.2\n  },\n  "test": {\n    "rmse": 0.3,\n'
                    '    "mae": 0.4\n  }\n}\n',
    "metrics.yaml": "train:\n  rmse: 0.1\n  mae: 0.2\ntest:\n  rmse: 0.3\n  mae: 0.4\n",
    "metrics.toml": "[train]\nrmse = 0.1\nmae = 0.2\n\n[test]\nrmse = 0.3\nmae = 0.4\n",
}
#: (metric, line) in every file above
EXPECTED = {"json": {"train.rmse": 3, "test.rmse": 7, "test.mae": 8},
            "yaml": {"train.rmse": 2, "test.rmse": 5, "test.mae": 6},
            "toml": {"train.rmse": 2, "test.rmse": 6, "test.mae": 7}}


@pytest.mark.parametrize("name", sorted(FILES))
def test_nested_metric_annotates_its_own_line(tmp_path, name):
    (tmp_path / name).write_text(FILES[name])
    ws = open_workspace(tmp_path, env={})
    values = {"train.rmse": 0.1, "test.rmse": 0.3, "test.mae": 0.4}
    found = metric_locations(ws, {name: values})
    want = EXPECTED[name.rsplit(".", 1)[1]]
    assert {metric: line for metric, (_, line) in found.items() if metric in want} == want
    assert {path for path, _ in found.values()} == {name}


def test_one_line_json_and_flat_dotted_keys():
    assert _scan_line(['{"train": {"rmse": 1}, "test": {"rmse": 2}}'], ["test", "rmse"]) == 1
    lines = ['{', '  "train.rmse": 1,', '  "test.rmse": 2', '}']
    assert _scan_line(lines, ["test", "rmse"]) is None  # no nested "test" key …
    assert _scan_line(lines, ["test.rmse"]) == 3  # … the flat key itself is found


def test_unknown_metric_falls_back_to_the_first_line(tmp_path):
    (tmp_path / "metrics.json").write_text('{\n  "auc": 0.9\n}\n')
    found = metric_locations(open_workspace(tmp_path, env={}), {"metrics.json": {"missing.key": 1.0}})
    assert found == {"missing.key": ("metrics.json", 1)}
