"""Run a command whose children are other people's code, and never wait on it forever.

`dvc repro` starts the stages, and the stages start whatever they like: DataLoader workers,
compile workers, a server left in the background. Three ways such a tree used to hang a job:

* **a silent stage** — nothing was printed, nothing was checked: the job waited for the
  workflow's timeout. Here the caller's ``on_tick`` runs at least every ``tick_s`` seconds
  (heartbeats, time limits) whether or not a line arrives.
* **a leftover process** — DVC had exited, but a process a stage left running still held the
  output pipe open, so reading "until end of output" never ended (reproduced with a stage
  `sh -c "sleep 600 &"`). Here, once the command has exited, the pipe gets ``drain_s`` more
  seconds; then every process still in the command's session is stopped and named.
* **killing only the parent** — stopping DVC left the stage (and the GPU memory it holds)
  running. Here the command starts in a session of its own, and stopping it signals the whole
  session, plus any descendant that moved to another one: SIGTERM, ``grace_s`` seconds, SIGKILL.

Stage output is read as bytes and decoded leniently (a stage printing Latin-1 used to crash the
reader), split on ``\\n`` and ``\\r`` (progress bars) and cut at :data:`MAX_LINE` bytes, so the
live log keeps moving. Standard input is /dev/null: a CI stage never waits for a keyboard.
Linux's /proc finds the process tree; elsewhere only the session's process group is signalled.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

log = logging.getLogger(__name__)

MAX_LINE = 64 * 1024
_EOF = object()


@dataclass
class Outcome:
    returncode: int
    #: True when ``on_tick`` asked to stop the command and it was stopped.
    stopped: bool = False
    #: Processes that outlived the command and were stopped, as "pid command line".
    leftovers: list[str] = field(default_factory=list)


def _split(buffer: bytes) -> tuple[list[bytes], bytes]:
    """Complete lines (``\\n``, ``\\r\\n`` or a lone ``\\r``) and the unfinished rest."""
    lines: list[bytes] = []
    start = 0
    i = 0
    n = len(buffer)
    while i < n:
        byte = buffer[i]
        if byte == 0x0A or byte == 0x0D:
            if byte == 0x0D and i + 1 == n:
                break  # maybe the first half of "\r\n": wait for the next chunk
            lines.append(buffer[start:i])
            i += 2 if byte == 0x0D and buffer[i + 1] == 0x0A else 1
            start = i
        else:
            i += 1
    rest = buffer[start:]
    while len(rest) > MAX_LINE:  # a line without end (a progress bar in one line) still shows
        lines.append(rest[:MAX_LINE])
        rest = rest[MAX_LINE:]
    return lines, rest


def _reader(fd: int, lines: "queue.SimpleQueue[object]") -> None:
    buffer = b""
    try:
        while chunk := os.read(fd, 65536):
            done, buffer = _split(buffer + chunk)
            for line in done:
                lines.put(line.decode("utf-8", errors="replace"))
    except OSError:
        pass
    if buffer:
        lines.put(buffer.decode("utf-8", errors="replace"))
    lines.put(_EOF)


def _proc_table() -> dict[int, tuple[int, int, str]]:
    """{pid: (parent pid, session id, command)} from /proc; {} where there is none."""
    table: dict[int, tuple[int, int, str]] = {}
    proc = Path("/proc")
    if not proc.is_dir():
        return table
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            # "pid (comm) state ppid pgrp session …": comm may hold spaces and parentheses
            fields = stat[stat.rindex(")") + 2:].split()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except (OSError, ValueError):
            continue
        if fields[0] == "Z":
            continue  # a zombie holds no pipe and cannot be killed any further
        table[int(entry.name)] = (int(fields[1]), int(fields[3]), cmd or stat[stat.index("(") + 1:stat.rindex(")")])
    return table


def tree(root: int, table: Mapping[int, tuple[int, int, str]] | None = None) -> dict[int, str]:
    """Processes of ``root``'s session plus all their descendants (which may have left it): {pid: command}."""
    table = _proc_table() if table is None else table
    members = {pid: info[2] for pid, info in table.items() if info[1] == root}
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    frontier = [root, *members]
    seen = set(frontier)
    while frontier:
        for child in children.get(frontier.pop(), []):
            if child not in seen:
                seen.add(child)
                members[child] = table[child][2]
                frontier.append(child)
    members.pop(os.getpid(), None)
    return members


