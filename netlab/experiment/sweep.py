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
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netlab.errors import ConfigError
from netlab.experiment.compare import assemble, plan_jobs, prepare_scenario, progress_bar, run_job
from netlab.scenario.model import Scenario
from netlab.scenario.strategies import resolve_strategies
from netlab.workload.spec import Scalable

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["offered_load_bps", "save_sweep", "scale_load", "sweep"]


def offered_load_bps(scenario: Scenario) -> float:
    """The long-run offered load of all flows together, bit/s: each flow's law's mean rate (on-off at its duty
    cycle) times its size law's mean size."""
    return sum(f.arrivals.mean_rate_pps * f.size.mean_bytes * 8.0 for f in scenario.flows)


def scale_load(scenario: Scenario, factor: float) -> Scenario:
    """A copy of *scenario* whose every flow sends *factor* times as many packets per second.

    Poisson, constant and on-off rates are multiplied; trace times are divided (a trace plays *factor* x faster);
    a law of your own scales if it has a ``scaled(factor)`` method (:class:`~netlab.workload.spec.Scalable`).
    """
    if not factor > 0:
        raise ConfigError(f"scale_load: factor must be > 0, got {factor!r}")
    flows = []
    for f in scenario.flows:
        if not isinstance(f.arrivals, Scalable):
            raise ConfigError(f"scale_load: flow {f.name!r}: cannot scale {f.arrivals!r} (it has no scaled(factor))")
        flows.append(dataclasses.replace(f, arrivals=f.arrivals.scaled(factor)))
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
    value, offered_bps and those of :meth:`Comparison.table` (strategy, metric, unit, mean, ci_low, ci_high,
    paired_diff, paired_ci_low, paired_ci_high, n): the paired difference is to the baseline at the same value,
    on the same arrivals.

    Every (value, strategy, replication) is one job, and all of them go to one executor at once: *workers*
    local processes (``None``: one per CPU, ``1``: this process), a Dask *scheduler* address or *client*, or
    the older *mapper* hook. Results are identical whichever runs them.
    """
    import pandas as pd

    from netlab.experiment.parallel import executor_for
    from netlab.experiment.run_metrics import METRICS
    from netlab.experiment.table import tidy_table

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
        df = tidy_table(comp, list(METRICS))  # every metric, so each value's block has the same rows
        df.insert(0, "offered_bps", offered_load_bps(s))
        df.insert(0, "value", value)
        df.insert(0, "key", key)
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def save_sweep(df: pd.DataFrame, directory: str | Path) -> Path:
    """Write a :func:`sweep` table as ``sweep.parquet`` (exact) and ``sweep.csv`` with a ``meta.json`` that
    ``netlab plot`` recognises."""
    from netlab.results import package_versions, write_tables

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    write_tables(out, {"sweep": df}, csv=True)
    meta = {"kind": "sweep", "key": str(df["key"].iloc[0]) if len(df) else None, "versions": package_versions()}
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return out
