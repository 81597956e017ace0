"""The IMAP commands on mailboxes (RFC 3501 §6.3, §6.4.7): LIST, LSUB, CREATE, DELETE, RENAME, SUBSCRIBE,
UNSUBSCRIBE, STATUS, APPEND, COPY and MOVE (RFC 6851), with UIDPLUS's response codes (RFC 4315) and the RFC 6154
special-use attributes of the Sent, Drafts, Trash and Junk folders every user has.

One hierarchy: names are as the client wrote them (modified UTF-7 is the client's business), ``/`` separates
levels, ``INBOX`` is case-insensitive, and there is one personal namespace with an empty prefix (NAMESPACE). Each
function takes the session, the tag and the parsed arguments and returns ``(untagged bytes, tagged status)``, as
the session's own command methods do.

>>> from netlab.mail.mailbox.store import MessageStore
>>> from netlab.mail.imap import ImapServerSession
>>> imap = ImapServerSession(MessageStore({"bob": "pw"}))
>>> _ = imap.feed_line(b"a1 LOGIN bob pw\\r\\n")
>>> print(imap.feed_line(b'a2 LIST "" "*"\\r\\n').decode().replace("\\r\\n", "|"))  # doctest: +NORMALIZE_WHITESPACE
* LIST (\\HasNoChildren) "/" INBOX|* LIST (\\HasNoChildren \\Drafts) "/" Drafts|\
* LIST (\\HasNoChildren \\Junk) "/" Junk|* LIST (\\HasNoChildren \\Sent) "/" Sent|\
* LIST (\\HasNoChildren \\Trash) "/" Trash|a2 OK LIST completed|
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from netlab.mail.imap.fetch import canonical_flag, mailbox_keywords, messages_in
from netlab.mail.imap.parse import ImapSyntaxError, Token
from netlab.mail.mailbox.store import Mailbox, MailboxNotFound, StoreError

if TYPE_CHECKING:
    from netlab.mail.imap.server import ImapServerSession

__all__ = ["DELIMITER", "append", "copy", "create", "delete", "list_mailboxes", "rename", "status", "subscribe"]

DELIMITER = "/"
"""The hierarchy delimiter (RFC 3501 §5.1.1)."""
_MAX_NAME = 255  # octets of a mailbox name: more is refused, as Dovecot's mailbox_list_name_max_length does
_STATUS_ITEMS = ("MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN")


def _text(token: Token, what: str) -> str:
    if isinstance(token, list):
        raise ImapSyntaxError(f"expected {what}, got a list")
    return token.decode("utf-8", "replace") if isinstance(token, bytes) else token


def _quoted(name: str) -> str:
    """*name* as an IMAP astring in a response: an atom when it can be one, else a quoted string."""
    if name and re.fullmatch(r"[!#-'+-\[\]-z|~^_`{}-]+", name) and "%" not in name and "*" not in name:
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _canonical(name: str) -> str:
    return "INBOX" if name.upper() == "INBOX" else name


def _valid(name: str) -> str | None:
    """Why *name* cannot be a mailbox name, or None."""
    if not name or name.startswith(DELIMITER) or name.endswith(DELIMITER) or DELIMITER * 2 in name:
        return "empty hierarchy level in mailbox name"
    if "*" in name or "%" in name:
        return "mailbox names cannot contain * or %"
    if len(name.encode()) > _MAX_NAME or any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        return "mailbox name too long or with control characters"
    return None


def _pattern(reference: str, pattern: str) -> Callable[[str], bool]:
    """RFC 3501 §6.3.8: ``*`` matches anything, ``%`` anything but the delimiter; the reference is prepended and
    INBOX matches in any case. Matched as a set of pattern positions advanced one name character at a time, so a
    hostile pattern (``*a*a*a...b``) costs len(name) x len(pattern) steps; a regex of ``.*`` backtracked
    exponentially (4 stars on a 200-character name took 7 s, under the live lock)."""
    full = pattern if pattern.upper().startswith("INBOX") else reference + pattern
    if full[:5].upper() == "INBOX":
        full = "INBOX" + full[5:]  # mailbox names hold INBOX in this spelling
    end = len(full)

    def closure(states: set[int]) -> set[int]:  # wildcards match the empty string too
        todo, seen = list(states), set(states)
        while todo:
            k = todo.pop()
            if k < end and full[k] in "*%" and k + 1 not in seen:
                seen.add(k + 1)
                todo.append(k + 1)
        return seen

    def matches(name: str) -> bool:
        states = closure({0})
        for ch in name:
            step = set()
            for k in states:
                if k == end:
                    continue
                wild = full[k]
                if wild == "*" or (wild == "%" and ch != DELIMITER):
                    step.add(k)  # the wildcard takes this character and may take more
                elif wild == ch:
                    step.add(k + 1)
            if not step:
                return False
            states = closure(step)
        return end in states

    return matches


def _list_args(args: list[Token]) -> tuple[set[str], str, str, set[str]]:
    """(selection options, reference, pattern, return options) of LIST, with RFC 5258's extended forms."""
    args = list(args)
    selection: set[str] = set()
    first = args[0] if args else None
    if isinstance(first, list):
        selection = {_text(t, "an option").upper() for t in first}
        args = args[1:]
    if len(args) < 2:
        raise ImapSyntaxError("usage: LIST reference mailbox")
    reference, pattern = _text(args[0], "a reference"), _text(args[1], "a mailbox pattern")
    returned: set[str] = set()
    rest = args[2:]
    if rest:
        if len(rest) != 2 or _text(rest[0], "RETURN").upper() != "RETURN" or not isinstance(rest[1], list):
            raise ImapSyntaxError("usage: LIST [(options)] reference mailbox [RETURN (options)]")
        returned = {_text(t, "an option").upper() for t in rest[1]}
    return selection, reference, pattern, returned


