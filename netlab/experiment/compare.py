"""Compare routing strategies on the same arrivals: replications, confidence intervals, paired differences,
sweeps (:mod:`netlab.experiment.sweep`).

Replication ``r`` runs every strategy with the root seed ``seed + r``. A flow's arrivals and sizes come from
streams named after the flow, never after the routing, so within a replication every strategy sees exactly the
same packets at the same times (common random numbers) and the paired difference to the baseline cancels most
of the replication's own noise. Each (strategy, replication) is one independent job, :func:`run_replication`
``(scenario, strategy, seed) -> dict`` of plain data; by default the jobs run on one local process per CPU,
or on a Dask cluster (``scheduler=`` / ``client=``), with identical results (:mod:`netlab.experiment.parallel`).

The strategies are resolved by :mod:`netlab.scenario.strategies`, each run is measured by
:mod:`netlab.experiment.run_metrics`, and the result is a :class:`~netlab.experiment.comparison.Comparison`.

>>> import netlab
>>> s = netlab.load_scenario("topologies/compare.yaml").override("run.until=4s", "run.warmup=0.5s")
>>> c = compare(s, ["shortest_hops", "least_loaded"], replications=3, progress=False, workers=1)
>>> list(c.summary.columns), sorted(c.summary.strategy.unique())
(['strategy', 'metric', 'mean', 'ci_low', 'ci_high', 'n'], ['least_loaded', 'shortest_hops'])
"""

from __future__ import annotations

import dataclasses
import math
import time
import typing
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from netlab.errors import ConfigError
from netlab.experiment.comparison import MAIL_COLUMNS, Comparison, summary_tables
from netlab.experiment.run_metrics import METRICS, metrics_of
from netlab.options import did_you_mean
from netlab.routing.base import RoutingStrategy
from netlab.scenario.model import Scenario
from netlab.scenario.strategies import resolve_strategies, strategy_spec

# compare() and run_replication() are the API; Job, Plan and the functions between them are the steps that
# netlab.experiment.sweep reuses to put many comparisons on one executor.
__all__ = [
    "Job",
    "Plan",
    "assemble",
    "compare",
    "plan_jobs",
    "prepare_scenario",
    "progress_bar",
    "run_job",
    "run_replication",
]


class Job(NamedTuple):
    """One (strategy, replication) run: everything :func:`run_replication` needs, picklable."""

    label: str
    replication: int
    scenario: Scenario
    strategy: Any
    seed: int
    track_paths: bool = True
    max_delays: int = 20_000
    keep_bins: bool = False


def run_replication(
    scenario: Scenario,
    strategy: Any,
    seed: int,
    *,
    track_paths: bool = True,
    max_delays: int = 20_000,
    keep_bins: bool = False,
) -> dict[str, Any]:
    """Run *scenario* with *strategy* and root *seed*; return plain data: ``metrics`` (dict), ``delays`` (at most
    *max_delays* delivered-packet delays, evenly thinned), ``links`` (utilisation rows), ``paths`` (rows, when
    *track_paths*), ``link_bins`` (rows, when *keep_bins*) and ``mail`` (one row per (message, recipient) pair
    of mail: status and delivery time, NaN unless delivered)."""
    from netlab.experiment.runner import Simulation
    from netlab.routing.tracking import PathTracker

    run = dataclasses.replace(scenario.run, record_packets=True)
    # PathTracker is a strategy (its detection_delay_s is its inner one's, read-only, which the Protocol's plain
    # attribute does not say), hence the cast.
    routing = typing.cast(
        RoutingStrategy, PathTracker(strategy, bin_s=run.bin_s or 1.0)
    )  # paths: 1 s bins by default if track_paths else strategy
    sim = Simulation(dataclasses.replace(scenario, routing=routing, seed=seed, run=run))
    res = sim.execute()
    res.scenario = dataclasses.replace(res.scenario, routing=strategy) if res.scenario is not None else None
    paths = typing.cast(PathTracker, sim.strategy).paths_frame() if track_paths else None
    delays: list[float] = []
    if res.packets is not None and len(res.packets):
        ok = res.packets[res.packets["status"] == "delivered"]
        d = (ok["end_s"] - ok["created_s"]).to_numpy()
        step = max(1, math.ceil(len(d) / max_delays)) if max_delays else len(d) + 1
        delays = [float(x) for x in d[::step]]
    out: dict[str, Any] = {
        "metrics": metrics_of(res, paths),
        "delays": delays,
        "links": res.links[["link", "src", "dst", "rate_bps", "utilisation"]].to_dict("records"),
        "paths": paths.to_dict("records") if paths is not None else [],
        "link_bins": [],
        "mail": [],
    }
    if "messages" in res.tables:  # every (message, recipient) pair of mail: a few hundred per run, kept whole
        m = res.tables["messages"]
        m = m[m["kind"] == "mail"]
        delivered = m["status"] == "delivered"
        out["mail"] = [
            {"message_id": str(i), "rcpt_to": str(r), "status": str(st), "submitted_s": float(sub),
             "delivery_s": float(dl - sub) if ok else math.nan}
            for i, r, st, sub, dl, ok in zip(m["message_id"], m["rcpt_to"], m["status"], m["submitted_s"],
                                             m["delivered_s"], delivered, strict=True)
        ]  # fmt: skip
    if keep_bins and len(res.link_bins):
        out["link_bins"] = res.link_bins[["link", "bin_start_s", "bin_end_s", "utilisation"]].to_dict("records")
    return out


