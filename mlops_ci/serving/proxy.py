"""The front proxy of a docker environment: the stable port, with an upstream that can change under load.

Why it exists: replacing a container on a published port means stopping the
old one before the new one can bind it — a window of refused connections and
``503 loading`` answers (3.6–11.5 s measured). Instead the stable port belongs
to this small proxy, and a deploy only *flips its upstream* once the new
container is healthy and has passed parity. Requests are forwarded one by one
(HTTP/1.1-aware, not a byte pipe), so a client's keep-alive connection is not
pinned to the old container: the request after the flip goes to the new one,
requests already in flight finish on the old one, and the deploy stops the
old container only once the proxy reports none left (the drain).

A request whose upstream connection fails before any byte of the answer came
back (refused, reset, a stale pooled connection) is sent once more on a fresh
connection to the current upstream — safe here because every endpoint of the
model server is a pure function of the request. Nothing of the answer is ever
sent twice: once the first byte reached the client, a failure closes the
connection.

Standard library only, and a single file: the docker target copies it into
the proxy container (``put_archive``), so it runs from any image with
``python3``, including one built by an older mlops-ci or a user's Dockerfile.

    python3 proxy.py serve --port 8080 --control /tmp/mlops-ci-proxy.sock --upstream HOST:PORT
    python3 proxy.py ctl --control /tmp/mlops-ci-proxy.sock '{"op": "set", "upstream": "HOST:PORT"}'
    python3 proxy.py ctl --control /tmp/mlops-ci-proxy.sock '{"op": "status"}'
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
import time

#: The largest request head / body the proxy accepts (the model server caps batches far below this).
MAX_HEAD = 64 * 1024
MAX_BODY = 64 * 1024 * 1024
#: How long an idle client keep-alive connection is kept, and how long the upstream may take to answer.
IDLE_TIMEOUT = 75.0
UPSTREAM_TIMEOUT = 300.0
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade", "expect"}


class UpstreamFailed(Exception):
    """The upstream connection failed before any byte of the answer was received (safe to retry)."""


class Proxy:
    def __init__(self, upstream: str | None) -> None:
        self.upstream = upstream
        self.inflight: dict[str, int] = {}
        self.served = 0
        self.failed = 0
        self.retried = 0
        self.started = time.time()
        self.pools: dict[str, list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]] = {}

    # -- control ---------------------------------------------------------------
    def control(self, request: dict) -> dict:
        op = request.get("op")
        if op == "set":
            new = str(request.get("upstream") or "")
            _split(new)  # validates host:port
            old, self.upstream = self.upstream, new
            if old and old != new:
                for _reader, writer in self.pools.pop(old, []):
                    writer.close()
            return {"ok": True, "previous": old, **self.status()}
        if op == "status":
            return {"ok": True, **self.status()}
        return {"ok": False, "error": f"unknown op {op!r}"}

    def status(self) -> dict:
        return {"upstream": self.upstream, "inflight": {k: v for k, v in self.inflight.items() if v},
                "served": self.served, "failed": self.failed, "retried": self.retried,
                "uptime_s": round(time.time() - self.started, 1)}

    async def on_control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), 10)
            try:
                answer = self.control(json.loads(line or b"{}"))
            except (ValueError, TypeError) as exc:
                answer = {"ok": False, "error": str(exc)}
            writer.write(json.dumps(answer).encode() + b"\n")
            await writer.drain()
        finally:
            writer.close()

    # -- clients ---------------------------------------------------------------
    async def on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await self._one_request(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.TimeoutError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def _one_request(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Read one request, forward it, relay the answer; True when the client connection stays open."""
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IDLE_TIMEOUT)
        if len(head) > MAX_HEAD:
            await _answer(writer, 431, "request head too large")
            return False
        request_line, headers = _parse_head(head)
        method, _target, version = (request_line.split(" ", 2) + ["", ""])[:3]
        lower = {k.lower(): v for k, v in headers}
        if lower.get("expect", "").lower() == "100-continue":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = await _read_body(reader, lower)
        if body is None:
            await _answer(writer, 400, "unsupported request body framing")
            return False
        keep_alive = _keep_alive(version, lower.get("connection", ""))
        out_head = _forward_head(request_line, headers, len(body))
        upstream = self.upstream
        if not upstream:
            self.failed += 1
            await _answer(writer, 503, "no upstream")
            return keep_alive
        for attempt in (1, 2):
            target = upstream
            self.inflight[target] = self.inflight.get(target, 0) + 1
            try:
                close_after = await self._exchange(target, out_head + body, method, writer, keep_alive)
                self.served += 1
                return keep_alive and not close_after
            except UpstreamFailed:
                if attempt == 2:
                    self.failed += 1
                    await _answer(writer, 502, f"upstream {upstream} did not answer")
                    return False
                self.retried += 1
                await asyncio.sleep(0.05)
                upstream = self.upstream or upstream  # the upstream may have been flipped meanwhile
            finally:
                self.inflight[target] = self.inflight.get(target, 1) - 1
        return False

    async def _exchange(self, upstream: str, request: bytes, method: str, client: asyncio.StreamWriter,
                        keep_alive: bool) -> bool:
        """Send ``request`` upstream and relay the answer; returns True when the client must be closed."""
        pooled = self.pools.get(upstream) or []
        conn = pooled.pop() if pooled else None
        try:
            if conn is None:
                host, port = _split(upstream)
                conn = await asyncio.wait_for(asyncio.open_connection(host, port), 10)
            up_reader, up_writer = conn
            up_writer.write(request)
            await up_writer.drain()
            head = await asyncio.wait_for(up_reader.readuntil(b"\r\n\r\n"), UPSTREAM_TIMEOUT)
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, asyncio.LimitOverrunError) as exc:
            if conn is not None:
                conn[1].close()
            raise UpstreamFailed(str(exc)) from exc
        status_line, headers = _parse_head(head)
        lower = {k.lower(): v for k, v in headers}
        status = int((status_line.split(" ", 2) + ["0"])[1] or 0)
        up_close = "close" in lower.get("connection", "").lower()
        no_body = method == "HEAD" or status in (204, 304) or 100 <= status < 200
        chunked = "chunked" in lower.get("transfer-encoding", "").lower()
        length = lower.get("content-length")
        until_eof = not no_body and not chunked and length is None
        out = [status_line] + [f"{k}: {v}" for k, v in headers if k.lower() not in HOP_BY_HOP]
        out.append("Connection: " + ("keep-alive" if keep_alive and not until_eof else "close"))
        client.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1"))
        try:
            if no_body:
                pass
            elif chunked:
                await _relay_chunked(up_reader, client)
            elif length is not None:
                await _relay_exact(up_reader, client, int(length))
            else:
                while chunk := await up_reader.read(65536):
                    client.write(chunk)
                    await client.drain()
            await client.drain()
        except BaseException:
            up_writer.close()
            raise
        if up_close or until_eof:
            up_writer.close()
        else:
            self.pools.setdefault(upstream, []).append((up_reader, up_writer))
        return until_eof


