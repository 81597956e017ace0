"""Property tests over the input surfaces: whatever comes in, netlab answers with a value or one of its own
errors, never another exception. `make test` draws a few examples of each (derandomized); `make fuzz` many."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import netlab
from netlab.scenario.document import scenario_from_data
from netlab.scenario.files import loads_scenario
from netlab.units import parse_rate, parse_size, parse_time


def attempt(fn: Callable[..., Any], *args: Any, **kw: Any) -> tuple[Any, netlab.NetlabError | None]:
    """*fn*'s value and None, or None and the netlab error it raised (any other exception fails the test)."""
    try:
        return fn(*args, **kw), None
    except netlab.NetlabError as exc:
        return None, exc


def test_make_test_repeats_its_examples_and_make_fuzz_draws_fresh_ones() -> None:
    # The fuzz profile inherited derandomize=True from "default" (same 2,000 examples every `make fuzz`).
    assert settings.get_profile("default").derandomize is True
    assert settings.get_profile("fuzz").derandomize is False and settings.get_profile("fuzz").max_examples == 2000


NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(min_value=-(10**400),
                    max_value=10**400))  # fmt: skip
UNIT_TEXT = st.one_of(
    st.text(max_size=20),
    st.builds(lambda n, u: f"{n}{u}", NUMBERS, st.sampled_from(["", "s", "ms", "us", "B", "KB", "KiB", "bps",
                                                                "Mbps", "Gbps", "b", "min", "h", "/s", "M"])),
)  # fmt: skip


@given(st.one_of(UNIT_TEXT, NUMBERS, st.none(), st.booleans()))
def test_units_parse_to_a_finite_number_or_a_unit_error(value: object) -> None:
    for parse in (parse_rate, parse_size, parse_time):
        got, err = attempt(parse, value)
        if err is not None:
            assert isinstance(err, netlab.UnitError) and str(err)
        else:
            assert isinstance(got, int | float) and not math.isnan(got) and got >= 0


KEYS = st.sampled_from(["name", "nodes", "links", "flows", "routing", "run", "faults", "seed", "mail", "a", "b",
                        "rate", "delay", "loss", "until", "src", "dst", "arrivals", "size", "poisson",
                        "strategy"])  # fmt: skip
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, st.text(max_size=8), st.sampled_from(["1ms", "10Mbps", "a"]))
NESTED = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
                      max_leaves=25)  # fmt: skip


@given(st.dictionaries(KEYS, NESTED, max_size=8))
def test_random_nested_data_gives_a_scenario_or_a_netlab_error(data: dict[str, object]) -> None:
    _, err = attempt(scenario_from_data, data, where="fuzz.yaml")
    assert err is None or str(err).startswith("fuzz.yaml")


@given(st.text(alphabet=st.sampled_from(list("abn: -[]{},\n\t'\"&*!|>%@`#0123456789.")), max_size=120))
def test_random_text_gives_a_scenario_or_a_netlab_error(text: str) -> None:
    _, err = attempt(loads_scenario, text, source="fuzz.yaml")
    assert err is None or "fuzz.yaml" in str(err)


# ------------------------------------------------------------------ server sessions fed random command sequences
IMAP_WORDS = ["a1", "LOGIN", "bob", "pw", "SELECT", "INBOX", "FETCH", "1:*", "(FLAGS)", "BODY[]", "{3}", "{5+}",
              "{99999999}", "\r", "\n", "(", ")", '"', "IDLE", "DONE", "STORE", "+FLAGS", "\\Deleted", "EXPUNGE",
              "UID", "SEARCH", "ALL", "LOGOUT", "*", "%", "NOOP", "CAPABILITY"]  # fmt: skip
POP3_WORDS = ["USER", "bob", "PASS", "pw", "STAT", "LIST", "RETR", "1", "-1", "99999999999", "DELE", "TOP", "0",
              "UIDL", "RSET", "NOOP", "QUIT", "APOP", "\r", "\x00", "CAPA"]  # fmt: skip
SMTP_WORDS = ["EHLO", "HELO", "x", "MAIL", "FROM:<alice@a.test>", "RCPT", "TO:<bob@b.test>", "TO:<>", "DATA", ".",
              "RSET", "NOOP", "QUIT", "AUTH", "PLAIN", "AGJvYgBwdw==", "SIZE=999999999999", "BDAT", "VRFY",
              "\r", "\x00", "<", ">", "STARTTLS"]  # fmt: skip


def _lines(words: list[str]) -> st.SearchStrategy[list[bytes]]:
    line = st.lists(st.sampled_from(words), max_size=6).map(lambda ws: (" ".join(ws) + "\r\n").encode())
    return st.lists(line | st.binary(max_size=30), max_size=25)


def _store() -> Any:
    from netlab.mail.content.message import build_message, to_bytes
    from netlab.mail.mailbox.store import MessageStore

    store = MessageStore({"bob": "pw"}, domain="b.test")
    store.deliver("bob", to_bytes(build_message(sender="a@a.test", to="bob@b.test", subject="s", body="b\n")), 1.0)
    return store


@given(_lines(IMAP_WORDS))
def test_an_imap_session_answers_any_command_sequence(lines: list[bytes]) -> None:
    from netlab.mail.imap import ImapServerSession

    session = ImapServerSession(_store())
    for line in lines:  # one call per line: bounded steps (a freeze would hang here, not loop forever elsewhere)
        if session.closed:
            break
        if session.literal_needed:
            out, err = attempt(session.feed_literal, line[: session.literal_needed])
        else:
            out, err = attempt(session.feed_line, line)
        assert err is None or str(err)
        assert out is None or isinstance(out, bytes)


@given(_lines(POP3_WORDS))
def test_a_pop3_session_answers_any_command_sequence(lines: list[bytes]) -> None:
    from netlab.mail.pop3 import Pop3ServerSession

    session = Pop3ServerSession(_store())
    for line in lines:
        out, err = attempt(session.feed_line, line)
        assert err is None or str(err)
        assert out is None or (isinstance(out, bytes) and out[:1] in (b"+", b"-", b""))


@given(_lines(SMTP_WORDS))
def test_an_smtp_session_answers_any_command_sequence(lines: list[bytes]) -> None:
    from netlab.mail.smtp import SmtpServerSession
    from netlab.testing.mail import RecordingPolicy

    session = SmtpServerSession(RecordingPolicy(users={"bob": "pw"}), hostname="mx.test", peer_ip="10.0.0.1",
                                size_limit=1000)  # fmt: skip
    for line in lines:
        replies, err = attempt(session.feed, line)
        assert err is None or str(err)
        for reply in replies or []:
            assert 200 <= reply.code < 600
