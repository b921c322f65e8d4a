"""A throw-away copy of an example project, turned into a git repo with a PR.

`mlops-ci demo` needs a realistic starting point: a main branch whose CI has
already trained and pushed a model, and a pull-request branch that changes data
and parameters. The example ships a small scenario file (``demo.yml``) saying
how to make its data and what the PR changes; this module plays it out.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from mlops_ci.adapters.git import Git
from mlops_ci.errors import BadInput, StepFailed
from mlops_ci.yamlsource import safe_load

SCENARIO_FILE = "demo.yml"
_IGNORED_COPY = shutil.ignore_patterns(".dvc", ".git", ".mlops-ci", "__pycache__", "*.pyc", "data", "models", "eval",
                                       "dvc.lock", "metrics.json")


@dataclass
class Change:
    message: str
    commands: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Scenario:
    track: list[str]
    base: Change
    pr: Change
    pr_branch: str = "demo/pr"


def load_scenario(example: Path) -> Scenario:
    path = example / SCENARIO_FILE
    try:
        data = safe_load(path.read_bytes(), str(path), "demo scenario") or {}
        return Scenario(track=list(data.get("track") or []),
                        base=Change(**data["base"]), pr=Change(**data["pr"]),
                        pr_branch=data.get("pr_branch", "demo/pr"))
    except FileNotFoundError:
        raise BadInput(f"{path}: the example has no demo scenario file") from None
    except (KeyError, TypeError, yaml.YAMLError) as exc:
        raise BadInput(f"{path}: invalid demo scenario ({exc}); expected keys track, base, pr") from None


def bundled_example(name: str = "churn") -> Path:
    """The example shipped inside the package (override with MLOPS_CI_EXAMPLE_DIR).

    The wheel carries it as package data under ``mlops_ci/examples/`` (in a checkout that is a link
    to the repository's ``examples/``), so `pip install "mlops-ci[all]"` is enough for the demo.
    """
    override = os.environ.get("MLOPS_CI_EXAMPLE_DIR")
    path = Path(override) if override else Path(__file__).resolve().parent / "examples" / name
    if not (path / "dvc.yaml").is_file():
        raise BadInput(f"{path}: example project not found",
                       hint="Reinstall mlops-ci (the example ships inside its wheel), or set MLOPS_CI_EXAMPLE_DIR "
                            "to a copy of examples/churn.")
    return path


#: The JSON Schema of .mlops-ci.yml, shipped with the package (what `mlops-ci config schema` prints; in a
#: checkout a link to the repository's mlops-ci.schema.json).
SCHEMA_FILE = Path(__file__).resolve().parent / "mlops-ci.schema.json"
_SCHEMA_LINE = "# yaml-language-server: $schema="


def _make_writable(root: Path) -> None:
    for path in (root, *root.rglob("*")):
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | 0o200)


def _point_schema_link(config: Path) -> None:
    """The copied example's ``$schema`` link is relative to where it ships: aim it at the packaged file."""
    if not config.is_file() or not SCHEMA_FILE.is_file():
        return
    lines = config.read_text(encoding="utf-8").splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.startswith(_SCHEMA_LINE):
            lines[i] = f"{_SCHEMA_LINE}{SCHEMA_FILE.as_uri()}\n"
    config.write_text("".join(lines), encoding="utf-8")


class DemoRepo:
    """The sandbox repository; every command runs inside it with a local-only environment."""

    def __init__(self, root: Path, env: Mapping[str, str]) -> None:
        self.root = root
        self.env = dict(env)
        self.git = Git(root)

    @classmethod
    def create(cls, example: Path, root: Path) -> "DemoRepo":
        if root.exists() and any(root.iterdir()):
            raise BadInput(f"{root}: --workdir must be empty or not exist yet (the demo creates a git repo there)")
        shutil.copytree(example, root, ignore=_IGNORED_COPY, dirs_exist_ok=True)
        _make_writable(root)  # an installed package may be read-only (actions/setup seals its venv)
        _point_schema_link(root / ".mlops-ci.yml")
        # Embedded defaults only: no GitHub, no outside MLflow server, no inputs meant for a real job.
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("GITHUB_", "RUNNER_", "MLOPS_CI_", "MLFLOW_"))}
        env.pop("CI", None)
        # The example trains with the toolkit's own interpreter (its `example` extra).
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        env.update({"GIT_AUTHOR_NAME": "mlops-ci demo", "GIT_AUTHOR_EMAIL": "demo@mlops-ci.invalid",
                    "GIT_COMMITTER_NAME": "mlops-ci demo", "GIT_COMMITTER_EMAIL": "demo@mlops-ci.invalid",
                    "DVC_NO_ANALYTICS": "1"})
        repo = cls(root, env)
        repo.sh("git init --quiet --initial-branch=main")
        repo.sh(f"{shlex.quote(sys.executable)} -m dvc init --quiet")
        remote = root / ".mlops-ci" / "dvc-remote"
        remote.mkdir(parents=True, exist_ok=True)
        repo.sh(f"{shlex.quote(sys.executable)} -m dvc remote add --default local {shlex.quote(str(remote))}")
        with open(root / ".gitignore", "a", encoding="utf-8") as fh:
            fh.write("\n.mlops-ci/\n")
        return repo

    def sh(self, command: str) -> str:
        proc = subprocess.run(command, shell=True, cwd=self.root, env=self.env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise StepFailed(f"demo step failed: {command}\n{(proc.stderr or proc.stdout).strip()[-2000:]}")
        return proc.stdout

    def apply(self, change: Change, track: list[str]) -> None:
        for command in change.commands:
            self.sh(command.replace("{python}", shlex.quote(sys.executable)))
        if change.params:
            _set_params(self.root / "params.yaml", change.params)
        for path in track:
            self.sh(f"{shlex.quote(sys.executable)} -m dvc add --quiet {shlex.quote(path)}")

    def commit(self, message: str) -> str:
        self.sh("git add --all")
        self.sh(f"git commit --quiet --allow-empty -m {shlex.quote(message)}")
        return self.git.head()


def _set_params(path: Path, changes: Mapping[str, Any]) -> None:
    """Set dotted keys in params.yaml, keeping its comments (ruamel round-trip, as DVC itself does)."""
    from ruamel.yaml import YAML

    yml = YAML()
    params = yml.load(path.read_text(encoding="utf-8")) or {}
    for dotted, value in changes.items():
        node = params
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    with open(path, "w", encoding="utf-8") as fh:
        yml.dump(params, fh)
