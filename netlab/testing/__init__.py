"""Fakes for the extension points, for your own tests and notebooks as for netlab's.

Mail (:mod:`netlab.testing.mail`): :class:`RecordingPolicy` (an SMTP server policy that records what it took),
:class:`FakeDeliverer` (a queue manager's delivery agent that answers as told) and :func:`pipe` (two connected
in-memory :class:`MemoryStream` ends, each a :class:`netlab.transport.Stream`).
"""

from __future__ import annotations

from netlab.testing.mail import FakeDeliverer, MemoryStream, RecordingPolicy, pipe

__all__ = ["FakeDeliverer", "MemoryStream", "RecordingPolicy", "pipe"]
