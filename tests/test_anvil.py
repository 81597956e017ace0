"""Postfix anvil's connection limits per client address (count and rate per 60 s time unit): 421 4.7.0, the
client's retry, trusted clients exempt."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest
import simpy
from mail_helpers import run, scripted, send

from netlab.errors import ConfigError
from netlab.mail.config import ServerSpec
from netlab.mail.mta.anvil import Anvil


def test_rate_counts_every_attempt_in_fixed_time_units() -> None:
    a = Anvil(rate_limit=2, time_unit_s=60.0)
    got = [a.connect("10.0.0.1", t) for t in (0.0, 10.0, 20.0, 59.0, 60.0, 61.0, 62.0)]
    assert got == [None, None, "rate", "rate", None, None, "rate"]  # the unit restarts at 60 s
    assert a.connect("10.0.0.2", 20.0) is None  # per client address


def test_count_is_simultaneous_connections() -> None:
    a = Anvil(count_limit=2)
    assert [a.connect("10.0.0.1", 0.0) for _ in range(3)] == [None, None, "count"]
    a.disconnect("10.0.0.1")
    assert a.connect("10.0.0.1", 1.0) is None


@pytest.mark.parametrize("key", ["connection_count_limit", "connection_rate_limit"])
def test_bad_limits_refused(key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        ServerSpec("mx1", domains=("b.test",), **{key: -1})


def _mail(**extra: object) -> dict[str, object]:
    return {"servers": [{"host": "msa", "role": "msa", "domains": ["a.test"]},
                        {"host": "mx1", "role": "mx", "domains": ["a.test", "b.test"], "spam_action": "tag", **extra},
                        {"host": "mx2", "role": "relay", "relay_domains": ["b.test"]}]}  # fmt: skip


def test_over_the_rate_the_greeting_is_421_and_the_sender_retries() -> None:
    # msa opens one connection per message; the third within 60 s is refused; a.test has one MX, so its mail
    # waits in msa's queue for the retry after minimal_backoff
    three = [send(["alice@a.test"], at=float(i)) for i in range(3)]
    res, _ = run({**_mail(connection_rate_limit=2), "send": three})
    m = res.messages
    assert m.status.tolist() == ["delivered"] * 3
    delays = sorted((m.delivered_s - m.submitted_s).tolist())
    assert delays[1] < 1.0 and 300.0 <= delays[2] <= 600.5  # deferred once, delivered at the next scan
    text = "\n".join(res.maillog.text)
    assert "warning: Connection rate limit exceeded: 3 from msa[" in text
    assert "421 4.7.0 mx1.a.test Error: too many connections from" in text


def test_a_421_greeting_sends_the_client_to_the_backup_mx() -> None:
    # b.test has mx2 at preference 20: a refused greeting is a failed MX, and Postfix's smtp tries the next one
    three = [send(["bob@b.test"], at=float(i)) for i in range(3)]
    res, _ = run({**_mail(connection_rate_limit=2), "send": three})
    assert res.messages.hop_hosts.tolist() == ["msa mx1", "msa mx1", "msa mx2 mx1"]
    assert ((res.messages.delivered_s - res.messages.submitted_s) < 1.0).all()


def test_trusted_clients_are_exempt() -> None:
    three = [send(["alice@a.test"], at=float(i)) for i in range(3)]
    res, _ = run({**_mail(connection_rate_limit=2, trusted=["msa"]), "send": three})
    assert ((res.messages.delivered_s - res.messages.submitted_s) < 1.0).all()


def test_concurrency_limit_refuses_the_third_open_connection() -> None:
    replies: list[bytes] = []

    def script(env: simpy.Environment, system: Any) -> Generator[simpy.Event, Any, list[bytes]]:
        conns = []
        for _ in range(3):
            conn = yield system.stack.connect("pc", ("mx1", 25)).connected
            replies.append((yield conn.recv_line()))
            conns.append(conn)
        for c in conns:
            c.close()
        return replies

    _, _, got = scripted({**_mail(connection_count_limit=2), "send": [send(["alice@a.test"], at=50.0)]}, script)
    assert [r[:3] for r in got] == [b"220", b"220", b"421"]
    assert got[2].startswith(b"421 4.7.0 mx1.a.test Error: too many connections from ")
