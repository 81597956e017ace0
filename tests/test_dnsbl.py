"""DNS blocklists (RFC 5782) served by the simulated DNS: reject_rbl_client's 554 5.7.1 naming the list, weighted
lists with a threshold as postscreen's, the mandatory test entry, and bad input refused at load."""

from __future__ import annotations

from typing import Any

import pytest
from mail_helpers import raw_session, run, scenario, send

from netlab.errors import ConfigError
from netlab.mail.config import ServerSpec
from netlab.mail.config.check import zone_records

SESSION = [b"EHLO pc.far.test\r\n", b"MAIL FROM:<x@far.test>\r\n", b"RCPT TO:<bob@b.test>\r\n"]


def _mail(dnsbl: list[str], lists: list[dict[str, Any]], threshold: int = 1) -> dict[str, Any]:
    return {"blocklists": lists,
            "servers": [{"host": "msa", "role": "msa", "domains": ["a.test"]},
                        {"host": "mx1", "role": "mx", "domains": ["a.test", "b.test"], "spam_action": "tag",
                         "dnsbl": dnsbl, "dnsbl_threshold": threshold},
                        {"host": "mx2", "role": "relay", "relay_domains": ["b.test"]}]}  # fmt: skip


def test_zone_has_the_reversed_entries_and_the_test_entry() -> None:
    s = scenario(_mail(["bl.test"], [{"zone": "bl.test", "listed": ["pc", "192.0.2.9"], "reason": "spam source"}]))
    zones = zone_records(s.mail, s.topology)  # type: ignore[arg-type]
    pc_ip = "10.0.0.1"  # pc is the first node of the test topology
    for ip in (pc_ip, "192.0.2.9", "127.0.0.2"):  # RFC 5782 §5: the test entry 127.0.0.2 is always listed
        name = ".".join(reversed(ip.split("."))) + ".bl.test"
        assert [r.value for r in zones.get(name, "A")] == ["127.0.0.2"]
        assert [r.value for r in zones.get(name, "TXT")] == ["spam source"]
    assert zones.lookup("1.0.0.127.bl.test", "A").rcode == "NXDOMAIN"  # 127.0.0.1 must never be listed


def test_listed_client_refused_554_naming_the_list() -> None:
    lines = raw_session(_mail(["bl.test"], [{"zone": "bl.test", "listed": ["pc"], "reason": "spam source"}]),
                        "mx1", 25, SESSION)  # fmt: skip
    assert lines[-2].startswith(b"250 2.1.0")
    assert lines[-1].startswith(b"554 5.7.1 Service unavailable; Client host [10.0.0.1] blocked using bl.test; "
                                b"spam source")  # fmt: skip


def test_unlisted_client_passes_and_msa_mail_is_delivered() -> None:
    lines = raw_session(_mail(["bl.test"], [{"zone": "bl.test", "listed": ["relay"]}]), "mx1", 25, SESSION)
    assert lines[-1].startswith(b"250")
    res, _ = run({**_mail(["bl.test"], [{"zone": "bl.test", "listed": ["relay"]}]), "send": [send(["bob@b.test"])]})
    assert res.messages.status.tolist() == ["delivered"]


@pytest.mark.parametrize(
    ("sites", "threshold", "refused"),
    [(["a.bl.test*2", "b.bl.test"], 3, True),  # 2 + 1 >= 3
     (["a.bl.test*2", "c.bl.test"], 3, False),  # c does not list pc: 2 < 3
     (["a.bl.test*2", "b.bl.test*-1"], 2, False),  # an allowlist weight lowers the score (postscreen)
     (["b.bl.test"], 1, True)],
)  # fmt: skip
def test_weighted_lists_with_a_threshold(sites: list[str], threshold: int, refused: bool) -> None:
    lists = [{"zone": "a.bl.test", "listed": ["pc"]}, {"zone": "b.bl.test", "listed": ["pc"]},
             {"zone": "c.bl.test", "listed": ["relay"]}]  # fmt: skip
    lines = raw_session(_mail(sites, lists, threshold), "mx1", 25, SESSION)
    assert lines[-1].startswith(b"554 5.7.1") is refused


def test_listed_msa_mail_bounces_to_the_sender() -> None:
    res, _ = run({**_mail(["bl.test"], [{"zone": "bl.test", "listed": ["msa"]}]), "send": [send(["bob@b.test"])]})
    m = res.messages[res.messages.kind == "mail"]
    assert m.status.tolist() == ["bounced"] and m.dsn.tolist() == ["5.7.1"]
    assert "blocked using bl.test" in m.reason.iloc[0]


@pytest.mark.parametrize(
    ("mail", "match"),
    [(_mail(["bl.test*x"], []), "dnsbl entry 'bl.test\\*x'"),
     (_mail(["bl.test*\u00b2"], []), "dnsbl entry 'bl.test\\*\u00b2'"),  # isdigit() is true, int() fails
     (_mail(["bl.test"], [{"zone": "bl.test", "listed": ["nohost"]}]), r"blocklists\[0\].listed\[0\]")],
)  # fmt: skip
def test_bad_input_refused_at_load(mail: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        scenario(mail)


def test_server_spec_parses_postscreen_weights() -> None:
    from netlab.mail.config.servers import dnsbl_sites

    assert dnsbl_sites(ServerSpec("mx1", domains=("b.test",), dnsbl=("A.bl.test*3", "b.bl.test")).dnsbl) == (
        ("a.bl.test", 3), ("b.bl.test", 1))  # fmt: skip
