"""Fakes for testing what you build on netlab: routing strategies, links, mail policies and applications.

Everything here is also what netlab's own tests use. Network side (:mod:`netlab.testing.network`): tiny
topologies, a network without a scenario, packets by hand, a dry walk of a packet's path, a recording packet
owner, a tap on every link, scripted (deterministic) loss and a leaking link for the conservation check.
Transport side (:mod:`netlab.testing.stream`): a connected pair of in-memory byte streams, each a
:class:`~netlab.transport.Stream`, to drive a protocol session without a network. Mail side
(:mod:`netlab.testing.mail`): :class:`RecordingPolicy` (an SMTP server policy that records what it took) and
:class:`FakeDeliverer` (a queue manager's delivery agent that answers as told).

>>> import netlab.testing as t
>>> net = t.make_network(t.line3())
>>> t.path_of(net, t.packet(net, "a", "b"))
['a', 'r', 'b']
"""

from __future__ import annotations

from netlab.testing.mail import FakeDeliverer, RecordingPolicy
from netlab.testing.network import (
    LeakyLink,
    LinkTuple,
    RecordingSink,
    ScriptedLoss,
    Tap,
    TapRecord,
    bottleneck,
    diamond,
    line3,
    load,
    make_network,
    packet,
    parallel_paths,
    path_of,
    tiny_topology,
    triangle,
    two_hosts,
)
from netlab.testing.stream import FakeStream, stream_pair

__all__ = [
    "FakeDeliverer",
    "FakeStream",
    "LeakyLink",
    "LinkTuple",
    "RecordingPolicy",
    "RecordingSink",
    "ScriptedLoss",
    "Tap",
    "TapRecord",
    "bottleneck",
    "diamond",
    "line3",
    "load",
    "make_network",
    "packet",
    "parallel_paths",
    "path_of",
    "stream_pair",
    "tiny_topology",
    "triangle",
    "two_hosts",
]
