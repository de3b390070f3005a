"""Why a gRPC call found no controller, when the address is an HTTP port (the UI's, often).

People paste the address their browser shows (`http://127.0.0.1:8080/`) into `--controller`,
which wants the controller's gRPC port (9090 by default). gRPC then reports HTTP/2 framing
errors ("Failed parsing HTTP/2 … Trying to connect an http1.x server"). When its detail says
so, `http_port_error` asks the address one plain `GET /healthz`: the controller's HTTP listener
answers `{"status": "ok"}`, so the error can say "that is the controller's HTTP/UI port".
Only that one request is made, and only after such a failure; no grpcio import here.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request

from vmafx.client.tls import ControllerAddress
from vmafx.errors import UnavailableError

DEFAULT_GRPC_PORT = 9090
PROBE_TIMEOUT_S = 2.0
#: What gRPC's transport detail says when an HTTP/1 server answered its HTTP/2 preface.
HTTP1_MARKERS = ("http1.x", "Failed parsing HTTP/2", "Expected SETTINGS frame")


class HttpPortError(UnavailableError):
    """`--controller` names an HTTP port, not the controller's gRPC port (exit 17)."""


def http_port_error(
    address: ControllerAddress, detail: str, *, timeout_s: float = PROBE_TIMEOUT_S
) -> HttpPortError | None:
    """The error to show when `detail` (gRPC's) says `address` speaks HTTP/1; else None."""
    host_port = address.host_port
    if host_port is None or not any(marker in detail for marker in HTTP1_MARKERS):
        return None
    host, port = host_port
    scheme = "https" if address.tls else "http"
    hint = _hint(address, host, port)
    if _is_controller_http(f"{scheme}://{_bracketed(host)}:{port}/healthz", timeout_s):
        return HttpPortError(
            f"{address} is the controller's HTTP/UI port (it answers GET /healthz), not its "
            "gRPC port.",
            hint=hint,
        )
    return HttpPortError(
        f"{address} answers plain HTTP, not gRPC: it is a web server (or a controller's "
        "HTTP/UI port), not the controller's gRPC port.",
        hint=hint,
    )


def _hint(address: ControllerAddress, host: str, port: int) -> str:
    scheme = "https://" if address.tls else ""
    if port == DEFAULT_GRPC_PORT:
        return (
            "Give --controller (VMAFX_CONTROLLER_ADDR) the port the controller's "
            "--grpc-listen names."
        )
    return (
        f"The gRPC port is {DEFAULT_GRPC_PORT} by default: --controller "
        f"{scheme}{_bracketed(host)}:{DEFAULT_GRPC_PORT}, or the port the controller's "
        "--grpc-listen names (`vmafx up` prints it as `gRPC HOST:PORT`)."
    )


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _is_controller_http(url: str, timeout_s: float) -> bool:
    """Does `url` answer as vmafx's `/healthz` does? (Certificates are not checked: asking.)"""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, timeout=timeout_s, context=context) as answer:  # noqa: S310 - http(s) only
            body = json.loads(answer.read(4096) or b"null")
    except (urllib.error.URLError, OSError, ValueError):
        return False
    return isinstance(body, dict) and body.get("status") == "ok"
