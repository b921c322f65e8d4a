"""The suite's Docker engine and registry are this clone's own and leave the host's alone.

Own socket, data-root and exec-root under the clone's .cache/, own bridge (not docker0) on its own
address range, networks from its own pool, own registry port; a DOCKER_HOST of the caller or the
host's /var/run/docker.sock are never used.
"""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def docker(services, *args: str) -> str:
    proc = subprocess.run(["docker", *args], env={**os.environ, **services.env}, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_engine_and_registry_are_this_clones_own(docker_engine):
    cache = (ROOT / ".cache").resolve()
    socket = Path(docker_engine.host.removeprefix("unix://"))
    assert socket.resolve().is_relative_to(cache), docker_engine.host
    assert Path(docker(docker_engine, "info", "--format", "{{.DockerRootDir}}").strip()).resolve().is_relative_to(cache)

    bridge = json.loads(docker(docker_engine, "network", "inspect", "bridge"))[0]
    name = bridge["Options"].get("com.docker.network.bridge.name", "docker0")
    assert name.startswith("mlci") and name != "docker0"
    subnet = ipaddress.ip_network(bridge["IPAM"]["Config"][0]["Subnet"])
    assert subnet.subnet_of(ipaddress.ip_network("10.213.0.0/16")), subnet

    network = f"mlops-ci-isolation-{os.getpid()}"
    docker(docker_engine, "network", "create", network)
    try:
        created = json.loads(docker(docker_engine, "network", "inspect", network))[0]
        assert ipaddress.ip_network(created["IPAM"]["Config"][0]["Subnet"]).subnet_of(
            ipaddress.ip_network("10.214.0.0/16"))
    finally:
        docker(docker_engine, "network", "rm", network)

    host, port = docker_engine.registry.rsplit(":", 1)
    assert host == "127.0.0.1" and (15000 <= int(port) < 16000 or os.environ.get("MLOPS_CI_REGISTRY_ADDR"))


def test_a_foreign_engine_is_never_reused(docker_engine):
    env = {**os.environ, "DOCKER_HOST": "unix:///var/run/docker.sock", "MLOPS_CI_TEST_PIDS": os.devnull}
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "docker-services.sh")], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    said = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
    assert said["DOCKER_HOST"] == docker_engine.host  # its own, again: not the caller's nor the host's
    assert said["MLOPS_CI_REGISTRY_ADDR"] == docker_engine.registry
    assert "starting" not in proc.stderr  # both were found running, as this clone's
