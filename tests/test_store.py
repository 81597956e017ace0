"""The message store and its MDA: delivery, quotas, UIDs, flags, read-back as EmailMessage."""

from __future__ import annotations

import pytest

from netlab.errors import ConfigError, NetlabError
from netlab.mail.content.message import build_message, to_bytes
from netlab.mail.mailbox import DeliveryAgent
from netlab.mail.mailbox.store import MailboxNotFound, MessageNotFound, MessageStore
from netlab.mail.smtp import Reply


def _raw(subject: str = "Hi", body: str = "Hello\n") -> bytes:
    return to_bytes(build_message(sender="alice@a.test", to="bob@b.test", subject=subject, body=body))


def test_deliver_files_with_delivered_to_uid_date_and_size() -> None:
    store = MessageStore({"bob": "pw"}, domain="b.test")
    raw = b"Return-Path: <alice@a.test>\r\n" + _raw()
    reply = store.deliver("bob", raw, 12.5)
    assert isinstance(reply, Reply) and (reply.code, reply.enhanced) == (250, "2.0.0")
    entry = store.mailbox("bob").entries[0]
    # Delivered-To goes on top; everything the MX handed over follows byte for byte
    assert entry.raw == b"Delivered-To: bob@b.test\r\n" + raw
    assert (entry.uid, entry.internal_s, entry.size, entry.flags) == (1, 12.5, len(entry.raw), frozenset())
    msg = store.message("bob", 1)
    assert msg["Subject"] == "Hi" and msg["Return-Path"] == "<alice@a.test>"
    assert msg.get_content().splitlines() == ["Hello"]  # CRLF content keeps its CR in get_content()
    assert store.internal_date(entry).isoformat() == "2026-01-01T00:00:12.500000+00:00"


def test_bare_lf_is_stored_as_crlf() -> None:
    store = MessageStore(["bob"])
    store.deliver("bob", b"Subject: x\n\nline\n", 0.0)
    assert store.entry("bob", 1).raw == b"Delivered-To: bob\r\nSubject: x\r\n\r\nline\r\n"


def test_unknown_user_is_550_511_and_nothing_is_stored() -> None:
    store = MessageStore(["bob"])
    reply = store.deliver("eve", _raw(), 1.0)
    assert (reply.code, reply.enhanced) == (550, "5.1.1")
    assert store.count() == 0 and not store.has_user("eve") and store.has_user("bob")


@pytest.mark.parametrize(("permanent", "code", "enhanced"), [(False, 452, "4.2.2"), (True, 552, "5.2.2")])
def test_quota(permanent: bool, code: int, enhanced: str) -> None:
    one = len(b"Delivered-To: bob\r\n" + _raw())
    store = MessageStore(["bob"], quota_bytes=2 * one, quota_permanent=permanent)
    assert [store.deliver("bob", _raw(), t).code for t in (1.0, 2.0)] == [250, 250]
    reply = store.deliver("bob", _raw(), 3.0)
    assert (reply.code, reply.enhanced) == (code, enhanced)
    assert store.usage("bob") == 2 * one and len(store.mailbox("bob")) == 2
    # room again after a removal: the quota counts what is stored now
    store.mailbox("bob").remove([1])
    assert store.deliver("bob", _raw(), 4.0).code == 250


def test_uids_ascend_and_are_never_reused() -> None:
    store = MessageStore(["bob", "carol"])
    for t in range(3):
        store.deliver("bob", _raw(f"m{t}"), float(t))
    box = store.mailbox("bob")
    assert [e.uid for e in box.entries] == [1, 2, 3]
    assert box.remove([3, 99]) == [3]
    store.deliver("bob", _raw("m3"), 3.0)
    assert [e.uid for e in box.entries] == [1, 2, 4] and box.uidnext == 5
    assert store.mailbox("bob").uidvalidity != store.mailbox("carol").uidvalidity


def test_flags_replace_entries() -> None:
    store = MessageStore(["bob"])
    store.deliver("bob", _raw(), 1.0)
    entry = store.mailbox("bob").set_flags(1, {"\\Seen", "\\Flagged"})
    assert store.entry("bob", 1) == entry and entry.flags == {"\\Seen", "\\Flagged"}


def test_lookups_raise_netlab_errors() -> None:
    store = MessageStore(["bob"])
    with pytest.raises(MailboxNotFound):
        store.mailbox("eve")
    with pytest.raises(MailboxNotFound):
        store.mailbox("bob", "Archive")
    with pytest.raises(MessageNotFound) as info:
        store.message("bob", 7)
    assert isinstance(info.value, NetlabError) and isinstance(info.value, LookupError)
    with pytest.raises(MessageNotFound):
        store.mailbox("bob").set_flags(7, ())


