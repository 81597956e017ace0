"""TLS for the live ports: a certificate made at start (or the user's own) and the server context STARTTLS uses.

A mail program pointed at ``netlab live`` defaults to STARTTLS and will not send a password in clear; the bridge
gives every port (SMTP ``STARTTLS``, IMAP ``STARTTLS``, POP3 ``STLS``) one server context. Without ``--cert`` the
certificate is generated at start with the ``cryptography`` package: self-signed, ECDSA P-256, valid for
``localhost`` and ``127.0.0.1`` for 30 days, written beside its key to a fresh directory so a client can trust
exactly it (``ssl.create_default_context(cafile=...)``, ``swaks --tls-ca-path``, ``curl --cacert``), and its
SHA-256 fingerprint printed for the ones that pin instead.

>>> cert = LiveCertificate.generate()
>>> cert.context().minimum_version.name, len(cert.fingerprint.split(":"))
('TLSv1_2', 32)
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import ssl
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from netlab.errors import ConfigError

__all__ = ["LiveCertificate", "upgrade"]

VALID_DAYS = 30
"""Lifetime of a generated certificate (days): long enough for a lab session, short enough to be obviously a lab's."""


@dataclass(frozen=True, slots=True)
class LiveCertificate:
    """A PEM certificate and key on disk, and its SHA-256 fingerprint (``AA:BB:...``, as OpenSSL prints it)."""

    cert: Path
    key: Path
    fingerprint: str
    generated: bool

    @classmethod
    def generate(cls, directory: Path | None = None, *, names: tuple[str, ...] = ("localhost",),
                 ips: tuple[str, ...] = ("127.0.0.1",)) -> LiveCertificate:  # fmt: skip
        """A fresh self-signed certificate for *names* and *ips*, written to *directory* (default: a new temporary
        directory) as ``netlab-live.crt`` and ``netlab-live.key``."""
        import ipaddress

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0]),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, "netlab live")])  # fmt: skip
        now = datetime.datetime.now(datetime.UTC)
        alt = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(a)) for a in ips]
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
                .add_extension(x509.SubjectAlternativeName(alt), critical=False)
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(key, hashes.SHA256()))  # fmt: skip
        where = Path(tempfile.mkdtemp(prefix="netlab-live-tls-")) if directory is None else directory
        cert_path, key_path = where / "netlab-live.crt", where / "netlab-live.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.touch(mode=0o600)
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))  # fmt: skip
        return cls(cert_path, key_path, _fingerprint(cert.public_bytes(serialization.Encoding.DER)), True)

    @classmethod
    def load(cls, cert: Path | str, key: Path | str) -> LiveCertificate:
        """The user's own PEM certificate and key (``--cert``/``--key``); a clear error when they do not fit."""
        cert, key = Path(cert), Path(key)
        for what, path in (("--cert", cert), ("--key", key)):
            if not path.is_file():
                raise ConfigError(f"live: {what} {path}: no such file (expected a PEM file)")
        try:
            ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
            der = ssl.PEM_cert_to_DER_cert(cert.read_text(encoding="ascii"))
        except (ssl.SSLError, ValueError, UnicodeError) as exc:
            raise ConfigError(f"live: --cert {cert} / --key {key}: not a PEM certificate and its key ({exc})") from None
        return cls(cert, key, _fingerprint(der), False)

    def context(self) -> ssl.SSLContext:
        """The server context every live port starts TLS with (TLS 1.2 or later)."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.cert, self.key)
        return ctx


def _fingerprint(der: bytes) -> str:
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


class TlsSession(Protocol):
    """A server session with the STARTTLS seam (the SMTP, POP3 and IMAP sessions all have it)."""

    starttls_pending: bool

    def tls_started(self) -> object: ...


async def upgrade(session: TlsSession, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                  context: ssl.SSLContext, timeout_s: float, lock: threading.RLock) -> bool:  # fmt: skip
    """Start TLS on a connection whose *session* has just accepted STARTTLS/STLS (its reply already written), then
    tell the session (under *lock*); False when the handshake failed and the connection must close.

    Bytes the client sent after the command and before the handshake are dropped first: they were sent in clear and
    must not be read as commands from inside TLS (the STARTTLS command-injection flaw, CVE-2011-0411).
    """
    await writer.drain()
    # asyncio has no public call to empty a StreamReader; the buffer is a bytearray in every CPython since 3.4
    buffered = getattr(reader, "_buffer", None)
    if isinstance(buffered, bytearray):
        buffered.clear()
    try:
        await asyncio.wait_for(writer.start_tls(context), timeout_s)
    except (ssl.SSLError, OSError, TimeoutError):
        return False  # nothing more can be read in clear
    with lock:
        session.tls_started()
    return True
