"""The GitHub Actions runtime, and its local stand-in.

Everything a command wants to show goes through a ``Runtime``: step outputs,
the job summary, annotations, secret masking, log groups. On a runner these
become ``$GITHUB_OUTPUT``, ``$GITHUB_STEP_SUMMARY`` and workflow commands; on a
laptop the same calls write under ``.mlops-ci/out/`` so that `mlops-ci demo`
and a real PR job run exactly the same code.

Every text a ``Runtime`` writes (outputs, summary, annotations, artifact files) is redacted
(:mod:`mlops_ci.redact`): ``::add-mask::`` protects the log only, and the summary and artifacts are
read by people the log's masking never reaches.
"""

from __future__ import annotations

import json
import os
import re
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator, Literal, Mapping

from mlops_ci.redact import Redactor

#: GitHub rejects a step summary above 1 MiB.
SUMMARY_LIMIT = 1024 * 1024
SUMMARY_TRUNCATED = "\n\n> [!WARNING]\n> Summary truncated at GitHub's 1 MiB limit; the full report is in the artifact.\n"
LOCAL_OUT_DIR = Path(".mlops-ci") / "out"

Level = Literal["error", "warning", "notice"]


def escape_data(value: str) -> str:
    """Escape the message part of a workflow command (as @actions/core does)."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """Escape a property value (file=, title=) of a workflow command."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


#: How the runner splits its input into lines (.NET ReadLine: \r\n, \r or \n).
_RUNNER_LINES = re.compile(r"\r\n|\r|\n")


def defuse_workflow_commands(text: str) -> str:
    """``text`` with nothing the runner would take for a workflow command, for printing in Actions.

    The runner parses every line of a step's stdout and stderr: a line that starts with ``::``
    after leading whitespace (``::warning``, ``::stop-commands::``, ``::add-mask::``) or contains
    ``##[`` anywhere (the old syntax) is a command. Error text quotes inputs (a ``--base``, a
    ``--target``, a repository name), so a newline in one would let it issue commands. Such lines
    get a ``| `` prefix; ``##[`` becomes ``## [``. The words stay readable.
    """
    lines = []
    for line in _RUNNER_LINES.split(text):
        line = line.replace("##[", "## [")
        lines.append(f"| {line}" if line.lstrip().startswith("::") else line)
    return "\n".join(lines)


def workflow_command(command: str, message: str, **properties: object) -> str:
    props = ",".join(f"{k}={escape_property(str(v))}" for k, v in properties.items() if v is not None)
    return f"::{command}{' ' + props if props else ''}::{escape_data(message)}"


def error_annotation(message: str, *, file: str | None = None, line: int | None = None, title: str | None = None) -> str:
    return workflow_command("error", message, file=file, line=line, title=title)


def format_output(name: str, value: str) -> str:
    """One entry for ``$GITHUB_OUTPUT``; multi-line values get a random heredoc delimiter.

    The delimiter is random so a value cannot end the heredoc early and inject
    further outputs (the reason @actions/core does the same).
    """
    if "\n" not in value and "\r" not in value:
        return f"{name}={value}\n"
    while True:
        delimiter = f"ghadelimiter_{uuid.uuid4()}"
        if delimiter not in value:
            return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def bound_summary(existing_bytes: int, markdown: str) -> str:
    """Cut ``markdown`` so the whole summary stays within GitHub's 1 MiB."""
    room = SUMMARY_LIMIT - existing_bytes
    data = markdown.encode("utf-8")
    if len(data) <= room:
        return markdown
    marker = SUMMARY_TRUNCATED.encode("utf-8")
    # room for the note and for closing what the cut leaves open (a code fence, <details> blocks),
    # which would otherwise swallow the note
    reserve = len(marker) + 100
    if room < reserve:
        return ""
    text = data[:room - reserve].decode("utf-8", errors="ignore")
    return text + _closing(text) + SUMMARY_TRUNCATED