def _signal(pids: Sequence[int], pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def stop_tree(proc: subprocess.Popen, grace_s: float) -> dict[int, str]:
    """SIGTERM the command's session and descendants, wait ``grace_s``, SIGKILL what is left.

    Returns the processes that were signalled (the command itself included). Never blocks on a
    process stuck in the kernel (a wedged GPU driver): it is left behind after the SIGKILL.
    """
    members = tree(proc.pid)
    members.setdefault(proc.pid, "")
    _signal(list(members), proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        alive = [pid for pid in members if _alive(pid, proc)]
        if not alive:
            return members
        time.sleep(0.1)
    left = {**members, **tree(proc.pid)}
    _signal(list(left), proc.pid, signal.SIGKILL)
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        log.warning("process %s did not end after SIGKILL (stuck in the kernel?)", proc.pid)
    return left


def _alive(pid: int, proc: subprocess.Popen | None = None) -> bool:
    if proc is not None and pid == proc.pid:
        return proc.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is not running, it only waits for its parent (maybe init) to reap it
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def run_supervised(cmd: Sequence[str], *, cwd: str | os.PathLike[str], env: Mapping[str, str],
                   on_line: Callable[[str, float], None], on_tick: Callable[[float], bool],
                   tick_s: float = 1.0, grace_s: float = 5.0, drain_s: float = 5.0,
                   clock: Callable[[], float] = time.monotonic) -> Outcome:
    """Run ``cmd``, hand each output line to ``on_line(line, now)``, and ask ``on_tick(now)`` at
    least every ``tick_s`` seconds whether to stop it (True: stop the whole tree now).

    SIGINT/SIGTERM to this process (a cancelled job) stop the tree too before they take effect.
    """
    proc = subprocess.Popen(list(cmd), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    assert proc.stdout is not None
    lines: queue.SimpleQueue[object] = queue.SimpleQueue()
    reader = threading.Thread(target=_reader, args=(proc.stdout.fileno(), lines), daemon=True,
                              name="mlops-ci-output")
    reader.start()
    restore = _forward_signals(proc, grace_s)
    outcome = Outcome(returncode=0)
    exited_at: float | None = None
    try:
        while True:
            try:
                item = lines.get(timeout=tick_s)
            except queue.Empty:
                item = None
            if item is _EOF:
                break
            now = clock()
            if isinstance(item, str):
                on_line(item, now)
                while True:  # hand over what already arrived before the next tick
                    try:
                        more = lines.get_nowait()
                    except queue.Empty:
                        break
                    if more is _EOF:
                        lines.put(_EOF)
                        break
                    on_line(str(more), clock())
            if not outcome.stopped and exited_at is None and on_tick(clock()):
                outcome.stopped = True
                stop_tree(proc, grace_s)
            if proc.poll() is not None:
                exited_at = exited_at if exited_at is not None else clock()
                if clock() - exited_at > drain_s:
                    left = tree(proc.pid)
                    if left and not outcome.leftovers:
                        outcome.leftovers = [f"{pid} {cmd_line}"[:200] for pid, cmd_line in sorted(left.items())]
                        _stop_leftovers(left, proc.pid, grace_s)
                    if clock() - exited_at > drain_s + 2 * grace_s + 1:
                        break  # something unkillable still holds the pipe: stop reading it
    finally:
        restore()
        if proc.poll() is None:
            stop_tree(proc, grace_s)
        proc.stdout.close()
    outcome.returncode = proc.wait()
    return outcome


def _stop_leftovers(left: Mapping[int, str], pgid: int, grace_s: float) -> None:
    _signal(list(left), pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(_alive(pid) for pid in left):
        time.sleep(0.1)
    _signal([pid for pid in left if _alive(pid)], pgid, signal.SIGKILL)


def _forward_signals(proc: subprocess.Popen, grace_s: float) -> Callable[[], None]:
    """While ``proc`` runs, SIGINT/SIGTERM stop its tree first (the job was cancelled)."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous: dict[int, object] = {}

    def handler(signum: int, frame: object) -> None:
        stop_tree(proc, min(grace_s, 3.0))
        old = previous.get(signum)
        if callable(old):
            old(signum, frame)
        raise SystemExit(128 + signum)

    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, handler)

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)  # type: ignore[arg-type]

    return restore
