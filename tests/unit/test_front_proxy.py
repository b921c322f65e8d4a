"""The docker environment's front proxy (mlops_ci.serving.proxy), with real sockets and real HTTP servers.

What a deploy relies on: flipping the upstream under load drops no request (keep-alive clients included),
requests already in flight finish on the old upstream and are counted until they do (the drain), a
connection refused before any answer is retried on the current upstream, and the framing of bodies
(Content-Length, chunked, Expect: 100-continue) survives the trip.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from mlops_ci.serving import proxy as front


class Upstream:
    """A keep-alive HTTP/1.1 server that says who it is; POST /slow takes `delay` seconds."""

    def __init__(self, name: str, delay: float = 0.0) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _send(self, body: dict, status: int = 200) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                if self.path == "/chunked":
                    self.send_response(200)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for part in (b"hello ", b"chunked ", b"world"):
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                    self.wfile.write(b"0\r\n\r\n")
                    return
                self._send({"who": name})

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if self.path == "/slow":
                    time.sleep(outer.delay)
                self._send({"who": name, "bytes": len(body)})

            def log_message(self, *_args) -> None:
                pass

        self.delay = delay
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy(tmp_path):
    """The proxy program as the container runs it (a process of its own); yields (base url, control path)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    control = str(tmp_path / "ctl.sock")
    process = subprocess.Popen([sys.executable, front.__file__, "serve", "--port", str(port), "--control", control],
                               stdout=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                front.ctl(control, {"op": "status"})
                break
            except OSError:
                time.sleep(0.02)
        yield f"http://127.0.0.1:{port}", control
    finally:
        process.terminate()
        process.wait(10)


def test_no_upstream_answers_503_and_bad_orders_are_refused(proxy):
    url, control = proxy
    resp = requests.get(f"{url}/health", timeout=5)
    assert resp.status_code == 503 and resp.json() == {"error": "no upstream", "proxy": "mlops-ci"}
    assert front.ctl(control, {"op": "set", "upstream": "no-port"})["ok"] is False
    assert front.ctl(control, {"op": "bogus"}) == {"ok": False, "error": "unknown op 'bogus'"}


def test_flip_under_keep_alive_load_drops_nothing_and_drains_in_flight(proxy):
    url, control = proxy
    old, new = Upstream("old", delay=0.6), Upstream("new")
    front.ctl(control, {"op": "set", "upstream": old.address})
    session = requests.Session()  # one keep-alive connection to the proxy throughout
    seen, failures = [], []
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            try:
                resp = session.get(f"{url}/who", timeout=5)
                (seen if resp.status_code == 200 else failures).append(resp.json().get("who"))
            except requests.RequestException as exc:
                failures.append(str(exc))

    slow: dict = {}
    in_flight = threading.Thread(target=lambda: slow.update(requests.post(f"{url}/slow", data=b"x" * 10,
                                                                          timeout=5).json()))
    worker = threading.Thread(target=load)
    worker.start()
    in_flight.start()
    time.sleep(0.2)  # the slow request is now being served by the old upstream
    answer = front.ctl(control, {"op": "set", "upstream": new.address})
    assert answer["previous"] == old.address and answer["upstream"] == new.address
    assert answer["inflight"].get(old.address, 0) >= 1  # what the deploy waits for before stopping the old one
    in_flight.join(5)
    time.sleep(0.2)
    stop.set()
    worker.join(5)
    old.stop()  # drained: nothing is in flight to it any more
    assert front.ctl(control, {"op": "status"})["inflight"] == {}
    assert slow == {"who": "old", "bytes": 10}  # finished where it started
    assert failures == []
    assert "old" in seen and "new" in seen
    assert seen.index("new") > seen.index("old") and "old" not in seen[seen.index("new"):]
    assert session.get(f"{url}/who", timeout=5).json() == {"who": "new"}


def test_a_refused_connection_is_retried_on_the_current_upstream(proxy):
    url, control = proxy
    dead = Upstream("dead")
    dead.stop()  # the port now refuses connections
    live = Upstream("live")
    front.ctl(control, {"op": "set", "upstream": dead.address})
    resp = requests.get(f"{url}/x", timeout=5)
    assert resp.status_code == 502 and "did not answer" in resp.json()["error"]
    status = front.ctl(control, {"op": "status"})
    assert status["failed"] == 1 and status["retried"] == 1
    front.ctl(control, {"op": "set", "upstream": live.address})
    assert requests.get(f"{url}/x", timeout=5).json() == {"who": "live"}


def test_bodies_survive_the_trip(proxy):
    url, control = proxy
    up = Upstream("up")
    front.ctl(control, {"op": "set", "upstream": up.address})
    big = b"y" * 200_000
    expect = requests.post(f"{url}/echo", data=big, headers={"Expect": "100-continue"}, timeout=5)
    assert expect.json() == {"who": "up", "bytes": len(big)}

    def chunks():
        yield b"a" * 1000
        yield b"b" * 24

    assert requests.post(f"{url}/echo", data=chunks(), timeout=5).json() == {"who": "up", "bytes": 1024}
    chunked = requests.get(f"{url}/chunked", timeout=5)
    assert chunked.status_code == 200 and chunked.text == "hello chunked world"
    assert requests.head(f"{url}/who", timeout=5).status_code == 501  # http.server has no HEAD: relayed as is
