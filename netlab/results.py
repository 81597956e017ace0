"""Results of a run: pandas DataFrames built once at the end, plus metadata; saved to and loaded from disk.

Tables (columns carry their unit: ``_s`` seconds, ``_bps`` bit/s, ``_bytes`` bytes):

``flows``      one row per flow, like ns-3's FlowMonitor: tx/rx packets and bytes, lost (dropped) packets and
               drops by reason, delay sum and mean, jitter sum and mean, first/last tx and rx times.
``links``      one row per directed link over [warm-up, end]: packets and bytes accepted, utilisation,
               time-average number in system, drops by reason.
``link_bins``  the same per time bin: ``run.bin`` seconds, or by default 1 s doubled as often as needed to keep
               links x bins within ``run.max_link_bins`` (the width used is ``meta["bin_s"]``).
``drops``      one row per dropped packet: time, reason, where, flow, seq, size.
``packets``    one row per delivered or dropped counted packet, only with ``run.record_packets``.

``summary`` is a dict of run-wide figures (injected, delivered, dropped by reason, in flight, sim time, mean
delay, packet-hops); ``meta`` holds seed, scenario name, versions and wall-clock timings.
"""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netlab.errors import ConfigError
from netlab.network.network import DROP_REASONS

if TYPE_CHECKING:
    import pandas as pd

    from netlab.experiment.runner import Simulation
    from netlab.scenario.model import Scenario

__all__ = ["SAVE_FORMAT", "Results", "load_results", "package_versions", "read_table", "write_tables"]

_TABLES = ("flows", "links", "link_bins", "drops", "packets")


