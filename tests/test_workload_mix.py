"""The random workload's spam and forgery mix (``Results.messages.mix``): each share leaves its own way and meets
what a receiving MX does to such mail; the shares follow the binomial law; mail is conserved; bad shares are refused.

The mixed run is topologies/mail-auth.yaml (alpha signs and publishes p=reject, partner does not sign and publishes
p=quarantine, mx-b checks SPF, DKIM and DMARC) with a blocklisted host ``zombie`` that mx-b's DNSBL names.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from mail_helpers import scenario, send

import netlab
from netlab.errors import ConfigError, TopologyError
from netlab.scenario.document import scenario_from_data

ROOT = Path(__file__).resolve().parents[1]
AUTH = yaml.safe_load((ROOT / "topologies" / "mail-auth.yaml").read_text(encoding="utf-8"))
N = 300
SHARES = {"spam_fraction": 0.2, "forged_fraction": 0.1, "listed_fraction": 0.15, "unsigned_fraction": 0.2}


def _mixed(count: int, **shares: float) -> netlab.Scenario:
    data = copy.deepcopy(AUTH)
    data["nodes"].append({"name": "zombie", "role": "host"})
    data["links"].append(["zombie", "r-core"])
    data["mail"]["blocklists"] = [{"zone": "bl.example", "listed": ["zombie"], "reason": "botnet"}]
    (mx_b,) = [s for s in data["mail"]["servers"] if s["host"] == "mx-b"]
    mx_b["dnsbl"] = ["bl.example"]
    w = data["mail"]["workload"]
    del w["stop"]
    w.update(count=count, mean_interval="30s", listed_clients=["zombie"], **shares)
    return scenario_from_data(data, where="mixed.yaml")


@pytest.fixture(scope="module")
def mixed() -> netlab.Results:
    return netlab.run(_mixed(N, **SHARES))


def _mail(res: netlab.Results, mix: str | None = None) -> pd.DataFrame:
    m = res.messages[res.messages.kind == "mail"]
    return m if mix is None else m[m.mix == mix]


def _alpha(m: pd.DataFrame) -> pd.Series:
    return m.mail_from.str.endswith("@alpha.example")


_OTHER = SHARES["forged_fraction"] + SHARES["listed_fraction"] + SHARES["unsigned_fraction"]


@pytest.mark.parametrize(
    ("mix", "p"),
    [("forged", SHARES["forged_fraction"]), ("listed", SHARES["listed_fraction"]),
     ("unsigned", SHARES["unsigned_fraction"]),
     ("spam", SHARES["spam_fraction"] * (1 - _OTHER)),  # spam content is drawn apart; the MSA's share carries it
     ("genuine", (1 - SHARES["spam_fraction"]) * (1 - _OTHER))],
)  # fmt: skip
def test_each_class_is_a_binomial_share_of_the_messages(mixed: netlab.Results, mix: str, p: float) -> None:
    per_message = _mail(mixed).drop_duplicates("subject")  # "Message <n>": a refused submission may have no Message-ID
    assert len(per_message) == N and set(per_message.mix) == {"genuine", "spam", "forged", "listed", "unsigned"}
    k = int((per_message.mix == mix).sum())
    assert abs(k - N * p) <= 4 * math.sqrt(N * p * (1 - p)), (mix, k, N * p)


def test_listed_mail_is_refused_554_naming_the_list(mixed: netlab.Results) -> None:
    listed = _mail(mixed, "listed")
    assert len(listed) > 0 and (listed.status == "rejected").all() and (listed.dsn == "5.7.1").all()
    assert listed.reason.str.startswith("554 5.7.1 Service unavailable; Client host [").all()
    assert listed.reason.str.endswith("] blocked using bl.example; botnet").all()
    assert (listed.host == "").all()  # refused at RCPT: no MTA ever took it
    sessions = mixed.mail_hops[mixed.mail_hops.message_id.isin(listed.message_id)]
    assert set(sessions.client) == {"zombie"} and set(sessions.server) == {"mx-b"} and set(sessions.port) == {25}


def test_unsigned_mail_bypasses_the_msa_and_meets_its_domains_dmarc_policy(mixed: netlab.Results) -> None:
    unsigned = _mail(mixed, "unsigned")
    sessions = mixed.mail_hops[mixed.mail_hops.message_id.isin(unsigned.message_id)]
    assert set(sessions.client) == {"pc1", "pc2"} and set(sessions.server) == {"mx-b"} and set(sessions.port) == {25}
    assert set(unsigned.dkim) == {"none"} and set(unsigned.dmarc) == {"fail"}
    alpha = _alpha(unsigned)
    assert alpha.sum() > 0 and (~alpha).sum() > 0
    # alpha: p=reject, and its SPF record names only its signing relay (-all)
    assert set(unsigned[alpha].spf) == {"fail"} and (unsigned[alpha].status == "rejected").all()
    assert (unsigned[alpha].dsn == "5.7.1").all()
    # partner: p=quarantine, ~all: delivered with the flag into Junk
    assert set(unsigned[~alpha].spf) == {"softfail"} and (unsigned[~alpha].status == "delivered").all()
    assert set(unsigned[~alpha].folder) == {"Junk"}
    # the same users' genuine mail through the MSA: alpha's signed, all of it passing DMARC
    genuine = _mail(mixed, "genuine")
    assert set(genuine[_alpha(genuine)].dkim) == {"pass"} and set(genuine.dmarc) == {"pass"}
    assert (genuine.status == "delivered").all()


def test_forged_mail_fails_spf_and_dmarc(mixed: netlab.Results) -> None:
    forged = _mail(mixed, "forged")
    alpha = _alpha(forged)
    assert alpha.sum() > 0 and (~alpha).sum() > 0
    assert set(forged.dkim) == {"none"} and set(forged.dmarc) == {"fail"}
    assert set(forged[alpha].spf) == {"fail"} and (forged[alpha].status == "rejected").all()
    assert set(forged[~alpha].spf) == {"softfail"} and set(forged[~alpha].folder) == {"Junk"}
    sessions = mixed.mail_hops[mixed.mail_hops.message_id.isin(forged.message_id)]
    assert set(sessions.client) == {"bot"}


def test_mail_is_conserved_and_every_message_ends(mixed: netlab.Results) -> None:
    mail = _mail(mixed)
    by_status = mixed.summary["mail"]["messages"]
    assert sum(by_status.values()) == len(mail)
    assert set(mail.status) <= {"delivered", "bounced", "rejected"}  # nothing queued, in transit or lost
    assert dict(mail.status.value_counts()) == by_status
    # every workload message is booked once per recipient it was written to
    assert mail.subject.nunique() == N and mail.groupby("subject").rcpt_to.nunique().sum() == len(mail)


def test_same_seed_gives_the_same_messages_table() -> None:
    a, b = (netlab.run(_mixed(40, **SHARES)).messages for _ in range(2))
    pd.testing.assert_frame_equal(a, b)
    assert a.mix.nunique() > 1


def test_shares_at_zero_draw_nothing_and_scripted_mail_has_no_class() -> None:
    """listed_clients without listed_fraction changes nothing: no draw is made (every existing seed runs as it
    did). Mail the workload did not make (scripted, DSNs) has an empty mix."""
    base = netlab.run(_mixed(30, spam_fraction=0.2, forged_fraction=0.2)).messages
    unlisted = _mixed(30, spam_fraction=0.2, forged_fraction=0.2)
    assert unlisted.mail is not None and unlisted.mail.workload is not None
    workload = dataclasses.replace(unlisted.mail.workload, listed_clients=())
    again = netlab.run(
        dataclasses.replace(unlisted, mail=dataclasses.replace(unlisted.mail, workload=workload))
    ).messages
    pd.testing.assert_frame_equal(base, again)  # the same draws with and without listed clients
    assert set(base.mix) == {"genuine", "spam", "forged"}
    res = netlab.run(scenario({"send": [send(["bob@b.test"]), send(["nobody@b.test"], at=1.0)]}))
    assert set(res.messages.kind) == {"mail", "dsn"} and set(res.messages.mix) == {""}


_LISTED: dict[str, Any] = {"blocklists": [{"zone": "bl.test", "listed": ["pc"]}]}


@pytest.mark.parametrize(
    ("mail", "error", "match"),
    [({"workload": {"count": 3, "unsigned_fraction": 1.5}}, ConfigError,
      r"mail.workload.unsigned_fraction: expected a probability in \[0, 1\], got 1.5"),
     ({"workload": {"count": 3, "listed_fraction": -0.1}}, ConfigError,
      r"mail.workload.listed_fraction: expected a probability in \[0, 1\], got -0.1"),
     ({"workload": {"count": 3, "forged_fraction": 0.5, "forger": "relay", "unsigned_fraction": 0.6}}, ConfigError,
      r"mail.workload: forged_fraction 0.5 \+ listed_fraction 0 \+ unsigned_fraction 0.6 is more than 1"),
     ({"workload": {"count": 3, "listed_fraction": 0.1}}, ConfigError,
      r"mail.workload.listed_clients: name at least one host a blocklist lists"),
     ({**_LISTED, "workload": {"count": 3, "listed_fraction": 0.1, "listed_clients": ["nohost"]}}, TopologyError,
      r"mail.workload.listed_clients\[0\]: unknown host 'nohost'"),
     ({**_LISTED, "workload": {"count": 3, "listed_fraction": 0.1, "listed_clients": ["r1"]}}, ConfigError,
      r"mail.workload.listed_clients\[0\]: 'r1' is a router; a bot runs on a host"),
     ({**_LISTED, "workload": {"count": 3, "listed_fraction": 0.1, "listed_clients": ["pc", "relay"]}}, ConfigError,
      r"mail.workload.listed_clients\[1\]: no blocklist lists 'relay'"),
     ({**_LISTED, "workload": {"count": 3, "listed_fraction": 0.1, "listed_clients": ["pc", "pc"]}}, ConfigError,
      r"mail.workload.listed_clients\[1\]: 'pc' is listed twice; name each client once"),
     ({"workload": {"count": 3, "forged_fraction": 0.1, "forger": "r1"}}, ConfigError,
      r"mail.workload.forger: 'r1' is a router; a bot runs on a host")],
)  # fmt: skip
def test_bad_shares_and_listed_clients_are_refused_at_load(mail: dict[str, Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        scenario(mail)


def test_a_listed_client_may_be_listed_by_its_address() -> None:
    s = scenario({"blocklists": [{"zone": "bl.test", "listed": ["10.0.0.1"]}],  # pc, the first node
                  "workload": {"count": 3, "listed_fraction": 0.1, "listed_clients": ["pc"]}})  # fmt: skip
    assert s.mail is not None and s.mail.workload is not None and s.mail.workload.listed_clients == ("pc",)