def _split(upstream: str) -> tuple[str, int]:
    host, sep, port = upstream.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"upstream {upstream!r}: expected HOST:PORT")
    return host, int(port)


def _parse_head(head: bytes) -> tuple[str, list[tuple[str, str]]]:
    lines = head.decode("latin-1").split("\r\n")
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    return lines[0], headers


def _keep_alive(version: str, connection: str) -> bool:
    connection = connection.lower()
    if version.upper() == "HTTP/1.0":
        return "keep-alive" in connection
    return "close" not in connection


def _forward_head(request_line: str, headers: list[tuple[str, str]], length: int) -> bytes:
    """The request head sent upstream: hop-by-hop headers dropped, the body re-framed by its length."""
    kept = [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP | {"content-length", "transfer-encoding"}]
    method = request_line.split(" ", 1)[0]
    method_line = request_line.rsplit(" ", 1)[0] + " HTTP/1.1"
    if length or method in ("POST", "PUT", "PATCH"):
        kept.append(("Content-Length", str(length)))
    kept.append(("Connection", "keep-alive"))
    return ("\r\n".join([method_line] + [f"{k}: {v}" for k, v in kept]) + "\r\n\r\n").encode("latin-1")


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes | None:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        parts = []
        total = 0
        while True:
            size_line = await reader.readline()
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            total += size
            if total > MAX_BODY:
                return None
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
    length = headers.get("content-length")
    if length is None:
        return b""
    if not length.isdigit() or int(length) > MAX_BODY:
        return None
    return await reader.readexactly(int(length)) if int(length) else b""


async def _relay_exact(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, length: int) -> None:
    left = length
    while left > 0:
        chunk = await reader.read(min(left, 65536))
        if not chunk:
            raise ConnectionError("upstream closed mid-answer")
        writer.write(chunk)
        left -= len(chunk)
        if writer.transport.get_write_buffer_size() > 1 << 20:
            await writer.drain()


async def _relay_chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:
        size_line = await reader.readline()
        writer.write(size_line)
        size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            while True:
                line = await reader.readline()
                writer.write(line)
                if line in (b"\r\n", b"\n", b""):
                    return
        writer.write(await reader.readexactly(size + 2))
        await writer.drain()


async def _answer(writer: asyncio.StreamWriter, status: int, message: str) -> None:
    body = json.dumps({"error": message, "proxy": "mlops-ci"}).encode()
    reason = {400: "Bad Request", 431: "Request Header Fields Too Large", 502: "Bad Gateway",
              503: "Service Unavailable"}.get(status, "Error")
    writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                 f"Connection: close\r\n\r\n".encode() + body)
    await writer.drain()


async def serve(port: int, control: str, upstream: str | None, host: str = "0.0.0.0") -> None:
    proxy = Proxy(upstream)
    server = await asyncio.start_server(proxy.on_client, host, port, limit=MAX_HEAD, reuse_address=True,
                                        backlog=1024)
    if os.path.exists(control):
        os.unlink(control)
    # The control socket comes second: once it answers, the stable port is already listening.
    ctl = await asyncio.start_unix_server(proxy.on_control, path=control)
    os.chmod(control, 0o600)
    print(f"mlops-ci proxy on :{port} -> {upstream or '(none)'}", flush=True)
    async with server, ctl:
        await asyncio.gather(server.serve_forever(), ctl.serve_forever())


def ctl(control: str, request: dict, timeout: float = 10) -> dict:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(control)
        sock.sendall(json.dumps(request).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    return json.loads(data or b"{}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mlops-ci-proxy")
    sub = parser.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--port", type=int, default=8080)
    s.add_argument("--control", default="/tmp/mlops-ci-proxy.sock")
    s.add_argument("--upstream", default=None)
    c = sub.add_parser("ctl")
    c.add_argument("--control", default="/tmp/mlops-ci-proxy.sock")
    c.add_argument("request")
    args = parser.parse_args(argv)
    if args.cmd == "serve":
        try:
            asyncio.run(serve(args.port, args.control, args.upstream))
        except KeyboardInterrupt:
            pass
        return 0
    try:
        answer = ctl(args.control, json.loads(args.request))
    except (OSError, ValueError) as exc:
        answer = {"ok": False, "error": f"{exc.__class__.__name__}: {exc}"}
    print(json.dumps(answer))
    return 0 if answer.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
