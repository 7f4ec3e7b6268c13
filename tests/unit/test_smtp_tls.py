"""Mail over TLS (smtps, or STARTTLS): the server's certificate is checked against the trusted
certificates on every connection, also when one sender sends several mails (it reuses its TLS
context); an untrusted server is a permanent failure, never a mail sent in clear or unchecked.
A real SMTP server in the test process, with a certificate of a test authority."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from engine.reminders import senders
from engine.reminders.senders import DeliveryError, SmtpConfig, SmtpSender
from tests.unit.test_delivery import Collector, free_port, message


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A test authority's certificate, and a key and certificate for 127.0.0.1 it signed."""
    folder = tmp_path_factory.mktemp("tls")
    now = dt.datetime.now(dt.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kaigi test authority")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
          .not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])).issuer_name(ca_name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    (folder / "ca.pem").write_bytes(ca.public_bytes(pem))
    (folder / "cert.pem").write_bytes(leaf.public_bytes(pem))
    (folder / "key.pem").write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    return folder / "ca.pem", folder / "cert.pem", folder / "key.pem"


@pytest.fixture(params=["smtps", "starttls"])
def tls_server(request: pytest.FixtureRequest, certs: tuple[Path, Path, Path]) -> Iterator[tuple[Collector, SmtpConfig]]:
    """A server that speaks TLS from the start (smtps) or takes no mail before STARTTLS."""
    _, cert, key = certs
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    collector, port = Collector(), free_port()
    params: dict[str, Any] = ({"ssl_context": server_context} if request.param == "smtps"
                              else {"tls_context": server_context, "require_starttls": True})
    controller = Controller(collector, hostname="127.0.0.1", port=port, **params)
    controller.start()
    try:
        yield collector, SmtpConfig("127.0.0.1", port, ssl=request.param == "smtps",
                                    starttls=request.param == "starttls", timeout=5.0)
    finally:
        controller.stop()


def _trust(monkeypatch: pytest.MonkeyPatch, ca: Path | None) -> None:
    """The certificates a new TLS context trusts (OpenSSL reads SSL_CERT_FILE and SSL_CERT_DIR)."""
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    if ca is None:
        monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    else:
        monkeypatch.setenv("SSL_CERT_FILE", str(ca))


def test_mail_goes_to_a_trusted_server_once_per_send(tls_server, certs, monkeypatch):
    collector, config = tls_server
    _trust(monkeypatch, certs[0])
    smtp = SmtpSender(config, "kaigi@example.jp")
    smtp.send(message(message_id="<one@kaigi>"))
    smtp.send(message(message_id="<two@kaigi>"))
    with smtp:  # one connection for a batch
        smtp.send(message(message_id="<three@kaigi>"))
    assert [r.parsed()["Message-ID"] for r in collector.received] == ["<one@kaigi>", "<two@kaigi>", "<three@kaigi>"]


def test_an_untrusted_server_gets_no_mail_however_often_asked(tls_server, monkeypatch):
    collector, config = tls_server
    _trust(monkeypatch, None)  # the system's authorities: none signed the test server's certificate
    smtp = SmtpSender(config, "kaigi@example.jp")
    for _ in range(2):
        with pytest.raises(DeliveryError, match="TLS certificate not trusted") as refused:
            smtp.send(message())
        assert not refused.value.transient
    assert not collector.received


def test_a_sender_sees_a_change_of_the_trusted_certificates(tls_server, certs, monkeypatch):
    """A scheduler running for weeks: a certificate no longer trusted is refused once the
    sender's TLS context is made anew (after TLS_CONTEXT_SECONDS)."""
    collector, config = tls_server
    _trust(monkeypatch, certs[0])
    smtp = SmtpSender(config, "kaigi@example.jp")
    smtp.send(message())
    _trust(monkeypatch, None)
    monkeypatch.setattr(senders, "TLS_CONTEXT_SECONDS", 0.0)
    with pytest.raises(DeliveryError, match="TLS certificate not trusted"):
        smtp.send(message())
    assert len(collector.received) == 1
