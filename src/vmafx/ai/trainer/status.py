"""`GET /status` on a small HTTP listener: the trainer's state as JSON, for operators.

Plain `http.server` on its own thread; bind it to loopback (the default) unless the operator's
network policy covers it. Any other path is a 404; any other method a 501.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from vmafx.errors import ConfigError

log = logging.getLogger(__name__)


class StatusServer:
    def __init__(self, host: str, port: int, status: Callable[[], dict[str, Any]]) -> None:
        self.host, self.port = host, port
        self._status = status
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self._status

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] != "/status":
                    self._send(404, {"error": f"no such path {self.path}; try /status"})
                    return
                try:
                    self._send(200, provider())
                except Exception as exc:  # the listener must answer even when status breaks
                    log.exception("status failed")
                    self._send(500, {"error": type(exc).__name__})

            def _send(self, code: int, body: dict[str, Any]) -> None:
                data = json.dumps(body, default=str).encode() + b"\n"
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("status request: " + format, *args)

        return Handler

    @property
    def address(self) -> tuple[str, int]:
        """The bound host and port (the real port when 0 was asked for); after start()."""
        if self._server is None:
            return self.host, self.port
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        try:
            self._server = ThreadingHTTPServer((self.host, self.port), self._handler())
        except OSError as exc:
            raise ConfigError(
                f"The trainer cannot serve /status on {self.host}:{self.port}: "
                f"{exc.strerror or exc}.",
                hint="Set VMAFX_SIDECAR_STATUS_PORT to a free port, or to empty to disable it.",
            ) from None
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is None:
            return
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(1.0)
        self._server.server_close()
        self._server = None
