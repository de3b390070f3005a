"""The controller's TLS certificate and key (`--tls-cert FILE --tls-key FILE`), checked before
anything binds: both or neither, readable, PEM, and the key belonging to the certificate (which
`ssl` checks for us). The same pair serves gRPC and HTTP. Clients then name the controller as
`https://HOST:PORT` (`vmafx.client.tls`).
"""

from __future__ import annotations

import dataclasses
import ssl
from pathlib import Path

from vmafx.errors import ConfigError

HINT = (
    "Give the controller a PEM certificate (its chain after it) and its unencrypted PEM key, "
    "e.g. --tls-cert /etc/vmafx/tls.crt --tls-key /etc/vmafx/tls.key "
    "(VMAFX_CONTROLLER_TLS_CERT / VMAFX_CONTROLLER_TLS_KEY)."
)


@dataclasses.dataclass(frozen=True)
class ServerTls:
    cert: Path
    key: Path
    cert_pem: bytes = dataclasses.field(repr=False)
    key_pem: bytes = dataclasses.field(repr=False)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise ConfigError(
            f"the TLS {what} {path} cannot be read: {error.strerror or error}.", hint=HINT
        ) from None


def load_server_tls(cert: Path | None, key: Path | None) -> ServerTls | None:
    """The certificate and key to serve with, None for plain text, or ConfigError."""
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        given, missing = ("--tls-cert", "--tls-key") if key is None else ("--tls-key", "--tls-cert")
        raise ConfigError(f"{given} is given without {missing}; TLS needs both.", hint=HINT)
    cert_pem, key_pem = _read(cert, "certificate"), _read(key, "key")
    if b"-----BEGIN CERTIFICATE-----" not in cert_pem:
        raise ConfigError(f"the TLS certificate {cert} holds no PEM certificate.", hint=HINT)
    if b"PRIVATE KEY-----" not in key_pem:
        raise ConfigError(f"the TLS key {key} holds no PEM private key.", hint=HINT)
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except ssl.SSLError as error:
        raise ConfigError(
            f"the TLS key {key} does not belong to the certificate {cert}, or one of them "
            f"cannot be used ({error.reason or error}).",
            hint=HINT,
        ) from None
    return ServerTls(cert=cert, key=key, cert_pem=cert_pem, key_pem=key_pem)
