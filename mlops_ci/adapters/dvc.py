"""DVC, driven through its command line and its files.

`dvc pull/repro/push` run as subprocesses of the same interpreter (so the
pinned DVC is used), with their output streamed to the log and parsed for
per-stage timings. `dvc repro` runs the stages — the pull request's code — so it
gets a scrubbed environment (:mod:`mlops_ci.pipeline.stage_env`); pull and push, which run
no stage, keep the remote's credentials. Metric files are read straight from git
or the DVC cache: importing DVC costs more than the whole diff should.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

import yaml

from mlops_ci.adapters.git import Git
from mlops_ci.errors import BadInput
from mlops_ci.limits import check_size
from mlops_ci.metrics import parse_metrics
from mlops_ci.repopath import require_inside
from mlops_ci.pipeline.repro import ReproLogParser, ReproResult
from mlops_ci.yamlsource import safe_load, yaml_problem

if TYPE_CHECKING:
    from mlops_ci.pipeline.watch import StageLimits

log = logging.getLogger(__name__)

WORKSPACE = "workspace"


@dataclass
class SyncResult:
    """Outcome of a pull or push: ``ok``, ``skipped`` (nothing to do) or ``warning``."""

    status: str
    message: str = ""


class DvcProject:
    def __init__(self, root: str | Path = ".", git: Git | None = None, env: Mapping[str, str] | None = None,
                 boundary: str | Path | None = None) -> None:
        self.root = Path(root)
        self.git = git or Git(self.root)
        self.env = dict(os.environ if env is None else env)
        #: Files named by dvc.yaml or the config are read only inside this directory (the repository).
        self.boundary = Path(boundary) if boundary is not None else self.root

    # -- files ----------------------------------------------------------------
    def require_pipeline(self) -> None:
        if not (self.root / "dvc.yaml").is_file():
            raise BadInput(f"{self.root.resolve() / 'dvc.yaml'}: no dvc.yaml here",
                           hint="Run mlops-ci in the directory of your DVC project, or set `project.dvc_root` in "
                                ".mlops-ci.yml / --project-dir.")
        file = self.root / "dvc.yaml"
        require_inside("dvc.yaml", self.root, self.boundary, "pipeline file")
        check_size(file.stat().st_size, str(file), "pipeline file")
        try:
            data = safe_load(file.read_bytes(), str(file), "pipeline file")
        except yaml.YAMLError as exc:
            line, problem = yaml_problem(exc)
            raise BadInput(f"{file}{f':{line}' if line else ''}: not valid YAML ({problem})") from None
        if not isinstance(data, dict) or not isinstance(data.get("stages", {}), dict):
            raise BadInput(f"{self.root / 'dvc.yaml'}: expected a mapping with a `stages:` mapping")

    def read(self, rev: str | None, path: str, what: str = "file") -> bytes | None:
        """A file at ``rev`` (None = the working tree), from git or, for DVC-cached outputs, the cache.

        ``path`` comes from dvc.yaml or the config, i.e. from the pull request: one that is
        absolute, climbs out with ``..`` or (in the working tree) resolves through a symlink
        to outside the repository is refused (:mod:`mlops_ci.repopath`), whatever ``rev``.
        """
        workspace = rev is None or rev == WORKSPACE
        require_inside(path, self.root, self.boundary, what, on_disk=workspace)
        if workspace:
            file = self.root / path
            return file.read_bytes() if file.is_file() else None
        content = self.git.show(rev, path)
        if content is not None:
            return content
        return self._read_cached_output(rev, path)

    def _read_cached_output(self, rev: str, path: str) -> bytes | None:
        lock = self.git.show(rev, "dvc.lock")
        if not lock:
            return None
        try:
            md5 = _find_md5(safe_load(lock, f"dvc.lock (at {rev[:12]})", "lock file") or {}, path)
        except yaml.YAMLError:
            return None  # an unreadable lock file has no cached output to offer
        if not md5 or not _MD5.fullmatch(md5):  # the hash names a cache file: nothing else may
            return None
        cache = self.root / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
        return cache.read_bytes() if cache.is_file() else None

    def pipeline_file(self, rev: str | None) -> dict[str, Any]:
        content = self.read(rev, "dvc.yaml")
        if content is None:
            return {}
        where = "" if rev in (None, WORKSPACE) else f" at {rev[:12]}"
        try:
            data = safe_load(content, f"dvc.yaml{where}", "pipeline file") or {}
        except yaml.YAMLError as exc:
            line, problem = yaml_problem(exc)
            raise BadInput(f"dvc.yaml{f':{line}' if line else ''}{where}: not valid YAML ({problem})") from None
        return data if isinstance(data, dict) else {}

    def metric_paths(self, rev: str | None) -> list[str]:
        """Metric files declared in dvc.yaml: top-level ``metrics:`` and stage ``metrics:`` outputs."""
        data = self.pipeline_file(rev)
        paths: list[str] = [_out_path(m) for m in data.get("metrics") or []]
        for stage in (data.get("stages") or {}).values():
            if isinstance(stage, dict):
                body = stage.get("do", stage)
                paths.extend(_out_path(m) for m in body.get("metrics") or [])
        out = []
        for p in paths:
            if "${" in p:
                log.warning("dvc.yaml: skipping templated metrics path %s (list it under metrics.files instead)", p)
                continue
            if p not in out:
                out.append(p)
        return out

    def read_metrics(self, rev: str | None, extra_files: Iterable[str] = (),
                     ignore: Iterable[str] = (), *, missing_ok: bool = False) -> dict[str, dict[str, float]]:
        """``{path: {name: value}}`` at ``rev``.

        At a git revision a declared file that is not there is simply absent (the metric was
        added or removed since). In the working tree, which the pipeline just produced, a
        missing file or a directory in its place is an error: in a diff or a gate, shown as
        "removed", it would hide a broken pipeline. ``missing_ok`` keeps the old leniency
        (absent, and a directory skipped) for callers that only record what is there.
        """
        declared = self.metric_paths(rev)
        result: dict[str, dict[str, float]] = {}
        for path in dict.fromkeys(declared + list(extra_files)):
            what = f"metrics file named in {'dvc.yaml' if path in declared else 'metrics.files of .mlops-ci.yml'}"
            if (rev is None or rev == WORKSPACE) and not missing_ok:
                self._require_workspace_file(path, what)
            content = self.read(rev, path, what)
            if content is None:
                continue
            label = path if rev in (None, WORKSPACE) else f"{path} (at {rev[:12]})"
            result[path] = parse_metrics(content, path, ignore, where=label)
        return result

    def _require_workspace_file(self, path: str, what: str) -> None:
        """A metrics file of the working tree exists, is a regular file and is not oversized."""
        require_inside(path, self.root, self.boundary, what)
        file = self.root / path
        if file.is_dir():
            raise BadInput(f"{path}: {what} is a directory; expected a file")
        if not file.is_file():
            raise BadInput(f"{path}: {what} is missing from the working tree",
                           hint="Run the pipeline (`mlops-ci repro` / `dvc repro`) or `dvc pull` first so it "
                                "exists, or stop declaring it.")
        check_size(file.stat().st_size, path, "metrics file")

    def declared_params(self, *revs: str | None) -> dict[str, set[str] | None]:
        """Params declared by the pipeline at any of ``revs`` (a key added by the PR counts on both sides)."""
        from mlops_ci.params import declared_params, merge_declared

        return merge_declared(declared_params(self.pipeline_file(rev)) for rev in revs)

    def read_params(self, rev: str | None, declared: dict[str, set[str] | None] | None = None
                    ) -> dict[str, dict[str, Any]]:
        """``{file: {dotted.key: value}}`` of the declared params, at ``rev``."""
        from mlops_ci.params import parse_params, select

        result: dict[str, dict[str, Any]] = {}
        for path, keys in (declared if declared is not None else self.declared_params(rev)).items():
            content = self.read(rev, path, "params file named in dvc.yaml")
            if content is None:
                continue
            label = path if rev in (None, WORKSPACE) else f"{path} (at {rev[:12]})"
            result[path] = select(parse_params(content, path, where=label), keys)
        return result

    # -- commands -----------------------------------------------------------
    def _dvc(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "dvc", *args]

    def _env(self) -> dict[str, str]:
        return {**self.env, "DVC_NO_ANALYTICS": "1", "PYTHONUNBUFFERED": "1"}

    def _run_quiet(self, *args: str) -> subprocess.CompletedProcess[str]:
        log.debug("dvc %s", " ".join(args))
        return subprocess.run(self._dvc(*args), cwd=self.root, capture_output=True, text=True, env=self._env())

    def default_remote(self, remote: str | None) -> str | None:
        if remote:
            return remote
        proc = self._run_quiet("remote", "default")
        name = proc.stdout.strip()
        return name if proc.returncode == 0 and name and "No default remote" not in name else None

    def pull(self, remote: str | None = None, targets: Iterable[str] = ()) -> SyncResult:
        name = self.default_remote(remote)
        if name is None:
            return SyncResult("skipped", "no DVC remote is configured: nothing to pull, every stage whose "
                                         "inputs changed will be recomputed (configure one with `dvc remote add -d`)")
        proc = self._run_quiet("pull", "--run-cache", "--allow-missing", "-r", name, *targets)
        if proc.returncode != 0:
            return SyncResult("warning", f"dvc pull from remote '{name}' failed; continuing without it: "
                                         f"{_last_error(proc)}")
        return SyncResult("ok", f"pulled data and run-cache from remote '{name}'")

    def push(self, remote: str | None = None) -> SyncResult:
        name = self.default_remote(remote)
        if name is None:
            return SyncResult("skipped", "no DVC remote is configured: outputs and run-cache were not saved")
        proc = self._run_quiet("push", "--run-cache", "-r", name)
        if proc.returncode != 0:
            return SyncResult("error", f"dvc push to remote '{name}' failed: {_last_error(proc)}")
        return SyncResult("ok", f"pushed outputs and run-cache to remote '{name}'")

    def repro(self, targets: Iterable[str] = (), *, force: bool = False, keep_going: bool = False,
              pull: bool = False, pass_env: Sequence[str] = (),
              echo: Callable[[str], None] | None = None, limits: "StageLimits | None" = None,
              heartbeat_s: float | None = None, gpu_now: Callable[[], str | None] | None = None) -> ReproResult:
        """Run `dvc repro`; with ``pull``, outputs of stages found in the run-cache are fetched
        from the remote instead of being recomputed (that is what makes a fresh runner cheap).

        The stages see the environment without tokens, secrets and the runner's files, except
        what ``pass_env`` (names or globs) lets through; one line names what was withheld.

        No stage can hang the job (:mod:`mlops_ci.pipeline.supervise`, :mod:`mlops_ci.pipeline.watch`): one
        over its limit in ``limits`` is stopped with every process it started; a heartbeat line
        (with ``gpu_now()``, the GPUs right now) comes at most every ``heartbeat_s`` seconds; and
        processes a stage leaves running after DVC ends are stopped and named.
        """
        from mlops_ci.pipeline.supervise import run_supervised
        from mlops_ci.redact import Redactor
        from mlops_ci.pipeline.stage_env import scrub, with_interpreter_on_path, withheld_line
        from mlops_ci.pipeline.watch import DEFAULT_HEARTBEAT_S, StageLimits, Stopped, Watchdog

        args = ["repro"]
        if pull:
            args.extend(["--pull", "--allow-missing"])
        if force:
            args.append("--force")
        if keep_going:
            args.append("--keep-going")
        args.extend(targets)
        env, withheld = scrub(self._env(), pass_env)
        env = with_interpreter_on_path(env)  # `python` in a stage is the interpreter with mlops-ci's packages
        if withheld:
            (echo or log.warning)(withheld_line(withheld))
        start = time.monotonic()
        parser = ReproLogParser(start)
        watchdog = Watchdog(limits or StageLimits(), heartbeat_s or DEFAULT_HEARTBEAT_S, start=start)
        stopped: list[Stopped] = []
        say = echo or log.info
        log.debug("dvc %s", " ".join(args))
        redactor = Redactor.from_env(self.env)  # DVC's errors quote remote URLs, credentials included

        def on_line(line: str, now: float) -> None:
            parser.feed(line, now)
            if echo:
                echo(redactor.text(line))

        def on_tick(now: float) -> bool:
            phase = parser.phase()
            if beat := watchdog.heartbeat(now, phase, gpu_now() if gpu_now else None):
                say(beat)
            if over := watchdog.overrun(now, phase):
                stopped.append(over)
                say(f"⛔ mlops-ci: {over.message}")
                return True
            return False

        outcome = run_supervised(self._dvc(*args), cwd=self.root, env=env, on_line=on_line, on_tick=on_tick)
        if outcome.leftovers:
            say("⚠️ mlops-ci: a stage left processes running after `dvc repro` ended; they held its output "
                "open and were stopped: " + "; ".join(outcome.leftovers))
        return parser.finish(time.monotonic(), outcome.returncode, stopped=stopped[0] if stopped else None,
                             leftovers=outcome.leftovers)


_MD5 = re.compile(r"[0-9a-f]{32}")


def _out_path(entry: Any) -> str:
    if isinstance(entry, dict):
        return str(next(iter(entry)))
    return str(entry)


def _find_md5(lock: Any, path: str) -> str | None:
    stages = lock.get("stages") if isinstance(lock, dict) else None
    for stage in (stages.values() if isinstance(stages, dict) else ()):
        outs = stage.get("outs") if isinstance(stage, dict) else None
        for out in (outs if isinstance(outs, list) else []):
            if isinstance(out, dict) and out.get("path") == path and out.get("md5") \
                    and not str(out["md5"]).endswith(".dir"):
                return str(out["md5"])
    return None


def _last_error(proc: subprocess.CompletedProcess[str]) -> str:
    from mlops_ci.redact import redact

    lines = [ln.strip() for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("ERROR")]
    # redacted before it is cut: DVC quotes the remote's URL, credentials included
    return redact(errors[-1] if errors else (lines[-1] if lines else f"exit code {proc.returncode}"))[:500]
