"""Mail traffic: scripted submissions and a random workload of users writing to each other.

Each sending user submits as a Poisson process of mean interval ``mean_interval`` (all users together are one
Poisson process whose events go to a uniformly chosen user: the same law, one SimPy timer). A message has one
recipient plus a geometric number of extra ones, a lognormal text body, with some probability a lognormal binary
attachment (base64 in a ``multipart/mixed``), and with probability ``spam_fraction`` spam content (GTUBE). A share
of messages leaves ``Date`` and ``Message-ID`` to the MSA. With ``forged_fraction``, ``listed_fraction`` or
``unsigned_fraction`` a share of messages leaves another way than the sender's MSA (:class:`MailMix`): a bot forging
the sender, a bot on a blocklisted client, or the sender's own program straight to the recipients' MX, unsigned.
Every draw comes from ``mail/workload/...`` streams, so the traffic does not depend on routing.
"""

from __future__ import annotations

import math
import random
import warnings
from collections.abc import Callable, Generator
from enum import StrEnum
from functools import partial
from typing import TYPE_CHECKING, Any

import simpy

from netlab.errors import NetlabWarning
from netlab.mail.content.message import build_message, make_message_id, mua_header_bytes, sim_datetime, to_bytes
from netlab.mail.content.spam import GTUBE

if TYPE_CHECKING:
    from datetime import datetime

    from netlab.mail.clients.mua import Mua
    from netlab.mail.config.section import MailSpec
    from netlab.mail.config.users import MailWorkloadSpec, ScriptedMessage
    from netlab.mail.context import MailContext

__all__ = ["MailMix", "MailWorkload", "compose", "lognormal_size"]


class MailMix(StrEnum):
    """What the random workload made a message (``Results.messages.mix``): the way it left, or for mail through
    the MSA, its content. Spam content is drawn for every message alike, so bot and unsigned mail may carry it too
    (``spam_score`` shows it); their class names the way."""

    GENUINE = "genuine"  # a user's mail program through its MSA (AUTH on 587), ham
    SPAM = "spam"  # the same way, with spam content (GTUBE): a user's account sending spam
    FORGED = "forged"  # the forger's bot, in the sender's name, straight to the MX
    LISTED = "listed"  # a bot on a blocklisted client, in the sender's name, straight to the MX
    UNSIGNED = "unsigned"  # the sender's own mail program straight to the MX: past the MSA and any DKIM signer


# fmt: off
_WORDS = ["the", "network", "lab", "follows", "each", "message", "from", "the", "sender", "through", "submission",
          "checks", "dns", "relays", "and", "the", "recipient", "exchanger", "packets", "routes", "queue", "retry",
          "delivery", "report", "meeting", "notes", "budget", "draft", "review", "schedule", "project", "update",
          "figures", "attached", "please", "find", "below", "thanks", "regards"]
