"""Compare routing strategies on the same arrivals: replications, confidence intervals, paired differences, sweeps (:mod:`netlab.experiment.sweep`).

Replication ``r`` runs every strategy with the root seed ``seed + r``. A flow's arrivals and sizes come from
streams named after the flow, never after the routing, so within a replication every strategy sees exactly the
same packets at the same times (common random numbers) and the paired difference to the baseline cancels most
of the replication's own noise. Each (strategy, replication) is one independent job, :func:`run_replication`
``(scenario, strategy, seed) -> dict`` of plain data; by default the jobs run on one local process per CPU,
or on a Dask cluster (``scheduler=`` / ``client=``), with identical results (:mod:`netlab.experiment.parallel`).

>>> import netlab
>>> s = netlab.load_scenario("topologies/compare.yaml").override("run.until=4s", "run.warmup=0.5s")
>>> c = compare(s, ["shortest_hops", "least_loaded"], replications=3, progress=False, workers=1)
>>> list(c.summary.columns), sorted(c.summary.strategy.unique())
(['strategy', 'metric', 'mean', 'ci_low', 'ci_high', 'n'], ['least_loaded', 'shortest_hops'])
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import yaml

from netlab.errors import ConfigError
from netlab.experiment.registry import ROUTING, Ctx, build, did_you_mean, dump_fields
from netlab.experiment.scenario import Scenario
from netlab.experiment.stats import mean_ci

if TYPE_CHECKING:
    import pandas as pd

    from netlab.results import Results

__all__ = [
    "METRICS",
    "Comparison",
    "compare",
    "format_comparison",
    "load_comparison",
    "metrics_of",
    "resolve_strategies",
    "run_replication",
]

#: Metric name -> (description, display scale, display unit). Per run; the tables give mean and CI over runs.
METRICS: dict[str, tuple[str, float, str]] = {
    "latency_mean_s": ("mean one-way delay of delivered packets", 1e3, "ms"),
    "latency_p50_s": ("median delay", 1e3, "ms"),
    "latency_p95_s": ("95th percentile delay", 1e3, "ms"),
    "latency_p99_s": ("99th percentile delay", 1e3, "ms"),
    "throughput_bps": ("delivered bits per second after warm-up", 1e-6, "Mbit/s"),
    "drops": ("packets dropped (counted packets, any reason)", 1.0, ""),
    "loss_ratio": ("dropped / sent", 1.0, ""),
    "retransmissions": ("transport retransmissions (TCP sessions; NaN for runs without any)", 1.0, ""),
    "mail_delivered": ("(message, recipient) pairs delivered (runs with mail)", 1.0, ""),
    "mail_latency_p50_s": ("median submission-to-delivery time of delivered mail", 1.0, "s"),
    "mail_latency_p95_s": ("95th percentile submission-to-delivery time of delivered mail", 1.0, "s"),
    "mail_latency_p99_s": ("99th percentile submission-to-delivery time of delivered mail", 1.0, "s"),
    "out_of_order": ("delivered packets with a lower seq than one of their flow delivered before", 1.0, ""),
    "link_util_max": ("utilisation of the busiest directed link", 1.0, ""),
    "link_util_mean": ("mean utilisation over the directed links", 1.0, ""),
    "path_diversity": ("per flow exp(entropy of path shares), averaged over flows (1 = one path)", 1.0, ""),
}

_COLUMNS = ["strategy", "metric", "mean", "ci_low", "ci_high", "n"]
_PAIRED = ["strategy", "baseline", "metric", "mean_diff", "ci_low", "ci_high", "n"]


# ---------------------------------------------------------------------------------------------- strategies


def resolve_strategies(strategies: Iterable[Any] | Mapping[str, Any]) -> dict[str, Any]:
    """``{label: strategy object}`` from objects, names (``"least_loaded"``), ``"name(key=value, ...)"`` strings,
    ``{strategy: name, key: value}`` dicts, or a mapping ``{label: any of those}``."""
    items = list(strategies.items()) if isinstance(strategies, Mapping) else [(None, s) for s in strategies]
    out: dict[str, Any] = {}
    for label, spec in items:
        strategy = _strategy(spec)
        name = label if label is not None else (spec if isinstance(spec, str) else _label(strategy))
        if name in out:
            raise ConfigError(f"compare: two strategies are labelled {name!r}; pass a mapping {{label: strategy}}")
        out[str(name)] = strategy
    if not out:
        raise ConfigError("compare: expected at least one strategy")
    return out


def _strategy(spec: Any) -> Any:
    if isinstance(spec, str):
        text = spec.strip()
        name, _, rest = text.partition("(")
        params: dict[str, Any] = {}
        if rest:
            if not rest.endswith(")"):
                raise ConfigError(f"strategy {spec!r}: expected name(key=value, ...)")
            for part in filter(None, (p.strip() for p in _split(rest[:-1]))):
                key, sep, value = part.partition("=")
                if not sep:
                    raise ConfigError(f"strategy {spec!r}: expected key=value, got {part!r}")
                params[key.strip()] = yaml.safe_load(value)
        spec = {"strategy": name.strip(), **params}
    if isinstance(spec, Mapping):
        spec = dict(spec)
        name = spec.pop("strategy", None)
        if name not in ROUTING:
            raise ConfigError(f"unknown routing strategy {name!r}" + did_you_mean(name, ROUTING))
        return build(ROUTING[name], spec, Ctx("strategies", path=str(name)))
    for method in ("attach", "next_link", "topology_changed"):
        if not callable(getattr(spec, method, None)):
            raise ConfigError(f"compare: {spec!r} is not a routing strategy (it has no {method}())")
    return spec


def _split(text: str) -> list[str]:
    """Split at commas outside brackets: ``"a=1, b={x: 1, y: 2}"`` -> two parts."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += ch in "([{"
        depth -= ch in ")]}"
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    return [*parts, cur]


def split_strategy_list(text: str) -> list[str]:
    """The command line's ``--strategies a,b(k=2, per=flow),c`` as a list of strategy strings."""
    return [p.strip() for p in _split(text) if p.strip()]


def _label(strategy: Any) -> str:
    """``name`` or ``name(key=value, ...)`` (non-default keys) for a registered strategy, else the class name."""
    names = [n for n, cls in ROUTING.items() if type(strategy) is cls]
    if not names:
        return type(strategy).__name__
    body = dump_fields(strategy, compact=True)
    if not body:
        return names[0]
    args = ", ".join(f"{k}={yaml.safe_dump(v, default_flow_style=True).strip().removesuffix('...').strip()}"
                     for k, v in body.items())  # fmt: skip
    return f"{names[0]}({args})"


def _spec_of(strategy: Any) -> dict[str, Any] | None:
    names = [n for n, cls in ROUTING.items() if type(strategy) is cls]
    if not names:
        return None
    return json.loads(json.dumps({"strategy": names[0], **dump_fields(strategy, compact=True)}, default=str))


# ---------------------------------------------------------------------------------------------- one job


def metrics_of(res: Results, paths: pd.DataFrame | None = None) -> dict[str, float]:
    """The per-run metrics of :data:`METRICS` from *res* (needs ``run.record_packets``) and counted *paths*."""
    out = dict.fromkeys(METRICS, math.nan)
    warm = res.scenario.run.warmup_s if res.scenario is not None else 0.0
    span = res.summary["sim_time_s"] - warm
    f = res.flows
    sent = float(f["tx_packets"].sum()) if len(f) else 0.0
    lost = float(f["lost_packets"].sum()) if len(f) else 0.0
    out["drops"] = lost
    out["loss_ratio"] = lost / sent if sent else math.nan
    out["throughput_bps"] = 8.0 * float(f["rx_bytes"].sum()) / span if span > 0 and len(f) else math.nan
    pk = res.packets
    if pk is not None and len(pk):
        ok = pk[pk["status"] == "delivered"]
        if len(ok):
            d = (ok["end_s"] - ok["created_s"]).to_numpy()
            out["latency_mean_s"] = float(d.mean())
            import numpy as np

            p50, p95, p99 = np.percentile(d, [50, 95, 99])
            out.update(latency_p50_s=float(p50), latency_p95_s=float(p95), latency_p99_s=float(p99))
            prev_max = ok.groupby("flow", sort=False)["seq"].transform(lambda s: s.cummax().shift())
            out["out_of_order"] = float((ok["seq"] < prev_max).sum())
        else:
            out["out_of_order"] = 0.0
    tables = res.tables
    if "connections" in tables and len(tables["connections"]):
        out["retransmissions"] = float(tables["connections"]["retransmissions"].sum())
    if "messages" in tables:
        m = tables["messages"]
        done = m[(m["kind"] == "mail") & (m["status"] == "delivered")]
        out["mail_delivered"] = float(len(done))
        if len(done):
            import numpy as np

            d = (done["delivered_s"] - done["submitted_s"]).to_numpy(dtype=float)
            p50, p95, p99 = np.percentile(d, [50, 95, 99])
            out.update(mail_latency_p50_s=float(p50), mail_latency_p95_s=float(p95), mail_latency_p99_s=float(p99))
    links = res.links
    if len(links):
        util = links["utilisation"].dropna()
        out["link_util_max"] = float(util.max())
        out["link_util_mean"] = float(util.mean())
    if paths is not None:
        bin_s = res.scenario.run.bin_s if res.scenario is not None else 1.0
        counted = paths[paths["bin_start_s"] + bin_s > warm]  # the time bins after the warm-up
        out["path_diversity"] = path_diversity(counted)
    return out


def path_diversity(paths: pd.DataFrame) -> float:
    """Mean over flows of ``exp(H)``, H the entropy of the flow's path shares: the effective number of paths."""
    import numpy as np

    values = []
    for _, g in paths.groupby("flow"):
        n = g.groupby("path")["packets"].sum().to_numpy(dtype=float)
        p = n[n > 0] / n.sum()
        values.append(math.exp(-float((p * np.log(p)).sum())))
    return float(sum(values) / len(values)) if values else math.nan


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
    *track_paths*) and ``link_bins`` (rows, when *keep_bins*)."""
    from netlab.experiment.runner import Simulation
    from netlab.routing.tracking import PathTracker

    run = dataclasses.replace(scenario.run, record_packets=True)
    routing = PathTracker(strategy, bin_s=run.bin_s) if track_paths else strategy
    sim = Simulation(dataclasses.replace(scenario, routing=routing, seed=seed, run=run))
    res = sim.execute()
    res.scenario = dataclasses.replace(res.scenario, routing=strategy) if res.scenario is not None else None  # type: ignore[arg-type]
    paths = sim.strategy.paths_frame() if track_paths else None
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
    }
    if keep_bins and len(res.link_bins):
        out["link_bins"] = res.link_bins[["link", "bin_start_s", "bin_end_s", "utilisation"]].to_dict("records")
    return out


def _run_job(job: Job) -> dict[str, Any]:
    return run_replication(job.scenario, job.strategy, job.seed, track_paths=job.track_paths,
                           max_delays=job.max_delays, keep_bins=job.keep_bins)  # fmt: skip


# ---------------------------------------------------------------------------------------------- comparison


@dataclasses.dataclass
class Comparison:
    """What :func:`compare` produced. Tables (pandas DataFrames):

    ``summary``   strategy, metric, mean, ci_low, ci_high, n (Student-t CI over replications)
    ``paired``    strategy, baseline, metric, mean_diff, ci_low, ci_high, n (strategy minus baseline, paired by
                  replication, so common random numbers cancel)
    ``runs``      strategy, replication, seed and one column per metric
    ``delays``    strategy, replication, delay_s (delivered packets, thinned to ``max_delays`` per run)
    ``links``     strategy, replication, link, src, dst, rate_bps, utilisation
    ``link_bins`` strategy, link, bin_start_s, bin_end_s, utilisation (replication 0 only)
    ``paths``     strategy, replication, flow, path, bin_start_s, packets
    """

    summary: pd.DataFrame
    paired: pd.DataFrame
    runs: pd.DataFrame
    delays: pd.DataFrame
    links: pd.DataFrame
    link_bins: pd.DataFrame
    paths: pd.DataFrame
    meta: dict[str, Any]
    scenario: Scenario | None = None

    _TABLES = ("summary", "paired", "runs", "delays", "links", "link_bins", "paths")

    @property
    def strategies(self) -> list[str]:
        """The strategy labels, in the order they were given."""
        return list(self.meta["strategies"])

    @property
    def baseline(self) -> str:
        return str(self.meta["baseline"])

    def __repr__(self) -> str:
        return (f"<Comparison {self.meta.get('scenario_name', '?')!r} strategies={self.strategies} "
                f"replications={self.meta.get('replications')} baseline={self.baseline!r}>")  # fmt: skip

    def table(self, metrics: Sequence[str] | None = None) -> str:
        """The summary and paired tables as plain text (what ``netlab compare`` prints)."""
        return format_comparison(self, metrics)

    def save(self, directory: str | Path) -> Path:
        """Write every table as CSV and ``meta.json`` (with the scenario as YAML) into *directory*."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        for name in self._TABLES:
            getattr(self, name).to_csv(out / f"{name}.csv", index=False)
        meta = dict(self.meta)
        if self.scenario is not None:
            try:
                meta["scenario_yaml"] = self.scenario.to_yaml()
            except ConfigError:  # a user-defined strategy in the scenario cannot be written as YAML
                meta["scenario_yaml"] = None
        (out / "meta.json").write_text(json.dumps(meta, indent=2, default=str) + "\n")
        return out


def load_comparison(directory: str | Path) -> Comparison:
    """Read back what :meth:`Comparison.save` wrote."""
    import pandas as pd

    d = Path(directory)
    meta_path = d / "meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    if meta.get("kind") != "comparison":
        raise ConfigError(f"{d}: not a saved netlab comparison (no meta.json of kind 'comparison')")
    tables = {}
    for name in Comparison._TABLES:
        p = d / f"{name}.csv"
        tables[name] = pd.read_csv(p) if p.is_file() and p.stat().st_size > 1 else pd.DataFrame()
    for name in ("runs", "delays", "links", "link_bins", "paths", "summary", "paired"):
        if "strategy" in tables[name]:
            tables[name]["strategy"] = tables[name]["strategy"].astype(str)
    scenario = None
    text = meta.pop("scenario_yaml", None)
    if text:
        from netlab.experiment.yaml_io import loads_scenario

        scenario = loads_scenario(text, source=str(meta_path))
    return Comparison(meta=meta, scenario=scenario, **tables)


def _progress(total: int, enabled: bool, desc: str) -> Any:
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
    plan = _plan(scenario, strategies, replications, warmup, baseline, seed, track_paths=track_paths,
                 max_delays=max_delays)  # fmt: skip
    bar = _progress(len(plan.jobs), progress, "compare")
    try:
        outs = executor.run(_run_job, plan.jobs, lambda: bar.update(1))
    finally:
        bar.close()
    comp = _assemble(plan, outs, level)
    comp.meta["executor"] = repr(executor)
    return comp


def _prepare(scenario: Scenario | str, warmup: float | str | None) -> Scenario:
    if isinstance(scenario, str | Path):
        from netlab.experiment.yaml_io import load_scenario

        scenario = load_scenario(str(scenario))
    if warmup is not None:
        from netlab.units import parse_time

        w = parse_time(warmup) if isinstance(warmup, str) else float(warmup)
        scenario = dataclasses.replace(scenario, run=dataclasses.replace(scenario.run, warmup_s=w))
    return scenario


class _Plan(NamedTuple):
    """The jobs of one comparison and what is needed to put their results together."""

    scenario: Scenario
    chosen: dict[str, Any]
    baseline: str
    seeds: list[int]
    jobs: list[Job]
    started: float


def _plan(
    scenario: Scenario | str,
    strategies: Iterable[Any] | Mapping[str, Any],
    replications: int,
    warmup: float | str | None,
    baseline: str | None,
    seed: int | None,
    *,
    track_paths: bool,
    max_delays: int,
) -> _Plan:
    t0 = time.perf_counter()
    if isinstance(replications, bool) or not isinstance(replications, int) or replications < 1:
        raise ConfigError(f"compare: replications must be a whole number >= 1, got {replications!r}")
    scenario = _prepare(scenario, warmup)
    chosen = resolve_strategies(strategies)
    labels = list(chosen)
    baseline = labels[0] if baseline is None else baseline
    if baseline not in chosen:
        raise ConfigError(f"compare: baseline {baseline!r} is not one of the strategies" + did_you_mean(baseline, labels))
    first = scenario.seed if seed is None else seed
    seeds = [first + r for r in range(replications)]
    jobs = [Job(label, r, scenario, chosen[label], s, track_paths, max_delays, r == 0)
            for r, s in enumerate(seeds) for label in labels]  # fmt: skip
    return _Plan(scenario, chosen, baseline, seeds, jobs, t0)


def _assemble(plan: _Plan, outs: list[dict[str, Any]], level: float) -> Comparison:
    import pandas as pd

    from netlab.results import _versions

    scenario, chosen, baseline, jobs = plan.scenario, plan.chosen, plan.baseline, plan.jobs
    labels = list(chosen)
    run_rows, delay_rows, link_rows, bin_rows, path_rows = [], [], [], [], []
    for job, out in zip(jobs, outs, strict=True):
        tag = {"strategy": job.label, "replication": job.replication}
        run_rows.append({**tag, "seed": job.seed, **out["metrics"]})
        delay_rows += [(job.label, job.replication, d) for d in out["delays"]]
        link_rows += [{**tag, **row} for row in out["links"]]
        bin_rows += [{"strategy": job.label, **row} for row in out["link_bins"]]
        path_rows += [{**tag, **row} for row in out["paths"]]
    runs = pd.DataFrame(run_rows, columns=["strategy", "replication", "seed", *METRICS])
    summary, paired = _tables(runs, labels, baseline, level)
    meta = {
        "kind": "comparison",
        "scenario_name": scenario.name,
        "strategies": {label: repr(chosen[label]) for label in labels},
        "strategy_specs": {label: _spec_of(chosen[label]) for label in labels},
        "baseline": baseline,
        "replications": len(plan.seeds),
        "seeds": plan.seeds,
        "warmup_s": scenario.run.warmup_s,
        "level": level,
        "metrics": {k: v[0] for k, v in METRICS.items()},
        "versions": _versions(),
        "wall_s": time.perf_counter() - plan.started,
    }
    return Comparison(
        summary=summary,
        paired=paired,
        runs=runs,
        delays=pd.DataFrame(delay_rows, columns=["strategy", "replication", "delay_s"]),
        links=pd.DataFrame(link_rows, columns=["strategy", "replication", "link", "src", "dst", "rate_bps", "utilisation"]),
        link_bins=pd.DataFrame(bin_rows, columns=["strategy", "link", "bin_start_s", "bin_end_s", "utilisation"]),
        paths=pd.DataFrame(path_rows, columns=["strategy", "replication", "flow", "path", "bin_start_s", "packets"]),
        meta=meta,
        scenario=scenario,
    )


def _tables(runs: pd.DataFrame, labels: list[str], baseline: str, level: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    import pandas as pd

    rows, prows = [], []
    by = {label: runs[runs["strategy"] == label].set_index("replication") for label in labels}
    for label in labels:
        for metric in METRICS:
            ci = mean_ci(by[label][metric], level)
            rows.append((label, metric, ci.mean, ci.low, ci.high, ci.n))
    for label in labels:
        if label == baseline:
            continue
        for metric in METRICS:
            diff = (by[label][metric] - by[baseline][metric]).dropna()
            ci = mean_ci(diff, level)
            prows.append((label, baseline, metric, ci.mean, ci.low, ci.high, ci.n))
    return pd.DataFrame(rows, columns=_COLUMNS), pd.DataFrame(prows, columns=_PAIRED)


def format_comparison(comp: Comparison, metrics: Sequence[str] | None = None) -> str:
    """The summary (mean [CI] per strategy) and the paired differences to the baseline as a text table."""
    if metrics is None:  # the metrics the runs had: no mail rows for packet flows, no retransmissions without TCP
        have = set(comp.summary.loc[comp.summary["mean"].notna(), "metric"])
        metrics = [m for m in METRICS if m in have]
    metrics = list(metrics)
    labels = comp.strategies
    level = comp.meta.get("level", 0.95)

    def cell(mean: float, lo: float, hi: float, scale: float) -> str:
        if math.isnan(mean):
            return "n/a"
        if math.isnan(lo):
            return f"{mean * scale:.4g}"
        return f"{mean * scale:.4g} [{lo * scale:.4g}, {hi * scale:.4g}]"

    def block(df: pd.DataFrame, value: str, title: str, cols: list[str]) -> list[str]:
        rows = []
        for metric in metrics:
            _, scale, unit = METRICS.get(metric, ("", 1.0, ""))
            name = metric.removesuffix("_s").removesuffix("_bps") + (f" ({unit})" if unit else "")
            cells = []
            for c in cols:
                r = df[(df["strategy"] == c) & (df["metric"] == metric)]
                cells.append(cell(*(float(r.iloc[0][k]) for k in (value, "ci_low", "ci_high")), scale) if len(r) else "")
            rows.append([name, *cells])
        widths = [max(len(x) for x in col) + 2 for col in zip(["metric", *cols], *rows, strict=True)]
        lines = [title, "".join(f"{h:<{widths[0]}}" if i == 0 else f"{h:>{widths[i]}}"
                                for i, h in enumerate(["metric", *cols]))]  # fmt: skip
        for row in rows:
            lines.append("".join(f"{x:<{widths[0]}}" if i == 0 else f"{x:>{widths[i]}}" for i, x in enumerate(row)))
        return lines

    n = comp.meta.get("replications")
    head = (f"scenario {comp.meta.get('scenario_name')!r}: {len(labels)} strategies x {n} replications "
            f"(same arrivals per replication), mean [{level:.0%} CI]")  # fmt: skip
    lines = [head, ""] + block(comp.summary, "mean", "summary", labels)
    others = [label for label in labels if label != comp.baseline]
    if others:
        lines += ["", *block(comp.paired, "mean_diff", f"paired difference to {comp.baseline!r}, "
                             f"mean [{level:.0%} CI] (negative = lower than the baseline)", others)]  # fmt: skip
    return "\n".join(lines)
