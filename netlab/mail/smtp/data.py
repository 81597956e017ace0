"""How an SMTP server session reads its connection, and the DATA phase (a mixin of
:class:`~netlab.mail.smtp.server.SmtpServerSession`): :meth:`~DataPhase.feed` cuts the received bytes into lines for
the session, except inside DATA, where a message whose lines all end in CRLF is taken as one block up to the lone
dot (C-speed search and unstuffing) and any other goes line by line; either way it is counted against the size
limit as SIZE counts it (RFC 1870). This is the path every arriving segment takes.

Every method works on the session's state (``self``, see :mod:`~netlab.mail.smtp.state`); the session's
``feed_line`` handles a line, and its ``_end_of_data`` hands the complete message to the policy.
"""

from __future__ import annotations

from netlab.mail.smtp.reply import Replies, Reply
from netlab.mail.smtp.state import LINE_LIMIT, ServerState, SessionState

__all__ = ["DataPhase"]


class DataPhase(ServerState):
    """Received bytes into lines, and the DATA command and message; see the module docstring."""

    __slots__ = ()

    def feed(self, data: bytes) -> list[Reply]:
        """Consume bytes from the connection (any split); return the replies for the complete lines.

        Inside DATA a message whose lines all end in CRLF is taken as one block up to ``CRLF.CRLF`` (C-speed
        search and unstuffing); anything else (bare LF line ends) goes line by line, with the same result.
        """
        buf = self._buffer
        start = len(buf)
        buf += data
        if self.state is SessionState.DATA and not self._line_mode:
            bare = data.count(b"\n") - data.count(b"\r\n")
            if bare and data[:1] == b"\n" and start and buf[start - 1] == 13:
                bare -= 1  # a CRLF split between two segments
            self._line_mode = bare > 0
        out: list[Reply] = []
        pos = 0
        while True:
            if self.state is SessionState.DATA and not self._line_mode:
                end = self._data_block(buf, pos)
                if end < 0:
                    break
                pos = end
                out.append(self._end_of_data())
                continue
            end = buf.find(b"\n", pos)
            if end < 0:
                break
            line = bytes(buf[pos : end + 1])
            pos = end + 1
            out.extend(self.feed_line(line))
        del buf[:pos]
        self._scanned = max(0, self._scanned - pos)
        # Bound the memory a client can make us hold: a line longer than any legal one is cut here and its
        # end rejected when it arrives.
        if self.state is not SessionState.DATA and len(buf) > 4 * LINE_LIMIT:
            del buf[2 * LINE_LIMIT :]
        return out

    def _data_block(self, buf: bytearray, pos: int) -> int:
        """Take a whole CRLF message from *buf* at *pos*; return the position after ``.CRLF``, or -1 if the
        terminator has not arrived yet."""
        if buf.startswith(b".\r\n", pos):
            return pos + 3  # an empty message
        # Search only what is new since the last look (a terminator may straddle the old end: back up 4 bytes),
        # so a message arriving in many segments is scanned once, not once per segment.
        i = buf.find(b"\r\n.\r\n", max(pos, self._scanned - 4))
        if i < 0:
            self._scanned = len(buf)
            if self.size_limit and len(buf) - pos > self.size_limit + 2 * LINE_LIMIT:
                self._line_mode = True  # over the limit anyway: count it line by line instead of holding it
            return -1
        block = bytes(buf[pos : i + 2])
        # SIZE counts CRLFs and excludes dot-stuffing (RFC 1870): one stuffed dot per line that starts with one.
        stuffed = block.count(b"\r\n.") + (1 if block.startswith(b".") else 0)
        self._data_size += len(block) - stuffed
        if not self.size_limit or self._data_size <= self.size_limit:
            if stuffed:
                block = (block[1:] if block.startswith(b".") else block).replace(b"\r\n.", b"\r\n")
            self._data.append(block)
        return i + 5

    def _data_cmd(self, arg: str) -> Reply:
        if arg:
            return Reply(501, "Syntax: DATA", "5.5.4")
        if self.state is SessionState.CONNECTED:
            return Replies.NEED_HELO
        if self.state is not SessionState.RCPT:
            if self.state is SessionState.MAIL and self._rcpt_attempts:
                return Replies.NO_VALID_RECIPIENTS
            return Replies.NEED_RCPT
        self.state = SessionState.DATA
        return Replies.START_DATA

    def _data_line(self, line: bytes) -> list[Reply]:
        if line.rstrip(b"\r\n") == b".":
            return [self._end_of_data()]
        line = line.removesuffix(b"\n").removesuffix(b"\r") + b"\r\n"
        # SIZE counts CRLFs and excludes dot-stuffing (RFC 1870); past the limit the bytes are counted, not kept.
        stuffed = line.startswith(b".")
        self._data_size += len(line) - stuffed
        if not self.size_limit or self._data_size <= self.size_limit:
            self._data.append(line[1:] if stuffed else line)
        return []