def test_mailboxes_inbox_case_insensitive_and_created_on_demand() -> None:
    store = MessageStore(["bob"])
    assert store.mailbox("bob", "inbox") is store.mailbox("bob")
    archive = store.create_mailbox("bob", "Archive")
    assert store.mailbox("bob", "Archive") is archive
    assert archive.uidvalidity not in {b.uidvalidity for b in store.mailboxes("bob") if b is not archive}


def test_authenticate_and_lock() -> None:
    store = MessageStore({"bob": "pw", "svc": None})
    assert store.authenticate("bob", "pw") and not store.authenticate("bob", "PW")
    assert not store.authenticate("svc", "") and not store.authenticate("eve", "pw")
    assert store.lock("bob") and not store.lock("bob")
    store.unlock("bob")
    assert store.lock("bob")


def test_listeners_hear_every_delivery() -> None:
    store = MessageStore(["bob"])
    heard: list[tuple[str, int, int]] = []
    store.subscribe(lambda user, box, entry: heard.append((user, len(box), entry.uid)))
    store.deliver("bob", _raw(), 1.0)
    store.deliver("eve", _raw(), 2.0)
    store.deliver("bob", _raw(), 3.0)
    assert heard == [("bob", 1, 1), ("bob", 2, 2)]


def test_store_is_the_mx_delivery_agent() -> None:
    store = MessageStore(["bob"])
    agent: DeliveryAgent = store  # the seam the MX's local delivery files through (checked by mypy)
    first, second = agent.file("bob", b"x\r\n", 0.0), agent.file("bob", b"y\r\n", 1.0)
    assert agent.has_user("bob") and isinstance(first.reply, Reply) and first.reply.code == 250
    box = store.mailbox("bob")
    # Filed names where each copy went, as the mailbox itself does: the books find it there after the run
    assert [first.mailbox_uid, second.mailbox_uid] == [f"{box.uidvalidity}.{e.uid}" for e in box.entries]
    refused = agent.file("eve", b"x\r\n", 2.0)
    assert refused.reply.enhanced == "5.1.1" and (refused.uidvalidity, refused.uid) == (0, 0)


def _exact(fold: bool) -> dict[str, bool]:
    """The store's keyword for exact local parts; folding is the default (so nothing is passed for it)."""
    return {} if fold else {"fold_local_parts": False}


@pytest.mark.parametrize(("fold", "name", "found"), [
    (True, "bob@b.test", "Bob@b.test"), (True, "BOB@B.TEST", "Bob@b.test"), (True, "eve@b.test", None),
    (False, "Bob@B.TEST", "Bob@b.test"), (False, "bob@b.test", None),
])  # fmt: skip
def test_a_user_is_found_in_any_case_and_keeps_its_own_name(fold: bool, name: str, found: str | None) -> None:
    store = MessageStore({"Bob@b.test": "pw"}, **_exact(fold))
    assert store.account_of(name) == found and store.has_user(name) is (found is not None)
    filed = store.file(name, _raw(), 1.0)
    assert (filed.reply.code, filed.user) == ((250, found) if found else (550, ""))
    if found:
        assert store.users == ["Bob@b.test"] and store.usage(name) == store.usage(found) > 0
        assert store.entry(name, 1).raw.startswith(b"Delivered-To: Bob@b.test\r\n")
        assert store.lock(found) and not store.lock(name)


def test_two_users_one_when_folded_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"users 'bob@b\.test' and 'BOB@b\.test' are one user when local parts fold"):
        MessageStore(["bob@b.test", "BOB@b.test"])
    assert MessageStore(["bob@b.test", "BOB@b.test"], fold_local_parts=False).users == ["bob@b.test", "BOB@b.test"]


@pytest.mark.parametrize(("asked", "filed_in"), [("Junk", "Junk"), ("inbox", "INBOX"), ("Spam", "INBOX")])
def test_file_into_a_folder_or_inbox_when_the_user_lacks_it(asked: str, filed_in: str) -> None:
    """Sieve's fileinto with Dovecot's ``lda_mailbox_autocreate = no``: a missing folder means INBOX, kept."""
    store = MessageStore(["bob"])
    filed = store.file("bob", b"x\r\n", 0.0, mailbox=asked)
    box = store.mailbox("bob", filed_in)
    assert filed.mailbox == filed_in and filed.mailbox_uid == f"{box.uidvalidity}.1" and len(box) == 1
    assert store.count() == 1 and ("Junk as UID 1" in str(filed.reply)) is (filed_in == "Junk")
