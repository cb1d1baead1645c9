"""Fixtures for the data tests: a throw-away HTTP server and the real MNIST directory."""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

_PROXY_VARS = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


class NoLength(bytes):
    """A body the test server sends with no Content-Length header (then it closes)."""


@dataclass
class Server:
    """A local HTTP server: ``url`` serves ``files`` (path -> bytes); ``requests`` logs GETs."""

    url: str
    files: dict[str, bytes]
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def http_server(monkeypatch):
    """Start servers on 127.0.0.1 (port 0) serving given files; 404 for anything else.

    A value of ``None`` for a path sends a Content-Length of 1000 and then only 10 bytes
    before closing: a download cut off halfway. A :class:`NoLength` value is sent without
    a Content-Length.
    """
    for var in _PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
    running = []

    def start(files: dict[str, bytes | None]) -> Server:
        server_info = Server(url="", files=files)

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the http.server hook's name)
                path = self.path.lstrip("/")
                server_info.requests.append(path)
                if path not in files:
                    self.send_error(404)
                    return
                body = files[path]
                self.send_response(200)
                if not isinstance(body, NoLength):
                    self.send_header("Content-Length", str(1000 if body is None else len(body)))
                self.end_headers()
                self.wfile.write(b"x" * 10 if body is None else body)
                if body is None:
                    self.close_connection = True

            def log_message(self, *args):
                pass

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        thread.start()
        running.append((httpd, thread))
        server_info.url = f"http://127.0.0.1:{httpd.server_address[1]}/"
        return server_info

    yield start
    for httpd, thread in running:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.fixture
def dead_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens (connection refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The directory of the real MNIST files, from CHAINRULE_MNIST_DIR; skip when unset."""
    value = os.environ.get("CHAINRULE_MNIST_DIR")
    if not value:
        pytest.skip("CHAINRULE_MNIST_DIR is not set (point it at the four MNIST files)")
    return Path(value)
