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
    restart_count: int = 0
    exit_code: int | None = None

    @property
    def short_id(self) -> str:
        """The 12-hex id: a DNS name of the container on every user-defined network, kept across renames."""
        return self.id[:12]

    @property
    def crashed(self) -> bool:
        """Exited, dead, or restarted by its restart policy: a server that was started never ends by itself."""
        return self.status in ("exited", "dead", "restarting") or self.restart_count > 0


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

    def image_size(self, reference: str) -> int:
        """Uncompressed size in bytes (what `docker image ls` shows)."""
        return int(self.client.images.get(reference).attrs.get("Size") or 0)

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
            labels: Mapping[str, str], env: Mapping[str, str] | None = None, network: str | None = None,
            restart: str = "unless-stopped", entrypoint: list[str] | None = None,
            files: Mapping[str, bytes] | None = None) -> ContainerInfo:
        """Start ``image`` as ``name`` publishing ``container_port`` (on a free port when host_port is None).

        ``files`` ({absolute path: bytes}) are copied into the container before it starts;
        ``restart`` is the restart policy ("no" for a candidate, whose exit must show at once).
        """
        c = None
        try:
            c = self.client.containers.create(
                image, entrypoint=entrypoint, name=name, labels=dict(labels), environment=dict(env or {}),
                ports={f"{container_port}/tcp": (host_address, host_port)}, network=network,
                restart_policy={"Name": restart})
            for path, data in (files or {}).items():
                c.put_archive(os.path.dirname(path) or "/", _tar({os.path.basename(path): data}))
            c.start()
            c.reload()
        except Exception as exc:  # noqa: BLE001
            if c is not None:  # created here but could not start: leave nothing behind
                c.remove(force=True)
            raise DockerError(f"starting {name} from {image} failed: {exc}") from exc
        return _info(c)

    def set_restart_policy(self, name: str, policy: str) -> None:
        self.client.containers.get(name).update(restart_policy={"Name": policy})

    def exec(self, name: str, argv: list[str]) -> tuple[int, str]:
        """Run ``argv`` inside the running container ``name``: (exit code, output)."""
        import docker.errors

        try:
            result = self.client.containers.get(name).exec_run(argv)
        except docker.errors.APIError as exc:
            return 1, f"exec in {name} failed: {exc.explanation or exc}"
        return int(result.exit_code or 0), (result.output or b"").decode("utf-8", "replace")

    def read_file(self, image: str, path: str) -> bytes | None:
        """One file of ``image`` (None when it has none), read from a created, never started container."""
        import io
        import tarfile

        import docker.errors

        self.ensure_image(image)
        container = self.client.containers.create(image, command=["true"], network_disabled=True)
        try:
            stream, _stat = container.get_archive(path)
            data = b"".join(stream)
        except docker.errors.NotFound:
            return None
        finally:
            container.remove(force=True)
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            member = tar.next()
            handle = tar.extractfile(member) if member is not None else None
            return handle.read() if handle is not None else None

    def ensure_network(self, name: str, labels: Mapping[str, str]) -> None:
        """A user-defined bridge network (containers on it reach each other by name or short id)."""
        import docker.errors

        try:
            self.client.networks.get(name)
        except docker.errors.NotFound:
            try:
                self.client.networks.create(name, driver="bridge", labels=dict(labels))
            except docker.errors.APIError as exc:
                if getattr(exc, "status_code", None) != 409:  # created meanwhile by another deploy
                    raise DockerError(f"creating network {name} failed: {exc.explanation or exc}") from exc

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


def _tar(files: Mapping[str, bytes]) -> bytes:
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _info(c: Any) -> ContainerInfo:
    ports = (c.attrs.get("NetworkSettings") or {}).get("Ports") or {}
    host_port = None
    for bindings in ports.values():
        for binding in bindings or []:
            if binding.get("HostPort"):
                host_port = int(binding["HostPort"])
                break
    config = c.attrs.get("Config") or {}
    state = c.attrs.get("State") or {}
    return ContainerInfo(name=c.name, id=c.id, image=str(config.get("Image") or ""), status=c.status,
                         labels=dict(config.get("Labels") or {}), host_port=host_port,
                         restart_count=int(c.attrs.get("RestartCount") or 0),
                         exit_code=state.get("ExitCode") if c.status in ("exited", "dead") else None)
