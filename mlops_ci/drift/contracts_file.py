"""Reading a contracts file: a ``contracts:`` mapping, the mapping itself, or a Great Expectations suite."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlops_ci.errors import BadInput, ConfigError

if TYPE_CHECKING:
    from mlops_ci.drift.config import ContractsConfig


def read_contracts(path: str) -> "ContractsConfig":
    """A contracts file: a ``contracts:`` mapping, the mapping itself, or a Great Expectations suite (JSON/YAML)."""
    import yaml
    from pydantic import ValidationError

    from mlops_ci.drift.config import ContractsConfig
    from mlops_ci.limits import MAX_INPUT_BYTES
    from mlops_ci.yamlsource import safe_load

    try:
        with open(path, "rb") as fh:
            data = safe_load(fh.read(MAX_INPUT_BYTES + 1), path, "contracts file")
    except FileNotFoundError:
        raise BadInput(f"{path}: contracts file not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not a YAML/JSON contracts file ({exc})", file=path) from None
    if isinstance(data, dict) and "contracts" in data:
        data = data["contracts"]
    elif isinstance(data, dict) and "expectation_suite_name" in data or (
            isinstance(data, dict) and "expectations" in data and "name" in data):
        data = {"expectations": data.get("expectations", [])}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of contract settings", file=path)
    try:
        return ContractsConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])
        raise ConfigError(f"{path}: invalid contracts ({problems})", file=path) from None
