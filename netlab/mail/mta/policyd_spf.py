"""policyd-spf: the SPF check (RFC 7208) of a receiving MTA, done by pyspf with its DNS answered by the lab.

Postfix asks its SPF policy service at RCPT time (``check_policy_service`` after ``reject_unauth_destination``);
so does smtpd here, once per transaction, for two identities (RFC 7208 §2.3, §2.4): the HELO name and the
envelope sender (``postmaster@<helo>`` for the null sender). pyspf (``spf.query.check``) evaluates the records
with RFC 7208's limits: at most 10 DNS-querying terms (§4.6.4: ``include``, ``a``, ``mx``, ``ptr``, ``exists``,
``redirect``) and 2 void lookups, ``permerror`` past either. Its DNS hook ``spf.DNSLookup`` is answered from
an :class:`~netlab.mail.dns.lookups.Answers` of the check, filled by the MTA's simulated resolver (see
:mod:`netlab.mail.dns.lookups`): every SPF lookup is a DNS query over the simulated network, cached by TTL.

The verdict becomes a ``Received-SPF:`` header (RFC 7208 §9.1) and a maillog line in policyd-spf's own words;
the server's ``spf`` action decides what a ``fail`` costs: ``reject`` answers ``550 5.7.23`` (RFC 7372's code for
an SPF failure), ``tag`` only adds the header.

pyspf is imported on first use, so a run without SPF never loads it.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from netlab.mail.dns.resolver import DnsTempFail
from netlab.mail.smtp.reply import Reply

if TYPE_CHECKING:
    from netlab.mail.dns.lookups import Answers

__all__ = ["SpfVerdict", "check_spf", "received_spf", "spf_reject", "spf_syntax_error"]

#: RFC 7208 §2.6 results.
RESULTS = ("none", "neutral", "pass", "fail", "softfail", "temperror", "permerror")


@dataclass(frozen=True, slots=True)
class SpfVerdict:
    """The SPF result for one identity.

    Attributes
    ----------
    identity : {"mailfrom", "helo"}
    result : str
        One of RFC 7208 §2.6's results (``pass``, ``fail``, ``softfail``, ``neutral``, ``none``, ``temperror``,
        ``permerror``).
    sender : str
        The address checked (``postmaster@<helo>`` for HELO and the null sender).
    client_ip, helo : str
    explanation : str
        pyspf's text (the record's ``exp=`` or its default).
    lookups : int
        DNS-querying terms counted against the limit of 10.
    """

    identity: str
    result: str
    sender: str
    client_ip: str
    helo: str
    explanation: str
    lookups: int

    @property
    def domain(self) -> str:
        """The domain of the checked identity."""
        return self.sender.rpartition("@")[2].lower()


_answers: contextvars.ContextVar[Answers] = contextvars.ContextVar("netlab_spf_answers")
_installed: list[Any] = []  # the spf module, once its DNS hook is ours


def _spf() -> Any:
    """pyspf, with its module-level DNS hook routed to the current check's answers."""
    if not _installed:
        import spf

        original = spf.DNSLookup

        def lookup(name: str, qtype: str, strict: object = True, timeout: object = 30) -> list[tuple[Any, Any]]:
            try:
                answers = _answers.get()
            except LookupError:  # not a netlab check (someone else's pyspf in this process): unchanged
                return list(original(name, qtype, strict, timeout))
            try:
                values = answers.get(name, qtype)
            except DnsTempFail as exc:
                raise spf.TempError(f"DNS {exc}") from None
            if not values:
                return []  # NXDOMAIN or no data: a void lookup for pyspf
            if qtype.upper() == "MX":
                return [((name, "MX"), (r.preference, r.value)) for r in answers.records(name, "MX")]
            if qtype.upper() == "TXT":
                return [((name, "TXT"), [v.encode()]) for v in values]
            return [((name, qtype.upper()), v) for v in values]

        spf.DNSLookup = lookup
        _installed.append(spf)
    return _installed[0]


def check_spf(answers: Answers, *, client_ip: str, sender: str, helo: str, identity: str = "mailfrom",
              now_epoch_s: float = 0.0) -> SpfVerdict:  # fmt: skip
    """SPF for *identity* of a client at *client_ip* that said *helo* and ``MAIL FROM:<sender>``.

    Synchronous: a name *answers* lacks raises :class:`~netlab.mail.dns.lookups.NeedLookup` (run it under
    :func:`~netlab.mail.dns.lookups.resolve_with`). *now_epoch_s* is the wall-clock time of the ``%{t}`` macro.
    """
    spf = _spf()
    who = sender if identity == "mailfrom" and sender else f"postmaster@{helo}"
    token = _answers.set(answers)
    try:
        q = spf.query(i=client_ip, s=who, h=helo, querytime=0)
        q.t = str(int(now_epoch_s))  # pyspf reads the host clock for %{t}; the run's clock keeps it deterministic
        result, _code, explanation = q.check()
    finally:
        _answers.reset(token)
    return SpfVerdict(identity, result, who, client_ip, helo, explanation, q.lookups)


def received_spf(v: SpfVerdict, receiver: str) -> str:
    """The ``Received-SPF:`` value (RFC 7208 §9.1), in policyd-spf's wording.

    >>> v = SpfVerdict("mailfrom", "fail", "eve@a.example", "10.0.0.9", "evil.example", "SPF fail", 1)
    >>> received_spf(v, "mx1.b.example")
    'Fail (mailfrom) identity=mailfrom; client-ip=10.0.0.9; helo=evil.example; envelope-from=eve@a.example; \
receiver=mx1.b.example'
    """
    return (f"{v.result.capitalize()} ({v.identity}) identity={v.identity}; client-ip={v.client_ip}; "
            f"helo={v.helo}; envelope-from={v.sender}; receiver={receiver}")  # fmt: skip


def spf_reject(v: SpfVerdict) -> Reply | None:
    """The refusal of a ``reject`` server for *v*: 550 5.7.23 for ``fail``, 451 4.4.3 for ``temperror``."""
    if v.result == "fail":
        return Reply(550, f"Message rejected due to: {v.explanation}. Please see "
                     f"http://www.open-spf.org/Why;id={v.sender};ip={v.client_ip}", "5.7.23")  # fmt: skip
    if v.result == "temperror":
        return Reply(451, f"Temporary SPF failure: {v.explanation}", "4.4.3")
    return None


def spf_syntax_error(domain: str, text: str) -> str:
    """pyspf's complaint about the syntax of the SPF record *text* of *domain*, or ``""`` if it parses.

    Each term is parsed as pyspf's evaluation does (``spf.query.validate_mechanism``), without any DNS lookup;
    macros are left to run time.
    """
    spf = _spf()
    q = spf.query(i="192.0.2.1", s=f"postmaster@{domain}", h=domain, querytime=0)
    try:
        for term in text.split()[1:]:
            if "%" not in term and not spf.RE_MODIFIER.match(term):  # modifiers (redirect=, exp=) are names
                q.validate_mechanism(term)
    except spf.PermError as exc:
        return str(exc)
    return ""
