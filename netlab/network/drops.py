"""Why a packet was dropped: the ``reason`` of every drop record, drop counter and ``on_drop`` call.

The members are strings (a :class:`~enum.StrEnum`), so tables, CSV files and comparisons with the plain names
(``res.drops.reason == "loss"``) read as before.

>>> DropReason.QUEUE_FULL == "queue_full", [str(r) for r in DROP_REASONS][:2]
(True, ['queue_full', 'loss'])
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["DROP_REASONS", "DropReason"]


class DropReason(StrEnum):
    """Why a packet was dropped (see the network semantics in ``netlab.network.link`` and ``node``)."""

    #: Tail drop: the link's queue (packets or bytes, the packet in service counted) had no room.
    QUEUE_FULL = "queue_full"
    #: The link's random loss, drawn after serialisation (the link time is spent).
    LOSS = "loss"
    #: Queued or on the wire of a link that went down, or handed to a down link.
    LINK_DOWN = "link_down"
    #: Injected at, reaching, or waiting in the forwarding delay of a node that is down.
    NODE_DOWN = "node_down"
    #: The packet crossed as many links as its TTL allows (a routing loop cannot hang a run).
    TTL_EXCEEDED = "ttl_exceeded"
    #: The routing strategy had no next link for it.
    NO_ROUTE = "no_route"


#: Every reason, in the order of the per-reason columns of the results tables.
DROP_REASONS: tuple[DropReason, ...] = tuple(DropReason)
