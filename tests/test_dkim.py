"""DKIM (RFC 6376): keys from the run's seed, signing at the MSA, verification at the receiving MX with dkimpy
(its key lookups over the simulated DNS), a relay's footer breaking the signature; netlab-signed mail checked
by dkimpy outside the simulation."""

from __future__ import annotations

import random
from email import policy
from email.parser import BytesParser
from typing import Any

import pytest
from mail_helpers import mailbox, run, scenario, send

from netlab.errors import ConfigError
from netlab.mail.config import MailSpec
from netlab.mail.content.message import build_message, to_bytes
from netlab.mail.dns.lookups import resolve_from_zones
from netlab.mail.dns.zone import Record, build_zones
from netlab.mail.mta.dkimkey import domain_key, generate_rsa_key
from netlab.mail.mta.opendkim import dkim_sign, dkim_verify

T0 = 1767225600.0  # 2026-01-01T00:00:00Z


def _parse(raw: bytes):  # type: ignore[no-untyped-def]
    return BytesParser(policy=policy.default).parsebytes(raw)


def _outside_verify(raw: bytes, txt: str) -> bool:
    """dkimpy's own verification, its DNS a function returning the published key record."""
    import dkim

    return bool(dkim.verify(raw, dnsfunc=lambda name, timeout=5: txt.encode()))


@pytest.mark.parametrize("bits", [1024, 2048])
def test_generated_keys_are_valid_rsa_of_the_size(bits: int) -> None:
    key = generate_rsa_key(random.Random(7), bits)
    assert key.n.bit_length() == bits and key.p * key.q == key.n
    assert pow(pow(123456789, key.e, key.n), key.d, key.n) == 123456789
    import dkim.crypto

    assert dkim.crypto.parse_pem_private_key(key.private_pem())["modulus"] == key.n  # dkimpy reads both forms
    assert dkim.crypto.parse_public_key(key.public_der())["modulus"] == key.n


def test_keys_are_deterministic_per_seed_and_domain() -> None:
    assert domain_key(1, "a.test") == domain_key(1, "a.test")
    assert generate_rsa_key(random.Random(3), 1024) == generate_rsa_key(random.Random(3), 1024)
    assert domain_key(1, "a.test").n != domain_key(2, "a.test").n != domain_key(1, "c.test").n


def _msg() -> bytes:
    return to_bytes(build_message(sender="alice@a.test", to=["bob@b.test"], subject="hi", body="hello\n"))


@pytest.mark.parametrize(
    ("change", "result"),
    [
        (lambda m: m, "pass"),
        (lambda m: m + b"-- \r\nlist footer\r\n", "fail"),  # body changed: body hash did not verify
        (lambda m: m.replace(b"Subject: hi", b"Subject: HI"), "fail"),  # a signed header changed
    ],
)
def test_verify_on_zone_data(change: Any, result: str) -> None:
    key = domain_key(1, "a.test")
    raw = _msg()
    signed = dkim_sign(raw, domain="a.test", selector="s1", key=key, now_epoch_s=T0) + raw
    zones = build_zones([Record("s1._domainkey.a.test", "TXT", key.dns_txt(), 300)])
    (v,) = resolve_from_zones(zones, lambda a: dkim_verify(a, change(signed), now_epoch_s=T0))
    assert (v.result, v.domain, v.selector) == (result, "a.test", "s1")
    assert _outside_verify(change(signed), key.dns_txt()) is (result == "pass")


def test_no_key_is_permerror_and_unsigned_is_none() -> None:
    key = domain_key(1, "a.test")
    raw = _msg()
    signed = dkim_sign(raw, domain="a.test", selector="s1", key=key, now_epoch_s=T0) + raw
    empty = build_zones([Record("other.test", "A", "10.0.0.1", 300)])
    assert resolve_from_zones(empty, lambda a: dkim_verify(a, signed, now_epoch_s=T0))[0].result == "permerror"
    assert resolve_from_zones(empty, lambda a: dkim_verify(a, raw, now_epoch_s=T0))[0].result == "none"


def test_key_size_refused_below_1024() -> None:
    with pytest.raises(ConfigError, match="dkim_key_bits"):
        MailSpec(dns_server="dns", dkim_key_bits=512)


# -------------------------------------------------------------------- in the simulation


