"""TLS 1.3 as the simulation carries it after STARTTLS: the handshake's bytes and round trip, then records.

netlab models what TLS costs on the wire, not its cryptography. A handshake is the three flights of a full
TLS 1.3 handshake (RFC 8446 §2) with the sizes of one x25519 key share, TLS_AES_128_GCM_SHA256 and an ECDSA P-256
certificate of :data:`CERT_BYTES` (the size of the certificate ``netlab live`` generates): the client's
ClientHello, the server's ServerHello + ChangeCipherSpec + one protected record (EncryptedExtensions,
Certificate, CertificateVerify, Finished), and the client's ChangeCipherSpec + Finished; one round trip before the
client's first protected command, as in TLS 1.3. Then every write is cut into records of at most 2^14 octets,
each with its 5-octet header, the inner content type and the 16-octet AEAD tag: :data:`RECORD_OVERHEAD` octets per
record. The ClientHello and ServerHello are well-formed (tshark dissects them); the protected records carry the
plaintext itself, padded with a zero tag, so a capture shows TLS records of the right sizes and a reader of the
pcap can still follow the protocol. No session tickets, no resumption, no 0-RTT.

The codec is sans-IO, as the mail protocols are: :class:`TlsRecords` wraps plaintext into records and unwraps
received bytes (any split) back into plaintext.

>>> client, server = TlsRecords(), TlsRecords()
>>> wire = client.wrap(b"EHLO pc\\r\\n")
>>> len(wire) - len(b"EHLO pc\\r\\n") == RECORD_OVERHEAD, server.unwrap(wire[:4]), server.unwrap(wire[4:])
(True, b'', b'EHLO pc\\r\\n')
>>> len(client_hello(b"x")), len(server_flight(b"x")), len(CLIENT_FINISHED)
(159, 683, 64)
"""

from __future__ import annotations

import hashlib
import struct

__all__ = [
    "CERT_BYTES",
    "CLIENT_FINISHED",
    "CLIENT_HELLO_BYTES",
    "MAX_PLAINTEXT",
    "RECORD_OVERHEAD",
    "SERVER_FLIGHT_BYTES",
    "TlsError",
    "TlsRecords",
    "client_hello",
    "server_flight",
]  # fmt: skip

CERT_BYTES = 393
"""DER size of the server certificate (octets): a self-signed ECDSA P-256 one, as ``netlab live`` makes."""
MAX_PLAINTEXT = 1 << 14
"""Plaintext octets per record (RFC 8446 §5.1)."""
RECORD_OVERHEAD = 5 + 1 + 16
"""Octets a protected record adds: header, inner content type, AES-GCM tag (RFC 8446 §5.2)."""

_HANDSHAKE, _CCS, _APPDATA = 0x16, 0x14, 0x17
_CCS_RECORD = bytes([_CCS, 3, 3, 0, 1, 1])


class TlsError(ValueError):
    """Bytes that are not the records this model sends (a peer speaking something else after STARTTLS)."""


def _record(kind: int, body: bytes) -> bytes:
    return struct.pack("!BHH", kind, 0x0303, len(body)) + body


def _protected(plaintext: bytes) -> bytes:
    return _record(_APPDATA, plaintext + bytes([_APPDATA]) + bytes(16))


def _ext(kind: int, body: bytes) -> bytes:
    return struct.pack("!HH", kind, len(body)) + body


def _handshake(kind: int, body: bytes) -> bytes:
    return bytes([kind]) + len(body).to_bytes(3, "big") + body


def _random(seed: bytes, what: bytes) -> bytes:
    return hashlib.sha256(what + b"\0" + seed).digest()  # deterministic: the same run gives the same bytes


