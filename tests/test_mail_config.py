"""The mail section of scenario files: round trip, and clear load-time errors for bad input."""

from __future__ import annotations

import copy

import pytest
import yaml
from mail_helpers import BASE, scenario

import netlab
from netlab.scenario.files import loads_scenario


def text(mutate) -> str:  # type: ignore[no-untyped-def]
    data = copy.deepcopy(BASE)
    mutate(data["mail"])
    return yaml.safe_dump(data, sort_keys=False)


def test_seed_scenario_loads_and_round_trips() -> None:
    s = netlab.load_scenario("topologies/seed.yaml")
    assert s.mail is not None and len(s.mail.servers) == 8
    assert loads_scenario(s.to_yaml()) == s


def test_round_trip_and_overrides() -> None:
    s = scenario({"queue": {"maximal_backoff": "1h"}})
    assert loads_scenario(s.to_yaml()) == s
    t = s.override("mail.queue.minimal_backoff=1min")
    assert t.mail.queue.minimal_backoff_s == 60.0 and t.mail.queue.maximal_backoff_s == 3600.0


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda m: m["servers"].append({"host": "nohost", "role": "relay"}),
     r"mail.servers\[3\].host: unknown host 'nohost'"),
    (lambda m: m["servers"][0].update(domains=["zz.test"]), r"unknown domain 'zz.test'"),
    (lambda m: m["users"].append({"address": "x@zz.test"}), r"mail.users\[3\].address: unknown domain 'zz.test'"),
    (lambda m: m["domains"].append({"name": "c.test"}) or m["users"].append({"address": "y@c.test"}),
     r"has no mailbox"),
    (lambda m: m["domains"][1].update(mx=[[10, "pc"]]), r"MX host 'pc' runs no mail server"),
    (lambda m: m["users"].append({"address": "not an address"}), r"mail.users\[3\].address: malformed address"),
    (lambda m: m.update(records=[{"name": "x.a.test", "type": "CNAME", "value": "y.a.test"},
                                 {"name": "y.a.test", "type": "CNAME", "value": "x.a.test"}]), r"CNAME loop"),
    (lambda m: m.update(dns_server="nowhere"), r"mail.dns_server: unknown host 'nowhere'"),
    (lambda m: m["servers"][0].update(role="postman"),
     r"bad.yaml:\d+: mail.servers\[0\].role: expected one of msa, mx, relay, got 'postman'"),
    (lambda m: m.update(queue={"initial_destination_concurrency": 0}), (r"initial_destination_concurrency: expected a "
     "whole number >= 1, got 0")),
    (lambda m: m.update(queue={"destination_concurrency_failed_cohort_limit": -1}),
     r"destination_concurrency_failed_cohort_limit: expected a number >= 0, got -1"),
    (lambda m: m.update(fold_local_parts="yes"), r"bad.yaml:\d+: mail.fold_local_parts: expected true or false"),
    (lambda m: m["users"].append({"address": "BOB@B.test"}),
     r"mail.users\[3\].address: duplicate user 'BOB@B.test' \(local parts fold case: mail.fold_local_parts\)"),
])  # fmt: skip
def test_bad_mail_sections_fail_at_load_time(mutate, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(netlab.ConfigError, match=message) as info:
        loads_scenario(text(mutate), source="bad.yaml")
    assert str(info.value).startswith("bad.yaml:")


def test_error_points_at_the_line() -> None:
    bad = text(lambda m: m["users"].append({"address": "x@zz.test"}))
    with pytest.raises(netlab.ConfigError) as info:
        loads_scenario(bad, source="bad.yaml")
    line = int(str(info.value).split(":")[1])
    assert "x@zz.test" in bad.splitlines()[line - 1]


def test_endless_workload_is_refused() -> None:
    with pytest.raises(netlab.ConfigError, match="would never end"):
        scenario({"workload": {"mean_interval": "1min"}})


def with_send_file(tmp_path, csv_text: str) -> str:  # type: ignore[no-untyped-def]
    """Write the base scenario with ``send: {file: day.csv}`` and *csv_text* next to it; return its path."""
    (tmp_path / "day.csv").write_text(csv_text)
    path = tmp_path / "s.yaml"
    path.write_text(text(lambda m: m.update(send={"file": "day.csv"})))
    return str(path)


def test_send_file_rows_are_scripted_messages(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A trace of submissions as CSV: the same messages as the YAML list, values read as in YAML."""
    path = with_send_file(tmp_path, "at,from,to,subject,body_size,attachment\n"
                                    "1,alice@a.test,bob@b.test,first,3KB,\n"
                                    "2.5,alice@a.test,\"bob@b.test; carol@b.test\",,,40KB\n")  # fmt: skip
    s = netlab.load_scenario(path)
    listed = scenario(
        {
            "send": [
                {"at": 1, "from": "alice@a.test", "to": ["bob@b.test"], "subject": "first", "body_size": "3KB"},
                {"at": "2.5s", "from": "alice@a.test", "to": ["bob@b.test", "carol@b.test"], "attachment": "40KB"},
            ]
        }
    )
    assert s.mail.send == listed.mail.send and s.mail.send[0].body_bytes == 3000
    assert loads_scenario(s.to_yaml()).mail == s.mail  # written back as the list it was read as


@pytest.mark.parametrize(("csv_text", "message"), [
    ("at,from\n1,alice@a.test\n", (r"day.csv:1: missing column 'to'; expected a header line naming "
     "at least at, from, to")),
    ("at,from,to,body_size\n1,alice@a.test,bob@b.test,lots\n", r"day.csv:2: send\[0\].body_size: expected a size"),
    ("at,from,to,subjet\n1,alice@a.test,bob@b.test,x\n", (r"day.csv:1: column 'subjet': unknown column; did you mean "
     "'subject'")),
    ("at,from,to\n1,alice@a.test,bob@b.test,extra\n", r"day.csv:2: 4 cells, more than the 3 columns"),
    ("at,from,to,attachment\n1,alice@a.test,bob@b.test,[40KB\n", r"day.csv:2: send\[0\].attachment: not a YAML scalar"),
    ("at,from,to\n1,alice@a.test,bob@b.test\n2,mallory@a.test,bob@b.test\n",
     r"s.yaml:\d+: mail.send\[1\].from: 'mallory@a.test' is not a user with a client host \(data row 2 of day.csv\)"),
])  # fmt: skip
def test_bad_send_files_name_the_file_line_and_column(tmp_path, csv_text: str, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(netlab.ConfigError, match=message):
        netlab.load_scenario(with_send_file(tmp_path, csv_text))


def test_missing_send_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "s.yaml"
    path.write_text(text(lambda m: m.update(send={"file": "nowhere.csv"})))
    with pytest.raises(netlab.ConfigError, match=r"s.yaml:\d+: mail.send.file: no such send file .*nowhere.csv"):
        netlab.load_scenario(str(path))


def test_server_and_fetch_choices_are_enums() -> None:
    """A server's modes are enums however written (YAML strings, Python strings or members)."""
    from netlab.mail.config import FetchSpec, ServerSpec
    from netlab.mail.config.servers import DmarcMode, DnsblAction, QuotaAction, RelayRefusal, ServerRole, SpfAction
    from netlab.mail.config.users import FetchProtocol

    s = ServerSpec("mx1", role="msa", spf="tag", dmarc="monitor", dnsbl_action="defer", quota_action="bounce")
    assert (s.role, s.spf, s.dmarc, s.dnsbl_action, s.quota_action, s.relay_refusal) == (
        ServerRole.MSA, SpfAction.TAG, DmarcMode.MONITOR, DnsblAction.DEFER, QuotaAction.BOUNCE, RelayRefusal.REJECT
    )  # fmt: skip
    assert all(type(v) is not str for v in (s.role, s.spf, s.dmarc, s.dnsbl_action, s.quota_action))
    assert FetchSpec(protocol="pop3").protocol is FetchProtocol.POP3
    with pytest.raises(netlab.ConfigError, match="server mx1: role must be one of msa, mx, relay, got 'mxx'; did you"):
        ServerSpec("mx1", role="mxx")


def test_fold_local_parts_from_python_is_checked_and_false_lets_two_cases_be_two_users() -> None:
    from netlab.mail.config import MailSpec

    with pytest.raises(netlab.ConfigError, match=r"mail.fold_local_parts: expected true or false, got 1"):
        MailSpec(dns_server="dns", fold_local_parts=1)  # type: ignore[arg-type]
    s = scenario({"fold_local_parts": False, "users": [*BASE["mail"]["users"], {"address": "Bob@b.test"}]})
    assert s.mail is not None and s.mail.user("Bob@b.test") is s.mail.users[3]
    assert s.mail.user("bob@B.TEST") is s.mail.users[1] and s.mail.user("BOB@b.test") is None
    assert scenario({}).mail.user("BOB@B.TEST").address == "bob@b.test"  # type: ignore[union-attr]