def _servers(*, footer: str | None = None, smarthost: str | None = None) -> list[dict[str, Any]]:
    msa: dict[str, Any] = {"host": "msa", "role": "msa", "domains": ["a.test"], "dkim_sign": ["a.test"]}
    if smarthost:
        msa["smarthost"] = smarthost
    relay: dict[str, Any] = {"host": "mx2", "role": "relay", "relay_domains": ["b.test"], "trusted": ["msa"]}
    if footer:
        relay["footer"] = footer
    return [msa, {"host": "mx1", "role": "mx", "domains": ["a.test", "b.test"], "spam_action": "tag",
                  "dkim_verify": True}, relay]  # fmt: skip


def test_msa_signs_mx_verifies_and_dkimpy_agrees_outside() -> None:
    res, system = run({"servers": _servers(), "send": [send(["bob@b.test"])]})
    assert res.messages.status.tolist() == ["delivered"]
    raw = mailbox(system, "mx1", "bob")[0]
    msg = _parse(raw)
    assert msg["DKIM-Signature"] is not None and "d=a.test" in msg["DKIM-Signature"]
    ar = str(msg["Authentication-Results"]).strip()
    assert ar.startswith("mx1.a.test;") and "dkim=pass header.d=a.test header.s=netlab" in ar
    txt = system.dkim_keys["a.test"][0].key.dns_txt()
    assert _outside_verify(raw, txt)
    log = res.maillog
    said = log[log.program == "opendkim"].text.tolist()
    assert said == ["DKIM-Signature field added (s=netlab, d=a.test)",
                    f"msa [{system.ctx.ip_of('msa')}] s=netlab d=a.test: DKIM verification successful"]  # fmt: skip
    # the key came from the DNS server, published as TXT at the selector
    assert [r.value for r in system.dns.zones.get("netlab._domainkey.a.test", "TXT")] == [txt]


def test_a_relay_footer_breaks_the_signature_visibly() -> None:
    res, system = run({"servers": _servers(footer="-- \nsent via the list", smarthost="mx2"),
                       "send": [send(["bob@b.test"])]})  # fmt: skip
    assert res.messages.status.tolist() == ["delivered"]  # no DMARC here: the verdict is reported, not acted on
    raw = mailbox(system, "mx1", "bob")[0]
    assert raw.endswith(b"sent via the list\r\n")
    assert 'dkim=fail reason="body hash did not verify" header.d=a.test' in _parse(raw)["Authentication-Results"]
    assert not _outside_verify(raw, system.dkim_keys["a.test"][0].key.dns_txt())
    assert "bad signature data" in "\n".join(res.maillog.text)


@pytest.mark.parametrize("footer", ["-- \r\nsent via the list", "-- \nsent via the list\r\n"])
def test_a_footer_written_with_crlf_stays_smtp_lines(footer: str) -> None:
    """The footer's line ends become CRLF whether the scenario wrote LF or CRLF (not CR CR LF)."""
    _, system = run({"servers": _servers(footer=footer, smarthost="mx2"), "send": [send(["bob@b.test"])]})
    raw = mailbox(system, "mx1", "bob")[0]
    assert raw.endswith(b"-- \r\nsent via the list\r\n")
    assert raw.count(b"\r") == raw.count(b"\r\n")


def test_same_seed_same_signature() -> None:
    a = mailbox(run({"servers": _servers(), "send": [send(["bob@b.test"])]})[1], "mx1", "bob")[0]
    b = mailbox(run({"servers": _servers(), "send": [send(["bob@b.test"])]})[1], "mx1", "bob")[0]
    c = mailbox(run({"servers": _servers(), "send": [send(["bob@b.test"])]}, seed=2)[1], "mx1", "bob")[0]
    sig = _parse(a)["DKIM-Signature"]
    assert sig == _parse(b)["DKIM-Signature"] and sig != _parse(c)["DKIM-Signature"]


@pytest.mark.parametrize(
    ("mail", "message"),
    [
        ({"dkim_selector": "my selector"}, r"mail.dkim_selector: expected a DNS name .* got 'my selector'"),
        ({"dkim_selector": ""}, r"mail.dkim_selector: expected a DNS name"),
        ({"dkim_rotations": [{"domain": "a.test", "at": 10, "selector": "a..b"}]}, r"selector: expected a DNS name"),
    ],
)
def test_a_selector_that_is_no_dns_name_is_refused(mail: dict[str, Any], message: str) -> None:
    """The selector becomes <selector>._domainkey.<domain>: a space or an empty label would publish nothing."""
    with pytest.raises(ConfigError, match=message):
        scenario({"servers": _servers(), **mail})
