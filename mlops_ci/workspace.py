"""Everything a command needs to know about the repository it runs in.

Commands open a :class:`Workspace` once: it finds `.mlops-ci.yml`, the DVC
project inside the repository, the run context (GitHub event or local git) and
the output runtime, and resolves which revisions to compare.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Mapping

from mlops_ci.adapters.dvc import WORKSPACE, DvcProject
from mlops_ci.adapters.git import Git
from mlops_ci.config import CONFIG_FILENAME, Config, load_config, parse_config
from mlops_ci.github.context import RunContext, detect
from mlops_ci.errors import BadInput, ConfigError
from mlops_ci.github.actions import Runtime
from mlops_ci.policy import Policy, own_policy, trusted_policy
from mlops_ci.repopath import escapes, resolves_outside

#: Local state (MLflow store, outputs) lives here, inside the user's repository.
STATE_DIR = ".mlops-ci"


@dataclass
class Workspace:
    root: Path
    config: Config
    env: Mapping[str, str]

    @cached_property
    def git(self) -> Git:
        return Git(self.root)

    @cached_property
    def dvc_root(self) -> Path:
        """The DVC project: ``project.dvc_root`` of the config, which must lie inside the repository."""
        setting = self.config.project.dvc_root
        if escapes(setting, self.root, self.root) or resolves_outside(setting, self.root, self.root):
            raise ConfigError(f"{self.config.source or CONFIG_FILENAME}: project.dvc_root '{setting}' is outside the "
                              "repository", file=self.config.source, key="project.dvc_root",
                              hint="Give the DVC project's directory relative to the repository root, inside it.")
        return (self.root / setting).resolve()

    @cached_property
    def dvc(self) -> DvcProject:
        return DvcProject(self.dvc_root, Git(self.dvc_root), self.env, boundary=self.root)

    @cached_property
    def runtime(self) -> Runtime:
        return Runtime.detect(self.root, self.env)

    @cached_property
    def context(self) -> RunContext:
        return detect(self.env, lambda: self.git, self.config.project.default_branch)

    def require_git(self) -> None:
        self.git.toplevel()

    def base_revision(self, explicit: str | None) -> str:
        """What the change is compared against: --base, else the PR base / push 'before', else merge-base."""
        if explicit:
            # A CI clone (actions/checkout) has no local branches, only origin's: `--base main` means origin/main there.
            sha = self.git.resolve(explicit) or self.git.resolve(f"refs/remotes/origin/{explicit}")
            if sha is None:
                if len(explicit) >= 7 and all(ch in "0123456789abcdef" for ch in explicit.lower()):
                    return self.git.ensure_commit(explicit, "base")
                raise BadInput(f"--base {explicit}: no such revision in {self.root}",
                               hint="Use a branch, tag or commit SHA that exists in this clone.")
            return sha
        ctx = self.context
        if ctx.base_sha:
            return self.git.ensure_commit(ctx.base_sha, "base")
        if ctx.in_github:
            # push to a new branch, schedule, dispatch: compare with the previous commit if there is one.
            parent = self.git.resolve("HEAD~1")
            if parent:
                return parent
            raise BadInput("no base revision: this event has no base commit and HEAD has no parent",
                           hint="Pass --base, or check out with `fetch-depth: 0`.")
        if ctx.merge_base:
            return ctx.merge_base
        return self.git.head()

    def head_revision(self, explicit: str | None) -> str:
        if explicit is None or explicit == WORKSPACE:
            return WORKSPACE
        sha = self.git.resolve(explicit)
        if sha is None:
            raise BadInput(f"--head {explicit}: no such revision in {self.root}")
        return sha

    def policy(self, base: str | None) -> Policy:
        """The pass/fail rules for a change compared with ``base`` (a commit): the base's `.mlops-ci.yml`.

        ``base=None`` (no git history to trust) judges with the working tree's rules and says so. A
        base without the file has the defaults, whose gate has no rules — a failing gate, not a pass.
        A config file outside the repository (``--config`` on the runner) is not the change's to
        edit, so it is trusted as it is.
        """
        if base is None:
            return own_policy(self.config, "no base commit given to read the rules from")
        relative = self._config_in_repo()
        if relative is None:
            return Policy(self.config, f"`{self.config.source}` (outside the repository)")
        label = f"{relative} (at {short(base)})"
        text = self.git.show(base, relative)
        if text is None:
            return trusted_policy(self.config, Config(), f"defaults: no `{relative}` at base `{short(base)}`")
        try:
            decoded = text.decode("utf-8")
        except UnicodeDecodeError:
            raise BadInput(f"{label}: not UTF-8 text") from None
        return trusted_policy(self.config, parse_config(decoded, label), f"`{relative}` at base `{short(base)}`")

    def _config_in_repo(self) -> str | None:
        """The config's path relative to ``root`` (what ``git show REV:./path`` needs), None outside the repo."""
        source = self.config.source
        path = Path(source) if source else self.root / CONFIG_FILENAME
        path = path if path.is_absolute() else (Path.cwd() / path)
        try:
            top = self.git.toplevel().resolve()
            resolved = path.parent.resolve() / path.name
            resolved.relative_to(top)
            return os.path.relpath(resolved, self.root)
        except (ValueError, BadInput):
            return None

    def mlflow_tracking_uri(self) -> str:
        """Configured URI, else $MLFLOW_TRACKING_URI, else an embedded SQLite store (no server needed)."""
        uri = self.config.mlflow.tracking_uri or self.env.get("MLFLOW_TRACKING_URI")
        if uri:
            return uri
        state = self.root / STATE_DIR
        state.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(state / 'mlflow.db').resolve()}"


def open_workspace(project_dir: str | os.PathLike[str] = ".", config_path: str | None = None,
                   env: Mapping[str, str] | None = None) -> Workspace:
    root = Path(project_dir)
    if not root.is_dir():
        raise BadInput(f"{project_dir}: project directory does not exist")
    config = load_config(root, config_path)
    return Workspace(root.resolve(), config, dict(os.environ if env is None else env))


def short(rev: str) -> str:
    return rev if rev == WORKSPACE else rev[:7]
