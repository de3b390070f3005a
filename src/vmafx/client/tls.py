"""How a client names a controller and whether it speaks TLS to it.

The convention, one for every client (`vmafx node`, `vmafx jobs …`, `vmafx nodes …`, corpus farm
mode, the demo): the controller address says it.

    farm:9090 / http://farm:9090     plain text (loopback, or a trusted network)
    https://farm:9090                TLS; the certificate is checked against the system's CAs,
                                     or against the CA in `--ca FILE` (VMAFX_CA) for a private one

`--ca` without `https://` is refused rather than ignored: a CA file only means something for TLS.
Other gRPC target URIs (`unix:///run/vmafx.sock`, `dns:///farm:9090`) are passed through, plain.

When a call fails before the controller answered, `explain_unavailable` turns gRPC's transport
detail into `TlsError` (a handshake that failed, with the reason and the fix) where it was TLS
that failed; a plain-text client facing a TLS listener is found by one TLS probe of the address.
No grpcio import here: the CLI parses addresses without the `controller` extra.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ssl
from pathlib import Path

from vmafx.errors import ConfigError, UnavailableError

HTTPS = "https://"
HTTP = "http://"
PEM_CERTIFICATE = b"-----BEGIN CERTIFICATE-----"
PROBE_TIMEOUT_S = 3.0


class TlsError(UnavailableError):
    """The TLS handshake with the controller failed (exit 17): what failed, and the fix."""


@dataclasses.dataclass(frozen=True)
class ControllerAddress:
    """`target` is what gRPC dials (HOST:PORT or a URI); `tls` and the CA file say how."""

    target: str
    tls: bool = False
    ca: Path | None = None

    def __str__(self) -> str:
        return f"{HTTPS}{self.target}" if self.tls else self.target

    @property
    def host_port(self) -> tuple[str, int] | None:
        """(host, port) for a HOST:PORT target; None for a URI target."""
        if "://" in self.target or self.target.startswith("unix:"):
            return None
        host, _, port = self.target.rpartition(":")
        return host.strip("[]"), int(port)

    def root_certificates(self) -> bytes | None:
        """The PEM of `--ca`, or None for the system's CAs; ConfigError when it is not one."""
        if self.ca is None:
            return None
        try:
            pem = self.ca.read_bytes()
        except OSError as error:
            raise ConfigError(
                f"the CA file {self.ca} cannot be read: {error.strerror or error}.",
                hint="Check the path given to --ca (or VMAFX_CA).",
            ) from None
        if PEM_CERTIFICATE not in pem:
            raise ConfigError(
                f"the CA file {self.ca} holds no PEM certificate ('-----BEGIN CERTIFICATE-----').",
                hint="Give --ca the CA certificate (PEM) that signed the controller's certificate.",
            )
        return pem


def parse_address(
    text: str, *, ca: Path | None = None, default_port: int = 9090
) -> ControllerAddress:
    """`HOST:PORT`, `http://HOST:PORT` or `https://HOST:PORT` (see the module docstring)."""
    text = text.strip()
    tls = text.startswith(HTTPS)
    if tls or text.startswith(HTTP):
        target = text.removeprefix(HTTPS).removeprefix(HTTP).rstrip("/")
        if ":" not in target.rpartition("]")[2]:
            target = f"{target}:{default_port}"
        _check_host_port(text, target)
    elif "://" in text or text.startswith("unix:"):
        target = text
    else:
        target = text
        _check_host_port(text, target)
    if ca is not None and not tls:
        raise ConfigError(
            f"--ca {ca} is given but the controller address {text!r} is plain text.",
            hint=f"Write the address as https://{target} to use TLS, or drop --ca (VMAFX_CA).",
        )
    return ControllerAddress(target=target, tls=tls, ca=ca)


def _check_host_port(text: str, target: str) -> None:
    host, sep, port = target.rpartition(":")
    if not host or not sep or not port.isdigit() or not 0 < int(port) <= 65535 or "/" in target:
        raise ConfigError(
            f"controller address {text!r} is not HOST:PORT.",
            hint="For example --controller 127.0.0.1:9090, or https://farm.example:9090 for TLS.",
        )


# --- explaining a failed connection --------------------------------------------------------------
_VERIFY = ("CERTIFICATE_VERIFY_FAILED", "certificate verify failed", "unable to get local issuer")
_NAME = ("Hostname", "hostname", "SAN", "subject alternative name", "Peer name")
_NOT_TLS = (
    "WRONG_VERSION_NUMBER",
    "wrong version number",
    "PACKET_LENGTH_TOO_LONG",
    "http request",
)


def handshake_failure(address: ControllerAddress, detail: str) -> TlsError | None:
    """A TlsError when gRPC's `detail` says the TLS handshake failed, else None."""
    if not address.tls or ("handshake" not in detail.lower() and "ssl" not in detail.lower()):
        return None
    if any(word in detail for word in _NOT_TLS):
        return TlsError(
            f"the controller at {address} does not speak TLS (the TLS handshake got a "
            "plain-text answer).",
            hint=f"Write --controller {address.target} (no https://) for a plain-text controller, "
            "or start the controller with --tls-cert FILE --tls-key FILE.",
        )
    if any(word in detail for word in _NAME):
        return TlsError(
            f"the controller at {address} presented a certificate for another name.",
            hint="Use the host name (or IP) the certificate was issued for in --controller, or "
            "issue the controller a certificate whose subjectAltName includes this address.",
        )
    if any(word in detail for word in _VERIFY):
        if address.ca is None:
            return TlsError(
                f"the controller at {address} presented a certificate this client does not "
                "trust: no CA of this system signed it.",
                hint="Pass the CA certificate that signed it with --ca FILE (or VMAFX_CA).",
            )
        return TlsError(
            f"the controller at {address} presented a certificate this client does not "
            f"trust: the CA in {address.ca} did not sign it.",
            hint="Give --ca (VMAFX_CA) the CA that signed the controller's --tls-cert.",
        )
    return TlsError(
        f"the TLS handshake with the controller at {address} failed ({detail.strip()[:200]}).",
        hint="Check that the controller runs with --tls-cert/--tls-key and that --ca (VMAFX_CA) "
        "names the CA that signed its certificate.",
    )


async def speaks_tls(host: str, port: int, *, timeout_s: float = PROBE_TIMEOUT_S) -> bool:
    """Whether a TLS handshake (certificate not checked: only asking) succeeds at host:port."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        async with asyncio.timeout(timeout_s):
            _, writer = await asyncio.open_connection(host, port, ssl=context)
    except (OSError, TimeoutError, ssl.SSLError):
        return False
    writer.close()
    with contextlib.suppress(OSError, ssl.SSLError):
        await writer.wait_closed()
    return True


async def explain_unavailable(address: ControllerAddress, detail: str) -> TlsError | None:
    """Why a call to `address` failed before any answer, when TLS is the reason; else None."""
    failure = handshake_failure(address, detail)
    if failure is not None or address.tls:
        return failure
    host_port = address.host_port
    if host_port is None or not await speaks_tls(*host_port):
        return None
    return TlsError(
        f"the controller at {address} serves TLS, but this client spoke plain text to it.",
        hint=f"Write --controller https://{address.target} (and --ca FILE, or VMAFX_CA, when "
        "its certificate comes from a private CA).",
    )
