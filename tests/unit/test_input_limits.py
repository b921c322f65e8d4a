"""The caps on hostile input files (mlops_ci.limits, yamlsource, repopath), without a subprocess."""

import json

import pytest

from mlops_ci.errors import BadInput, ConfigError
from mlops_ci.limits import MAX_INPUT_BYTES, MAX_NESTING, too_deep
from mlops_ci.metrics import parse_metrics
from mlops_ci.params import parse_params
from mlops_ci.repopath import escapes, require_inside
from mlops_ci.yamlsource import load_yaml, safe_load


def bomb(levels: int = 9) -> str:
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_by_both_loaders():
    with pytest.raises(BadInput, match=r"m.yaml:\d+: .*aliases expand to more than 1,000,000 values"):
        safe_load(bomb(), "m.yaml")
    with pytest.raises(ConfigError, match=r"c.yml:\d+: refused: its aliases expand"):
        load_yaml(bomb(), "c.yml")


def test_aliases_within_the_cap_still_work():
    data = safe_load("base: &b {lr: 0.1, depth: 3}\nmodel: *b\nname: &n x\nalso: *n\n", "p.yaml")
    assert data == {"base": {"lr": 0.1, "depth": 3}, "model": {"lr": 0.1, "depth": 3}, "name": "x", "also": "x"}
    assert load_yaml(bomb(levels=5), "c.yml").data["l4"][0][0][0][0] == ["lol"] * 9  # 9**5 = 59,049 values


def test_recursive_alias_is_refused():
    with pytest.raises(BadInput, match="recursive alias"):
        safe_load("a: &a [1, *a]\n", "m.yaml")


@pytest.mark.parametrize("loader", [safe_load, load_yaml])
def test_depth_cap(loader):
    ok = "a: " + "[" * (MAX_NESTING - 1) + "]" * (MAX_NESTING - 1) + "\n"
    loader(ok, "f.yaml")
    with pytest.raises(BadInput, match=f"nested more than {MAX_NESTING} levels deep"):
        loader("a: " + "[" * 50_000 + "]" * 50_000 + "\n", "f.yaml")


@pytest.mark.parametrize("loader", [safe_load, load_yaml])
def test_integer_beyond_4300_digits(loader):
    with pytest.raises(BadInput, match=r"f.yaml:2: .*integer with more than 4300 digits"):
        loader("ok: 1\nbig: " + "7" * 5000 + "\n", "f.yaml")


def test_size_cap_and_not_utf8():
    with pytest.raises(BadInput, match="the limit is 10 MiB"):
        safe_load(b"#" * (MAX_INPUT_BYTES + 1), "f.yaml")
    with pytest.raises(BadInput, match="f.yaml: YAML file is not UTF-8 text"):
        safe_load(b"a: \xff\n", "f.yaml")


@pytest.mark.parametrize("path, content", [
    ("m.json", b'{"auc": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
    ("m.json", b'{"auc": ' + b"[" * 150 + b"]" * 150 + b"}"),  # parses, then the depth check
    ("m.yaml", b"auc: " + b"[" * 50_000 + b"]" * 50_000),
    ("m.toml", b"auc = " + b"[" * 5_000 + b"]" * 5_000),
])
def test_deep_metrics_and_params(path, content):
    with pytest.raises(BadInput, match="nested more than"):
        parse_metrics(content, path)
    with pytest.raises(BadInput, match="nested more than"):
        parse_params(content, path.replace("m.", "p."))


def test_giant_integers_and_out_of_range_numbers_in_metrics():
    with pytest.raises(BadInput, match=r"m.json: metrics file holds an integer with more than 4300 digits"):
        parse_metrics(b'{"auc": ' + b"7" * 5000 + b"}", "m.json")
    with pytest.raises(BadInput, match="metric 'auc' is Infinity; expected a finite number"):
        parse_metrics(b'{"auc": ' + b"7" * 400 + b"}", "m.json")  # an int, but beyond float range


def test_alias_bomb_in_metrics_and_params_names_the_file():
    with pytest.raises(BadInput, match=r"m.yaml:\d+: metrics file refused: its aliases expand"):
        parse_metrics(bomb().encode(), "m.yaml")
    with pytest.raises(BadInput, match=r"params.yaml:\d+: params file refused: its aliases expand"):
        parse_params(bomb().encode(), "params.yaml")


def test_too_deep_is_iterative():
    deep: list = []
    for _ in range(10_000):
        deep = [deep]
    assert too_deep(deep) and not too_deep(json.loads("[[[1]]]"))


@pytest.mark.parametrize("path, outside", [
    ("metrics.json", False), ("sub/../metrics.json", False), ("../x.json", True), ("/etc/passwd", True),
    ("sub/../../x.json", True), ("~/x", True),
])
def test_escapes(tmp_path, path, outside):
    assert escapes(path, tmp_path, tmp_path) is outside


def test_symlink_out_of_the_repository(tmp_path):
    repo, elsewhere = tmp_path / "repo", tmp_path / "elsewhere"
    repo.mkdir()
    elsewhere.mkdir()
    (elsewhere / "s.json").write_text("{}")
    (repo / "in.json").write_text("{}")
    (repo / "link.json").symlink_to(elsewhere / "s.json")
    (repo / "inner.json").symlink_to(repo / "in.json")
    require_inside("inner.json", repo, repo, "metrics file")
    with pytest.raises(BadInput, match=r"link.json: metrics file is outside the repository \(a symlink"):
        require_inside("link.json", repo, repo, "metrics file")
    require_inside("link.json", repo, repo, "metrics file", on_disk=False)  # at a git revision: text only
