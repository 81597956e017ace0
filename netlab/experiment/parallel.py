"""Where the independent runs of :func:`~netlab.experiment.compare.compare` and
:func:`~netlab.experiment.sweep.sweep` execute: in this process, on a pool of local processes, or on a Dask
cluster.

Every job is a picklable :class:`~netlab.experiment.compare.Job`; its result depends on the job alone (all
randomness comes from streams seeded by the job's root seed, never from a process-wide generator), so the
three executors return *identical* numbers, in the order of the jobs. They differ only in where the work runs:

========================  ===========================================================================
``workers=1``             :class:`Sequential`: one after the other, in this process
``workers=None`` or ``N``  :class:`LocalProcesses`: a ``ProcessPoolExecutor`` of N processes
                          (``None`` = ``os.cpu_count()``), started by ``forkserver`` where the platform
                          has it, else ``spawn``: never ``fork``, which copies this process's threads
                          and locks (a notebook kernel has several) into the child
``scheduler="tcp://..."`` :class:`Dask`: a ``dask.distributed.Client`` to that scheduler (closed afterwards;
                          the cluster itself is left running)
``client=Client(...)``    :class:`Dask` on a client you already have (left open)
========================  ===========================================================================

Local worker processes import the strategy's class by name, so a strategy defined in a notebook or in a
script's ``__main__`` cannot be found there; such jobs are shipped by value with ``cloudpickle`` when it is
installed (it comes with the ``dask`` extra), and otherwise run in this process. Dask always ships by value.
Workers of a Dask cluster need netlab installed (the same version: results are only identical for the same
code).

>>> executor_for(workers=1)
Sequential()
>>> executor_for(workers=4)
LocalProcesses(workers=4)
>>> [x * x for x in Sequential().run(abs, [-1, 2, -3])]
[1, 4, 9]
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import pickle
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Protocol, TypeVar

from netlab.errors import ConfigError

__all__ = ["Dask", "Executor", "LocalProcesses", "Sequential", "executor_for"]

log = logging.getLogger(__name__)

J = TypeVar("J")
R = TypeVar("R")
#: Called once per finished job (in completion order), e.g. a progress bar's ``update``.
Done = Callable[[], object]


class Executor(Protocol):
    """Runs ``function(job)`` for every job and returns the results in the order of *jobs*."""

    def run(self, function: Callable[[J], R], jobs: Sequence[J], done: Done | None = None) -> list[R]:
        """The results of *function* over *jobs*, in order; *done* is called as each job finishes."""


class Sequential:
    """Run the jobs one after the other in this process (``workers=1``)."""

    def run(self, function: Callable[[J], R], jobs: Sequence[J], done: Done | None = None) -> list[R]:
        out = []
        for job in jobs:
            out.append(function(job))
            if done is not None:
                done()
        return out

    def __repr__(self) -> str:
        return "Sequential()"


class Mapper:
    """Adapter for the older ``mapper(function, jobs)`` hook (any ordered ``map``-like callable)."""

    def __init__(self, mapper: Callable[[Callable[[Any], Any], list[Any]], Any]) -> None:
        self.mapper = mapper

    def run(self, function: Callable[[J], R], jobs: Sequence[J], done: Done | None = None) -> list[R]:
        out = []
        for result in self.mapper(function, list(jobs)):
            out.append(result)
            if done is not None:
                done()
        return out

    def __repr__(self) -> str:
        return f"Mapper({self.mapper!r})"


def _start_method() -> str:
    # forkserver forks each worker from a clean server process that has already imported netlab: fast starts
    # without fork's copy of this process's threads. Windows has only spawn.
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def _call_by_value(blob: bytes) -> Any:
    """Unpickle ``(function, job)`` shipped with cloudpickle and run it (in a worker process)."""
    function, job = pickle.loads(blob)
    return function(job)


def _by_name(module: str, qualname: str) -> bool:
    """True if a fresh process can import ``module.qualname`` (not ``__main__``, a notebook or a function body)."""
    return module not in ("__main__", "") and not module.startswith("__ipython") and "<locals>" not in qualname


def _needs_value(obj: Any) -> bool:
    """True if *obj* (a function, a job) holds something a fresh process cannot import by name."""
    try:
        pickle.dumps(obj)
    except (pickle.PicklingError, AttributeError, TypeError):
        return True
    todo: list[Any] = [obj]
    while todo:  # a shallow walk over tuples (jobs are named tuples): strategies are what users define
        x = todo.pop()
        if isinstance(x, tuple):
            todo.extend(x)
            continue
        cls = x if isinstance(x, type) else type(x)
        if not _by_name(cls.__module__, cls.__qualname__):
            return True
        if (
            callable(x)
            and hasattr(x, "__qualname__")
            and not _by_name(getattr(x, "__module__", "") or "", x.__qualname__)
        ):
            return True
    return False


@contextlib.contextmanager
def _main_left_alone() -> Iterator[None]:
    """Start worker processes without re-running the caller's ``__main__`` in them.

    A spawned or forkserver child normally imports the parent's main script again, so a script that calls
    ``compare`` at top level without an ``if __name__ == "__main__":`` guard would start pools recursively
    and fail. Jobs never need ``__main__`` by name here (what lives there is shipped by value, or the jobs
    run in this process), so while the workers start, the main module shows neither a file nor a spec.
    """
    main = sys.modules.get("__main__")
    saved: dict[str, Any] = {
        k: main.__dict__[k] for k in ("__file__", "__spec__") if main is not None and k in main.__dict__
    }
    try:
        if main is not None:
            main.__dict__.pop("__file__", None)
            main.__dict__["__spec__"] = None
        yield
    finally:
        if main is not None:
            main.__dict__.pop("__spec__", None)
            main.__dict__.update(saved)


class LocalProcesses:
    """Run the jobs on a pool of *workers* local processes (``None``: one per CPU).

    A fresh pool per call: worker processes never outlive the comparison, so a strategy edited between two
    calls is always the current one.
    """

    def __init__(self, workers: int | None = None) -> None:
        if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
            raise ConfigError(f"workers must be a whole number >= 1 or None (one per CPU), got {workers!r}")
        self.workers = workers

    def __repr__(self) -> str:
        return f"LocalProcesses(workers={self.workers})"

    def run(self, function: Callable[[J], R], jobs: Sequence[J], done: Done | None = None) -> list[R]:
        n = min(self.workers or os.cpu_count() or 1, len(jobs))
        if n <= 1:
            return Sequential().run(function, jobs, done)
        payloads: list[tuple[Callable[[Any], Any], Any]] = [(function, job) for job in jobs]
        if _needs_value(function) or any(_needs_value(job) for job in jobs):
            try:
                import cloudpickle
            except ImportError:
                log.info("a strategy is defined in __main__ and cloudpickle is not installed: running in this process")
                return Sequential().run(function, jobs, done)
            payloads = [(_call_by_value, cloudpickle.dumps((function, job))) for job in jobs]
        method = _start_method()
        ctx = multiprocessing.get_context(method)
        if method == "forkserver":
            ctx.set_forkserver_preload(["netlab.experiment.compare"])  # imported once, inherited by each worker
        results: list[Any] = [None] * len(jobs)
        with ProcessPoolExecutor(max_workers=n, mp_context=ctx) as pool:
            with _main_left_alone():  # workers start during submit()
                futures = {pool.submit(f, arg): i for i, (f, arg) in enumerate(payloads)}
            try:
                for future in as_completed(futures):
                    results[futures[future]] = future.result()
                    if done is not None:
                        done()
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
        return results


class Dask:
    """Run the jobs on a Dask cluster: a scheduler *address* (``"tcp://host:8786"``) or an open *client*.

    A client made here from *address* is closed when the jobs are done; a *client* given is left open.
    """

    def __init__(self, address: str | None = None, client: Any = None) -> None:
        if (address is None) == (client is None):
            raise ConfigError("Dask executor: give either a scheduler address or a client, not both or neither")
        self.address = address
        self.client = client

    def __repr__(self) -> str:
        where = self.address if self.address is not None else self.client
        return f"Dask({where!r})"

    def run(self, function: Callable[[J], R], jobs: Sequence[J], done: Done | None = None) -> list[R]:
        try:
            from distributed import Client
            from distributed import as_completed as dask_completed
        except ImportError:
            raise ConfigError(
                "running on a Dask scheduler needs dask.distributed: pip install 'netlab-sim[dask]'"
            ) from None
        try:
            client = self.client if self.client is not None else Client(self.address)  # type: ignore[no-untyped-call]
        except (ValueError, OSError, TimeoutError) as exc:
            raise ConfigError(f"scheduler {self.address!r}: cannot connect to a Dask scheduler there ({exc}); "
                              "expected an address like tcp://10.0.0.5:8786") from None  # fmt: skip
        try:
            # pure=False: two equal jobs are still two runs (Dask would otherwise merge them by hash).
            futures = client.map(function, list(jobs), pure=False)
            index = {f.key: i for i, f in enumerate(futures)}
            results: list[Any] = [None] * len(jobs)
            try:
                for future in dask_completed(futures):  # type: ignore[no-untyped-call]
                    results[index[future.key]] = future.result()
                    if done is not None:
                        done()
            except BaseException:
                client.cancel(futures)
                raise
            return results
        finally:
            if self.client is None:
                client.close()


def executor_for(
    workers: int | None = None,
    scheduler: str | None = None,
    client: Any = None,
    mapper: Callable[[Callable[[Any], Any], list[Any]], Any] | None = None,
) -> Executor:
    """The executor that ``workers``, ``scheduler``, ``client`` or the older ``mapper`` hook ask for.

    Parameters
    ----------
    workers : int, optional
        Local processes (``None``: one per CPU; ``1``: run in this process). Ignored on Dask.
    scheduler : str, optional
        A Dask scheduler address, ``"tcp://host:8786"``.
    client : dask.distributed.Client, optional
        An open Dask client (in a notebook).
    mapper : callable, optional
        ``mapper(function, jobs)`` giving results in order (e.g. ``map``).

    Raises
    ------
    ConfigError
        When more than one of *scheduler*, *client* and *mapper* is given, or *workers* is not >= 1.
    """
    given = [name for name, v in (("scheduler", scheduler), ("client", client), ("mapper", mapper)) if v is not None]
    if len(given) > 1:
        raise ConfigError(f"give at most one of scheduler, client and mapper, got {' and '.join(given)}")
    if scheduler is not None or client is not None:
        return Dask(scheduler, client)
    if mapper is not None:
        return Mapper(mapper)
    if workers == 1:
        return Sequential()
    return LocalProcesses(workers)
