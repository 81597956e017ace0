"""Operator what-ifs on a timeline: DNS that changes during the run (timed records, blocklist listings, DKIM key
rotations), with the receivers' TTL caches deciding what they see."""

from __future__ import annotations

from typing import Any

import pytest
from mail_helpers import run, scenario, send

from netlab.errors import ConfigError


def _servers(**mx1: Any) -> list[dict[str, Any]]:
    return [{"host": "msa", "role": "msa", "domains": ["a.test"], "dkim_sign": ["a.test"]},
            {"host": "mx1", "role": "mx", "domains": ["a.test", "b.test"], "spam_action": "tag", **mx1},
            {"host": "mx2", "role": "relay", "relay_domains": ["b.test"]}]  # fmt: skip


EVERY_10_MIN = [send(["bob@b.test"], at=600.0 * i) for i in range(19)]  # 0 .. 3 h


@pytest.mark.parametrize(("action", "status"), [("defer", "delivered"), ("reject", "bounced")])
def test_sender_blocklisted_for_an_hour(action: str, status: str) -> None:
    # msa is on bl.test from 10 min to 70 min; mx1 consults the list (its answers cached for the TTL, 60 s here)
    mail = {"servers": _servers(dnsbl=["bl.test"], dnsbl_action=action), "dns_ttl": "60s",
            "blocklists": [{"zone": "bl.test", "listed": ["msa"], "from": "10min", "until": "70min"}],
            "send": EVERY_10_MIN[:10]}  # fmt: skip
    res, _ = run(mail)
    m = res.messages[res.messages.kind == "mail"].sort_values("submitted_s")
    inside = (m.submitted_s >= 600) & (m.submitted_s < 4200)
    assert (m[~inside].status == "delivered").all()
    assert (m[~inside].delivered_s - m[~inside].submitted_s < 1.0).all()
    assert (m[inside].status == status).all() and inside.sum() == 6
    if action == "defer":  # kept in msa's queue and retried: delivered once the listing is gone, nothing lost
        assert (m[inside].delivered_s >= 4200).all()
    else:
        assert (m[inside].dsn == "5.7.1").all()
    assert sum(res.summary["mail"]["messages"].values()) == 10


@pytest.mark.parametrize(("selector", "fails"), [(None, True), ("s2", False)])
def test_dkim_key_rotated_in_place_fails_only_while_caches_hold_the_old_key(selector: str | None,
                                                                            fails: bool) -> None:  # fmt: skip
    # the key changes at 1.5 h under the same selector; the receiver keeps the old key it fetched before for up to
    # its TTL (3600 s): mail signed with the new key meanwhile fails; before and after, it passes. A new selector
    # has nothing cached, so nothing fails.
    rotation: dict[str, Any] = {"domain": "a.test", "at": "90min"}
    if selector:
        rotation["selector"] = selector
    mail = {"servers": _servers(dkim_verify=True), "dkim_rotations": [rotation], "send": EVERY_10_MIN}
    res, _ = run(mail)
    m = res.messages.sort_values("submitted_s")
    assert (m.status == "delivered").all()
    failed = m[m.dkim == "fail"].submitted_s.tolist()
    if fails:
        # signed with the new key while mx1 held the old one: a run of messages from the rotation on, shorter than
        # the TTL (the cached copy was fetched before the rotation, at the first message after the last expiry)
        times = m.submitted_s.tolist()
        assert failed == times[times.index(5400.0) : times.index(failed[-1]) + 1]
        assert failed[0] == 5400.0 and failed[-1] - failed[0] < 3600.0
    else:
        assert failed == []
    assert (m[~m.submitted_s.isin(failed)].dkim == "pass").all()
    signed_by = [t for t in res.maillog.text if "DKIM-Signature field added" in t]
    assert signed_by[-1].endswith(f"(s={selector or 'netlab'}, d=a.test)")


def test_timed_record_appears_and_goes() -> None:
    # an SPF record published only from 30 min: before, SPF is none; then pass
    rec = {"name": "a.test", "type": "TXT", "value": "v=spf1 a:msa.a.test -all", "from": "30min", "ttl": "60s"}
    res, _ = run({"servers": _servers(spf="tag"), "records": [rec],
                  "send": [send(["bob@b.test"], at=0.0), send(["bob@b.test"], at=3600.0)]})  # fmt: skip
    assert res.messages.sort_values("submitted_s").spf.tolist() == ["none", "pass"]


@pytest.mark.parametrize(
    ("mail", "match"),
    [({"dkim_rotations": [{"domain": "c.test", "at": "1h"}]}, r"dkim_rotations\[0\].domain: no server signs"),
     ({"dkim_rotations": [{"domain": "a.test", "at": "1h", "publish": "2h"}]}, "publish must not come after at"),
     ({"records": [{"name": "x.a.test", "type": "A", "value": "10.0.0.1", "from": "2h", "until": "1h"}]},
      "until must be a time after from")],
)  # fmt: skip
def test_bad_timelines_refused_at_load(mail: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        scenario({"servers": _servers(), **mail})
