"""A real HTTP/1.1 server on 127.0.0.1 for the fake, in a background thread.

Why a socket and not a mocked transport: the CLI under test also runs in
subprocesses (``act``), and keep-alive, ``Link`` URLs, retries after a dropped
connection and ``Retry-After`` only mean something over real HTTP.
``stop()`` closes idle keep-alive connections too, so no handler thread
outlives its test.
"""

from __future__ import annotations

import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

from tests.fakegithub.app import RawRequest, RawResponse

Handle = Callable[[RawRequest], "RawResponse | None"]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], handle: Handle) -> None:
        self.handle = handle
        self.connections: set[socket.socket] = set()
        self.conn_lock = threading.Lock()
        super().__init__(addr, _Handler)

    def process_request(self, request, client_address):  # noqa: ANN001, ANN201 - socketserver signature
        with self.conn_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):  # noqa: ANN001, ANN201
        with self.conn_lock:
            self.connections.discard(request)
        super().shutdown_request(request)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "GitHub.com"
    sys_version = ""
    server: _Server
    timeout = 60  # idle keep-alive connections are closed after a minute

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without NODELAY, Nagle + delayed ACK
        # add ~40 ms to every response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass  # the fake keeps its own request log

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        body = self._read_body()
        host = self.headers.get("Host") or "%s:%d" % self.server.server_address[:2]
        req = RawRequest(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                         f"http://{host}")
        resp = self.server.handle(req)
        if resp is None:
            self._reset()
            return
        self.send_response(resp.status)
        for k, v in resp.headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        if self.command != "HEAD" and resp.body:
            self.wfile.write(resp.body)

    def _reset(self) -> None:
        """Drop the connection with a TCP RST and no response (a load balancer hiccup)."""
        self.close_connection = True
        sock = self.connection
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            with self.server.conn_lock:
                self.server.connections.discard(sock)
            fd = sock.detach()
            socket.close(fd)
        except OSError:
            pass

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _dispatch


class HttpServer:
    """Bind, serve in a daemon thread, stop (closing every open connection)."""

    def __init__(self, handle: Handle, host: str = "127.0.0.1", port: int = 0) -> None:
        self._httpd = _Server((host, port), handle)
        self.host, self.port = self._httpd.server_address[:2]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"fakegithub-{self.port}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        with self._httpd.conn_lock:
            open_conns = list(self._httpd.connections)
        for conn in open_conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._httpd.server_close()
        self._thread.join(timeout=5)
