"""OpenDMARC: the DMARC check (RFC 7489) of a receiving MTA, from its SPF and DKIM verdicts and the policy in DNS.

Written here rather than taken from a library: ``authheaders`` (the one maintained Python DMARC evaluator) ignores
``pct`` (§6.6.4), looks up the ``np`` test with the wrong question, rewrites the SPF result object it is given and
reads the public-suffix file on every call; ``checkdmarc`` checks a domain's records, it does not judge a
message. The rules are short:

* policy discovery (§6.6.3): TXT at ``_dmarc.<From domain>``, else at ``_dmarc.<organizational domain>`` (whose
  ``sp=`` then applies); answers not starting with ``v=DMARC1`` are ignored; two DMARC records mean none;
* the record (§6.3): ``v=DMARC1`` first, ``p=`` none|quarantine|reject required, ``sp=``, ``pct=`` 0..100,
  ``adkim=`` / ``aspf=`` r|s (default r); anything malformed is a :class:`DmarcRecordError` (the scenario's error
  names the record);
* alignment (§3.1): SPF aligns when SPF passed and the MAIL FROM domain equals the From domain (strict) or has
  the same organizational domain (relaxed); DKIM when a passing signature's ``d=`` does the same; DMARC passes when
  either aligns;
* ``pct`` (§6.6.4): a failing message gets the policy with probability pct/100 (a seeded draw), else the next
  milder one (reject -> quarantine -> none).

The organizational domain (§3.2) is the public suffix of the From domain plus one label, by the Public Suffix List
as the ``publicsuffixlist`` package bundles it (offline; MPL-2.0; imported the first time DMARC asks):
``mail.example.co.uk`` -> ``example.co.uk``. A TLD the list does not name (the lab's ``.test``, ``.example``)
falls under its default rule ``*``: a one-label suffix, so ``mail.a.test`` -> ``a.test``. A domain that is itself a
public suffix is its own organizational domain (OpenDMARC's choice; §3.2 gives none).

>>> parse_dmarc("v=DMARC1; p=reject; pct=50; adkim=s")
DmarcPolicy(p='reject', sp='reject', pct=50, adkim='s', aspf='r')
>>> aligned("mail.a.test", "a.test", "r"), aligned("mail.a.test", "a.test", "s")
(True, False)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from netlab.errors import ConfigError
from netlab.mail.dns.resolver import DnsTempFail

if TYPE_CHECKING:
    import random

    from publicsuffixlist import PublicSuffixList

    from netlab.mail.dns.lookups import Answers
    from netlab.mail.mta.opendkim import DkimResult
    from netlab.mail.mta.policyd_spf import SpfVerdict

__all__ = ["DmarcAction", "DmarcPolicy", "DmarcRecordError", "DmarcVerdict", "aligned", "evaluate_dmarc",
           "org_domain", "parse_dmarc"]  # fmt: skip

POLICIES = ("none", "quarantine", "reject")
_MILDER = {"reject": "quarantine", "quarantine": "none", "none": "none"}


class DmarcAction:
    """What a server does with DMARC (``dmarc:``): ``off``; ``monitor`` (evaluate, record, header, no action);
    ``enforce`` (apply the domain's disposition: reject 550 5.7.1, quarantine, none)."""

    OFF = "off"
    MONITOR = "monitor"
    ENFORCE = "enforce"
    ALL = (OFF, MONITOR, ENFORCE)


class DmarcRecordError(ConfigError):
    """A ``v=DMARC1`` record that does not parse (RFC 7489 §6.3)."""


@dataclass(frozen=True, slots=True)
class DmarcPolicy:
    """A parsed DMARC record: policy *p*, subdomain policy *sp*, *pct* (percent), alignment modes."""

    p: str
    sp: str
    pct: int = 100
    adkim: str = "r"
    aspf: str = "r"


def parse_dmarc(text: str) -> DmarcPolicy:
    """Parse a DMARC TXT record (RFC 7489 §6.3); DmarcRecordError naming the bad tag."""
    parts = [p.strip() for p in text.strip().split(";") if p.strip()]
    tags: dict[str, str] = {}
    for part in parts:
        name, eq, value = part.partition("=")
        if not eq:
            raise DmarcRecordError(f"DMARC record {text!r}: expected tag=value, got {part!r}")
        tags.setdefault(name.strip().lower(), value.strip())
    if not parts or parts[0].replace(" ", "") != "v=DMARC1":
        raise DmarcRecordError(f"DMARC record {text!r}: must start with v=DMARC1")
    p = tags.get("p", "").lower()
    if p not in POLICIES:
        raise DmarcRecordError(f"DMARC record {text!r}: p= must be none, quarantine or reject, got {p or None!r}")
    sp = tags.get("sp", p).lower()
    if sp not in POLICIES:
        raise DmarcRecordError(f"DMARC record {text!r}: sp= must be none, quarantine or reject, got {sp!r}")
    pct_text = tags.get("pct", "100")
    if not pct_text.isdigit() or not 0 <= int(pct_text) <= 100:
        raise DmarcRecordError(f"DMARC record {text!r}: pct= must be an integer 0..100, got {pct_text!r}")
    modes = {}
    for key in ("adkim", "aspf"):
        modes[key] = tags.get(key, "r").lower()
        if modes[key] not in ("r", "s"):
            raise DmarcRecordError(f"DMARC record {text!r}: {key}= must be r or s, got {modes[key]!r}")
    return DmarcPolicy(p, sp, int(pct_text), modes["adkim"], modes["aspf"])


@functools.cache
def _public_suffixes() -> PublicSuffixList:
    # read once per process (about 0.1 s): the package's bundled copy of the list, never the network
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


def org_domain(domain: str) -> str:
    """The organizational domain of *domain* by the Public Suffix List (see the module docstring).

    >>> org_domain("Mail.Example.CO.UK."), org_domain("a.b.c.test"), org_domain("co.uk")
    ('example.co.uk', 'c.test', 'co.uk')
    """
    name = domain.lower().rstrip(".")
    return _public_suffixes().privatesuffix(name) or name


def aligned(identifier: str, from_domain: str, mode: str) -> bool:
    """RFC 7489 §3.1: *identifier* aligns with *from_domain* in *mode* ``s`` (equal) or ``r`` (same org domain)."""
    a, b = identifier.lower().rstrip("."), from_domain.lower().rstrip(".")
    return a == b if mode == "s" else org_domain(a) == org_domain(b)


@dataclass(frozen=True, slots=True)
class DmarcVerdict:
    """The DMARC outcome for one message: *result* ``pass``/``fail``/``none`` (no policy)/``temperror``/
    ``permerror`` (a malformed record), the From *domain*, the published *policy* and the *disposition* applied
    (after pct), and the aligned results of SPF and DKIM."""

    result: str
    domain: str
    policy: str = "none"
    disposition: str = "none"
    spf_aligned: bool = False
    dkim_aligned: bool = False

    def properties(self) -> str:
        """The ``Authentication-Results`` clause (RFC 7489 §11.2)."""
        return f"dmarc={self.result} (p={self.policy} dis={self.disposition}) header.from={self.domain}"


def _policy_at(answers: Answers, domain: str) -> DmarcPolicy | None:
    got = answers.get(f"_dmarc.{domain}", "TXT") or ()
    records = [t for t in got if t.replace(" ", "").startswith("v=DMARC1")]
    return parse_dmarc(records[0]) if len(records) == 1 else None


def evaluate_dmarc(answers: Answers, *, from_domain: str | None, spf: SpfVerdict | None,
                   dkim: tuple[DkimResult, ...], rng: random.Random) -> DmarcVerdict:  # fmt: skip
    """The verdict for a message with header From domain *from_domain* (None: not exactly one; no DMARC).

    Synchronous: a name *answers* lacks raises :class:`~netlab.mail.dns.lookups.NeedLookup`. *rng* draws the pct
    sample, once per failing message under a policy with pct < 100.
    """
    if not from_domain:
        return DmarcVerdict("none", "")
    try:
        policy = _policy_at(answers, from_domain)
        sub = False
        if policy is None and org_domain(from_domain) != from_domain:
            policy, sub = _policy_at(answers, org_domain(from_domain)), True
    except DnsTempFail:
        return DmarcVerdict("temperror", from_domain)
    except DmarcRecordError:
        return DmarcVerdict("permerror", from_domain)
    if policy is None:
        return DmarcVerdict("none", from_domain)
    spf_ok = spf is not None and spf.result == "pass" and aligned(spf.domain, from_domain, policy.aspf)
    dkim_ok = any(r.result == "pass" and aligned(r.domain, from_domain, policy.adkim) for r in dkim)
    p = policy.sp if sub else policy.p
    if spf_ok or dkim_ok:
        return DmarcVerdict("pass", from_domain, p, "none", spf_ok, dkim_ok)
    disposition = p if policy.pct >= 100 or rng.random() * 100 < policy.pct else _MILDER[p]
    return DmarcVerdict("fail", from_domain, p, disposition, spf_ok, dkim_ok)