def run_job(job: Job) -> dict[str, Any]:
    """:func:`run_replication` of one :class:`Job` (what the executors map over the jobs)."""
    return run_replication(job.scenario, job.strategy, job.seed, track_paths=job.track_paths,
                           max_delays=job.max_delays, keep_bins=job.keep_bins)  # fmt: skip


def progress_bar(total: int, enabled: bool, desc: str) -> Any:
    """A tqdm bar of *total* runs labelled *desc* (disabled unless *enabled*); call ``update(1)`` per run."""
    from tqdm.auto import tqdm  # the notebook widget in Jupyter, a text bar elsewhere

    return tqdm(total=total, disable=not enabled, desc=desc, unit="run", leave=False)


def compare(
    scenario: Scenario | str,
    strategies: Iterable[Any] | Mapping[str, Any],
    replications: int = 10,
    warmup: float | str | None = None,
    baseline: str | None = None,
    seed: int | None = None,
    progress: bool = True,
    *,
    level: float = 0.95,
    track_paths: bool = True,
    max_delays: int = 20_000,
    mapper: Callable[[Callable[[Job], dict[str, Any]], list[Job]], Iterable[dict[str, Any]]] | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    client: Any = None,
) -> Comparison:
    """Run each strategy *replications* times on the same arrivals and compare them.

    Parameters
    ----------
    scenario : Scenario or str
        The scenario (or a YAML file); its routing is replaced by each strategy in turn.
    strategies : list or mapping
        Strategy objects, registry names (``"least_loaded"``), ``"name(key=value, ...)"`` strings or
        ``{strategy: name, ...}`` dicts; a mapping gives each one a label.
    replications : int
        Runs per strategy; replication ``r`` uses root seed ``seed + r`` for every strategy.
    warmup : float or str, optional
        Warm-up (seconds or ``"2s"``) replacing the scenario's ``run.warmup``.
    baseline : str, optional
        Label of the strategy the paired differences are taken against (default: the first).
    seed : int, optional
        First root seed (default: the scenario's).
    progress : bool
        Show a progress bar (tqdm; a widget in notebooks).
    level : float
        Confidence level of the intervals (0.95).
    track_paths : bool
        Record the path of every packet (path diversity, path share); costs one Python call per hop.
    max_delays : int
        Keep at most this many packet delays per run for CDF and box plots (evenly thinned).
    mapper : callable, optional
        ``mapper(function, jobs)`` -> results in order (an older hook; prefer *workers* or *scheduler*).
    workers : int, optional
        Local processes to run the (strategy, replication) jobs on: ``None`` (default) one per CPU, ``1`` in
        this process. The numbers are identical whatever the executor (:mod:`netlab.experiment.parallel`).
    scheduler : str, optional
        A Dask scheduler address (``"tcp://host:8786"``): run the jobs on that cluster instead.
    client : dask.distributed.Client, optional
        An open Dask client: run the jobs on its cluster (the client is left open).
    """
    from netlab.experiment.parallel import executor_for

    executor = executor_for(workers, scheduler, client, mapper)
    plan = plan_jobs(scenario, strategies, replications, warmup, baseline, seed, track_paths=track_paths,
                 max_delays=max_delays)  # fmt: skip
    bar = progress_bar(len(plan.jobs), progress, "compare")
    try:
        outs = executor.run(run_job, plan.jobs, lambda: bar.update(1))
    finally:
        bar.close()
    comp = assemble(plan, outs, level)
    comp.meta["executor"] = repr(executor)
    return comp


