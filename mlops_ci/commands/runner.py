"""`mlops-ci runner`: self-hosted GPU runners — register one for one job, and check the machine.

`runner jit` is what a bare-metal GPU host runs in a loop (runners/host/run-ephemeral.sh):
get a single-use runner config from GitHub, hand it to `./run.sh --jitconfig`, repeat.
`runner doctor` is the first step of a GPU job (and of every host-loop turn): is there a
usable GPU, enough disk, a writable DVC cache? It records the GPU count that `repro`
turns into GPU-hours and cost.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from mlops_ci.commands import config_option, option, project_option
from mlops_ci.errors import BadInput, StepFailed

DOCTOR_FILE = "doctor.json"


@click.group()
def runner() -> None:
    """Self-hosted GPU runners: JIT registration and a pre-flight doctor."""


@runner.command()
@project_option()
@config_option()
@option("--labels", "labels", multiple=True, help="Runner labels of this job (comma or space separated, "
        "repeatable). A label naming a GPU (gpu, gpu-a100, …) makes a GPU required.")
@option("--require-gpu", is_flag=True, help="Fail unless at least one usable GPU is present.")
@option("--min-free-gb", type=click.FloatRange(min=0), default=5.0, show_default=True,
        help="Fail when the workspace or DVC-cache disk has less free space (0 disables the check).")
@option("--dvc-cache", default=None, type=click.Path(file_okay=False, path_type=str),
        help="DVC cache directory (default: from .dvc/config.local or .dvc/config of the DVC project "
        "(project.dvc_root), else its .dvc/cache).")
def doctor(project_dir: str, config_path: str | None, labels: tuple[str, ...], require_gpu: bool,
           min_free_gb: float, dvc_cache: str | None) -> None:
    """Check GPUs (nvidia-smi), free disk and the DVC cache; print JSON, write a job summary.

    Exit 1 with the reason when the job needs a GPU and none is usable, or when disk or
    cache would make it fail later.
    """
    from mlops_ci.runners import disk
    from mlops_ci.runners import nvidia
    from mlops_ci.runners.nvidia import probe_gpus
    from mlops_ci.config import load_config
    from mlops_ci.runners.doctor import GIB, diagnose, headline, render_markdown
    from mlops_ci.github.actions import Runtime
    from mlops_ci.runners.selfhosted import gpu_required_by, parse_labels

    root = Path(project_dir)
    if not root.is_dir():
        raise BadInput(f"--project-dir {project_dir}: no such directory")
    env = dict(os.environ)
    wanted = parse_labels(labels)
    gpu = probe_gpus(env)

    disks = [("workspace", disk.disk_usage(root.resolve()))]
    temp = env.get("RUNNER_TEMP")
    if temp and Path(temp).is_dir() and os.stat(temp).st_dev != os.stat(root).st_dev:
        disks.append(("runner temp", disk.disk_usage(temp)))
    dvc_root = (root / load_config(root, config_path).project.dvc_root).resolve()
    found = disk.find_dvc_cache(dvc_root, dvc_cache)
    cache = disk.inspect_cache(*found) if found else None

    kernel = None
    if gpu.found:  # the driver's Xid reports, where this machine lets us read the kernel log
        from mlops_ci.runners.doctor import KernelLog
        from mlops_ci.runners.gpu import parse_xid

        log_text, why = nvidia.read_kernel_log(env)
        kernel = KernelLog(log_text is not None, why, parse_xid(log_text or ""), nvidia.uptime_s())
    report = diagnose(gpu, required_by=gpu_required_by(wanted, require_gpu), labels=wanted, disks=disks,
                      cache=cache, min_free_bytes=int(min_free_gb * GIB), kernel=kernel)
    data = report.to_dict()
    click.echo(json.dumps(data, indent=2))

    rt = Runtime.detect(root, env)
    rt.write_file(DOCTOR_FILE, json.dumps(data, indent=2) + "\n")
    rt.set_output("ok", "true" if report.ok else "false")
    rt.set_output("gpu-count", str(gpu.count))
    rt.set_output("gpu-names", ", ".join(d.name for d in gpu.usable))
    rt.set_output("cuda-version", gpu.cuda_version or "")
    rt.append_summary(render_markdown(report))
    for warning in report.warnings:
        rt.annotate("warning", warning, title="runner doctor")
    click.echo(headline(report), err=True)
    if not report.ok:
        raise StepFailed("runner doctor: " + "; ".join(report.problems),
                         hint="This runner cannot run this job; the job stopped before doing any work.")


@runner.command()
@option("--labels", "labels", multiple=True, required=True,
        help="Labels of the new runner (comma or space separated, repeatable), e.g. self-hosted,linux,x64,gpu.")
@option("--name", default=None, help="Runner name, unique in the repository/organization "
        "(default: <hostname>-<random>).")
@option("--runner-group-id", type=int, default=1, show_default=True, help="Runner group (1 is the default group).")
@option("--work-folder", default="_work", show_default=True, help="Work directory, relative to the runner's "
        "install directory.")
@option("--repo", default=None, help="OWNER/NAME to register the runner with (default: $GITHUB_REPOSITORY).")
@option("--org", default=None, help="Register with this organization instead of a repository.")
@option("--output", default=None, type=click.Path(dir_okay=False, path_type=str),
        help="Write the JIT config to this file (mode 0600) instead of stdout.")
def jit(labels: tuple[str, ...], name: str | None, runner_group_id: int, work_folder: str, repo: str | None,
        org: str | None, output: str | None) -> None:
    """Register a single-use runner and print its encoded JIT config (for ./run.sh --jitconfig).

    The config is a credential: it goes to stdout or a 0600 file only, is masked in
    GitHub Actions logs, and everything else is printed to stderr. The token
    (MLOPS_CI_GITHUB_TOKEN, GITHUB_TOKEN or GH_TOKEN) must be allowed to administer
    self-hosted runners.
    """
    import socket
    import uuid

    from mlops_ci.runners.github_runners import client, generate_jitconfig
    from mlops_ci.github.actions import Runtime
    from mlops_ci.runners.selfhosted import default_runner_name, jit_request, parse_labels

    if repo and org:
        raise BadInput("--repo and --org: give one of them, not both")
    if output and not Path(output).parent.is_dir():  # before registering: a lost config is a leaked runner
        raise BadInput(f"--output {output}: directory {Path(output).parent} does not exist")
    request = jit_request(name=name or default_runner_name(socket.gethostname(), uuid.uuid4().hex[:8]),
                          labels=parse_labels(labels), runner_group_id=runner_group_id, work_folder=work_folder)
    env = dict(os.environ)
    # Workflow commands (the mask) go to stderr, so `CONFIG=$(mlops-ci runner jit …)` captures the config alone.
    rt = Runtime(in_github=env.get("GITHUB_ACTIONS") == "true", out_dir=Path("."), env=env, stream=sys.stderr)
    gh = client(env, repo=repo, org=org)
    rt.mask(env.get("MLOPS_CI_GITHUB_TOKEN") or env.get("GITHUB_TOKEN") or env.get("GH_TOKEN"))
    config = generate_jitconfig(gh, request, org)
    rt.mask(config.encoded)
    if output:
        write_secret(Path(output), config.encoded + "\n")
    else:
        sys.stdout.write(config.encoded + "\n")
        sys.stdout.flush()
    click.echo(f"registered JIT runner '{config.name}' (id {config.runner_id}, group {config.runner_group_id}) "
               f"for {config.scope} with labels {', '.join(config.labels)}"
               + (f"; config written to {output}" if output else ""), err=True)


def write_secret(path: Path, text: str) -> None:
    """Create or replace ``path`` readable by its owner only, without following a planted symlink."""
    if not path.parent.is_dir():
        raise BadInput(f"--output {path}: directory {path.parent} does not exist")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        raise BadInput(f"--output {path}: cannot write ({exc.strerror})") from None
    try:
        os.fchmod(fd, 0o600)  # an existing file keeps its old mode through O_CREAT
        os.write(fd, text.encode())
    finally:
        os.close(fd)
