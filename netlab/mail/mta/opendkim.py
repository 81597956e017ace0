"""OpenDKIM: DKIM signing and verification (RFC 6376) by dkimpy, its key lookups answered by the lab's DNS.

A server with ``dkim_sign: [domains]`` signs, at the end of DATA, mail whose ``From:`` domain is one of them
(``DKIM-Signature:`` with ``c=relaxed/simple``, ``a=rsa-sha256`` and dkimpy's recommended header list), with the
domain's key from :mod:`~netlab.mail.mta.dkimkey` under the scenario's selector; the public key is published as
TXT at ``<selector>._domainkey.<domain>``. A server with ``dkim_verify: true`` verifies every signature of arriving
mail; dkimpy's ``dnsfunc`` is answered from an :class:`~netlab.mail.dns.lookups.Answers` filled by the simulated
resolver, so each key lookup is a DNS query with its delay and TTL cache. Results are RFC 8601's: ``pass``,
``fail`` (the signature does not verify: a body or signed header changed on the way, e.g. a relay's footer),
``permerror`` (no key at the selector, a malformed signature), ``temperror`` (the key lookup failed), ``none``
(no signature).

dkimpy reads the host clock for the signature's ``t=`` tag and for its "not in the future" test; both are
given the run's wall-clock time instead (``epoch + now``), so signatures and verdicts depend only on the
scenario and seed. dkimpy is imported on first use.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from netlab.mail.dns.resolver import DnsTempFail

if TYPE_CHECKING:
    from netlab.mail.dns.lookups import Answers
    from netlab.mail.mta.dkimkey import RsaKey

__all__ = ["DkimResult", "dkim_sign", "dkim_verify", "from_domain"]

_LOG = logging.getLogger("netlab.mail.opendkim")
_LOG.addHandler(logging.NullHandler())
_LOG.propagate = False  # dkimpy logs each failure at ERROR level; netlab reports the verdicts itself


@dataclass(frozen=True, slots=True)
class DkimResult:
    """The verdict on one signature (or ``none`` when there is none): RFC 8601 §2.7.1's *result*, the signing
    domain ``d=``, selector ``s=``, the first 8 characters of ``b=`` (``header.b``) and a reason."""

    result: str
    domain: str = ""
    selector: str = ""
    b: str = ""
    reason: str = ""

    def properties(self) -> str:
        """The ``Authentication-Results`` clause, e.g. ``dkim=pass header.d=a.test header.s=netlab header.b=AbC``."""
        if self.result == "none":
            return "dkim=none"
        reason = f' reason="{self.reason}"' if self.reason and self.result != "pass" else ""
        return f"dkim={self.result}{reason} header.d={self.domain} header.s={self.selector} header.b={self.b}"


class _Clock:
    """Stands in for the ``time`` module inside dkimpy: the run's wall clock."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


@contextlib.contextmanager
def _dkim_at(now_epoch_s: float) -> Iterator[Any]:
    import dkim

    real = dkim.time
    dkim.time = _Clock(now_epoch_s)
    try:
        yield dkim
    finally:
        dkim.time = real


def dkim_sign(data: bytes, *, domain: str, selector: str, key: RsaKey, now_epoch_s: float) -> bytes:
    """The ``DKIM-Signature:`` header line (CRLF-terminated) for *data* signed as *domain* with *key*."""
    with _dkim_at(now_epoch_s) as dkim:
        signer = dkim.DKIM(data, logger=_LOG, linesep=b"\r\n")
        line: bytes = signer.sign(selector.encode(), domain.encode(), key.private_pem(),
                                  canonicalize=(b"relaxed", b"simple"))  # fmt: skip
    return line if line.endswith(b"\r\n") else line + b"\r\n"


def dkim_verify(answers: Answers, data: bytes, *, now_epoch_s: float) -> tuple[DkimResult, ...]:
    """The verdict on each ``DKIM-Signature`` of *data*, topmost first; ``(DkimResult("none"),)`` if unsigned.

    Synchronous: a key *answers* lacks raises :class:`~netlab.mail.dns.lookups.NeedLookup` (run it under
    :func:`~netlab.mail.dns.lookups.resolve_with`).
    """
    with _dkim_at(now_epoch_s) as dkim:
        d = dkim.DKIM(data, logger=_LOG, minkey=1024)
        count = sum(1 for name, _ in d.headers if name.lower() == b"dkim-signature")
        if not count:
            return (DkimResult("none"),)
        out = []
        for idx in range(count):
            seen: dict[str, str] = {}

            def dnsfunc(name: bytes, timeout: float = 5, seen: dict[str, str] = seen) -> bytes | None:
                text = name.decode("ascii", "replace").removesuffix(".")
                try:
                    values = answers.get(text, "TXT")
                except DnsTempFail as exc:
                    seen["temp"] = str(exc)
                    raise dkim.DnsTimeoutError(str(exc)) from None
                if not values:
                    seen["nokey"] = f"no key for signature at {text}"
                    return None
                return values[0].encode()

            try:
                ok = d.verify(idx, dnsfunc=dnsfunc)
            except dkim.ValidationError as exc:
                # a changed body is a failed verification (RFC 6376 §6.1.3), a malformed signature an error
                body = str(exc).startswith("body hash mismatch")
                out.append(
                    _result(d, "fail" if body else "permerror", "body hash did not verify" if body else str(exc))
                )
                continue
            except dkim.DKIMException as exc:
                out.append(_result(d, "permerror", str(exc)))
                continue
            if ok:
                out.append(_result(d, "pass", ""))
            elif "temp" in seen:
                out.append(_result(d, "temperror", "key lookup failed"))
            elif "nokey" in seen:
                out.append(_result(d, "permerror", "no key"))
            else:
                out.append(_result(d, "fail", "signature verification failed"))
        return tuple(out)


def _result(d: Any, result: str, reason: str) -> DkimResult:
    fields = d.signature_fields or {}
    b = fields.get(b"b", b"").replace(b" ", b"").replace(b"\r\n", b"")[:8].decode("ascii", "replace")
    domain = (d.domain or b"").decode("ascii", "replace")
    selector = (d.selector or b"").decode("ascii", "replace")
    return DkimResult(result, domain.lower(), selector, b, reason)


def from_domain(data: bytes) -> str | None:
    """The domain of the one address in *data*'s ``From:`` header (lower case); None if there is not exactly one.

    >>> from_domain(b"From: Alice <alice@A.test>\\r\\nTo: b@b.test\\r\\n\\r\\nhi\\r\\n")
    'a.test'
    """
    from email.parser import BytesHeaderParser
    from email.utils import getaddresses

    head = data.split(b"\r\n\r\n", 1)[0]
    froms = BytesHeaderParser().parsebytes(head).get_all("From") or []
    addresses = [a for _, a in getaddresses([str(f) for f in froms]) if a]
    if len(froms) != 1 or len(addresses) != 1 or "@" not in addresses[0]:
        return None
    return addresses[0].rpartition("@")[2].lower() or None
