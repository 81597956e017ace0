"""Background packet flows as frozen values: who sends, when (arrival laws) and how much (size laws).

Every draw comes from the flow's own named streams (``flow/<name>/arrivals`` and ``flow/<name>/sizes``), so a
flow's packets are the same whatever routing strategy the run uses.

A law is anything with the few members of :class:`ArrivalLaw` or :class:`SizeLaw`; the built-in ones are small
frozen dataclasses, and one of your own is too (a scenario file names it ``module:Class(key=value)``)::

    @dataclass(frozen=True)
    class Bursts:                              # `count` packets back to back, every `every_s` seconds
        count: int = 10
        every_s: float = 1.0
        @property
        def mean_rate_pps(self): return self.count / self.every_s
        def times(self, start_s, rng):
            for k in itertools.count():
                for _ in range(self.count):
                    yield start_s + k * self.every_s, None

>>> FlowSpec("f1", "a", "b", arrivals=Poisson(rate_pps=100.0), size=FixedSize(1000))  # doctest: +ELLIPSIS
FlowSpec(name='f1', src='a', dst='b', arrivals=Poisson(rate_pps=100.0), size=FixedSize(bytes=1000), ...)
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, Self, runtime_checkable

from netlab.errors import ConfigError
from netlab.options import key_aliases, option

if TYPE_CHECKING:
    import random

__all__ = [
    "ArrivalLaw",
    "Constant",
    "EmpiricalSize",
    "ExponentialSize",
    "FixedSize",
    "FlowSpec",
    "OnOff",
    "Poisson",
    "Scalable",
    "SizeLaw",
    "Trace",
]

#: One packet's send time (seconds, absolute) and its size in bytes (None: drawn from the flow's size law).
Send = tuple[float, int | None]


@runtime_checkable
class ArrivalLaw(Protocol):
    """When a flow sends: absolute send times from the flow's start, drawn from *rng* (its own stream)."""

    #: Long-run packets per second (the offered load of :func:`netlab.experiment.sweep.offered_load_bps`);
    #: ``nan`` when the law cannot say.
    @property
    def mean_rate_pps(self) -> float: ...

    def times(self, start_s: float, rng: random.Random) -> Iterator[Send]:
        """Send times in non-decreasing order, each with a size in bytes or None; may never end."""
        ...


@runtime_checkable
class SizeLaw(Protocol):
    """How long a flow's packets are, in bytes on the wire."""

    #: Mean packet size in bytes (for offered load).
    @property
    def mean_bytes(self) -> float: ...

    def sampler(self, rng: random.Random) -> Callable[[], int]:
        """A function drawing one size (whole bytes, >= 1) from *rng* per call."""
        ...


@runtime_checkable
class Scalable(Protocol):
    """An arrival law that can send *factor* times as many packets per second (:func:`netlab.scale_load`)."""

    def scaled(self, factor: float) -> Self:
        """The same law at *factor* times the rate."""
        ...