def client_hello(seed: bytes) -> bytes:
    """The client's first flight: a ClientHello record (TLS 1.3, x25519, three AEAD suites); *seed* makes its
    random values (deterministic per connection)."""
    extensions = b"".join([
        _ext(0x000A, struct.pack("!HH", 2, 0x001D)),  # supported_groups: x25519
        _ext(0x000D, struct.pack("!HHHHH", 8, 0x0403, 0x0804, 0x0401, 0x0503)),  # signature_algorithms
        _ext(0x002B, bytes([2]) + struct.pack("!H", 0x0304)),  # supported_versions: TLS 1.3
        _ext(0x0033, struct.pack("!HHH", 36, 0x001D, 32) + _random(seed, b"client key")),  # key_share
    ])  # fmt: skip
    body = (struct.pack("!H", 0x0303) + _random(seed, b"client random") + bytes([32]) + _random(seed, b"sid")
            + struct.pack("!HHHH", 6, 0x1301, 0x1302, 0x1303) + bytes([1, 0])
            + struct.pack("!H", len(extensions)) + extensions)  # fmt: skip
    return _record(_HANDSHAKE, _handshake(1, body))


def server_flight(seed: bytes) -> bytes:
    """The server's flight: ServerHello, ChangeCipherSpec (middlebox compatibility, RFC 8446 §D.4) and one
    protected record holding EncryptedExtensions, Certificate, CertificateVerify and Finished."""
    extensions = _ext(0x002B, struct.pack("!H", 0x0304)) + _ext(0x0033, struct.pack("!HH", 0x001D, 32)
                                                                 + _random(seed, b"server key"))  # fmt: skip
    hello = (struct.pack("!H", 0x0303) + _random(seed, b"server random") + bytes([32]) + _random(seed, b"sid")
             + struct.pack("!HB", 0x1301, 0) + struct.pack("!H", len(extensions)) + extensions)  # fmt: skip
    certificate = bytes([0]) + (CERT_BYTES + 5).to_bytes(3, "big") + CERT_BYTES.to_bytes(3, "big") + bytes(CERT_BYTES)
    certificate += bytes(2)  # the entry's (empty) extensions
    protected = (_handshake(8, bytes(2)) + _handshake(11, certificate)
                 + _handshake(15, struct.pack("!HH", 0x0403, 72) + bytes(72)) + _handshake(20, bytes(32)))  # fmt: skip
    return _record(_HANDSHAKE, _handshake(2, hello)) + _CCS_RECORD + _protected(protected)


CLIENT_FINISHED = _CCS_RECORD + _protected(_handshake(20, bytes(32)))
"""The client's last flight: ChangeCipherSpec and its protected Finished."""
CLIENT_HELLO_BYTES = len(client_hello(b""))
"""Octets of the client's first flight (the same for every seed): what the server reads before it answers."""
SERVER_FLIGHT_BYTES = len(server_flight(b""))
"""Octets of the server's flight: what the client reads before its Finished."""


class TlsRecords:
    """The record layer of one side of a connection after the handshake (see the module docstring)."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = bytearray()

    def __repr__(self) -> str:
        return f"<TlsRecords {len(self._buffer)} octets buffered>"

    @staticmethod
    def wrap(plaintext: bytes) -> bytes:
        """*plaintext* as protected records of at most :data:`MAX_PLAINTEXT` octets each."""
        if len(plaintext) <= MAX_PLAINTEXT:
            return _protected(plaintext)
        return b"".join(_protected(plaintext[i : i + MAX_PLAINTEXT]) for i in range(0, len(plaintext), MAX_PLAINTEXT))

    def unwrap(self, data: bytes) -> bytes:
        """The plaintext of every record *data* completes (``b""`` while a record is still partial).

        Raises
        ------
        TlsError
            A record that is not a protected application-data record of this model.
        """
        buf = self._buffer
        buf += data
        out = []
        pos = 0
        while len(buf) - pos >= 5:
            kind, version, length = struct.unpack_from("!BHH", buf, pos)
            if kind != _APPDATA or version != 0x0303 or not RECORD_OVERHEAD - 5 <= length <= MAX_PLAINTEXT + 256:
                raise TlsError(f"not a TLS application-data record (type {kind}, version {version:#06x})")
            if len(buf) - pos < 5 + length:
                break
            out.append(bytes(buf[pos + 5 : pos + 5 + length - (RECORD_OVERHEAD - 5)]))
            pos += 5 + length
        del buf[:pos]
        return b"".join(out)
