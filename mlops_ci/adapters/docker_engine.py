"""The Docker engine and image registries, through the Docker SDK for Python.

Everything mlops-ci does with containers goes through :class:`DockerEngine`:
build (with the engine's layer cache, plus ``cache_from`` images on ephemeral
runners), push (returning the registry digest), resolve a tag to its digest
without pulling, pull by digest, run/stop/rename containers. Errors become
:class:`DockerError` with the engine's own last words, never a bare SDK trace.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from mlops_ci.errors import BadInput, MlopsError

log = logging.getLogger(__name__)


class DockerError(MlopsError):
    """The engine or the registry refused or failed (exit 1)."""


@dataclass
class BuildResult:
    image_id: str
    log: list[str]
    cached_steps: int
    total_steps: int


@dataclass
class ContainerInfo:
    name: str
    id: str
    image: str  # the reference it was started from (repo@sha256:… for our deploys)
    status: str
    labels: dict[str, str]
    host_port: int | None


class DockerEngine:
    def __init__(self, client: Any) -> None:
        self.client = client

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, timeout: int = 600) -> "DockerEngine":
        import docker

        environment = dict(os.environ if env is None else env)
        try:
            client = docker.from_env(environment=environment, timeout=timeout)
            client.ping()
        except Exception as exc:  # noqa: BLE001 - DockerException, connection errors
            where = environment.get("DOCKER_HOST") or "the default socket"
            raise BadInput(f"no Docker engine at {where}: {exc}",
                           hint="Start the engine (or set DOCKER_HOST) on the runner that builds and deploys.") from None
        return cls(client)

    # -- images --------------------------------------------------------------
    def build(self, context: Path, *, dockerfile: str, tags: Iterable[str], labels: Mapping[str, str],
              buildargs: Mapping[str, str] | None = None, cache_from: Iterable[str] = (),
              on_line: Callable[[str], None] | None = None, no_cache: bool = False) -> BuildResult:
        lines: list[str] = []
        image_id = None
        cached = steps = 0
        tag_list = list(tags)
        try:
            stream = self.client.api.build(path=str(context), dockerfile=dockerfile, tag=tag_list[0] if tag_list else None,
                                           labels=dict(labels), buildargs=dict(buildargs or {}),
                                           cache_from=list(cache_from) or None, rm=True, forcerm=True, pull=False,
                                           nocache=no_cache,
                                           decode=True)
            for chunk in stream:
                if "error" in chunk:
                    detail = (chunk.get("errorDetail") or {}).get("message") or chunk["error"]
                    raise DockerError(f"image build failed: {detail.strip()}",
                                      hint="Last build output:\n" + "\n".join(lines[-15:]))
                text = chunk.get("stream")
                if text:
                    for line in text.rstrip("\n").splitlines():
                        lines.append(line)
                        steps += line.startswith("Step ")
                        cached += line.strip() == "---> Using cache"
                        if on_line:
                            on_line(line)
                aux = chunk.get("aux") or {}
                if aux.get("ID"):
                    image_id = aux["ID"]
        except DockerError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise DockerError(f"image build failed: {exc.__class__.__name__}: {exc}") from exc
        if image_id is None:
            raise DockerError("image build finished without an image id", hint="\n".join(lines[-15:]))
        for tag in tag_list[1:]:
            repo, _, name = tag.rpartition(":")
            self.client.api.tag(image_id, repo, name)
        return BuildResult(image_id, lines, cached, steps)

    def push(self, repository: str, tag: str) -> str:
        """Push ``repository:tag``; returns the manifest digest the registry answered with."""
        digest = None
        try:
            for chunk in self.client.api.push(repository, tag=tag, stream=True, decode=True):
                if "error" in chunk:
                    detail = (chunk.get("errorDetail") or {}).get("message") or chunk["error"]
                    raise DockerError(f"push of {repository}:{tag} failed: {detail}",
                                      hint="Log in to the registry first (docker/login-action), and check the "
                                           "job's `packages: write` permission for ghcr.io.")
                aux = chunk.get("aux") or {}
                if aux.get("Digest"):
                    digest = aux["Digest"]
        except DockerError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise DockerError(f"push of {repository}:{tag} failed: {exc.__class__.__name__}: {exc}") from exc
        if not digest:
            raise DockerError(f"push of {repository}:{tag} returned no digest")
        return digest

    def registry_digest(self, reference: str) -> str | None:
        """The digest a registry holds for ``repo:tag`` (no pull), or None if the tag does not exist."""
        import docker.errors

        try:
            return str(self.client.images.get_registry_data(reference).id)
        except docker.errors.NotFound:
            return None
        except docker.errors.APIError as exc:
            if getattr(exc, "status_code", None) == 404 or "manifest unknown" in str(exc).lower() \
                    or "not found" in str(exc).lower():
                return None
            raise DockerError(f"registry lookup of {reference} failed: {exc.explanation or exc}") from exc

    def ensure_image(self, reference: str) -> dict[str, Any]:
        """The local image for ``reference`` (``repo@sha256:…`` or ``repo:tag``), pulled if missing."""
        import docker.errors

        try:
            return self.client.images.get(reference).attrs
        except docker.errors.ImageNotFound:
            pass
        repo, sep, ref = reference.partition("@")
        if not sep:
            repo, _, ref = reference.rpartition(":")
        try:
            return self.client.images.pull(repo, tag=ref).attrs
        except docker.errors.APIError as exc:
            raise DockerError(f"pull of {reference} failed: {exc.explanation or exc}") from exc

    def retag(self, reference: str, repository: str, tag: str) -> None:
        """Give the image behind ``reference`` another tag (pulling it first if needed); no rebuild."""
        self.ensure_image(reference)
        self.client.images.get(reference).tag(repository, tag)

    def image_labels(self, reference: str) -> dict[str, str]:
        attrs = self.ensure_image(reference)
        return dict((attrs.get("Config") or {}).get("Labels") or {})

    def python_version(self, image: str) -> str:
        """``major.minor`` of the image's Python: from PYTHON_VERSION if set, else by asking it."""
        attrs = self.ensure_image(image)
        for item in (attrs.get("Config") or {}).get("Env") or []:
            if item.startswith("PYTHON_VERSION="):
                parts = item.split("=", 1)[1].split(".")
                if len(parts) >= 2:
                    return f"{parts[0]}.{parts[1]}"
        out = self.client.containers.run(image, ["python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                         remove=True, network_disabled=True)
        return out.decode().strip()

    def remove_image(self, reference: str) -> None:
        import docker.errors

        try:
            self.client.images.remove(reference, force=True)
        except docker.errors.ImageNotFound:
            pass

    # -- containers ----------------------------------------------------------
    def container(self, name: str) -> ContainerInfo | None:
        import docker.errors

        try:
            c = self.client.containers.get(name)
        except docker.errors.NotFound:
            return None
        return _info(c)

    def run(self, image: str, name: str, *, container_port: int, host_address: str, host_port: int | None,
            labels: Mapping[str, str], env: Mapping[str, str] | None = None) -> ContainerInfo:
        """Start ``image`` as ``name`` publishing ``container_port`` (on a free port when host_port is None)."""
        try:
            c = self.client.containers.run(
                image, name=name, detach=True, labels=dict(labels), environment=dict(env or {}),
                ports={f"{container_port}/tcp": (host_address, host_port)},
                restart_policy={"Name": "unless-stopped"})
            c.reload()
        except Exception as exc:  # noqa: BLE001
            raise DockerError(f"starting {name} from {image} failed: {exc}") from exc
        return _info(c)

    def start(self, name: str) -> ContainerInfo:
        c = self.client.containers.get(name)
        c.start()
        c.reload()
        return _info(c)

    def stop(self, name: str, timeout: int = 10) -> None:
        import docker.errors

        try:
            self.client.containers.get(name).stop(timeout=timeout)
        except docker.errors.NotFound:
            pass

    def remove(self, name: str) -> None:
        import docker.errors

        try:
            self.client.containers.get(name).remove(force=True)
        except docker.errors.NotFound:
            pass

    def rename(self, name: str, new_name: str) -> None:
        self.client.containers.get(name).rename(new_name)

    def logs(self, name: str, tail: int = 30) -> str:
        import docker.errors

        try:
            return self.client.containers.get(name).logs(tail=tail).decode("utf-8", "replace")
        except docker.errors.NotFound:
            return ""
        except docker.errors.APIError as exc:  # e.g. 409: dead or being removed; logs only add context
            return f"(no log: {exc.explanation or exc})"

    def containers(self, label: str) -> list[ContainerInfo]:
        return [_info(c) for c in self.client.containers.list(all=True, filters={"label": label})]


def _info(c: Any) -> ContainerInfo:
    ports = (c.attrs.get("NetworkSettings") or {}).get("Ports") or {}
    host_port = None
    for bindings in ports.values():
        for binding in bindings or []:
            if binding.get("HostPort"):
                host_port = int(binding["HostPort"])
                break
    config = c.attrs.get("Config") or {}
    return ContainerInfo(name=c.name, id=c.id, image=str(config.get("Image") or ""), status=c.status,
                         labels=dict(config.get("Labels") or {}), host_port=host_port)