def _positive(owner: str, name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0 or math.isinf(value):
        raise ConfigError(f"{owner}: {name} must be a positive finite number, got {value!r}")


@key_aliases
@dataclass(frozen=True, slots=True)
class Poisson:
    """Poisson arrivals: exponential inter-arrival times with mean ``1/rate_pps`` seconds."""

    rate_pps: float = option(doc="mean packets per second", key="rate")

    def __post_init__(self) -> None:
        _positive("poisson", "rate", self.rate_pps)

    @property
    def mean_rate_pps(self) -> float:
        return self.rate_pps

    def times(self, start_s: float, rng: random.Random) -> Iterator[Send]:
        expo, lam = rng.expovariate, self.rate_pps
        t: float = start_s
        while True:
            t = t + expo(lam)  # absolute, as a process yielding timeouts would compute them
            yield t, None

    def scaled(self, factor: float) -> Self:
        return dataclasses.replace(self, rate_pps=self.rate_pps * factor)


@key_aliases
@dataclass(frozen=True, slots=True)
class Constant:
    """Constant bit rate: one packet every ``1/rate_pps`` seconds, the first at the flow's start."""

    rate_pps: float = option(doc="packets per second", key="rate")

    def __post_init__(self) -> None:
        _positive("constant", "rate", self.rate_pps)

    @property
    def mean_rate_pps(self) -> float:
        return self.rate_pps

    def times(self, start_s: float, rng: random.Random) -> Iterator[Send]:
        for k in itertools.count():
            yield start_s + k / self.rate_pps, None  # start + k/rate: no drift

    def scaled(self, factor: float) -> Self:
        return dataclasses.replace(self, rate_pps=self.rate_pps * factor)


@key_aliases
@dataclass(frozen=True, slots=True)
class OnOff:
    """On-off source: constant rate ``rate_pps`` while on; on and off periods exponential (or fixed) in length."""

    rate_pps: float = option(doc="packets per second while on", key="rate")
    on_s: float = option(1.0, key="on", unit="time", doc="mean length of an on period")
    off_s: float = option(1.0, key="off", unit="time", doc="mean length of an off period")
    exponential: bool = option(True, doc="false: periods of fixed length")

    def __post_init__(self) -> None:
        _positive("on_off", "rate", self.rate_pps)
        _positive("on_off", "on", self.on_s)
        _positive("on_off", "off", self.off_s)

    @property
    def mean_rate_pps(self) -> float:
        return self.rate_pps * self.on_s / (self.on_s + self.off_s)  # at its duty cycle

    def times(self, start_s: float, rng: random.Random) -> Iterator[Send]:
        t = float(start_s)
        while True:
            on = rng.expovariate(1.0 / self.on_s) if self.exponential else self.on_s
            end = t + on
            for k in itertools.count():
                tk = t + k / self.rate_pps
                if tk >= end:
                    break
                yield tk, None
            t = end + (rng.expovariate(1.0 / self.off_s) if self.exponential else self.off_s)

    def scaled(self, factor: float) -> Self:
        return dataclasses.replace(self, rate_pps=self.rate_pps * factor)


@key_aliases
@dataclass(frozen=True, slots=True)
class Trace:
    """Trace replay: packets at the given absolute times (seconds), optionally with their sizes (bytes)."""

    times_s: tuple[float, ...] = option(key="times", doc="absolute send times in seconds, non-decreasing")
    sizes_bytes: tuple[int, ...] | None = option(None, key="sizes", doc="sizes in bytes, one per time")

    def __post_init__(self) -> None:
        object.__setattr__(self, "times_s", tuple(float(t) for t in self.times_s))
        if self.sizes_bytes is not None:
            object.__setattr__(self, "sizes_bytes", tuple(int(s) for s in self.sizes_bytes))
            if len(self.sizes_bytes) != len(self.times_s):
                raise ConfigError(
                    f"trace: {len(self.times_s)} times but {len(self.sizes_bytes)} sizes (expected one size per time)"
                )
            if any(s < 1 for s in self.sizes_bytes):
                raise ConfigError("trace: sizes must be >= 1 byte")
        prev = -math.inf
        for i, t in enumerate(self.times_s):
            if not (t >= prev and t >= 0 and math.isfinite(t)):
                raise ConfigError(f"trace: times[{i}] = {t!r} (expected finite, >= 0 and non-decreasing)")
            prev = t

    def __repr__(self) -> str:  # a trace may hold 100,000 times: keep reprs readable
        sizes = "None" if self.sizes_bytes is None else f"<{len(self.sizes_bytes)} sizes>"
        return f"Trace(times_s=<{len(self.times_s)} times>, sizes_bytes={sizes})"

    @property
    def mean_rate_pps(self) -> float:
        span = (self.times_s[-1] - self.times_s[0]) if len(self.times_s) > 1 else 0.0
        return (len(self.times_s) - 1) / span if span > 0 else math.nan

    def times(self, start_s: float, rng: random.Random) -> Iterator[Send]:
        sizes = self.sizes_bytes if self.sizes_bytes is not None else itertools.repeat(None)
        for t, s in zip(self.times_s, sizes, strict=False):
            if t >= start_s:
                yield t, s

    def scaled(self, factor: float) -> Self:
        return dataclasses.replace(self, times_s=tuple(t / factor for t in self.times_s))  # plays factor x faster


@dataclass(frozen=True, slots=True)
class FixedSize:
    """Every packet ``bytes`` long (on the wire)."""

    bytes: int = option(1000, unit="size", doc="packet size")

    def __post_init__(self) -> None:
        if isinstance(self.bytes, bool) or not isinstance(self.bytes, int) or self.bytes < 1:
            raise ConfigError(f"fixed size: expected a whole number of bytes >= 1, got {self.bytes!r}")

    @property
    def mean_bytes(self) -> float:
        return float(self.bytes)

    def sampler(self, rng: random.Random) -> Callable[[], int]:
        n = self.bytes
        return lambda: n


@key_aliases
@dataclass(frozen=True, slots=True)
class ExponentialSize:
    """Exponentially distributed sizes with mean ``mean_bytes``, rounded to whole bytes, at least 1."""

    mean_bytes: float = option(1000.0, key="mean", unit="size", doc="mean packet size")

    def __post_init__(self) -> None:
        _positive("exponential size", "mean", self.mean_bytes)

    def sampler(self, rng: random.Random) -> Callable[[], int]:
        expo, rate = rng.expovariate, 1.0 / self.mean_bytes
        return lambda: max(1, round(expo(rate)))


@key_aliases
@dataclass(frozen=True, slots=True)
class EmpiricalSize:
    """Sizes drawn from ``values_bytes`` with relative ``weights`` (e.g. the IMIX 40/576/1500 mix)."""

    values_bytes: tuple[int, ...] = option(key="values", doc="the possible sizes in bytes")
    weights: tuple[float, ...] | None = option(None, doc="relative weights (default: equal)")

    def __post_init__(self) -> None:
        object.__setattr__(self, "values_bytes", tuple(int(v) for v in self.values_bytes))
        if not self.values_bytes or any(v < 1 for v in self.values_bytes):
            raise ConfigError("empirical size: expected a non-empty list of sizes >= 1 byte")
        if self.weights is not None:
            object.__setattr__(self, "weights", tuple(float(w) for w in self.weights))
            if (
                len(self.weights) != len(self.values_bytes)
                or not all(0 <= w < math.inf for w in self.weights)
                or not sum(self.weights) > 0
            ):
                raise ConfigError(
                    f"empirical size: expected one finite, non-negative weight per value, not all zero; got "
                    f"{list(self.weights)!r:.80}"
                )

    @property
    def mean_bytes(self) -> float:
        w = self.weights or (1.0,) * len(self.values_bytes)
        return sum(v * x for v, x in zip(self.values_bytes, w, strict=True)) / sum(w)

    def sampler(self, rng: random.Random) -> Callable[[], int]:
        values = self.values_bytes
        weights = self.weights or (1.0,) * len(values)
        cum = list(itertools.accumulate(weights))
        total, rand = cum[-1], rng.random
        return lambda: values[bisect.bisect_right(cum, rand() * total)]


@key_aliases
@dataclass(frozen=True, slots=True)
class FlowSpec:
    """A background packet flow from host *src* to host *dst*.

    Packets are sent from ``start_s`` until ``stop_s`` or until ``count`` packets, whichever comes first.
    ``path`` pins an explicit node path (used by :class:`netlab.ExplicitPaths`).
    """

    name: str = option(doc="unique flow name")
    src: str = option(doc="sending node")
    dst: str = option(doc="receiving node")
    arrivals: ArrivalLaw = option(
        default_factory=lambda: Poisson(100.0), doc="arrival process (poisson, constant, on_off, trace)"
    )
    size: SizeLaw = option(default_factory=FixedSize, doc="packet size law (fixed, exponential, empirical)")
    start_s: float = option(0.0, key="start", unit="time", doc="first possible send time")
    stop_s: float = option(math.inf, key="stop", unit="time", doc="no packet is sent at or after this time")
    count: int | None = option(None, doc="send at most this many packets")
    path: tuple[str, ...] | None = option(None, doc="explicit node path src..dst for the explicit-path strategy")
    ttl: int = option(64, doc="initial TTL (hops a packet may take)")

    def __post_init__(self) -> None:
        if self.path is not None:
            object.__setattr__(self, "path", tuple(self.path))
        if self.src == self.dst:
            raise ConfigError(f"flow {self.name!r}: src and dst are both {self.src!r}")
        if self.count is not None and (
            isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 0
        ):
            raise ConfigError(f"flow {self.name!r}: count must be a whole number >= 0, got {self.count!r}")
        if not (isinstance(self.ttl, int) and 1 <= self.ttl <= 255):
            raise ConfigError(f"flow {self.name!r}: ttl must be a whole number in 1..255, got {self.ttl!r}")
        if self.stop_s < self.start_s:
            raise ConfigError(f"flow {self.name!r}: stop {self.stop_s} s is before start {self.start_s} s")

    @property
    def finite(self) -> bool:
        """True when the flow ends by itself (a stop time, a count, or a trace)."""
        return math.isfinite(self.stop_s) or self.count is not None or isinstance(self.arrivals, Trace)