def list_mailboxes(session: ImapServerSession, tag: str, args: list[Token], *, lsub: bool = False) -> tuple[bytes, str]:
    """LIST and LSUB (RFC 3501 §6.3.8-9); LIST takes RFC 5258's SUBSCRIBED and SPECIAL-USE options (RFC 6154)."""
    name = "LSUB" if lsub else "LIST"
    selection, reference, pattern, returned = _list_args(args)
    if lsub and (selection or returned):
        raise ImapSyntaxError("usage: LSUB reference mailbox")
    if pattern == "":  # the delimiter and the root (RFC 3501 §6.3.8)
        return f'* {name} (\\Noselect) "{DELIMITER}" ""\r\n'.encode(), f"OK {name} completed"
    user = session.user or ""
    boxes = session.store.mailboxes(user)
    names = {b.name for b in boxes}
    subscribed = session.store.subscriptions(user)
    match = _pattern(reference, pattern)
    lines = []
    for box in boxes:
        if not match(box.name):
            continue
        if (lsub or "SUBSCRIBED" in selection) and box.name not in subscribed:
            continue
        if "SPECIAL-USE" in selection and not box.special_use:
            continue
        children = any(n.startswith(box.name + DELIMITER) for n in names)
        attrs = ["\\HasChildren" if children else "\\HasNoChildren"]
        if box.special_use:
            attrs.append(box.special_use)
        if not lsub and ("SUBSCRIBED" in selection or "SUBSCRIBED" in returned) and box.name in subscribed:
            attrs.append("\\Subscribed")
        lines.append(f'* {name} ({" ".join(attrs)}) "{DELIMITER}" {_quoted(box.name)}\r\n')
    return "".join(lines).encode(), f"OK {name} completed"


def create(session: ImapServerSession, tag: str, args: list[Token]) -> tuple[bytes, str]:
    """CREATE (RFC 3501 §6.3.3): a trailing delimiter is ignored; missing superior levels are created too."""
    if len(args) != 1:
        raise ImapSyntaxError("usage: CREATE mailbox")
    name = _canonical(_text(args[0], "a mailbox name").removesuffix(DELIMITER))
    if (why := _valid(name)) is not None:
        return b"", f"NO [CANNOT] {why}"
    user = session.user or ""
    if any(b.name == name for b in session.store.mailboxes(user)):
        return b"", "NO [ALREADYEXISTS] mailbox already exists"
    levels = name.split(DELIMITER)
    for n in range(1, len(levels) + 1):
        session.store.create_mailbox(user, DELIMITER.join(levels[:n]))
    return b"", "OK CREATE completed"


