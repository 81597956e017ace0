"""Message content and trace headers (RFC 5322, RFC 5321 §4.4)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from netlab.mail.content.message import (
    DEFAULT_EPOCH,
    Envelope,
    build_message,
    count_received,
    dot_stuff,
    dot_unstuff,
    ensure_date_and_message_id,
    parse,
    prepend_header,
    received_header,
    return_path,
    sim_datetime,
    to_bytes,
)

WHEN = datetime(2026, 1, 1, 0, 0, 5, tzinfo=UTC)


def hop(n: int, rcpt: str | None = "bob@b.example") -> bytes:
    return received_header(by_host=f"mx{n}.example", by_ip=f"10.0.0.{n}", helo=f"host{n - 1}.example",
                           client_name=f"host{n - 1}.example", peer_ip=f"10.0.1.{n}",
                           protocol="ESMTPA" if n == 1 else "ESMTP", queue_id=f"{n:010X}",
                           for_rcpt=rcpt, when=WHEN + timedelta(seconds=n))  # fmt: skip


def test_build_message_is_crlf_and_parses_back() -> None:
    msg = build_message(sender="Alice <alice@a.example>", to=["bob@b.example", "carol@c.example"], subject="Hi",
                        body="Hello\nBob\n", attachments=[("a.bin", b"\x00\x01" * 100, "application", "octet-stream")],
                        date=WHEN, message_id="<1@a.example>", extra_headers=[("Cc", "dave@d.example")])  # fmt: skip
    raw = to_bytes(msg)
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    back = parse(raw)
    assert back["To"] == "bob@b.example, carol@c.example" and back["Cc"] == "dave@d.example"
    assert back["Date"] == "Thu, 01 Jan 2026 00:00:05 +0000" and back["Message-ID"] == "<1@a.example>"
    parts = list(back.iter_parts())
    assert parts[0].get_content().replace("\r\n", "\n") == "Hello\nBob\n"
    assert parts[1].get_filename() == "a.bin" and parts[1].get_content() == b"\x00\x01" * 100
    # the MIME boundary is derived from the content, so building twice gives the same bytes
    assert raw == to_bytes(build_message(sender="Alice <alice@a.example>", to=["bob@b.example", "carol@c.example"],
                                         subject="Hi", body="Hello\nBob\n", date=WHEN, message_id="<1@a.example>",
                                         attachments=[("a.bin", b"\x00\x01" * 100, "application", "octet-stream")],
                                         extra_headers=[("Cc", "dave@d.example")]))  # fmt: skip


def test_envelope_is_separate_and_frozen() -> None:
    env = Envelope("", ["bob@b.example"])  # type: ignore[arg-type]
    assert env.rcpt_to == ("bob@b.example",) and env.is_bounce
    with pytest.raises(AttributeError):
        env.mail_from = "x"  # type: ignore[misc]


def test_ensure_date_and_message_id_adds_only_missing() -> None:
    raw = to_bytes(build_message(sender="a@a.example", to="b@b.example", subject="s", body="x\n"))
    out = ensure_date_and_message_id(raw, when=WHEN, host_fqdn="msa.a.example", counter=7, t_us=5_000_000)
    msg = parse(out)
    assert msg["Date"] == "Thu, 01 Jan 2026 00:00:05 +0000" and msg["Message-ID"] == "<5000000.7@msa.a.example>"
    assert out.endswith(b"\r\n\r\nx\r\n")
    assert ensure_date_and_message_id(out, when=WHEN + timedelta(days=1), host_fqdn="h", counter=8) == out
    bare = ensure_date_and_message_id(b"Subject: no body", when=WHEN, host_fqdn="h", counter=1)
    assert parse(bare)["Subject"] == "no body" and parse(bare)["Date"] is not None


def test_received_header_shape_order_and_count() -> None:
    raw = to_bytes(build_message(sender="a@a.example", to="b@b.example", subject="s", body="x\n"))
    for n in (1, 2, 3):
        raw = hop(n) + raw
    assert count_received(raw) == 3
    received = parse(raw).get_all("Received")
    assert [r.split()[1] for r in received] == ["host2.example", "host1.example", "host0.example"]  # newest first
    shape = re.compile(r"from (\S+) \(\1 \[[\d.]+\]\) by (\S+) \(netlab\) with (ESMTPA?) id ([0-9A-F]{10}) "
                       r"for <[^>]+>; \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}")  # fmt: skip
    assert all(shape.fullmatch(" ".join(str(r).split())) for r in received)
    line = hop(1)
    assert all(len(part) <= 78 for part in line.split(b"\r\n"))
    assert line.count(b"\r\n") == 3 and line.split(b"\r\n")[1].startswith(b"\t")
    assert b"for <" not in hop(1, rcpt=None) and hop(1, rcpt=None).rstrip().endswith(b"+0000")


@pytest.mark.parametrize(("client_name", "tcp_info"), [
    ({"client_name": "localhost"}, b"(localhost [127.0.0.1])"),
    ({}, b"(unknown [127.0.0.1])"),
], ids=["verified", "not-verified"])  # fmt: skip
def test_received_from_pairs_the_ehlo_name_with_the_verified_client_name(client_name: dict[str, str],
                                                                         tcp_info: bytes) -> None:  # fmt: skip
    # RFC 5321 §4.4: the TCP-info is what the server found out, not a copy of what the client claimed in EHLO
    line = received_header(by_host="msa", helo="msg1.eml", peer_ip="127.0.0.1", protocol="ESMTPA", queue_id="AB",
                           for_rcpt=None, when=WHEN, **client_name)  # fmt: skip
    assert line.startswith(b"Received: from msg1.eml " + tcp_info + b"\r\n")


def test_naive_dates_get_a_numeric_zone() -> None:
    line = received_header(by_host="mx", helo="c", peer_ip="10.0.0.1", protocol="SMTP", queue_id="AB",
                           for_rcpt=None, when=datetime(2026, 1, 1))  # fmt: skip
    assert line.rstrip().endswith(b"+0000")
    assert sim_datetime(DEFAULT_EPOCH, 90.5) == datetime(2026, 1, 1, 0, 1, 30, 500000, tzinfo=UTC)


def test_prepend_header_and_return_path() -> None:
    raw = b"Subject: s\r\nReturn-Path: <old@x>\r\n\r\nbody\r\n"
    tagged = prepend_header(raw, "X-Spam-Status", "No, score=0.0 required=5.0 tests=" + ",".join(["RULE"] * 20))
    assert tagged.endswith(raw) and all(len(line) <= 78 for line in tagged.split(b"\r\n"))
    assert prepend_header(raw, "Received", hop(1)) == hop(1) + raw
    final = return_path(return_path(tagged, "alice@a.example"), "alice@a.example")
    assert parse(final).get_all("Return-Path") == ["<alice@a.example>"]
    assert final.startswith(b"Return-Path: <alice@a.example>\r\nX-Spam-Status") and final.endswith(b"\r\n\r\nbody\r\n")
    assert return_path(b"Subject: s\r\n\r\nb\r\n", "").startswith(b"Return-Path: <>\r\n")


@pytest.mark.parametrize(
    "raw", [b"", b"a\r\n", b".\r\n", b"..\r\n.x\r\n", b"no final newline", b"a\nb\n.c\n", b"x\r\n\r\n.\r\n. \r\n"]
)
def test_dot_stuff_round_trip(raw: bytes) -> None:
    stuffed = dot_stuff(raw)
    assert stuffed.endswith(b".\r\n")
    lines = stuffed.split(b"\r\n")[:-2]  # drop the terminating "." and the empty tail
    assert all(not line.startswith(b".") or line.startswith(b"..") for line in lines)
    normal = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if normal and not normal.endswith(b"\r\n"):
        normal += b"\r\n"
    assert dot_unstuff(line + b"\r\n" for line in lines) == normal


@pytest.mark.parametrize("seed", range(20))
def test_fast_crlf_and_dot_stuffing_equal_the_line_by_line_definition(seed: int) -> None:
    """normalize_crlf and dot_stuff use bytes.replace; they must equal the per-line definition on any input."""
    import random

    from netlab.mail.content.message import dot_stuff, normalize_crlf

    rng = random.Random(seed)
    raw = bytes(rng.choice(b"ab.\r\n") for _ in range(rng.randint(0, 60)))
    lines = raw.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    expected = b"".join(line.removesuffix(b"\r") + b"\r\n" for line in lines) if raw else b""
    assert normalize_crlf(raw) == expected
    stuffed = b"".join((b"." + ln if ln.startswith(b".") else ln) + b"\r\n" for ln in expected.split(b"\r\n")[:-1])
    assert dot_stuff(raw) == stuffed + b".\r\n"


def test_composing_and_parsing_create_no_new_classes() -> None:
    """The stdlib registry makes a class per parsed header; ours makes each once, so thousands of messages
    leave no class garbage (cycles the collector would have to find)."""
    import gc

    def one(i: int) -> None:
        raw = to_bytes(
            build_message(
                sender="a@x.example",
                to=["b@y.example", "c@y.example"],
                subject=f"s{i}",
                body="hello\n",
                attachments=[("f.bin", b"\0" * 100, "application", "pdf")],
            )
        )
        assert parse(raw)["Subject"] == f"s{i}"

    one(0)
    gc.collect()
    before = sum(1 for o in gc.get_objects() if isinstance(o, type))
    for i in range(1, 30):
        one(i)
    assert sum(1 for o in gc.get_objects() if isinstance(o, type)) == before