_ATX = re.compile(r"^(#{1,6})(?=[ \t]|$)")
_CLOSING_TAG = re.compile(r"^\s*</[A-Za-z][A-Za-z0-9-]*\s*>\s*$")


def summary_block(markdown: str) -> str:
    """One step's part of the job summary, made safe to sit between other steps' parts.

    GitHub shows a job's summary as every step's text run together, and Markdown glues what
    is not kept apart: a line after ``</details>`` stays inside the HTML block and a
    ``### Deploy`` there shows as literal text. So a closing tag on its own line always gets a
    blank line after it, and a part whose first heading is deeper than h2 has its headings
    lifted together so that it starts at h2: each step's part is one top-level section of the
    page, whichever level its writer started at (an h3 before the report's h2 read as a
    sub-part of nothing).
    Headings inside code fences are left alone. The blank line *between* parts is added by
    :meth:`Runtime.append_summary`, which knows what the file already ends with.
    """
    lines = markdown.strip("\n").splitlines()
    fence: str | None = None
    first: int | None = None
    headings: list[int] = []
    for i, line in enumerate(lines):
        stripped = line.lstrip()
        if fence is None and stripped.startswith(("```", "~~~")):
            fence = stripped[:3]
        elif fence is not None:
            if stripped.startswith(fence):
                fence = None
        elif line.startswith("#") and _ATX.match(line):
            headings.append(i)
            first = first or len(_ATX.match(line).group(1))  # type: ignore[union-attr]
    shift = 0 if first is None or first <= 2 else 2 - first  # lift a part that starts below h2; an h1 stays
    for i in headings if shift else []:
        level = len(_ATX.match(lines[i]).group(1))  # type: ignore[union-attr]
        lines[i] = "#" * min(6, max(2, level + shift)) + lines[i][level:]
    out: list[str] = []
    fence = None
    for i, line in enumerate(lines):
        out.append(line)
        stripped = line.lstrip()
        if fence is None and stripped.startswith(("```", "~~~")):
            fence = stripped[:3]
            continue
        if fence is not None:
            if stripped.startswith(fence):
                fence = None
            continue
        if _CLOSING_TAG.match(line) and i + 1 < len(lines) and lines[i + 1].strip():
            out.append("")
    return "\n".join(out) + "\n"


def _separator(path: Path, size: int) -> str:
    """What keeps a new part apart from the summary so far: enough newlines for one blank line."""
    if size == 0:
        return ""
    with open(path, "rb") as fh:
        fh.seek(max(0, size - 2))
        tail = fh.read()
    return "" if tail.endswith(b"\n\n") else ("\n" if tail.endswith(b"\n") else "\n\n")


def _closing(text: str) -> str:
    """Markdown/HTML that closes an open code fence and open <details> blocks at the end of ``text``."""
    fence = sum(1 for line in text.splitlines() if line.lstrip().startswith("```")) % 2 == 1
    open_details = max(0, text.count("<details") - text.count("</details>"))
    closing = "\n```\n" if fence else ""
    return closing + "\n</details>" * min(open_details, 8)


