"""Fakes for the extension points, for your own tests and notebooks as for netlab's.

Mail (:mod:`netlab.testing.mail`): :class:`RecordingPolicy` (an SMTP server policy that records what it took) and
:class:`FakeDeliverer` (a queue manager's delivery agent that answers as told).
"""

from __future__ import annotations

from netlab.testing.mail import FakeDeliverer, RecordingPolicy

__all__ = ["FakeDeliverer", "RecordingPolicy"]
