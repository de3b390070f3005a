"""TLS and OIDC on a real controller: gRPC and HTTPS on loopback with a certificate made here,
OIDC tokens checked against a JWKS served by a loopback http.server with keys made here, and the
CLI (`vmafx nodes list`, `vmafx jobs get`) in process against it.

The controller runs on an event loop of its own in a thread (as tests/farm.py does), so each test
can call the gRPC client or the CLI, which run their own `asyncio.run`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import socket
import ssl
import threading
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import jwt
import pytest
from rich.console import Console
from tests.farm import migrated_template
from tests.tlskeys import (
    AUDIENCE,
    ISSUER,
    JwksServer,
    Pki,
    SigningKey,
    ec_key,
    make_pki,
    mint,
    rsa_key,
)
from typer.testing import CliRunner

from vmafx.cli.app import app
from vmafx.cli.entry import report_error
from vmafx.client.grpc_client import GrpcControllerClient
from vmafx.client.tls import TlsError
from vmafx.controller import main
from vmafx.controller.settings import ControllerSettings
from vmafx.core.jobs import JobKind
from vmafx.core.messages import JobRequest
from vmafx.errors import AuthError, ForbiddenError, NotFoundError, UnavailableError, VmafxError

pytestmark = pytest.mark.integration
T = TypeVar("T")
Client = Callable[[], GrpcControllerClient]
WAIT_S = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Controller:
    """`vmafx controller` through its composition root, on a loop of its own in a thread."""

    def __init__(self, folder: Path, **settings: Any) -> None:
        self.media = folder / "media"
        self.media.mkdir(parents=True)
        for name in ("ref.mp4", "dis.mp4"):
            (self.media / name).write_bytes(b"")
        store = folder / "controller.db"
        store.write_bytes(migrated_template(folder).read_bytes())
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        config = ControllerSettings(
            grpc_listen="127.0.0.1:0",
            http_listen="127.0.0.1:0",
            store_url=f"sqlite:///{store}",
            scoring_roots=(str(self.media),),
            model_dir=folder / "models",
            **settings,
        )
        self.running = self.run(main.start(config))
        self.grpc_port = self.running.grpc.port
        http = self.running.http
        assert http is not None
        self.http_port = int(http.server.servers[0].sockets[0].getsockname()[1])

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(WAIT_S)

    def close(self) -> None:
        self.run(self.running.stop(1.0))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(WAIT_S)
        self.loop.close()


@dataclasses.dataclass
class Setup:
    pki: Pki
    rsa: SigningKey
    ec: SigningKey
    jwks: JwksServer
    controller: Controller

    @property
    def https(self) -> str:
        return f"https://127.0.0.1:{self.controller.grpc_port}"

    def web(self, token: str | None = None) -> httpx.Client:
        context = ssl.create_default_context(cafile=str(self.pki.ca))
        headers = {"authorization": f"Bearer {token}"} if token else {}
        base = f"https://127.0.0.1:{self.controller.http_port}"
        return httpx.Client(base_url=base, verify=context, headers=headers, timeout=WAIT_S)

    def grpc(self, token: str | None, *, ca: Path | None = None, target: str = "") -> Client:
        return lambda: GrpcControllerClient(
            target or self.https, token=token, ca=ca, timeout_s=WAIT_S
        )

    def score(self) -> JobRequest:
        spec = {"reference": str(self.controller.media / "ref.mp4")}
        spec["distorted"] = str(self.controller.media / "dis.mp4")
        return JobRequest.parse(kind=JobKind.SCORE, spec=spec)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    folder = tmp_path_factory.mktemp("tls-oidc")
    pki = make_pki(folder / "pki")
    rsa, ec = rsa_key(), ec_key()
    jwks = JwksServer([rsa, ec])
    controller = Controller(
        folder / "farm",
        tls_cert=pki.cert,
        tls_key=pki.key,
        oidc_issuer=ISSUER,
        oidc_audience=AUDIENCE,
        oidc_jwks_url=jwks.url,
        oidc_leeway_s=0.0,  # so a token minted to expire in seconds does
    )
    try:
        yield Setup(pki, rsa, ec, jwks, controller)
    finally:
        controller.close()
        jwks.close()


def call(make: Client, work: Any) -> Any:
    """Run `work(client)` on a loop of this thread (a gRPC channel belongs to one loop)."""

    async def go() -> Any:
        client = make()
        try:
            return await work(client)
        finally:
            await client.close()

    return asyncio.run(go())


# --- OIDC over gRPC and HTTPS --------------------------------------------------------------------
def test_an_oidc_token_works_over_grpc_and_https_in_its_tenant_with_its_role(setup):
    writer = mint(setup.rsa, tenant="acme", role="writer")
    submitted = call(setup.grpc(writer, ca=setup.pki.ca), lambda c: c.submit_job(setup.score()))
    job_id = submitted.job.id
    with setup.web(mint(setup.ec, tenant="acme", role="reader")) as web:
        got = web.get(f"/v1/jobs/{job_id}")
        assert got.status_code == 200, got.text
        refused = web.post("/v1/jobs", json={"kind": "score", "spec": setup.score().spec.to_json()})
        assert refused.status_code == 403
        assert "needs the write permission" in refused.json()["error"]["message"]
    with setup.web(mint(setup.ec, tenant="beta", role="reader")) as web:
        assert web.get(f"/v1/jobs/{job_id}").status_code == 404
    other = setup.grpc(mint(setup.rsa, tenant="beta", role="reader"), ca=setup.pki.ca)
    with pytest.raises(NotFoundError):
        call(other, lambda c: c.get_job(job_id))
    reader = setup.grpc(mint(setup.rsa, tenant="acme", role="reader"), ca=setup.pki.ca)
    with pytest.raises(ForbiddenError):
        call(reader, lambda c: c.submit_job(setup.score()))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda s: mint(s.rsa, lifetime_s=-300), "the token has expired."),
        (lambda s: mint(s.rsa, issuer="https://evil.test"), "issued by someone else"),
        (lambda s: mint(s.ec, audience="other"), "not meant for this controller"),
        (
            lambda s: mint(SigningKey(s.rsa.kid, "RS256", rsa_key().private)),
            "signature does not verify",
        ),
        (lambda s: "eyJub3Q.a.jwt", "not a well-formed JWT"),
        (lambda s: mint(s.rsa, role="boss"), "grants no vmafx role"),
    ],
    ids=["expired", "issuer", "audience", "signature", "garbled", "no-role"],
)
def test_a_bad_oidc_token_is_401_over_https_and_unauthenticated_over_grpc(setup, make, message):
    token = make(setup)
    with setup.web(token) as web:
        answer = web.get("/v1/jobs")
    assert answer.status_code == 401, answer.text
    assert message in answer.json()["error"]["message"]
    with pytest.raises(AuthError, match=message):
        call(setup.grpc(token, ca=setup.pki.ca), lambda c: c.list_jobs())


def test_an_open_event_stream_ends_when_its_oidc_token_expires(setup):
    token = mint(setup.rsa, role="reader", lifetime_s=3)
    lines: list[str] = []
    with setup.web(token) as web, web.stream("GET", "/v1/events") as response:
        assert response.status_code == 200
        for line in response.iter_lines():  # ends when the controller closes the stream
            lines.append(line)
    assert "event: error" in lines
    assert any("the token has expired." in line for line in lines), lines


def test_a_grpc_job_stream_ends_unauthenticated_when_its_oidc_token_expires(setup):
    token = mint(setup.rsa, role="reader", lifetime_s=3)

    async def watch(client: GrpcControllerClient) -> None:
        async for _ in client.watch_jobs():
            pass

    with pytest.raises(AuthError, match="the token has expired."):
        call(setup.grpc(token, ca=setup.pki.ca), watch)


@pytest.mark.parametrize("alg", ["none", "HS256"])
def test_unsigned_and_hmac_tokens_are_refused(setup, alg):
    claims = {"iss": ISSUER, "aud": AUDIENCE, "exp": 4_000_000_000, "vmafx_tenant": "acme"}
    claims["vmafx_role"] = "admin"
    token = jwt.encode(claims, "k" * 32 if alg == "HS256" else None, algorithm=alg)
    with setup.web(token) as web:
        answer = web.get("/v1/jobs")
    assert answer.status_code == 401
    assert f"signed with '{alg}'; only RS256 or ES256" in answer.json()["error"]["message"]


def test_an_unknown_kid_refetches_the_jwks_once_then_is_refused(setup):
    stranger = rsa_key("rotated-away")
    with setup.web(mint(setup.rsa)) as web:
        assert web.get("/v1/jobs").status_code == 200
        before = setup.jwks.fetches
        first = web.get("/v1/jobs", headers={"authorization": f"Bearer {mint(stranger)}"})
        again = web.get("/v1/jobs", headers={"authorization": f"Bearer {mint(stranger)}"})
    assert (first.status_code, again.status_code) == (401, 401)
    assert "'rotated-away', which the issuer's JWKS" in first.json()["error"]["message"]
    assert setup.jwks.fetches == before + 1


def test_an_unreachable_jwks_is_503_naming_it(tmp_path):
    pki = make_pki(tmp_path / "pki")
    url = f"http://127.0.0.1:{free_port()}/jwks.json"
    controller = Controller(
        tmp_path / "farm",
        tls_cert=pki.cert,
        tls_key=pki.key,
        oidc_issuer=ISSUER,
        oidc_audience=AUDIENCE,
        oidc_jwks_url=url,
    )
    try:
        context = ssl.create_default_context(cafile=str(pki.ca))
        token = mint(rsa_key())
        base = f"https://127.0.0.1:{controller.http_port}"
        headers = {"authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, verify=context, timeout=WAIT_S) as web:
            answer = web.get("/v1/jobs", headers=headers)
        assert answer.status_code == 503
        assert f"cannot be fetched from {url}" in answer.json()["error"]["message"]
        target = f"https://127.0.0.1:{controller.grpc_port}"

        def client() -> GrpcControllerClient:
            return GrpcControllerClient(target, token=token, ca=pki.ca, timeout_s=WAIT_S)

        with pytest.raises(UnavailableError, match="cannot be fetched from"):
            call(client, lambda c: c.list_jobs())
    finally:
        controller.close()


# --- TLS --------------------------------------------------------------------------------------
def test_a_client_without_the_private_ca_is_told_to_pass_it(setup):
    with pytest.raises(TlsError, match="presented a certificate this client does not trust"):
        call(setup.grpc(mint(setup.rsa)), lambda c: c.list_nodes())


def test_a_client_trusting_another_ca_is_told_its_ca_did_not_sign_the_certificate(setup, tmp_path):
    other = make_pki(tmp_path / "other")
    with pytest.raises(TlsError, match=rf"the CA in {other.ca} did not sign it"):
        call(setup.grpc(mint(setup.rsa), ca=other.ca), lambda c: c.list_nodes())


def test_a_plain_text_client_is_told_the_controller_serves_tls(setup):
    target = f"127.0.0.1:{setup.controller.grpc_port}"
    with pytest.raises(TlsError, match=rf"Write --controller https://{target}"):
        call(setup.grpc(mint(setup.rsa), target=target), lambda c: c.list_nodes())


def test_a_tls_client_to_a_plain_text_controller_is_told_to_drop_https(tmp_path):
    controller = Controller(tmp_path / "farm", auth_disabled=True)
    try:
        pki = make_pki(tmp_path / "pki")
        target = f"https://127.0.0.1:{controller.grpc_port}"
        with pytest.raises(TlsError, match="does not speak TLS"):
            call(lambda: GrpcControllerClient(target, ca=pki.ca), lambda c: c.list_nodes())
    finally:
        controller.close()


def test_the_http_listener_speaks_only_tls(setup):
    with (
        httpx.Client(base_url=f"http://127.0.0.1:{setup.controller.http_port}") as web,
        pytest.raises(httpx.HTTPError),
    ):
        web.get("/healthz")


# --- the CLI ----------------------------------------------------------------------------------
def cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """`vmafx ARGS` as `main()` runs it: exit code, and stdout plus the error paragraph."""
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200", **(env or {})})
    if isinstance(result.exception, VmafxError):
        buffer = io.StringIO()
        code = report_error(result.exception, Console(file=buffer, width=400))
        return code, result.stdout + buffer.getvalue()
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout


def test_the_cli_reaches_a_tls_controller_with_ca_and_an_oidc_token(setup):
    token = mint(setup.rsa, role="admin")
    code, out = cli(
        "nodes", "list", "--controller", setup.https, "--ca", str(setup.pki.ca), "--token", token
    )
    assert code == 0, out
    code, out = cli("nodes", "list", "--controller", setup.https, "--token", token,
                    env={"VMAFX_CA": str(setup.pki.ca)})  # fmt: skip
    assert code == 0, out


def test_the_cli_without_the_ca_exits_17_naming_the_address_and_the_fix(setup):
    code, out = cli("nodes", "list", "--controller", setup.https, "--token", mint(setup.rsa))
    assert code == 17
    assert f"the controller at {setup.https} presented a certificate" in out
    assert "--ca FILE (or VMAFX_CA)" in out
    assert "Traceback" not in out and "StatusCode" not in out


def test_the_cli_speaking_plain_text_to_tls_exits_17_saying_use_https(setup):
    plain = f"127.0.0.1:{setup.controller.grpc_port}"
    code, out = cli("jobs", "list", "--controller", plain, "--token", mint(setup.rsa))
    assert code == 17
    assert (
        f"serves TLS, but this client spoke plain text to it. Write --controller https://{plain}"
        in out
    )
