"""The node's small HTTP listener: `/metrics` (Prometheus), `/livez`, `/readyz`.

A standard-library `ThreadingHTTPServer` on a daemon thread, so a busy event loop never delays a
probe. `/readyz` is 200 while the node is registered and takes work, else 503 with the reason
(starting, controller away, draining).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from vmafx.errors import ConfigError

log = logging.getLogger(__name__)

Readiness = Callable[[], tuple[bool, str]]


def split_listen(listen: str) -> tuple[str, int]:
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ConfigError(
            f"the HTTP listen address {listen!r} is not HOST:PORT.",
            hint="For example --http-listen 127.0.0.1:9091 (port 0 picks a free port).",
        )
    return host.strip("[]") or "0.0.0.0", int(port)  # noqa: S104 - ":9091" means every address


class StatusServer:
    def __init__(self, listen: str, registry: CollectorRegistry, readiness: Readiness) -> None:
        host, port = split_listen(listen)
        handler = _handler_class(registry, readiness)
        try:
            self._server = ThreadingHTTPServer((host, port), handler)
        except OSError as error:
            raise ConfigError(
                f"the node cannot listen on {listen}: {error.strerror or error}.",
                hint="Pick another --http-listen address, or port 0 for any free port.",
            ) from None
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="vmafx-node-http", daemon=True
        )

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def start(self) -> StatusServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _handler_class(
    registry: CollectorRegistry, readiness: Readiness
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._send(HTTPStatus.OK, generate_latest(registry), CONTENT_TYPE_LATEST)
            elif path == "/livez":
                self._send(HTTPStatus.OK, b"ok\n")
            elif path == "/readyz":
                ready, reason = readiness()
                status = HTTPStatus.OK if ready else HTTPStatus.SERVICE_UNAVAILABLE
                self._send(status, f"{reason}\n".encode())
            else:
                self._send(HTTPStatus.NOT_FOUND, b"not found: try /metrics, /livez, /readyz\n")

        def _send(self, status: HTTPStatus, body: bytes, kind: str = "text/plain") -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            log.debug("http: " + format, *args)

    return Handler