def delete(session: ImapServerSession, tag: str, args: list[Token]) -> tuple[bytes, str]:
    """DELETE (RFC 3501 §6.3.4): the mailbox and its messages; INBOX, and a mailbox with children, stay."""
    if len(args) != 1:
        raise ImapSyntaxError("usage: DELETE mailbox")
    name = _canonical(_text(args[0], "a mailbox name"))
    user = session.user or ""
    if name == "INBOX":
        return b"", "NO [CANNOT] INBOX cannot be deleted"
    if any(b.name.startswith(name + DELIMITER) for b in session.store.mailboxes(user)):
        return b"", "NO [INUSE] mailbox has children: delete them first"
    try:
        box = session.store.delete_mailbox(user, name)
    except MailboxNotFound:
        return b"", "NO [NONEXISTENT] no such mailbox"
    if session.mailbox is box:  # deleting the selected mailbox: the session falls back to authenticated
        session.mailbox, session.state, session.uids, session.recent = None, "AUTHENTICATED", [], set()
    return b"", "OK DELETE completed"


def rename(session: ImapServerSession, tag: str, args: list[Token]) -> tuple[bytes, str]:
    """RENAME (RFC 3501 §6.3.5), inferiors included; renaming INBOX moves its messages and leaves it empty."""
    if len(args) != 2:
        raise ImapSyntaxError("usage: RENAME mailbox newname")
    old = _canonical(_text(args[0], "a mailbox name"))
    new = _canonical(_text(args[1], "a mailbox name").removesuffix(DELIMITER))
    if (why := _valid(new)) is not None:
        return b"", f"NO [CANNOT] {why}"
    store, user = session.store, session.user or ""
    names = [b.name for b in store.mailboxes(user)]
    if old not in names:
        return b"", "NO [NONEXISTENT] no such mailbox"
    if new in names:
        return b"", "NO [ALREADYEXISTS] mailbox already exists"
    if new.startswith(old + DELIMITER):
        return b"", "NO [CANNOT] a mailbox cannot become its own inferior"
    levels = new.split(DELIMITER)
    for n in range(1, len(levels)):  # superior levels of the new name, as CREATE makes them
        store.create_mailbox(user, DELIMITER.join(levels[:n]))
    try:
        store.rename_mailbox(user, old, new)
        if old != "INBOX":
            for inferior in [n for n in names if n.startswith(old + DELIMITER)]:
                store.rename_mailbox(user, inferior, new + inferior[len(old) :])
    except StoreError as exc:
        return b"", f"NO [CANNOT] {exc}"
    subs = store.subscriptions(user)
    moved = [n for n in subs if n == old or n.startswith(old + DELIMITER)] if old != "INBOX" else []
    for sub in moved:
        subs.discard(sub)
        subs.add(new + sub[len(old) :])
    return b"", "OK RENAME completed"


def subscribe(session: ImapServerSession, tag: str, args: list[Token], *, on: bool = True) -> tuple[bytes, str]:
    """SUBSCRIBE / UNSUBSCRIBE (RFC 3501 §6.3.6-7): subscribing needs the mailbox to exist, unsubscribing not."""
    name = "SUBSCRIBE" if on else "UNSUBSCRIBE"
    if len(args) != 1:
        raise ImapSyntaxError(f"usage: {name} mailbox")
    box = _canonical(_text(args[0], "a mailbox name"))
    subs = session.store.subscriptions(session.user or "")
    if on:
        if box not in {b.name for b in session.store.mailboxes(session.user or "")}:
            return b"", "NO [NONEXISTENT] no such mailbox"
        subs.add(box)
    else:
        subs.discard(box)
    return b"", f"OK {name} completed"


def status(session: ImapServerSession, tag: str, args: list[Token]) -> tuple[bytes, str]:
    """STATUS (RFC 3501 §6.3.10): MESSAGES, RECENT, UIDNEXT, UIDVALIDITY, UNSEEN of any mailbox."""
    if len(args) != 2 or not isinstance(args[1], list) or not args[1]:
        raise ImapSyntaxError("usage: STATUS mailbox (items)")
    name = _text(args[0], "a mailbox name")
    items = [_text(t, "a status item").upper() for t in args[1]]
    if unknown := [i for i in items if i not in _STATUS_ITEMS]:
        raise ImapSyntaxError(f"unknown STATUS item {unknown[0]}")
    try:
        box = session.store.mailbox(session.user or "", name)
    except MailboxNotFound:
        return b"", "NO [NONEXISTENT] no such mailbox"
    recent = len(session.recent) if box is session.mailbox else sum(1 for e in box.entries if e.uid > box.recent_floor)
    values = {"MESSAGES": len(box), "RECENT": recent, "UIDNEXT": box.uidnext, "UIDVALIDITY": box.uidvalidity,
              "UNSEEN": sum(1 for e in box.entries if "\\Seen" not in e.flags)}  # fmt: skip
    body = " ".join(f"{i} {values[i]}" for i in items)
    return f"* STATUS {_quoted(box.name)} ({body})\r\n".encode(), "OK STATUS completed"


