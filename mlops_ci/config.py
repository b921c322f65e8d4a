"""The `.mlops-ci.yml` model: one source of truth for a repository's settings.

CLI flags and action inputs override what is here; what is not here has a
default that works for the bundled example. Validation errors name the file,
the line, the key and what was expected, because the person reading them is
usually looking at a red CI job, not at our source code.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from mlops_ci.bots.config import BotConfig, MonitorConfig
from mlops_ci.cost.config import CostConfig
from mlops_ci.drift.config import ContractsConfig, DriftConfig
from mlops_ci.deploy.config import BuildConfig, DeployConfig
from mlops_ci.errors import ConfigError
from mlops_ci.gate.config import GateConfig
from mlops_ci.limits import MAX_INPUT_BYTES
from mlops_ci.metrics import NOISY_PATTERNS
from mlops_ci.yamlsource import LocatedDocument, load_yaml

CONFIG_FILENAME = ".mlops-ci.yml"
SCHEMA_ID = "https://github.com/org/mlops-ci/schemas/mlops-ci.schema.json"

Direction = Literal["higher", "lower"]
_ENV_GLOB = re.compile(r"[A-Za-z0-9_*?\[\]!]+")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class ProjectConfig(_Section):
    dvc_root: str = Field(".", description="Directory of the DVC project (dvc.yaml), relative to the repository root.")
    default_branch: str | None = Field(
        None, description="Branch PRs are compared against. Default: the repository's default branch "
        "(from the event, origin/HEAD, or main/master).")


class MetricsConfig(_Section):
    files: list[str] = Field(default_factory=list, description="Extra metric files to read besides those declared in dvc.yaml.")
    precision: int = Field(4, ge=0, le=12, description="Significant decimals shown in diffs.")
    direction: dict[str, Direction] = Field(
        default_factory=dict,
        description="Which way is better, per metric name or glob (e.g. 'latency_*: lower'). Names matching "
        "loss/error/latency/mse/mae/rmse default to lower, auc/accuracy/f1/precision/recall/r2 to higher; "
        "others have no direction (shown neutral).")
    ignore: list[str] = Field(default_factory=list, description="Metric names or globs to leave out of diffs and gates.")
    noisy: list[str] = Field(
        default_factory=lambda: list(NOISY_PATTERNS),
        description="Timings measured on a shared runner (names or globs; default: latency, *_ms, seconds, "
        "*_time*, duration, throughput, qps): a regression is shown and marked noisy but does not turn the "
        "report's headline into a warning; the gate still judges them by its rules. Measure them several "
        "times in the stage and report the median. [] treats them like every other metric.")


class ReproConfig(_Section):
    targets: list[str] = Field(default_factory=list, description="Stages or dvc.yaml files to reproduce (default: all).")
    pull: bool = Field(True, description="Run `dvc pull` (data and run-cache) before reproducing.")
    push: bool = Field(True, description="Run `dvc push` (outputs and run-cache) after reproducing.")
    remote: str | None = Field(None, description="DVC remote name (default: the project's default remote).")
    push_remote: str | None = Field(
        None, description="DVC remote that `dvc push` writes to, when not `remote`: set it in pull-request jobs "
        "to a remote main never reads, so main never restores an output or run-cache entry a PR job wrote "
        "(docs/security.md). Pulls still come from `remote`.")
    keep_going: bool = Field(False, description="Continue with independent stages when one fails.")
    pass_env: list[str] = Field(
        default_factory=list,
        description="Environment variables (names or globs, e.g. 'AWS_*') handed to the DVC stages although "
        "they look secret: by default `dvc repro` runs the stages without variables whose name contains "
        "TOKEN, PASSWORD or SECRET and without values holding URI credentials. GitHub's tokens, ACTIONS_* "
        "and the runner's GITHUB_ENV/PATH/OUTPUT/STATE/STEP_SUMMARY are never handed over.")

    stage_timeout: float | dict[str, float] | None = Field(
        None, description="Seconds a stage may run before mlops-ci stops it and every process it started, and "
        "fails the run naming it: one number for every stage, or a mapping of stage name or glob to seconds "
        "(exact names first, then globs in order; '*' for the rest), e.g. {train: 7200, '*': 1800}. DVC's own "
        "work between stages is held to the '*' / single-number limit. `--stage-timeout` overrides it all. "
        "Default: no limit (the workflow's timeout-minutes is then the only one).")
    heartbeat: float = Field(60.0, ge=0.1, le=60, description=(
        "Seconds between the heartbeat lines `mlops-ci repro` prints while DVC runs (which stage, for how "
        "long, and on GPU runners the GPUs' utilisation and memory right now); at most 60."))

    @field_validator("stage_timeout", mode="before")
    @classmethod
    def _timeouts(cls, value: Any) -> Any:
        expected = ("expected seconds (a number > 0) or a mapping of stage name or glob to seconds, "
                    "e.g. {train: 7200, '*': 1800}")
        if value is None:
            return value
        if isinstance(value, dict):
            for key, seconds in value.items():
                if not isinstance(key, str) or not key.strip():
                    raise ValueError(f"stage name {key!r}: {expected}")
                if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds > 0 \
                        or seconds == float("inf"):
                    raise ValueError(f"{key}: {seconds!r} is not a number of seconds > 0 ({expected})")
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or value == float("inf"):
            raise ValueError(expected)
        return value

    @field_validator("pass_env")
    @classmethod
    def _env_names(cls, value: list[str]) -> list[str]:
        for item in value:
            if not _ENV_GLOB.fullmatch(item):
                raise ValueError(f"{item!r} is not an environment variable name or glob (letters, digits, "
                                 "_ and the glob characters * ? [ ] !)")
        return value


class MlflowConfig(_Section):
    tracking_uri: str | None = Field(
        None, description="MLflow tracking URI. Default: $MLFLOW_TRACKING_URI, else a local SQLite store under .mlops-ci/.")
    registry_uri: str | None = Field(None, description="Model registry URI, when different from the tracking URI.")
    model_name: str | None = Field(None, description="Registered model name. Default: the repository name.")
    experiment: str | None = Field(None, description="Experiment name. Default: the repository name.")


class RegistryConfig(_Section):
    mode: Literal["mlflow", "git-tags"] = Field(
        "mlflow", description="Where model versions live: the MLflow registry (aliases), or git tags "
        "(GTO style: model@v1.2.3 and model#prod#N) for teams without MLflow.")
    model_path: str = Field("models/model.pkl", description="The trained model (a pickle) the pipeline writes.")
    flavor: Literal["sklearn"] = Field("sklearn", description="MLflow flavor written for the model.")
    extra_files: list[str] = Field(default_factory=list,
                                   description="Files stored next to the model (e.g. models/model_meta.json).")
    predictions: str | None = Field("eval/predictions.csv",
                                    description="Per-example holdout predictions, logged for significance tests.")
    reference_profile: str | None = Field(
        None, description="Drift reference profile to store with the model (default: the one `mlops-ci profile "
        "build` wrote to .mlops-ci/out, if any).")
    pip_requirements: list[str] = Field(
        default_factory=list, description="Serving requirements (default: scikit-learn, numpy, pandas, scipy, "
        "cloudpickle pinned to the versions installed). Given explicitly, so MLflow infers nothing.")


class Config(_Section):
    """Root of `.mlops-ci.yml`."""

    model_config = ConfigDict(extra="forbid", validate_default=True,
                              json_schema_extra={"$id": SCHEMA_ID, "title": "mlops-ci configuration (.mlops-ci.yml)"})

    version: Literal[1] = Field(1, description="Schema version of this file.")
    project: ProjectConfig = Field(default_factory=ProjectConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    repro: ReproConfig = Field(default_factory=ReproConfig)
    mlflow: MlflowConfig = Field(default_factory=MlflowConfig)
    registry: RegistryConfig = Field(default_factory=RegistryConfig)
    gate: GateConfig = Field(default_factory=GateConfig)
    build: BuildConfig = Field(default_factory=BuildConfig)
    deploy: DeployConfig = Field(default_factory=DeployConfig)
    drift: DriftConfig = Field(default_factory=DriftConfig)
    contracts: ContractsConfig = Field(default_factory=ContractsConfig)
    cost: CostConfig = Field(default_factory=CostConfig)
    bot: BotConfig = Field(default_factory=BotConfig)
    monitor: MonitorConfig = Field(default_factory=MonitorConfig)

    #: Where the file was read from (None when running on defaults).
    _source: str | None = PrivateAttr(None)

    @property
    def source(self) -> str | None:
        return self._source


def json_schema() -> dict[str, Any]:
    schema = Config.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def find_config(project_dir: str | os.PathLike[str] = ".", path: str | None = None) -> Path | None:
    if path:
        candidate = Path(path)
        if not candidate.is_file():
            raise ConfigError(f"{path}: config file not found", file=str(path))
        return candidate
    candidate = Path(project_dir) / CONFIG_FILENAME
    return candidate if candidate.is_file() else None


def load_config(project_dir: str | os.PathLike[str] = ".", path: str | None = None) -> Config:
    """Read and validate the config; no file means all defaults."""
    file = find_config(project_dir, path)
    if file is None:
        return Config()
    if file.stat().st_size > MAX_INPUT_BYTES:  # refused before reading (mlops_ci.limits)
        raise ConfigError(f"{file}: config file is larger than {MAX_INPUT_BYTES >> 20} MiB", file=str(file))
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{file}: not UTF-8 text", file=str(file)) from None
    return parse_config(text, str(file))


def parse_config(text: str, file: str) -> Config:
    doc = load_yaml(text, file)
    if not isinstance(doc.data, dict):
        raise ConfigError(f"{file}:1: expected a mapping of settings at the top level, got {type(doc.data).__name__}",
                          file=file, line=1)
    try:
        config = Config.model_validate(doc.data)
    except ValidationError as exc:
        raise _explain(exc, doc) from None
    config._source = file
    return config


def _explain(exc: ValidationError, doc: LocatedDocument) -> ConfigError:
    """Turn pydantic's errors into 'file:line: key: what was expected' sentences."""
    problems: list[str] = []
    first_line: int | None = None
    first_key: str | None = None
    for err in exc.errors():
        loc = tuple(err["loc"])
        key = ".".join(str(p) for p in loc)
        line = doc.line_of(loc)
        if err["type"] == "extra_forbidden":
            text = f"unknown key '{key}'" + _did_you_mean(loc)
        elif err["type"] == "missing":
            text = f"key '{key}' is required"
        elif err["type"] in ("model_type", "dict_type"):  # pydantic says "... or instance of MetricsConfig"
            got = err.get("input")
            text = f"key '{key}': expected a mapping of settings (got {got!r})"
        else:
            got = err.get("input")
            text = f"key '{key}': {err['msg'][0].lower() + err['msg'][1:]} (got {got!r})"
        problems.append(f"{doc.file}:{line}: {text}")
        if first_line is None:
            first_line, first_key = line, key
    message = problems[0] if len(problems) == 1 else "invalid configuration:\n  " + "\n  ".join(problems)
    return ConfigError(message, file=doc.file, line=first_line, key=first_key,
                       hint="Run `mlops-ci config schema` for the full reference.")


def _did_you_mean(loc: tuple[Any, ...]) -> str:
    model: Any = Config
    for part in loc[:-1]:
        field = model.model_fields.get(part) if isinstance(part, str) and hasattr(model, "model_fields") else None
        if field is None:
            return ""
        annotation = field.annotation
        model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
        if model is None:
            return ""
    allowed = list(model.model_fields)
    close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
    suggestion = f"; did you mean '{close[0]}'?" if close else ""
    return f"{suggestion} (allowed here: {', '.join(allowed)})"
