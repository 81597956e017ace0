"""Limits before work: sizes refused before anything big is read, built or buffered."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import netlab
from netlab.mail.imap import ImapServerSession
from netlab.mail.imap.server import MAX_LITERAL_UNAUTHENTICATED
from netlab.mail.mailbox.store import MessageStore
from netlab.scenario.decode import _show
from netlab.scenario.dialect import MAX_EXPANDED_NODES
from netlab.scenario.files import MAX_SCENARIO_BYTES, loads_scenario


def _bomb(levels: int) -> str:
    """A YAML alias bomb: 9**levels scalars in one line, as the value of ``name``."""
    parts = ["&a0 [x, x, x, x, x, x, x, x, x]"]
    parts += [f"&a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return "\n".join([f"name: [{', '.join(parts)}]", "nodes: [a, b]", "links: [[a, b]]"])


def test_an_alias_bomb_is_refused_before_it_is_expanded() -> None:
    assert MAX_EXPANDED_NODES < 9**8
    t0 = time.perf_counter()
    with pytest.raises(netlab.ConfigError, match=r"bomb.yaml:1: invalid YAML: the aliases .* expand to more than "
                                                 "2,000,000 values"):  # fmt: skip
        loads_scenario(_bomb(8), source="bomb.yaml")
    assert time.perf_counter() - t0 < 30  # 9**8 = 43 million values were never built (measured: 7 ms)


def test_a_small_alias_expansion_is_read_and_its_error_is_short() -> None:
    with pytest.raises(netlab.ConfigError) as info:
        loads_scenario(_bomb(5), source="b.yaml")  # 59,049 values: read, then refused as a name
    assert len(str(info.value)) < 400 and "..." in str(info.value)


def test_values_in_errors_are_clipped_at_no_cost() -> None:
    huge = [list(range(1000))] * 1000
    assert len(_show(huge)) <= 60 and _show(huge).endswith("...")
    assert _show("x" * 10**7).endswith("...") and _show({"a": 1}) == "{'a': 1}"


def test_a_scenario_file_over_the_size_cap_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    with path.open("wb") as fh:
        fh.truncate(MAX_SCENARIO_BYTES + 1)  # sparse: the cap is checked on the size, not on the text
    with pytest.raises(netlab.ConfigError, match=r"big.yaml: 2,000,001 bytes, more than the 2,000,000 a scenario"):
        netlab.load_scenario(path)


@pytest.fixture
def imap() -> ImapServerSession:
    return ImapServerSession(MessageStore({"bob": "pw"}, domain="b.test"))


def test_an_unauthenticated_literal_over_the_limit_is_refused_unbuffered(imap: ImapServerSession) -> None:
    out = imap.feed_line(b"a1 LOGIN {999999999}\r\n")
    assert out == b"a1 NO [TOOBIG] literal of 999,999,999 octets, more than the 8,192 taken before LOGIN\r\n"
    assert imap.literal_needed == 0 and not imap.closed  # nothing is awaited, the session goes on
    assert imap.feed_line(b"a2 LOGIN bob pw\r\n").startswith(b"a2 OK")


def test_a_non_synchronising_literal_over_the_limit_ends_the_session(imap: ImapServerSession) -> None:
    assert imap.feed_line(b"a1 LOGIN {999999999+}\r\n").startswith(b"* BYE [TOOBIG]")
    assert imap.closed


def test_a_literal_at_the_limit_is_taken(imap: ImapServerSession) -> None:
    assert imap.feed_line(f"a1 LOGIN {{{MAX_LITERAL_UNAUTHENTICATED}}}\r\n".encode()) == b"+ Ready for literal data\r\n"
    assert imap.literal_needed == MAX_LITERAL_UNAUTHENTICATED


def test_smtp_data_beyond_the_size_limit_is_counted_not_stored_then_552() -> None:
    from netlab.mail.smtp import SmtpServerSession
    from netlab.testing.mail import RecordingPolicy

    policy = RecordingPolicy()
    session = SmtpServerSession(policy, hostname="mx.test", peer_ip="10.0.0.1", size_limit=10_000)
    for line in (b"EHLO c\r\n", b"MAIL FROM:<a@a.test>\r\n", b"RCPT TO:<b@b.test>\r\n", b"DATA\r\n"):
        assert session.feed(line)[0].code in (250, 354)
    chunk = b"x" * 998 + b"\r\n"
    held = 0
    for _ in range(3000):  # 192 MB in 64 KB segments, as TCP would bring it
        session.feed(chunk * 64)
        held = max(held, len(session._buffer) + sum(map(len, session._data)))
    (reply,) = session.feed(b".\r\n")
    assert reply.code == 552 and policy.messages == []
    assert held < 10_000 + 4 * 64 * 1000  # the limit plus a few segments, not the 192 MB sent
