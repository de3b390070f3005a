"""The TLS convention every client shares: the controller address says it (`https://`), `--ca`
names a private CA, and a failed handshake is explained with the fix; the controller's own
certificate and key are checked before anything binds."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.tlskeys import make_pki

from vmafx.cli.remote import Remote
from vmafx.client.tls import ControllerAddress, TlsError, handshake_failure, parse_address
from vmafx.controller.tls import load_server_tls
from vmafx.errors import ConfigError, UnavailableError, exit_code_for
from vmafx.node.settings import node_settings


@pytest.mark.parametrize(
    ("text", "target", "tls"),
    [
        ("farm:9090", "farm:9090", False),
        ("http://farm:9090", "farm:9090", False),
        ("https://farm:9443", "farm:9443", True),
        ("https://farm", "farm:9090", True),
        ("https://[::1]:9090/", "[::1]:9090", True),
        ("unix:///run/vmafx.sock", "unix:///run/vmafx.sock", False),
    ],
)
def test_the_address_says_whether_tls_is_used(text, target, tls):
    address = parse_address(text)
    assert (address.target, address.tls) == (target, tls)


def test_a_tls_address_prints_with_its_scheme():
    assert str(parse_address("https://farm:9443")) == "https://farm:9443"


@pytest.mark.parametrize("text", ["farm", "https://farm:port", "farm:0", "https://farm:9090/x"])
def test_an_address_that_is_not_host_port_is_refused(text):
    with pytest.raises(ConfigError, match="is not HOST:PORT"):
        parse_address(text)


def test_a_ca_with_a_plain_text_address_is_refused_saying_how_to_use_tls(tmp_path):
    with pytest.raises(ConfigError, match=r"Write the address as https://farm:9090"):
        parse_address("farm:9090", ca=tmp_path / "ca.pem")


def test_a_ca_file_that_is_missing_or_not_pem_is_refused_naming_it(tmp_path):
    missing = ControllerAddress("farm:9090", tls=True, ca=tmp_path / "nope.pem")
    with pytest.raises(ConfigError, match=r"the CA file .*nope.pem cannot be read"):
        missing.root_certificates()
    junk = tmp_path / "junk.pem"
    junk.write_text("hello")
    with pytest.raises(ConfigError, match="holds no PEM certificate"):
        ControllerAddress("farm:9090", tls=True, ca=junk).root_certificates()


def test_vmafx_ca_is_used_for_an_https_controller_and_ignored_for_a_plain_one(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("VMAFX_CA", str(tmp_path / "ca.pem"))
    assert Remote.of("https://farm:9090", None, None).where.ca == tmp_path / "ca.pem"
    assert Remote.of("127.0.0.1:9090", None, None).where.ca is None


def test_a_node_takes_its_ca_from_the_flag_or_the_environment(tmp_path):
    ca = tmp_path / "ca.pem"
    env = {"VMAFX_CONTROLLER_ADDR": "https://farm:9090", "VMAFX_CA": str(ca)}
    assert node_settings(env=env).ca == ca
    assert node_settings(env={"VMAFX_CA": str(ca)}).ca is None  # plain-text default controller
    with pytest.raises(ConfigError, match="is plain text"):
        node_settings(flags={"ca": ca}, env={})


# --- explaining a failed handshake ------------------------------------------------------------
TLS = ControllerAddress("127.0.0.1:9443", tls=True)
VERIFY = (
    "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:9443: Ssl "
    "handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:1000007d:SSL "
    "routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: unable to get local issuer certificate"
)
PLAIN = (
    "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:9443: Ssl "
    "handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:100000f7:SSL "
    "routines:OPENSSL_internal:WRONG_VERSION_NUMBER"
)


def test_an_untrusted_certificate_says_to_pass_the_ca():
    error = handshake_failure(TLS, VERIFY)
    assert isinstance(error, TlsError) and exit_code_for(error) == 17
    assert "https://127.0.0.1:9443 presented a certificate this client does not trust" in str(error)
    assert (
        "no CA of this system signed it. Pass the CA certificate that signed it with --ca FILE"
        in str(error)
    )
    with_ca = handshake_failure(ControllerAddress(TLS.target, tls=True, ca=Path("ca.pem")), VERIFY)
    assert with_ca is not None and "the CA in ca.pem did not sign it" in with_ca.message


def test_a_plain_text_controller_behind_an_https_address_says_to_drop_https():
    error = handshake_failure(TLS, PLAIN)
    assert error is not None
    assert "does not speak TLS" in error.message
    assert "--controller 127.0.0.1:9443 (no https://)" in str(error)


def test_a_connection_refused_is_not_a_tls_failure():
    detail = "failed to connect to all addresses; last error: UNAVAILABLE: Connection refused"
    assert handshake_failure(TLS, detail) is None


def test_the_cli_shows_a_tls_failure_as_it_is_and_other_outages_with_who_was_tried():
    remote = Remote.of("https://farm:9090", None, None)
    tls = TlsError("the TLS handshake failed")
    assert remote.unreachable(tls) is tls
    other = remote.unreachable(UnavailableError("connection refused"))
    assert "no working controller answered at https://farm:9090" in other.message


# --- the controller's certificate -------------------------------------------------------------
@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


def test_no_certificate_means_plain_text():
    assert load_server_tls(None, None) is None


def test_a_certificate_and_its_key_load(pki):
    tls = load_server_tls(pki.cert, pki.key)
    assert tls is not None and tls.cert_pem.startswith(b"-----BEGIN CERTIFICATE-----")
    assert "PRIVATE" not in repr(tls)


def test_a_certificate_without_its_key_is_refused(pki):
    with pytest.raises(ConfigError, match="--tls-cert is given without --tls-key"):
        load_server_tls(pki.cert, None)


def test_a_key_of_another_certificate_is_refused_naming_both(pki, tmp_path):
    other = make_pki(tmp_path / "other")
    with pytest.raises(ConfigError, match=r"does not belong to the certificate"):
        load_server_tls(pki.cert, other.key)


def test_a_missing_certificate_file_is_refused_naming_it(pki, tmp_path):
    with pytest.raises(ConfigError, match=r"the TLS certificate .*absent.pem cannot be read"):
        load_server_tls(tmp_path / "absent.pem", pki.key)


def test_a_key_file_given_as_the_certificate_is_refused(pki):
    with pytest.raises(ConfigError, match="holds no PEM certificate"):
        load_server_tls(Path(pki.key), pki.key)
