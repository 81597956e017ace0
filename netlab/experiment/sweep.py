"""Sweeps: :func:`~netlab.experiment.compare.compare` at each value of a scenario key or offered load, for
load-latency curves.

>>> import netlab
>>> s = netlab.load_scenario("topologies/compare.yaml")
>>> round(offered_load_bps(scale_load(s, 2.0)) / offered_load_bps(s), 9)
2.0
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netlab.errors import ConfigError
from netlab.experiment.compare import assemble, plan_jobs, prepare_scenario, progress_bar, run_job
from netlab.scenario.model import Scenario
from netlab.scenario.strategies import resolve_strategies
from netlab.workload.spec import Constant, EmpiricalSize, ExponentialSize, FixedSize, OnOff, Poisson, Trace

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["offered_load_bps", "save_sweep", "scale_load", "sweep"]


def _arrival_rate(a: Any) -> float:
    if isinstance(a, Poisson | Constant):
        return a.rate_pps
    if isinstance(a, OnOff):
        return a.rate_pps * a.on_s / (a.on_s + a.off_s)
    if isinstance(a, Trace):
        span = (a.times_s[-1] - a.times_s[0]) if len(a.times_s) > 1 else 0.0
        return (len(a.times_s) - 1) / span if span > 0 else math.nan
    return math.nan  # pragma: no cover


def _mean_bytes(size: Any) -> float:
    if isinstance(size, FixedSize):
        return float(size.bytes)
    if isinstance(size, ExponentialSize):
        return float(size.mean_bytes)
    if isinstance(size, EmpiricalSize):
        w = size.weights or (1.0,) * len(size.values_bytes)
        return sum(v * x for v, x in zip(size.values_bytes, w, strict=True)) / sum(w)
    return math.nan  # pragma: no cover


def offered_load_bps(scenario: Scenario) -> float:
    """The long-run offered load of all flows together, bit/s (mean rate x mean size; on-off at its duty cycle)."""
    return sum(_arrival_rate(f.arrivals) * _mean_bytes(f.size) * 8.0 for f in scenario.flows)


def scale_load(scenario: Scenario, factor: float) -> Scenario:
    """A copy of *scenario* whose every flow sends *factor* times as many packets per second.

    Poisson, constant and on-off rates are multiplied; trace times are divided (a trace plays *factor* x faster).
    """
    if not factor > 0:
        raise ConfigError(f"scale_load: factor must be > 0, got {factor!r}")
    flows = []
    for f in scenario.flows:
        a = f.arrivals
        if isinstance(a, Poisson | Constant | OnOff):
            a = dataclasses.replace(a, rate_pps=a.rate_pps * factor)
        elif isinstance(a, Trace):
            a = dataclasses.replace(a, times_s=tuple(t / factor for t in a.times_s))
        flows.append(dataclasses.replace(f, arrivals=a))
    return dataclasses.replace(scenario, flows=tuple(flows))


def sweep(
    scenario: Scenario | str,
    key: str,
    values: Sequence[Any],
    strategies: Iterable[Any] | Mapping[str, Any],
    replications: int = 5,
    *,
    warmup: float | str | None = None,
    baseline: str | None = None,
    seed: int | None = None,
    progress: bool = True,
    level: float = 0.95,
    track_paths: bool = False,
    mapper: Any = None,
    workers: int | None = None,
    scheduler: str | None = None,
    client: Any = None,
) -> pd.DataFrame:
    """:func:`compare` at each value of *key*; one tidy DataFrame for load-latency curves.

    *key* ``"load"`` multiplies every flow's rate by each value (:func:`scale_load`); any other key is a dotted
    scenario key set to each value (``"links[4].rate"``, ``"flows.bulk.arrivals.poisson"``). Columns: key,
    value, offered_bps, strategy, metric, mean, ci_low, ci_high, n.

    Every (value, strategy, replication) is one job, and all of them go to one executor at once: *workers*
    local processes (``None``: one per CPU, ``1``: this process), a Dask *scheduler* address or *client*, or
    the older *mapper* hook. Results are identical whichever runs them.
    """
    import pandas as pd

    from netlab.experiment.parallel import executor_for

    executor = executor_for(workers, scheduler, client, mapper)
    base = prepare_scenario(scenario, warmup)
    labels = resolve_strategies(strategies)
    plans, scenarios = [], []
    for value in values:
        if key == "load":
            s = scale_load(base, float(value))
        else:
            text = value if isinstance(value, str) else json.dumps(value)
            s = base.override(f"{key}={text}")
        scenarios.append(s)
        plans.append(plan_jobs(s, labels, replications, None, baseline, seed, track_paths=track_paths, max_delays=0))
    jobs = [job for plan in plans for job in plan.jobs]
    bar = progress_bar(len(jobs), progress, f"sweep {key}")
    try:
        outs = executor.run(run_job, jobs, lambda: bar.update(1))
    finally:
        bar.close()
    frames, at = [], 0
    for value, s, plan in zip(values, scenarios, plans, strict=True):
        comp = assemble(plan, outs[at : at + len(plan.jobs)], level)
        at += len(plan.jobs)
        df = comp.summary.copy()
        df.insert(0, "offered_bps", offered_load_bps(s))
        df.insert(0, "value", value)
        df.insert(0, "key", key)
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def save_sweep(df: pd.DataFrame, directory: str | Path) -> Path:
    """Write a :func:`sweep` table as ``sweep.csv`` with a ``meta.json`` that ``netlab plot`` recognises."""
    from netlab.results import package_versions

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    df.to_csv(out / "sweep.csv", index=False)
    meta = {"kind": "sweep", "key": str(df["key"].iloc[0]) if len(df) else None, "versions": package_versions()}
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return out