def prepare_scenario(scenario: Scenario | str, warmup: float | str | None) -> Scenario:
    """*scenario* (loaded if it is a file name) with its ``run.warmup`` replaced by *warmup* (seconds or ``"2s"``)."""
    if isinstance(scenario, str | Path):
        from netlab.scenario.files import load_scenario

        scenario = load_scenario(str(scenario))
    if warmup is not None:
        from netlab.units import parse_time

        w = parse_time(warmup) if isinstance(warmup, str) else float(warmup)
        scenario = dataclasses.replace(scenario, run=dataclasses.replace(scenario.run, warmup_s=w))
    return scenario


class Plan(NamedTuple):
    """The jobs of one comparison and what is needed to put their results together."""

    scenario: Scenario
    chosen: dict[str, Any]
    baseline: str
    seeds: list[int]
    jobs: list[Job]
    started: float


def plan_jobs(
    scenario: Scenario | str,
    strategies: Iterable[Any] | Mapping[str, Any],
    replications: int,
    warmup: float | str | None,
    baseline: str | None,
    seed: int | None,
    *,
    track_paths: bool,
    max_delays: int,
) -> Plan:
    """The jobs of one comparison: every strategy of *strategies* at each of *replications* root seeds."""
    t0 = time.perf_counter()
    if isinstance(replications, bool) or not isinstance(replications, int) or replications < 1:
        raise ConfigError(f"compare: replications must be a whole number >= 1, got {replications!r}")
    scenario = prepare_scenario(scenario, warmup)
    chosen = resolve_strategies(strategies)
    labels = list(chosen)
    baseline = labels[0] if baseline is None else baseline
    if baseline not in chosen:
        raise ConfigError(
            f"compare: baseline {baseline!r} is not one of the strategies" + did_you_mean(baseline, labels)
        )
    first = scenario.seed if seed is None else seed
    seeds = [first + r for r in range(replications)]
    jobs = [Job(label, r, scenario, chosen[label], s, track_paths, max_delays, r == 0)
            for r, s in enumerate(seeds) for label in labels]  # fmt: skip
    return Plan(scenario, chosen, baseline, seeds, jobs, t0)


def assemble(plan: Plan, outs: list[dict[str, Any]], level: float) -> Comparison:
    """The :class:`Comparison` of *plan* from the job results *outs* (in the order of ``plan.jobs``)."""
    import pandas as pd

    from netlab.results import package_versions

    scenario, chosen, baseline, jobs = plan.scenario, plan.chosen, plan.baseline, plan.jobs
    labels = list(chosen)
    run_rows, delay_rows, link_rows, bin_rows, path_rows, mail_rows = [], [], [], [], [], []
    for job, out in zip(jobs, outs, strict=True):
        tag = {"strategy": job.label, "replication": job.replication}
        run_rows.append({**tag, "seed": job.seed, **out["metrics"]})
        delay_rows += [(job.label, job.replication, d) for d in out["delays"]]
        link_rows += [{**tag, **row} for row in out["links"]]
        bin_rows += [{"strategy": job.label, **row} for row in out["link_bins"]]
        path_rows += [{**tag, **row} for row in out["paths"]]
        mail_rows += [{**tag, **row} for row in out.get("mail", [])]
    runs = pd.DataFrame(run_rows, columns=["strategy", "replication", "seed", *METRICS])
    summary, paired = summary_tables(runs, labels, baseline, level)
    meta = {
        "kind": "comparison",
        "scenario_name": scenario.name,
        "strategies": {label: repr(chosen[label]) for label in labels},
        "strategy_specs": {label: strategy_spec(chosen[label]) for label in labels},
        "baseline": baseline,
        "replications": len(plan.seeds),
        "seeds": plan.seeds,
        "warmup_s": scenario.run.warmup_s,
        "level": level,
        "metrics": {k: v[0] for k, v in METRICS.items()},
        "versions": package_versions(),
        "wall_s": time.perf_counter() - plan.started,
    }
    return Comparison(
        summary=summary,
        paired=paired,
        runs=runs,
        delays=pd.DataFrame(delay_rows, columns=["strategy", "replication", "delay_s"]),
        links=pd.DataFrame(
            link_rows, columns=["strategy", "replication", "link", "src", "dst", "rate_bps", "utilisation"]
        ),
        link_bins=pd.DataFrame(bin_rows, columns=["strategy", "link", "bin_start_s", "bin_end_s", "utilisation"]),
        paths=pd.DataFrame(path_rows, columns=["strategy", "replication", "flow", "path", "bin_start_s", "packets"]),
        mail=pd.DataFrame(mail_rows, columns=list(MAIL_COLUMNS)).astype(MAIL_COLUMNS),
        meta=meta,
        scenario=scenario,
    )
