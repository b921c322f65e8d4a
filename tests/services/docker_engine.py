"""A real Docker engine and image registry for the tests (session fixture ``docker_engine``).

`scripts/docker-services.sh` installs Debian's docker.io / docker-registry when
missing and starts this clone's own dockerd (own socket, data-root, exec-root,
pidfile, bridge and address ranges; never the host's engine) and registry (own
port, 127.0.0.1:15000-15999 unless MLOPS_CI_REGISTRY_ADDR says otherwise), reusing
only the ones it started itself; `scripts/base-image.sh` builds the slim Python
base image once per recipe. PIDs of what was started go to ``$MLOPS_CI_TEST_PIDS``
(scripts/test.sh stops them); without that variable this fixture stops them itself at the end.

Under ``CI=true`` an engine that cannot start fails the tests — never a silent
skip. Locally, ``MLOPS_CI_ALLOW_NO_DOCKER=1`` turns that into a skip.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: An explicit registry address; by default docker-services.sh picks this clone's own port.
REGISTRY = os.environ.get("MLOPS_CI_REGISTRY_ADDR", "")


@dataclass
class DockerServices:
    host: str  # DOCKER_HOST
    registry: str  # host:port of the registry
    base_image: str

    @property
    def env(self) -> dict[str, str]:
        return {"DOCKER_HOST": self.host}

    def client(self):  # noqa: ANN201 - docker.DockerClient
        import docker

        return docker.DockerClient(base_url=self.host, timeout=300)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") != "true" and os.environ.get("MLOPS_CI_ALLOW_NO_DOCKER") == "1":
        pytest.skip(f"no Docker engine: {reason}")
    pytest.fail(f"the Docker engine / registry could not be started: {reason}", pytrace=False)


def _run(script: str, env: dict[str, str], timeout: int) -> str:
    proc = subprocess.run(["bash", str(ROOT / "scripts" / script)], capture_output=True, text=True, env=env,
                          timeout=timeout)
    if proc.returncode != 0:
        _unavailable(f"{script} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return proc.stdout.strip()


@pytest.fixture(scope="session")
def docker_engine() -> DockerServices:
    own_pids = None
    env = dict(os.environ)
    if not env.get("MLOPS_CI_TEST_PIDS"):
        own_pids = Path(tempfile.mkstemp(prefix="mlops-ci-docker-pids-")[1])
        env["MLOPS_CI_TEST_PIDS"] = str(own_pids)
    try:
        printed = _run("docker-services.sh", env, timeout=600)
        said = dict(line.split("=", 1) for line in printed.splitlines() if "=" in line)
        if not printed.splitlines()[-1:] or not printed.splitlines()[-1].startswith("DOCKER_HOST=") \
                or not said.get("MLOPS_CI_REGISTRY_ADDR"):
            _unavailable(f"docker-services.sh printed {printed[-500:]!r}")
        host = said["DOCKER_HOST"]
        base = _run("base-image.sh", {**env, "DOCKER_HOST": host}, timeout=600).splitlines()[-1]
        yield DockerServices(host, said["MLOPS_CI_REGISTRY_ADDR"], base)
    finally:
        if own_pids is not None and os.environ.get("MLOPS_CI_KEEP_SERVICES") != "1":
            for pid in own_pids.read_text().split():
                try:
                    os.kill(int(pid), signal.SIGTERM)
                except (ProcessLookupError, ValueError):
                    pass
            own_pids.unlink(missing_ok=True)