# fmt: on
_TEXT = " ".join(_WORDS[(i * 7 + i // 3) % len(_WORDS)] for i in range(4000))


def lognormal_size(rng: random.Random, median: float, sigma: float, cap: int) -> int:
    """A lognormal size in bytes with *median* and *sigma*, at least 1 and at most *cap*."""
    return max(1, min(cap, int(rng.lognormvariate(math.log(max(median, 1.0)), sigma))))


def _body(rng: random.Random, size: int) -> str:
    """*size* characters of text in lines of about 72, cut from a fixed corpus at a random place."""
    start = rng.randrange(len(_TEXT) // 2)
    text = (_TEXT[start:] + " " + _TEXT) * (1 + size // len(_TEXT))
    text = text[:size]
    return "\n".join(text[i : i + 72] for i in range(0, len(text), 72)) + "\n"


# What :mod:`email`'s ``set_content`` writes for a text body it sends as 7bit (ASCII, no line over the policy's
# 78 characters), after the caller's header fields, in this order.
_PLAIN_7BIT_HEAD = (
    b'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: 7bit\r\nMIME-Version: 1.0\r\n\r\n'
)


def _plain_7bit(body: str) -> bytes | None:
    """The content fields, blank line and CRLF body that :mod:`email` writes for *body* when it would choose 7bit
    (``contentmanager._encode_text``: every line at most 78 characters and all ASCII), else None.

    A workload body is a fresh random cut of text for every message, so nothing is cached: the saving is the
    ``email`` machinery (header objects, generator, line-by-line writing) that yields these same bytes."""
    if not body.isascii():
        return None
    lines = body.encode("ascii").splitlines()
    if max((len(x) for x in lines), default=0) > 78:
        return None
    return _PLAIN_7BIT_HEAD + b"\r\n".join(lines) + b"\r\n"


def compose(*, sender: str, to: list[str], subject: str, body: str, attachment: bytes = b"",
            when: datetime | None = None, message_id: str | None = None) -> bytes:  # fmt: skip
    """A message as a mail program writes it (RFC 5322 via :mod:`email`), CRLF bytes."""
    if not attachment:
        fast = _plain_7bit(body)
        if fast is not None:
            return mua_header_bytes(sender=sender, to=to, subject=subject, date=when, message_id=message_id) + fast
    atts = [("attachment.bin", attachment, "application", "octet-stream")] if attachment else []
    msg = build_message(sender=sender, to=to, subject=subject, body=body, attachments=atts, date=when,
                        message_id=message_id)  # fmt: skip
    return to_bytes(msg)


class MailWorkload:
    """Submits the scenario's scripted messages (``mail.send``) and random traffic (``mail.workload``) of *spec*
    through the users' mail programs, ``mua(client host)``; it holds the run until it has submitted everything."""

    def __init__(self, ctx: MailContext, spec: MailSpec, mua: Callable[[str], Mua]) -> None:
        self.ctx = ctx
        self.env = ctx.env
        self.spec = spec
        self.mua = mua
        self.count = 0
        self.after_until = 0  # scripted messages at or after run.until, never submitted

    def __repr__(self) -> str:
        return f"<MailWorkload {self.count} submitted>"

    def start(self, *, until_s: float | None = None) -> None:
        """Schedule the scripted messages and start the random traffic.

        A scripted message at or after *until_s* (``run.until``: the run covers [0, until)) is not submitted; it is
        counted (``after_until``, the summary's ``scripted_after_until``) and a :class:`~netlab.NetlabWarning`
        says so, naming the first one -- a trace cut short on purpose still runs, and nothing vanishes unsaid.
        """
        spec = self.spec
        late = [i for i, m in enumerate(spec.send) if until_s is not None and m.at_s >= until_s]
        self.after_until = len(late)
        if late:
            first = spec.send[late[0]]
            warnings.warn(
                f"mail.send: {len(late)} of {len(spec.send)} scripted messages are at or after run.until = "
                f"{until_s:g} s and will not be submitted (first: mail.send[{late[0]}] at {first.at_s:g} s from "
                f"{first.sender}); set run.until later or leave it out to send them",
                NetlabWarning,
                stacklevel=2,
            )
        skip = set(late)
        for i, m in enumerate(spec.send):
            if i in skip:
                continue
            self.ctx.hold()
            self.env.timeout(m.at_s).callbacks.append(partial(self._scripted, m, i))
        if spec.workload is not None and (spec.workload.count is None or spec.workload.count > 0):
            self.ctx.hold()  # released when the workload has nothing more to submit
            self.env.process(self._random(spec.workload))

    def _scripted(self, m: ScriptedMessage, i: int, _event: simpy.Event) -> None:
        ctx, spec = self.ctx, self.spec
        user = spec.user(m.sender)
        assert user is not None and user.client is not None
        when = sim_datetime(ctx.epoch, self.env.now)
        mid = make_message_id(int(self.env.now * 1e6), 9000 + i, f"{user.client}.client") if m.headers else None
        att = ctx.stream("send", i).randbytes(m.attachment_bytes) if m.attachment_bytes else b""
        body = m.body if m.body_bytes is None else _body(ctx.stream("send", i, "body"), m.body_bytes)
        raw = compose(sender=m.sender, to=list(m.to), subject=m.subject, body=body, attachment=att,
                      when=when if m.headers else None, message_id=mid)  # fmt: skip
        password = user.password if m.password is None else m.password
        auth = None if password == "none" else (m.sender, password)
        self.mua(user.client).submit(m.sender, list(m.to), raw, auth=auth, msa=spec.msa_for(user), trace_row=i + 1)
        self.count += 1
        ctx.release()

    def _random(self, w: MailWorkloadSpec) -> Generator[simpy.Event, Any, None]:
        ctx, spec = self.ctx, self.spec
        senders = list(w.senders or spec.default_senders())
        rcpts = list(w.recipients) or [u.address for u in spec.users]
        arrivals = ctx.stream("workload", "arrivals")
        draw = ctx.stream("workload", "messages")
        rate = len(senders) / w.mean_interval_s
        t = w.start_s
        n = 0
        while True:
            t += arrivals.expovariate(rate)
            if (w.stop_s is not None and t >= w.stop_s) or (w.count is not None and n >= w.count):
                break
            if t > self.env.now:
                yield self.env.timeout(t - self.env.now)
            n += 1
            self._one(w, draw, senders, rcpts, n)
        ctx.release()

    def _one(self, w: MailWorkloadSpec, rng: random.Random, senders: list[str], rcpts: list[str], n: int) -> None:
        spec = self.spec
        sender = senders[rng.randrange(len(senders))]
        user = spec.user(sender)
        assert user is not None and user.client is not None
        k = 1
        p = 1.0 / (1.0 + w.extra_recipients_mean)  # geometric number of extras with that mean
        while k < min(w.max_recipients, len(rcpts)) and rng.random() > p:
            k += 1
        others = [r for r in rcpts if r != sender] or rcpts
        to = rng.sample(others, min(k, len(others)))
        body = _body(rng, lognormal_size(rng, w.body_median_bytes, w.body_sigma, w.max_size_bytes))
        spam = rng.random() < w.spam_fraction
        if spam:
            body = f"Congratulations, you are a WINNER!\n{GTUBE}\n" + body
        attachment = b""
        if rng.random() < w.attachment_probability:
            size = lognormal_size(rng, w.attachment_median_bytes, w.attachment_sigma, w.max_size_bytes)
            attachment = rng.randbytes(size)
        full = rng.random() >= w.missing_headers_fraction
        way = _way(w, rng)  # (compose draws nothing, so the streams are as when this came after it)
        now = self.env.now
        if way is MailMix.GENUINE:
            mix = MailMix.SPAM if spam else MailMix.GENUINE
            host, mid_host = user.client, f"{user.client}.client"
            auth: tuple[str, str] | None = (sender, user.password)
            msa = spec.msa_for(user)
        else:
            mix, auth, msa = way, None, None  # straight to the MX, no AUTH
            full = True  # no MSA on the way to add Date or Message-ID: the program writes whole messages
            if way is MailMix.FORGED:
                assert w.forger is not None  # MailWorkloadSpec checks it
                host, mid_host = w.forger, f"{w.forger}.bot"
            elif way is MailMix.LISTED:
                host = w.listed_clients[rng.randrange(len(w.listed_clients))]
                mid_host = f"{host}.bot"
            else:  # unsigned: the sender's own mail program, set up to deliver straight to the MX
                host, mid_host = user.client, f"{user.client}.client"
        when = sim_datetime(self.ctx.epoch, now) if full else None
        mid = make_message_id(int(now * 1e6), n, mid_host) if full else None
        raw = compose(sender=sender, to=to, subject=f"Message {n}", body=body, attachment=attachment, when=when,
                      message_id=mid)  # fmt: skip
        self.mua(host).submit(sender, to, raw, auth=auth, msa=msa, mix=mix.value)
        self.count += 1


def _way(w: MailWorkloadSpec, rng: random.Random) -> MailMix:
    """How a workload message leaves: through the sender's MSA (``GENUINE``) or, with the shares of *w*, from the
    forger, a blocklisted bot or the sender's program straight to the MX. One uniform draw cut into the shares in
    that order, made only when a share is set: a workload without them keeps its streams (and results) as they
    were, and one with forgeries only draws as it always did."""
    if w.forged_fraction <= 0 and w.listed_fraction <= 0 and w.unsigned_fraction <= 0:
        return MailMix.GENUINE
    u = rng.random()
    edge = 0.0
    for way, share in ((MailMix.FORGED, w.forged_fraction), (MailMix.LISTED, w.listed_fraction),
                       (MailMix.UNSIGNED, w.unsigned_fraction)):  # fmt: skip
        edge += share
        if u < edge:
            return way
    return MailMix.GENUINE
