"""The comparison commands of the CLI.

``netlab compare SCENARIO --strategies a,b --reps N [--workers N | --scheduler ADDR] -o DIR`` and ``netlab plot DIR``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from netlab.errors import ConfigError, NetlabError

__all__ = ["add_parsers", "compare_command", "plot_command", "save_comparison_plots", "save_figures"]


def add_parsers(sub: Any) -> None:
    """Add the ``compare`` and ``plot`` subcommands to *sub* (an argparse subparsers object)."""
    c = sub.add_parser("compare", help="compare routing strategies over replications on the same arrivals")
    c.add_argument("scenario", help="scenario YAML file")
    c.add_argument("--strategies", required=True, metavar="A,B,...",
                   help="comma-separated strategy names, each optionally with parameters: "
                        "shortest_hops,least_loaded(mode=link_state,update_interval=2s); a class of your own "
                        "as module:Class(key=value)")  # fmt: skip
    c.add_argument("--reps", type=int, default=10, help="replications per strategy (default 10)")
    c.add_argument("--baseline", help="strategy the paired differences are taken against (default: the first)")
    c.add_argument("--warmup", help="warm-up time replacing run.warmup, e.g. 2s")
    c.add_argument("--seed", type=int, help="first root seed (default: the scenario's)")
    c.add_argument("-s", "--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario key (dotted); repeatable")  # fmt: skip
    c.add_argument("-o", "--out", help="directory to save the comparison into")
    c.add_argument("--plot", action="store_true", help="also write the figures into the output directory")
    c.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    c.add_argument("-j", "--workers", type=_workers, metavar="N",
                   help="local processes to run on (default: one per CPU; 1 = this process only)")  # fmt: skip
    c.add_argument("--scheduler", metavar="ADDR",
                   help="run on a Dask cluster instead, e.g. tcp://host:8786 (needs netlab-sim[dask])")  # fmt: skip

    p = sub.add_parser("plot", help="draw the figures of saved results (a run, a comparison or a sweep)")
    p.add_argument("dir", help="directory written by netlab run -o, netlab compare -o or save_sweep")
    p.add_argument("-o", "--out", help="where to write the PNG files (default: DIR)")


def _workers(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return n


def compare_command(args: argparse.Namespace) -> int:
    from netlab._run_cli import check_output_dir
    from netlab.experiment.compare import compare
    from netlab.scenario.files import load_scenario
    from netlab.scenario.strategies import split_strategy_list

    check_output_dir(args.out, "-o/--out")
    scenario = load_scenario(args.scenario)
    if args.set:
        scenario = scenario.override(*args.set)
    comp = compare(scenario, split_strategy_list(args.strategies), replications=args.reps, warmup=args.warmup,
                   baseline=args.baseline, seed=args.seed, progress=not args.quiet,
                   workers=args.workers, scheduler=args.scheduler)  # fmt: skip
    print(comp.table())
    if args.out:
        out = comp.save(args.out)
        print(f"\ncomparison saved to {out}/")
        if args.plot:
            for path in save_comparison_plots(comp, out):
                print(f"plot written to {path}")
    return 0


def save_figures(out: Path, figures: list[tuple[str, Callable[[Any], Any], tuple[float, float]]]) -> list[Path]:
    """Draw each ``(file name, function(ax), size)`` into its own PNG in *out* (headless); returns the paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, draw, size in figures:
        fig, ax = plt.subplots(figsize=size)
        try:
            draw(ax)
            fig.tight_layout()
            fig.savefig(out / name, dpi=100)
        finally:
            plt.close(fig)
        paths.append(out / name)
    return paths


def save_comparison_plots(comp: Any, out: Path) -> list[Path]:
    """The figures of a comparison: latency CDF, box plot, the mail delivery-time CDF (with mail), path share,
    link heatmap and load map."""
    from netlab.plots import compare as pc

    figures: list[tuple[str, Callable[[Any], Any], tuple[float, float]]] = [
        ("latency_cdf.png", lambda ax: pc.plot_latency_cdf(comp, ax=ax), (8, 4.5)),
        ("latency_box.png", lambda ax: pc.plot_latency_box(comp, ax=ax), (8, 4.5)),
    ]
    if len(comp.mail):  # a mail scenario: the pooled delivery-time CDF per strategy
        from netlab.plots.mail import plot_mail_delivery_cdf

        figures.append(("mail_delivery_cdf.png", lambda ax: plot_mail_delivery_cdf(comp, ax=ax), (8, 5)))
    if len(comp.paths):
        figures.append(("path_share.png", lambda ax: pc.plot_path_share(comp, ax=ax), (9, 4)))
    for i, label in enumerate(comp.strategies):
        if len(comp.link_bins) and (comp.link_bins["strategy"] == label).any():
            figures.append((f"link_heatmap_{i}.png", partial(pc.plot_link_heatmap, comp, strategy=label), (9, 4.5)))
        if comp.scenario is not None:
            figures.append((f"topology_load_{i}.png", partial(pc.plot_topology_load, comp, strategy=label), (7, 5)))
    return save_figures(out, figures)


def plot_command(args: argparse.Namespace) -> int:
    d = Path(args.dir)
    meta_path = d / "meta.json"
    if not meta_path.is_file():
        raise ConfigError(f"{d}: not a saved netlab result, comparison or sweep (no meta.json)")
    from netlab.results import read_meta

    kind = read_meta(meta_path).get("kind")
    out = Path(args.out) if args.out else d
    from netlab._run_cli import check_output_dir

    check_output_dir(str(out), "-o/--out")
    try:
        return _plot_saved(d, out, kind)
    except NetlabError:
        raise
    except (KeyError, ValueError, TypeError, IndexError, AttributeError) as exc:
        # a table with a column missing or of the wrong kind: damaged, hand-edited or from another version
        raise ConfigError(f"{d}: the saved results cannot be plotted ({type(exc).__name__}: {str(exc)[:120]}); "
                          "they look damaged or incomplete: run the scenario again") from None  # fmt: skip


def _plot_saved(d: Path, out: Path, kind: object) -> int:
    if kind == "comparison":
        from netlab.experiment.comparison import load_comparison

        paths = save_comparison_plots(load_comparison(d), out)
    elif kind == "sweep":
        from netlab.experiment.run_metrics import renamed_metrics
        from netlab.plots.compare import plot_load_latency
        from netlab.results import read_table

        df = read_table(d, "sweep")
        if df is None:
            raise ConfigError(f"{d}: a sweep's meta.json but no sweep.parquet or sweep.csv")
        df = renamed_metrics(df)  # a sweep saved by an earlier release: its delay figures too
        metrics = [
            m for m in ("packet_delay_mean_s", "packet_delay_p95_s", "throughput_bps") if (df["metric"] == m).any()
        ]
        paths = save_figures(
            out, [(f"load_{m}.png", partial(plot_load_latency, df, metric=m), (7, 4.5)) for m in metrics]
        )
    else:
        from netlab._run_cli import save_plots
        from netlab.plots.compare import plot_topology_load
        from netlab.results import load_results

        res = load_results(d)
        out.mkdir(parents=True, exist_ok=True)
        paths = save_plots(res, out)
        if res.scenario is not None:
            paths += save_figures(out, [("topology_load.png", lambda ax: plot_topology_load(res, ax=ax), (7, 5))])
    for path in paths:
        print(f"plot written to {path}")
    return 0
