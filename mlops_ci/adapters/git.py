"""Git, through the `git` command line (always present where Actions run)."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

from mlops_ci.errors import BadInput

log = logging.getLogger(__name__)

ZERO_SHA = "0" * 40


class GitError(BadInput):
    pass


class Git:
    def __init__(self, cwd: str | Path = ".") -> None:
        self.cwd = Path(cwd)

    def run(self, *args: str, check: bool = True, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        log.debug("git %s (in %s)", " ".join(args), self.cwd)
        try:
            proc = subprocess.run(["git", *args], cwd=self.cwd, capture_output=True, input=input)
        except FileNotFoundError:
            raise GitError("git is not installed or not on PATH") from None
        if check and proc.returncode != 0:
            raise GitError(f"git {' '.join(args)} failed in {self.cwd}: {proc.stderr.decode(errors='replace').strip()}")
        return proc

    def out(self, *args: str) -> str:
        return self.run(*args).stdout.decode().strip()

    def try_out(self, *args: str) -> str | None:
        proc = self.run(*args, check=False)
        return proc.stdout.decode().strip() if proc.returncode == 0 else None

    # -- repository facts ---------------------------------------------------
    def toplevel(self) -> Path:
        top = self.try_out("rev-parse", "--show-toplevel")
        if top is None:
            raise GitError(f"{self.cwd.resolve()} is not inside a git repository",
                           hint="mlops-ci compares revisions with git: run it in a clone of your repository "
                                "(in Actions, after actions/checkout).")
        return Path(top)

    def head(self) -> str:
        sha = self.resolve("HEAD")
        if sha is None:
            self.toplevel()
            raise GitError(f"{self.cwd.resolve()}: the git repository has no commits yet")
        return sha

    def branch(self) -> str | None:
        name = self.try_out("symbolic-ref", "--quiet", "--short", "HEAD")
        return name or None

    def resolve(self, rev: str) -> str | None:
        return self.try_out("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")

    def has_commit(self, sha: str) -> bool:
        return self.run("cat-file", "-e", f"{sha}^{{commit}}", check=False).returncode == 0

    def is_shallow(self) -> bool:
        return self.try_out("rev-parse", "--is-shallow-repository") == "true"

    def default_branch(self) -> str | None:
        ref = self.try_out("symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD")
        if ref:
            return ref.split("/", 1)[1]
        for name in ("main", "master"):
            if self.resolve(f"refs/heads/{name}") or self.resolve(f"refs/remotes/origin/{name}"):
                return name
        return None

    def merge_base(self, a: str, b: str) -> str | None:
        return self.try_out("merge-base", a, b)

    def show(self, rev: str, path: str) -> bytes | None:
        """File contents at ``rev``; ``path`` is relative to ``cwd`` (git's ``./`` syntax)."""
        proc = self.run("show", f"{rev}:./{path}", check=False)
        return proc.stdout if proc.returncode == 0 else None

    def fetch_commit(self, sha: str, remote: str = "origin") -> bool:
        """Fetch one commit (for shallow clones); True when it is now present."""
        proc = self.run("fetch", "--no-tags", "--depth=1", remote, sha, check=False)
        if proc.returncode != 0:
            log.debug("fetch of %s failed: %s", sha, proc.stderr.decode(errors="replace"))
        return self.has_commit(sha)

    def ensure_commit(self, sha: str, what: str) -> str:
        """Make ``sha`` available locally, fetching it once if the clone is shallow."""
        if self.has_commit(sha):
            return sha
        if self.fetch_commit(sha):
            return sha
        shallow = " This clone is shallow." if self.is_shallow() else ""
        raise GitError(
            f"the {what} commit {sha[:12]} is not in this clone and could not be fetched.{shallow}",
            hint="Check out with full history (actions/checkout with `fetch-depth: 0`) or make sure the "
                 "runner can fetch from origin.")