def _flag_list(token: Token, box: Mailbox) -> list[str]:
    """APPEND's flags, by STORE's rules: system flags in their RFC spelling, keywords as the mailbox spells them."""
    if not isinstance(token, list):
        raise ImapSyntaxError("expected a parenthesised flag list")
    known = {k.casefold(): k for k in mailbox_keywords(box)}
    return [canonical_flag(t, known) for t in token]


def _date_time(text: str, epoch: datetime) -> float:
    """An APPEND date-time (RFC 3501 §9: ``"dd-Mon-yyyy hh:mm:ss +zzzz"``) as simulated seconds since *epoch*."""
    try:
        when = datetime.strptime(text.strip(), "%d-%b-%Y %H:%M:%S %z")
    except ValueError:
        raise ImapSyntaxError(f"invalid date-time {text!r} (expected like 17-Jul-1996 02:44:25 -0700)") from None
    return (when - epoch).total_seconds()


def append(session: ImapServerSession, tag: str, args: list[Token]) -> tuple[bytes, str]:
    """APPEND (RFC 3501 §6.3.11) with flags and date-time; ``OK [APPENDUID v uid]`` (RFC 4315)."""
    if len(args) < 2:
        raise ImapSyntaxError("usage: APPEND mailbox [(flags)] [date-time] message-literal")
    name, rest = _text(args[0], "a mailbox name"), list(args[1:])
    message = rest.pop()
    if not isinstance(message, bytes):
        raise ImapSyntaxError("APPEND takes the message as a literal")
    flag_list = rest.pop(0) if rest and isinstance(rest[0], list) else []
    when = session.clock()
    if rest:
        when = _date_time(_text(rest.pop(0), "a date-time"), session.store.epoch)
    if rest:
        raise ImapSyntaxError("usage: APPEND mailbox [(flags)] [date-time] message-literal")
    store, user = session.store, session.user or ""
    try:
        box = store.mailbox(user, name)
    except MailboxNotFound:
        return b"", "NO [TRYCREATE] no such mailbox"
    flags = _flag_list(flag_list, box)
    quota = store.quota_of(user)
    if quota is not None and store.usage(user) + len(message) > quota:
        return b"", "NO [OVERQUOTA] quota exceeded"
    entry = box.append(message, when, flags)
    return b"", f"OK [APPENDUID {box.uidvalidity} {entry.uid}] APPEND completed"


def copy(session: ImapServerSession, tag: str, args: list[Token], *, by_uid: bool, move: bool) -> tuple[bytes, str]:
    """COPY / UID COPY (RFC 3501 §6.4.7) and MOVE / UID MOVE (RFC 6851), with ``COPYUID`` (RFC 4315)."""
    name = ("UID " if by_uid else "") + ("MOVE" if move else "COPY")
    if len(args) != 2:
        raise ImapSyntaxError(f"usage: {name} sequence-set mailbox")
    if move and session.readonly:
        return b"", "NO [READ-ONLY] mailbox was opened with EXAMINE"
    targets = messages_in(session, args[0], by_uid)
    try:
        dest: Mailbox = session.store.mailbox(session.user or "", _text(args[1], "a mailbox name"))
    except MailboxNotFound:
        return b"", "NO [TRYCREATE] no such mailbox"
    assert session.mailbox is not None
    if not targets:
        return b"", f"OK {name} completed (nothing matched)"
    made = [dest.append(entry.raw, entry.internal_s, entry.flags - {"\\Recent"}) for _n, entry in targets]
    code = f"COPYUID {dest.uidvalidity} {_uid_set([e.uid for _n, e in targets])} {_uid_set([e.uid for e in made])}"
    if not move:
        return b"", f"OK [{code}] {name} completed"
    session.mailbox.remove([e.uid for _n, e in targets])
    return f"* OK [{code}] Moved\r\n".encode() + session.sync(expunge=True), f"OK {name} completed"


def _uid_set(uids: list[int]) -> str:
    """UIDs as an RFC 3501 sequence set with ranges (``4:6,9``), in the order given."""
    out: list[str] = []
    start = prev = uids[0]
    for uid in [*uids[1:], None]:
        if uid is not None and uid == prev + 1:
            prev = uid
            continue
        out.append(str(start) if start == prev else f"{start}:{prev}")
        if uid is not None:
            start = prev = uid
    return ",".join(out)
