"""Runs `nvidia-smi` and hands its raw output to :mod:`mlops_ci.runners.gpu`.

Each call has a timeout: a GPU in a bad state can make nvidia-smi hang for
minutes, and the doctor exists to fail fast. The kernel log (`dmesg`) is read,
when this machine lets us, for the driver's Xid error reports. Only the first call (the CSV
query) matters; the banner (CUDA version), `-L` (MIG devices) and the MIG-mode
query only add detail, so their failures are ignored.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from typing import Any, Callable, Mapping

from mlops_ci.runners.gpu import MIG_QUERY_ARGS, QUERY_ARGS, GpuProbe, build_probe

log = logging.getLogger(__name__)

TIMEOUT_S = 20.0
#: How long a killed nvidia-smi is waited for before it is left behind.
KILL_WAIT_S = 2.0


def _run(binary: str, args: tuple[str, ...], env: Mapping[str, str], timeout: float,
         popen: Callable[..., Any] = subprocess.Popen, name: str = "nvidia-smi") -> tuple[str, int | None]:
    """(stdout + stderr, exit code); exit code None when it timed out or could not start.

    A timed-out nvidia-smi is killed, but not waited for without end: one stuck in the driver
    (uninterruptible sleep on a wedged GPU) ignores even SIGKILL, and `subprocess.run` would
    then wait on it forever — the doctor hanging exactly when it is needed.
    """
    try:
        proc = popen([binary, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                     text=True, env=dict(env), errors="replace")
    except OSError as exc:
        return f"could not run {binary}: {exc}", None
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        try:
            proc.wait(timeout=KILL_WAIT_S)
            stuck = ""
        except subprocess.TimeoutExpired:
            stuck = "; it could not even be killed (stuck in the driver): the GPU needs a reset or the machine a reboot"
        return f"{name} {' '.join(args)}".strip() + f" did not answer within {timeout:.0f} s (GPU or driver hung){stuck}", None
    return out or "", proc.returncode


def read_kernel_log(env: Mapping[str, str], timeout: float = 5.0) -> tuple[str | None, str]:
    """(the kernel log, "") via `dmesg`, or (None, why it is not readable).

    Containers (ARC runner pods) usually cannot read it; that only means no Xid check.
    """
    binary = shutil.which("dmesg", path=env.get("PATH"))
    if binary is None:
        return None, "dmesg is not on the PATH"
    text, code = _run(binary, (), env, timeout, name="dmesg")
    if code != 0:
        first = next((line.strip() for line in text.splitlines() if line.strip()), f"exit code {code}")
        return None, first[:200]
    return text, ""


def uptime_s() -> float | None:
    try:
        return float(open("/proc/uptime").read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def probe_gpus(env: Mapping[str, str] | None = None, timeout: float = TIMEOUT_S) -> GpuProbe:
    """Ask nvidia-smi (found on ``env``'s PATH) about the GPUs this process can use."""
    env = dict(os.environ if env is None else env)
    binary = shutil.which("nvidia-smi", path=env.get("PATH"))
    if binary is None:
        return build_probe(found=False)
    query, code = _run(binary, QUERY_ARGS, env, timeout)
    log.debug("nvidia-smi query (exit %s): %s", code, query)
    if code is None or not query.strip() or code != 0 and "," not in query:
        # Nothing parseable: the banner may still carry the driver version for the message.
        banner, _ = _run(binary, (), env, timeout) if code is not None else ("", None)
        return build_probe(found=True, query_output=query, query_returncode=code, banner=banner)
    banner, _ = _run(binary, (), env, timeout)
    listing, _ = _run(binary, ("-L",), env, timeout)
    mig, mig_code = _run(binary, MIG_QUERY_ARGS, env, timeout)
    return build_probe(found=True, query_output=query, query_returncode=code, banner=banner, listing=listing,
                       mig_output=mig if mig_code == 0 else "")
