"""Runs `nvidia-smi` and hands its raw output to :mod:`mlops_ci.gpu`.

Each call has a timeout: a GPU in a bad state can make nvidia-smi hang for
minutes, and the doctor exists to fail fast. Only the first call (the CSV
query) matters; the banner (CUDA version), `-L` (MIG devices) and the MIG-mode
query only add detail, so their failures are ignored.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from typing import Mapping

from mlops_ci.gpu import MIG_QUERY_ARGS, QUERY_ARGS, GpuProbe, build_probe

log = logging.getLogger(__name__)

TIMEOUT_S = 20.0


def _run(binary: str, args: tuple[str, ...], env: Mapping[str, str], timeout: float) -> tuple[str, int | None]:
    """(stdout + stderr, exit code); exit code None when it timed out or could not start."""
    try:
        proc = subprocess.run([binary, *args], capture_output=True, text=True, timeout=timeout, env=dict(env),
                              errors="replace")
    except subprocess.TimeoutExpired:
        return f"nvidia-smi {' '.join(args)} did not answer within {timeout:.0f} s (GPU or driver hung)", None
    except OSError as exc:
        return f"could not run {binary}: {exc}", None
    return proc.stdout + proc.stderr, proc.returncode


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