class Runtime:
    """Where outputs go. Use :meth:`detect`; tests may construct it directly."""

    def __init__(self, *, in_github: bool, out_dir: Path, env: Mapping[str, str] | None = None,
                 stream: IO[str] | None = None) -> None:
        self.in_github = in_github
        self.out_dir = out_dir
        self._env = dict(env if env is not None else os.environ)
        self._stream = stream
        self._masked: set[str] = set()

    def redact(self, text: str) -> str:
        """``text`` without URI credentials, secret values of the environment, or masked values."""
        return Redactor.from_env({**os.environ, **self._env}, self._masked).text(text)

    @classmethod
    def detect(cls, project_dir: str | os.PathLike[str] = ".", env: Mapping[str, str] | None = None) -> "Runtime":
        env = dict(os.environ if env is None else env)
        in_github = env.get("GITHUB_ACTIONS") == "true"
        out_dir = Path(env.get("MLOPS_CI_OUT_DIR") or Path(project_dir) / LOCAL_OUT_DIR)
        return cls(in_github=in_github, out_dir=out_dir, env=env)

    # -- plumbing -----------------------------------------------------------
    @property
    def stream(self) -> IO[str]:
        return self._stream or sys.stdout

    def _emit(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()

    def _local_path(self, name: str) -> Path:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        return self.out_dir / name

    # -- outputs ------------------------------------------------------------
    def set_output(self, name: str, value: object) -> None:
        text = self.redact(value if isinstance(value, str) else json.dumps(value))
        target = self._env.get("GITHUB_OUTPUT") if self.in_github else None
        if target:
            with open(target, "a", encoding="utf-8") as fh:
                fh.write(format_output(name, text))
            return
        path = self._local_path("outputs.json")
        outputs = json.loads(path.read_text()) if path.exists() else {}
        outputs[name] = text
        _atomic_write(path, json.dumps(outputs, indent=2, sort_keys=True) + "\n")

    def append_summary(self, markdown: str) -> None:
        """Add one part to the job summary: apart from the parts before it, headings from h2 (see
        :func:`summary_block`), redacted, and within GitHub's 1 MiB."""
        target = self._env.get("GITHUB_STEP_SUMMARY") if self.in_github else None
        path = Path(target) if target else self._local_path("summary.md")
        existing = path.stat().st_size if path.exists() else 0
        separator = _separator(path, existing)
        text = bound_summary(existing + len(separator), summary_block(self.redact(markdown)))
        if not text:
            return
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(separator + text)

    def job_key(self) -> str:
        """Which job this is, for "the summary already shows this": steps of one job share a summary page."""
        if not self.in_github:
            return f"local:{self.out_dir.resolve()}"
        return "/".join(self._env.get(name, "") for name in ("GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT", "GITHUB_JOB",
                                                             "RUNNER_NAME"))

    def annotate(self, level: Level, message: str, *, file: str | None = None, line: int | None = None,
                 end_line: int | None = None, col: int | None = None, title: str | None = None) -> None:
        message = self.redact(message)
        title = self.redact(title) if title else title
        if self.in_github:
            self._emit(workflow_command(level, message, file=file, line=line, endLine=end_line, col=col, title=title))
            return
        where = f"{file}:{line}: " if file and line else (f"{file}: " if file else "")
        print(f"{level}: {where}{message}", file=sys.stderr)
        with open(self._local_path("annotations.jsonl"), "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"level": level, "message": message, "file": file, "line": line,
                                 "end_line": end_line, "col": col, "title": title}) + "\n")

    def mask(self, secret: str | None) -> None:
        """Ask the runner to hide ``secret`` in logs (each line of a multi-line value)."""
        if not secret:
            return
        for part in secret.splitlines() or [secret]:
            if part and part not in self._masked:
                self._masked.add(part)
                if self.in_github:
                    self._emit(f"::add-mask::{escape_data(part)}")

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        title = self.redact(title)
        if self.in_github:
            self._emit(f"::group::{escape_data(title)}")
        else:
            self._emit(f"== {title}")
        try:
            yield
        finally:
            if self.in_github:
                self._emit("::endgroup::")

    def write_file(self, relative: str, content: str | bytes) -> Path:
        """Write a file destined for the job's artifact (and, locally, for the user to open).

        Text is redacted; bytes (images, archives) are written as they are.
        """
        if isinstance(content, str):
            content = self.redact(content)
        path = self._local_path(relative)
        path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(path, content)
        return path


def _atomic_write(path: Path, content: str | bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    if isinstance(content, bytes):
        tmp.write_bytes(content)
    else:
        tmp.write_text(content, encoding="utf-8")
    os.replace(tmp, path)
