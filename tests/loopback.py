"""A threaded line server on 127.0.0.1 for the sans-IO POP3 and IMAP sessions, so tests can drive them with
Python's real poplib and imaplib. Loopback only, bounded in time, always closed."""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

TIMEOUT_S = 5.0


@contextlib.contextmanager
def loopback(make_session: Callable[[], Any]) -> Iterator[tuple[int, queue.Queue[Any], Callable[[], None]]]:
    """A threaded TCP server on 127.0.0.1 feeding lines (and IMAP literals) to a fresh session per connection.

    Yields the port, a queue of ended sessions, and ``push()``: what the network wiring's delivery listener
    does, writing every IMAP session's ``notify_new()`` bytes to its connection (POP3 sessions have none).
    """
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.05)
    stop, ended = threading.Event(), queue.Queue[Any]()
    lock = threading.Lock()
    live: list[tuple[Any, socket.socket]] = []

    def handle(conn: socket.socket) -> None:
        session = make_session()
        with conn, conn.makefile("rb") as reader:
            conn.settimeout(TIMEOUT_S)
            with lock:
                live.append((session, conn))
                conn.sendall(session.greeting())
            while not session.closed:
                line = reader.readline(65536)
                with lock:  # the store is shared by every connection
                    if not line:
                        session.connection_lost()
                        break
                    out = session.feed_line(line)
                    while getattr(session, "literal_needed", 0):
                        conn.sendall(out)  # a synchronising literal's "+" goes out before the client sends it
                        out = session.feed_literal(reader.read(session.literal_needed))
                    conn.sendall(out)
        with lock:
            live.remove((session, conn))
        ended.put(session)

    def push() -> None:
        with lock:
            for session, conn in live:
                if not session.closed and hasattr(session, "notify_new"):
                    conn.sendall(session.notify_new())

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], ended, push
    finally:
        stop.set()
        thread.join(TIMEOUT_S)
        server.close()
