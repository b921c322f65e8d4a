"""The format of a metrics/params file comes from its path; ``where`` only names it in messages."""

import pytest

from mlops_ci.errors import BadInput
from mlops_ci.metrics import file_format, parse_metrics
from mlops_ci.params import parse_params

AT = " (at 8f111d6ebc73)"


@pytest.mark.parametrize("path, content", [
    ("m.json", b'{"auc": 0.9, "eval": {"loss": 1}}'),
    ("m.yaml", b"auc: 0.9\neval:\n  loss: 1\n"),
    ("m.toml", b'auc = 0.9\n[eval]\nloss = 1\n'),
    ("m.csv", b"auc,eval.loss\n0.9,1\n"),
    ("m.tsv", b"auc\teval.loss\n0.9\t1\n"),
])
def test_metrics_format_comes_from_the_path_not_the_label(path, content):
    assert parse_metrics(content, path, where=path + AT) == {"auc": 0.9, "eval.loss": 1.0}


@pytest.mark.parametrize("path, content, fragment", [
    ("m.json", b'{"auc": 0.9,', "m.json:1 (at 8f111d6ebc73): not valid JSON"),
    ("m.json", b'{"auc": NaN}', "m.json (at 8f111d6ebc73): metric 'auc' is NaN"),
    ("m.toml", b"auc = ", "m.toml (at 8f111d6ebc73): not valid TOML"),
    ("m.yaml", b"auc: [", "m.yaml:1 (at 8f111d6ebc73): not valid YAML"),
    ("m.csv", b"auc\nhigh\n", "m.csv (at 8f111d6ebc73): metric 'auc' is a string"),
    ("m.json", b"\xff\xfe{", "m.json (at 8f111d6ebc73): metrics file is not UTF-8"),
])
def test_metrics_messages_use_the_label(path, content, fragment):
    with pytest.raises(BadInput) as info:
        parse_metrics(content, path, where=path + AT)
    assert fragment in info.value.render()
    assert info.value.exit_code == 2


def test_metrics_label_that_does_not_start_with_the_path():
    with pytest.raises(BadInput, match=r"champion metrics:1: not valid JSON"):
        parse_metrics(b"{", "m.json", where="champion metrics")


def test_file_format():
    assert file_format("eval/m.TOML") == "toml"
    assert file_format("dir.d/metrics") == ""
    assert file_format("m.json") == "json"


@pytest.mark.parametrize("path, content", [
    ("p.yaml", b"train:\n  lr: 0.1\n"),
    ("p.json", b'{"train": {"lr": 0.1}}'),
    ("p.toml", b"[train]\nlr = 0.1\n"),
])
def test_params_format_comes_from_the_path_not_the_label(path, content):
    assert parse_params(content, path, where=path + AT) == {"train.lr": 0.1}
    assert parse_params(content, path) == {"train.lr": 0.1}


@pytest.mark.parametrize("path, content, fragment", [
    ("p.toml", b"[train]\nlr = \n", "p.toml (at 8f111d6ebc73): params file is not valid TOML"),
    ("p.json", b"{", "p.json (at 8f111d6ebc73): params file is not valid JSON"),
    ("p.yaml", b"a: [", "p.yaml (at 8f111d6ebc73): params file is not valid YAML"),
    ("p.yaml", b"- 1\n", "p.yaml (at 8f111d6ebc73): expected a mapping"),
])
def test_params_messages_use_the_label(path, content, fragment):
    with pytest.raises(BadInput) as info:
        parse_params(content, path, where=path + AT)
    assert fragment in info.value.render()