@dataclass
class Results:
    """What a run produced. Pickles; :meth:`save` writes Parquet (and CSV) tables and ``meta.json``."""

    flows: pd.DataFrame
    links: pd.DataFrame
    link_bins: pd.DataFrame
    drops: pd.DataFrame
    packets: pd.DataFrame | None
    summary: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)
    scenario: Scenario | None = None
    #: Tables of the run's extensions (transport ``connections``, mail ``messages`` ...), also reachable as
    #: attributes: ``results.messages`` is ``results.tables["messages"]``.
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        tables = self.__dict__.get("tables") or {}
        if name in tables:
            return tables[name]
        raise AttributeError(f"{type(self).__name__!r} has no attribute or table {name!r}")

    def __repr__(self) -> str:
        s = self.summary
        return (
            f"<Results {self.meta.get('scenario_name', '?')!r} seed={self.meta.get('seed')} "
            f"sim_time={s.get('sim_time_s', 0):.6g}s delivered={s.get('delivered')} "
            f"dropped={s.get('dropped')} flows={len(self.flows)} links={len(self.links)}>"
        )

    def save(self, directory: str | Path, *, csv: bool = True) -> Path:
        """Write every table as Parquet (exact: values, dtypes, empty strings, UIDs as text), also as CSV for
        spreadsheets unless *csv* is false, and ``meta.json`` (summary, metadata, the scenario as YAML) into
        *directory*; :func:`load_results` reads the Parquet files back exactly as they were."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        write_tables(out, {name: getattr(self, name) for name in _TABLES} | self.tables, csv=csv)
        meta: dict[str, Any] = {"summary": self.summary, "meta": self.meta, "tables": sorted(self.tables),
                                "format": SAVE_FORMAT}  # fmt: skip
        if self.scenario is not None:
            meta["scenario_yaml"] = self.scenario.to_yaml()
        (out / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n")
        return out


#: The layout :meth:`Results.save` writes: 2 = a Parquet file per table (and CSV beside it); 1 (no "format" key
#: in meta.json) = CSV only, read back as pandas parses it (UIDs such as "1.10" as numbers, "" as NaN).
SAVE_FORMAT = 2


def write_tables(out: Path, tables: dict[str, pd.DataFrame | None], *, csv: bool) -> None:
    """Each table of *tables* (``None``: none, nothing written) as ``<name>.parquet`` and, if *csv*,
    ``<name>.csv`` in *out*."""
    for name, df in tables.items():
        if df is None:
            continue
        df.to_parquet(out / f"{name}.parquet", engine="pyarrow")
        if csv:
            df.to_csv(out / f"{name}.csv", index=False)


def read_table(directory: Path, name: str) -> pd.DataFrame | None:
    """The table *name* that :func:`write_tables` wrote into *directory*: from Parquet, exactly; from CSV for a
    result saved before Parquet (format 1, lossy as CSV is); ``None`` if neither file is there (or the CSV is
    empty)."""
    import pandas as pd

    pq, csv = directory / f"{name}.parquet", directory / f"{name}.csv"
    if pq.is_file():
        try:
            return pd.read_parquet(pq, engine="pyarrow")
        except Exception as e:  # pyarrow raises its own ArrowInvalid / OSError for a damaged file
            raise ConfigError(f"{pq}: not a readable Parquet table ({type(e).__name__}: {e})") from e
    if csv.is_file() and csv.stat().st_size > 1:
        try:
            return pd.read_csv(csv)
        except (OSError, ValueError, UnicodeDecodeError) as e:  # pandas' ParserError is a ValueError
            raise ConfigError(f"{csv}: a damaged results table ({type(e).__name__}: {str(e)[:120]})") from None
    return None


def read_meta(meta_path: Path) -> dict[str, Any]:
    """The JSON object in a saved result's ``meta.json`` (results, comparisons, sweeps); a ConfigError naming the
    file when it is missing, unreadable or not a JSON object."""
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"{meta_path}: not a netlab result's metadata (unreadable JSON: {exc})") from None
    if not isinstance(meta, dict):
        raise ConfigError(f"{meta_path}: not a netlab result's metadata (expected a JSON object)")
    return meta


def load_results(directory: str | Path) -> Results:
    """Read back what :meth:`Results.save` wrote: every table exactly as it was (from its Parquet file). A
    result saved by an older netlab (CSV only) still loads, with CSV's losses (``""`` read as NaN, text that
    looks like a number read as one)."""
    import pandas as pd

    d = Path(directory)
    meta_path = d / "meta.json"
    if not meta_path.is_file():
        raise ConfigError(f"{d}: not a saved netlab result (no meta.json)")
    meta = read_meta(meta_path)
    if not isinstance(meta.get("summary"), dict) or "meta" not in meta:
        raise ConfigError(f"{meta_path}: not a netlab result's metadata (expected an object with summary and meta)")
    extra_names = meta.get("tables", [])
    if not isinstance(extra_names, list) or not all(isinstance(n, str) for n in extra_names):
        raise ConfigError(f"{meta_path}: 'tables' must be a list of table names, got {extra_names!r:.60}")
    if meta.get("format", 1) > SAVE_FORMAT:
        raise ConfigError(f"{meta_path}: saved in format {meta['format']} by a newer netlab; this one reads up to "
                          f"{SAVE_FORMAT}")  # fmt: skip
    tables: dict[str, pd.DataFrame | None] = {}
    for name in _TABLES:
        tables[name] = read_table(d, name)
        if tables[name] is None and name != "packets":
            tables[name] = pd.DataFrame()
    extra = {}
    for name in extra_names:
        df = read_table(d, name)
        if df is None:
            raise ConfigError(f"{d}: meta.json lists the table {name!r}, but there is no {name}.parquet or {name}.csv")
        extra[name] = df
    scenario = None
    if "scenario_yaml" in meta:
        from netlab.scenario.files import loads_scenario

        scenario = loads_scenario(meta["scenario_yaml"], source=str(meta_path))
    return Results(summary=meta["summary"], meta=meta["meta"], scenario=scenario, tables=extra, **tables)  # type: ignore[arg-type]


def package_versions() -> dict[str, str]:
    """The versions of Python, netlab, simpy, networkx and pandas, for the metadata saved with results."""
    out = {"python": platform.python_version()}
    # netlab is distributed as netlab-sim (the PyPI name netlab is taken); the key stays "netlab"
    for pkg, dist in (("netlab", "netlab-sim"), ("simpy", "simpy"), ("networkx", "networkx"), ("pandas", "pandas")):
        try:
            out[pkg] = version(dist)
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            out[pkg] = "unknown"
    return out


def _flows_table(sim: Simulation) -> pd.DataFrame:
    import pandas as pd

    rows = []
    for r in sim.records:
        rx = r.rx_packets
        lost = sum(r.drops.values())
        row = {
            "flow": r.spec.name, "src": r.spec.src, "dst": r.spec.dst,
            "tx_packets": r.tx_packets, "tx_bytes": r.tx_bytes, "rx_packets": rx, "rx_bytes": r.rx_bytes,
            "lost_packets": lost, "in_flight_packets": r.tx_packets - rx - lost,
            "delay_sum_s": r.delay_sum, "delay_mean_s": r.delay_sum / rx if rx else float("nan"),
            "jitter_sum_s": r.jitter_sum, "jitter_mean_s": r.jitter_sum / (rx - 1) if rx > 1 else float("nan"),
            "hops_mean": r.hops_sum / rx if rx else float("nan"),
            "first_tx_s": r.first_tx, "last_tx_s": r.last_tx, "first_rx_s": r.first_rx, "last_rx_s": r.last_rx,
        }  # fmt: skip
        for reason in DROP_REASONS:
            row[f"drops_{reason}"] = r.drops.get(reason, 0)
        rows.append(row)
    cols = ["flow", "src", "dst", "tx_packets", "tx_bytes", "rx_packets", "rx_bytes", "lost_packets",
            "in_flight_packets", "delay_sum_s", "delay_mean_s", "jitter_sum_s", "jitter_mean_s", "hops_mean",
            "first_tx_s", "last_tx_s", "first_rx_s", "last_rx_s", *(f"drops_{r}" for r in DROP_REASONS)]  # fmt: skip
    return pd.DataFrame(rows, columns=cols)


#: Values a link contributes to a statistics snapshot: packets, bytes, busy s, packet-seconds, drops, by reason.
SNAPSHOT_FIELDS = 5 + len(DROP_REASONS)


def _link_columns(
    sim: Simulation, starts: Any, ends: Any, before: Any, after: Any, names: tuple[list[str], ...]
) -> dict[str, Any]:
    """Per link and interval ``[starts[k], ends[k])``: the columns of ``links`` / ``link_bins``.

    *before* and *after* are the cumulative counters at each interval's ends, shaped (intervals, links, fields).
    """
    import numpy as np

    span = np.repeat(ends - starts, len(sim.net.links))
    d = (after - before).reshape(-1, SNAPSHOT_FIELDS)
    with np.errstate(invalid="ignore", divide="ignore"):
        util = np.where(span > 0, d[:, 2] / np.where(span > 0, span, 1.0), np.nan)
        queue = np.where(span > 0, d[:, 3] / np.where(span > 0, span, 1.0), np.nan)
    whole = d.astype(np.int64)  # the counts (exact in a double up to 2**53)
    cols: dict[str, Any] = {"link": names[0], "src": names[1], "dst": names[2], "packets": whole[:, 0],
                            "bytes": whole[:, 1], "utilisation": util, "queue_mean_packets": queue,
                            "drops": whole[:, 4]}  # fmt: skip
    for i, reason in enumerate(DROP_REASONS):
        cols[f"drops_{reason}"] = whole[:, 5 + i]
    return cols


def _counters(snapshot: Any, links: int) -> Any:
    import numpy as np

    return np.frombuffer(snapshot, dtype=np.float64).reshape(links, SNAPSHOT_FIELDS)


def build_results(sim: Simulation, books: dict[str, int], timing: dict[str, float]) -> Results:
    """Turn a finished :class:`~netlab.experiment.runner.Simulation` into :class:`Results`."""
    import numpy as np
    import pandas as pd  # here, not at module level: ``import netlab`` stays fast

    net = sim.net
    n = len(net.links)
    end_t, end_s = sim.snapshots[-1]
    warm = sim.scenario.run.warmup_s
    if sim.warmup_snapshot is not None and warm <= end_t:
        t0, s0 = warm, sim.warmup_snapshot
    else:
        t0, s0 = sim.snapshots[0]
    link_names = [link.name for link in net.links]
    src_names = [link.src.name for link in net.links]
    dst_names = [link.dst.name for link in net.links]
    totals = _link_columns(sim, np.array([t0]), np.array([end_t]), _counters(s0, n)[None], _counters(end_s, n)[None],
                           (link_names, src_names, dst_names))  # fmt: skip
    links = pd.DataFrame(totals)
    links.insert(3, "rate_bps", [link.rate_bps for link in net.links])
    links.insert(4, "delay_s", [link.delay_s for link in net.links])
    bins_n = len(sim.snapshots) - 1
    if bins_n > 0:
        times = np.array([t for t, _ in sim.snapshots])
        counters = np.stack([_counters(snap, n) for _, snap in sim.snapshots])
        cols = _link_columns(sim, times[:-1], times[1:], counters[:-1], counters[1:],
                             (link_names * bins_n, src_names * bins_n, dst_names * bins_n))  # fmt: skip
        del counters
        link_bins = pd.DataFrame({"bin_start_s": np.repeat(times[:-1], n), "bin_end_s": np.repeat(times[1:], n),
                                  **cols})  # fmt: skip
    else:
        link_bins = pd.DataFrame([])
    drops = pd.DataFrame(net.drop_records or [], columns=["time_s", "reason", "where", "flow", "seq", "size_bytes"])
    packets = None
    if sim.packet_records is not None:
        packets = pd.DataFrame(
            sim.packet_records, columns=["flow", "seq", "size_bytes", "created_s", "end_s", "status", "hops"]
        )
    flows = _flows_table(sim)
    rx = int(flows["rx_packets"].sum()) if len(flows) else 0
    delay_sum = float(flows["delay_sum_s"].sum()) if len(flows) else 0.0
    hop_sum = sum(r.hops_sum for r in sim.records)
    summary = {
        "sim_time_s": end_t,
        "stop_reason": sim.stop_reason,
        **books,
        "dropped_by_reason": dict(net.dropped),
        "counted_delivered": rx,
        "packet_hops": hop_sum,
        "mean_delay_s": delay_sum / rx if rx else float("nan"),
    }
    extra: dict[str, pd.DataFrame] = {}
    owner: dict[str, str] = {}
    for ext in sim.extensions:
        for name, table in ext.tables(sim).items():
            if name in extra or name in _TABLES:  # one would silently replace the other
                raise ConfigError(f"extension {ext.name!r} returns a table {name!r}, which "
                                  f"{'extension ' + repr(owner[name]) if name in owner else 'the run itself'} "
                                  "already has; name its tables apart")  # fmt: skip
            extra[name] = table
            owner[name] = ext.name
        summary[ext.name] = ext.summary(sim)
    meta = {
        "scenario_name": sim.scenario.name,
        "seed": sim.scenario.seed,
        "routing": repr(sim.scenario.routing),
        "versions": package_versions(),
        **timing,
    }
    return Results(flows=flows, links=links, link_bins=link_bins, drops=drops, packets=packets, summary=summary,
                   meta=meta, scenario=sim.scenario, tables=extra)  # fmt: skip
