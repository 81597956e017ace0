"""Per-destination delivery concurrency after Postfix's scheduler (``SCHEDULER_README``, Postfix >= 2.5).

A destination (next-hop domain or smarthost) starts with a window of ``initial_destination_concurrency`` (5)
parallel deliveries. Each delivery that got past the connection and the greeting, whatever the server then
answered, is positive feedback: the window grows by one, up to ``destination_concurrency_limit`` (20), and only
while it is within *initial* of the deliveries actually running (so an idle destination does not build up a
window it never uses). With the window doubling per pseudo-cohort (as many deliveries as the window), this is a
slow start: 5, 10, 20. A connection or handshake failure shrinks the window by one (not below 1) and adds
``1/window`` pseudo-cohorts to a failure count that any success clears; when the count reaches
``destination_concurrency_failed_cohort_limit`` (1) the destination is *dead*: its mail is deferred at once,
without a connection attempt, until a retry timer or a success from a delivery still running revives it.
Feedback is fixed at 1 with a hysteresis of 1 (Postfix's defaults).

>>> w = DestinationWindow(limit=20, initial=5, failed_cohort_limit=1.0)
>>> for _ in range(10):
...     w.success(busy=w.window)
>>> w.window
15
>>> [w.failure() for _ in range(10)].index(True) + 1  # 1/15 + 1/14 + ... + 1/6 >= 1 pseudo-cohort
10
>>> w.revive(busy=0); w.window, w.dead
(5, False)
>>> [w.failure() for _ in range(4)]  # from the initial window: 1/5 + 1/4 + 1/3 + 1/2
[False, False, False, True]
"""

from __future__ import annotations

__all__ = ["DestinationWindow"]


class DestinationWindow:
    """The concurrency window of one destination (see the module docstring).

    Parameters
    ----------
    limit : int
        Most parallel deliveries (``destination_concurrency_limit``).
    initial : int
        Window of a new or revived destination (``initial_destination_concurrency``), at most *limit*.
    failed_cohort_limit : float
        Pseudo-cohorts of consecutive failures that make the destination dead; 0 never declares it dead.
    """

    __slots__ = ("dead", "deaths", "fail_cohorts", "failed_cohort_limit", "initial", "limit", "window")

    def __init__(self, limit: int, initial: int, failed_cohort_limit: float) -> None:
        self.limit = limit
        self.initial = min(initial, limit)
        self.failed_cohort_limit = failed_cohort_limit
        self.window = self.initial
        self.fail_cohorts = 0.0
        self.dead = False
        self.deaths = 0  # how many times it died: a revival timer set for an earlier death does nothing

    def __repr__(self) -> str:
        state = "dead" if self.dead else f"window={self.window}"
        return f"DestinationWindow({state}, limit={self.limit}, fail_cohorts={self.fail_cohorts:.2f})"

    def success(self, busy: int) -> None:
        """A delivery got past connection and greeting while *busy* others were running: grow the window.

        A success reported by a delivery that was running when the destination died revives it.
        """
        if self.dead:
            self.revive(busy)
            return
        self.fail_cohorts = 0.0
        if self.window < self.limit and self.window < busy + self.initial:
            self.window += 1

    def failure(self) -> bool:
        """A connection or handshake failure: shrink the window; True when this failure made it dead."""
        if self.dead:
            return False  # more news from deliveries that started before it died
        self.fail_cohorts += 1.0 / self.window
        if self.failed_cohort_limit > 0 and self.fail_cohorts >= self.failed_cohort_limit:
            self.dead = True
            self.deaths += 1
            return True
        self.window = max(1, self.window - 1)
        return False

    def revive(self, busy: int) -> None:
        """Give a dead destination another chance: as many deliveries as are still running, else *initial*."""
        self.dead = False
        self.fail_cohorts = 0.0
        self.window = min(busy, self.limit) if busy > 0 else self.initial
