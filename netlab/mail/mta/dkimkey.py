"""DKIM signing keys made deterministically: RSA from a seeded stream, in the encodings dkimpy reads.

The usual key generators (OpenSSL, the ``cryptography`` package, dkimpy's ``dknewkey`` which calls OpenSSL) draw
from the operating system's entropy and take no seed; a lab run must give the same keys, signatures and maillog
for the same seed on any machine. So the primes come from a named stream of the run (``mail/dkim/<domain>``):
odd candidates of ``bits/2`` bits with the top two bits set (so ``n`` has exactly *bits* bits), a trial division
by the small primes, then 40 Miller-Rabin rounds with bases from the same stream (error below 4**-40), and
``e = 65537``. The private key is PKCS#1 ``RSAPrivateKey`` in PEM (what dkimpy's ``sign`` parses) and the public
key a ``SubjectPublicKeyInfo`` in the ``p=`` tag of the ``v=DKIM1; k=rsa`` TXT record (RFC 6376 §3.6.1).

Keys are cached per (seed, domain, bits) in the process: 1024-bit generation takes a fraction of a second in pure
Python, and a sweep's replications with one seed share it.

>>> import random
>>> key = generate_rsa_key(random.Random(1), bits=512)
>>> key.n.bit_length(), key.e, pow(pow(42, key.e, key.n), key.d, key.n)
(512, 65537, 42)
>>> key.dns_txt()[:30]
'v=DKIM1; k=rsa; p=MFwwDQYJKoZI'
"""

from __future__ import annotations

import base64
import functools
import random
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["DkimKey", "RsaKey", "domain_key", "generate_rsa_key", "key_schedule", "signing_key"]

_SMALL_PRIMES = tuple(p for p in range(3, 2000, 2) if all(p % q for q in range(3, int(p**0.5) + 1, 2)))
_RSA_OID = bytes.fromhex("2a864886f70d010101")  # 1.2.840.113549.1.1.1 rsaEncryption


@dataclass(frozen=True, slots=True)
class RsaKey:
    """An RSA key pair: modulus *n*, public exponent *e*, private exponent *d*, primes *p* > *q*."""

    n: int
    e: int
    d: int
    p: int
    q: int

    def __repr__(self) -> str:
        return f"<RsaKey {self.n.bit_length()} bits n=0x{self.n:x}"[:40] + "...>"

    def private_pem(self) -> bytes:
        """PKCS#1 ``RSAPrivateKey`` in PEM (RFC 8017 A.1.2)."""
        p, q, d = self.p, self.q, self.d
        der = _seq(*(_int(x) for x in (0, self.n, self.e, d, p, q, d % (p - 1), d % (q - 1), pow(q, -1, p))))
        b64 = base64.b64encode(der).decode()
        body = "\n".join(b64[i : i + 64] for i in range(0, len(b64), 64))
        return f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----\n".encode()

    def public_der(self) -> bytes:
        """X.509 ``SubjectPublicKeyInfo`` holding the ``RSAPublicKey`` (RFC 5280 §4.1, RFC 8017 A.1.1)."""
        rsa_public = _seq(_int(self.n), _int(self.e))
        return _seq(_seq(_tlv(0x06, _RSA_OID), b"\x05\x00"), _tlv(0x03, b"\x00" + rsa_public))

    def dns_txt(self) -> str:
        """The key record's text (RFC 6376 §3.6.1)."""
        return "v=DKIM1; k=rsa; p=" + base64.b64encode(self.public_der()).decode()


def _tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + body


def _int(x: int) -> bytes:
    return _tlv(0x02, x.to_bytes(x.bit_length() // 8 + 1, "big"))  # +1 byte: a leading 0 keeps it positive


def _seq(*parts: bytes) -> bytes:
    return _tlv(0x30, b"".join(parts))


def _probable_prime(n: int, rng: random.Random, rounds: int = 40) -> bool:
    """Miller-Rabin with *rounds* bases drawn from *rng* (after trial division by the primes below 2000)."""
    for p in _SMALL_PRIMES:
        if n % p == 0:
            return n == p
    r, s = 0, n - 1
    while s % 2 == 0:
        r, s = r + 1, s // 2
    for _ in range(rounds):
        x = pow(rng.randrange(2, n - 1), s, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits: int, rng: random.Random, e: int) -> int:
    while True:
        c = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
        if (c - 1) % e and _probable_prime(c, rng):
            return c


def generate_rsa_key(rng: random.Random, bits: int = 1024, e: int = 65537) -> RsaKey:
    """An RSA key of exactly *bits* bits (an even number >= 512) from *rng* alone."""
    if bits < 512 or bits % 2:
        raise ValueError(f"RSA key size must be an even number of bits >= 512, got {bits}")
    while True:
        p, q = _prime(bits // 2, rng, e), _prime(bits // 2, rng, e)
        if p != q and (p * q).bit_length() == bits:
            p, q = max(p, q), min(p, q)
            d = pow(e, -1, (p - 1) * (q - 1))
            return RsaKey(p * q, e, d, p, q)


@functools.lru_cache(maxsize=64)
def domain_key(seed: int, domain: str, bits: int = 1024, generation: int = 0) -> RsaKey:
    """The signing key of *domain* in a run seeded with *seed*; *generation* counts its rotations (cached: see the
    module docstring)."""
    from netlab.rng import stream

    names: tuple[object, ...] = ("mail", "dkim", domain.lower()) + ((generation,) if generation else ())
    return generate_rsa_key(stream(seed, *names), bits)


@dataclass(frozen=True, slots=True)
class DkimKey:
    """One key of a signing domain: its *selector*, the times (s) signers use it from, it is published from, and it
    is withdrawn (replaced in DNS by a later key under the same selector; None: never)."""

    domain: str
    selector: str
    key: RsaKey
    sign_from_s: float
    publish_s: float
    withdraw_s: float | None

    @property
    def name(self) -> str:
        """Where the key is published: ``<selector>._domainkey.<domain>``."""
        return f"{self.selector}._domainkey.{self.domain}"


def key_schedule(seed: int, domain: str, *, selector: str, bits: int,
                 rotations: Iterable[tuple[float, str | None, float | None]] = ()) -> tuple[DkimKey, ...]:  # fmt: skip
    """The keys of *domain*: generation 0 from time 0, then one per rotation ``(at, selector or None, publish or
    None)`` in time order (None: the selector in use; publish at *at*)."""
    gens: list[tuple[float, str, float]] = [(0.0, selector, 0.0)]
    for at, sel, publish in sorted(rotations, key=lambda r: r[0]):
        gens.append((at, sel or gens[-1][1], at if publish is None else publish))
    keys = []
    for g, (at, sel, publish) in enumerate(gens):
        withdraw = next((p for _, s, p in gens[g + 1 :] if s == sel), None)
        keys.append(DkimKey(domain, sel, domain_key(seed, domain, bits, g), at, publish, withdraw))
    return tuple(keys)


def signing_key(keys: tuple[DkimKey, ...], now: float) -> DkimKey:
    """The key signers use at *now* (the latest that has started)."""
    return [k for k in keys if k.sign_from_s <= now][-1]
