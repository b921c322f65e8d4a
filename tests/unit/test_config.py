import json

import pytest
from click.testing import CliRunner

from mlops_ci.cli import cli
from mlops_ci.config import Config, json_schema, load_config, parse_config
from mlops_ci.errors import ConfigError


def test_defaults_without_a_file(tmp_path):
    cfg = load_config(tmp_path)
    assert cfg == Config()
    assert cfg.source is None
    assert cfg.metrics.precision == 4 and cfg.repro.pull and cfg.repro.push


def test_values_are_read(tmp_path):
    (tmp_path / ".mlops-ci.yml").write_text("metrics:\n  precision: 2\n  direction:\n    latency_*: lower\n")
    cfg = load_config(tmp_path)
    assert cfg.metrics.precision == 2
    assert cfg.metrics.direction == {"latency_*": "lower"}
    assert cfg.source.endswith(".mlops-ci.yml")


@pytest.mark.parametrize("text, line, key, fragment", [
    ("metrcs: {}\n", 1, "metrcs", "did you mean 'metrics'"),
    ("version: 1\nmetrics:\n  precison: 3\n", 3, "metrics.precison", "did you mean 'precision'"),
    ("metrics:\n  precision: four\n", 2, "metrics.precision", "valid integer"),
    ("metrics:\n  direction:\n    auc: up\n", 3, "metrics.direction.auc", "'higher' or 'lower'"),
    ("repro:\n  targets: train\n", 2, "repro.targets", "valid list"),
    ("version: 2\n", 1, "version", "1"),
    ("metrics: 5\n", 1, "metrics", "key 'metrics': expected a mapping of settings (got 5)"),
])
def test_errors_name_file_line_and_key(text, line, key, fragment):
    with pytest.raises(ConfigError) as info:
        parse_config(text, "repo/.mlops-ci.yml")
    err = info.value
    assert err.file == "repo/.mlops-ci.yml"
    assert err.line == line
    assert err.key == key
    assert err.exit_code == 2
    assert f"repo/.mlops-ci.yml:{line}:" in err.message and fragment in err.message


def test_duplicate_keys_and_bad_yaml_are_errors():
    with pytest.raises(ConfigError, match=r"x.yml:2: key 'metrics' appears twice"):
        parse_config("metrics: {}\nmetrics: {}\n", "x.yml")
    with pytest.raises(ConfigError, match=r"x.yml:\d+: not valid YAML"):
        parse_config("metrics: [1\n", "x.yml")
    with pytest.raises(ConfigError, match="top level"):
        parse_config("- a\n", "x.yml")


def test_every_error_is_listed():
    with pytest.raises(ConfigError) as info:
        parse_config("foo: 1\nmetrics:\n  precision: x\n", "x.yml")
    assert "x.yml:1: unknown key 'foo'" in info.value.message
    assert "x.yml:3: key 'metrics.precision'" in info.value.message


def test_schema_is_a_json_schema_that_validates_the_starter_file(tmp_path):
    import jsonschema
    import yaml

    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    runner = CliRunner()
    result = runner.invoke(cli, ["config", "init", "-C", str(tmp_path)])
    assert result.exit_code == 0, result.output
    starter = (tmp_path / ".mlops-ci.yml").read_text()
    assert starter.count("#") > 10  # commented
    jsonschema.validate(yaml.safe_load(starter), schema)
    load_config(tmp_path)  # and our own validator agrees
    assert schema["properties"]["metrics"]  # sections are described
    bad = {"metrics": {"precision": "x"}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_init_refuses_to_overwrite(tmp_path):
    (tmp_path / ".mlops-ci.yml").write_text("version: 1\n")
    from mlops_ci.cli import main

    assert main(["config", "init", "-C", str(tmp_path)]) == 2
    assert (tmp_path / ".mlops-ci.yml").read_text() == "version: 1\n"
    assert main(["config", "init", "-C", str(tmp_path), "--force"]) == 0


def test_cli_validate_exit_codes(tmp_path, capsys):
    from mlops_ci.cli import main

    (tmp_path / ".mlops-ci.yml").write_text("metrics:\n  precision: -1\n")
    assert main(["config", "validate", "-C", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert ".mlops-ci.yml:2: key 'metrics.precision'" in err and "Traceback" not in err
    (tmp_path / ".mlops-ci.yml").write_text("metrics:\n  precision: 3\n")
    assert main(["config", "validate", "-C", str(tmp_path), "--show"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out)["metrics"]["precision"] == 3


def test_options_come_from_environment(tmp_path, monkeypatch, capsys):
    from mlops_ci.cli import main

    (tmp_path / "custom.yml").write_text("metrics:\n  precision: 7\n")
    monkeypatch.setenv("MLOPS_CI_CONFIG", str(tmp_path / "custom.yml"))
    monkeypatch.setenv("MLOPS_CI_SHOW", "true")
    assert main(["config", "validate"]) == 0
    assert json.loads(capsys.readouterr().out)["metrics"]["precision"] == 7
