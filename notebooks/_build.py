"""Write the notebooks (02..12) from the cell sources below: ``python notebooks/_build.py``.

Not part of the package. Each notebook: a ``parameters`` cell with SCALE (the test suite appends
``SCALE = 0.25``), public API only, the expected number computed in the notebook, and an assertion with a
stated tolerance. Outputs are not stored; run the notebooks (or the test suite) to see them.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
NOTEBOOKS: dict[str, list[tuple[str, str]]] = {}


def notebook(name: str, *cells: tuple[str, str]) -> None:
    NOTEBOOKS[name] = list(cells)


def md(text: str) -> tuple[str, str]:
    return ("md", text.strip())


def code(text: str) -> tuple[str, str]:
    return ("code", text.strip())


def params(text: str) -> tuple[str, str]:
    return ("params", text.strip())


# Figures inline, as in any notebook (the inline backend is Jupyter's default; said here so a kernel with
# MPLBACKEND set still shows them). Files go under ../results/notebooks (results/ is git-ignored), never into
# notebooks/: the test suite checks both.
SETUP = """
%matplotlib inline
import math
from pathlib import Path
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import netlab
from netlab.plots import compare as pc

OUT = Path('../results/notebooks')  # what the notebooks write: the repository's results/ folder, not notebooks/
OUT.mkdir(parents=True, exist_ok=True)
"""

# ---------------------------------------------------------------------------------------------------- 02
notebook(
    "02_compare_strategies.ipynb",
    md("""
# Comparing routing strategies, with confidence intervals

`netlab.compare` runs every strategy on the same arrivals (replication *r* uses root seed `seed + r` for all of
them), so the paired difference to the baseline cancels most of each replication's noise. The runs are independent
jobs: by default they go to one local process per CPU (`workers=`), or to a Dask cluster (`client=` /
`scheduler=`), with identical numbers.

This notebook uses `topologies/compare.yaml`: a 5 Mbit/s direct link r1–r3 against a 10 Mbit/s two-hop detour
over r2. The same calls on the mail seed scenario (`topologies/seed.yaml`), where the metric that matters is the
delivery time of mail, are in `09_seed_comparison.ipynb`.
"""),
    params("SCALE = 1.0  # 1.0: 10 replications of 20 s; the test suite runs 0.25"),
    code(
        SETUP
        + """
scenario = netlab.load_scenario('../topologies/compare.yaml')
reps = max(3, round(10 * SCALE))
scenario = scenario.override(f'run.until={max(6.0, 20 * SCALE)}s', 'run.warmup=1s')
strategies = {
    'hop count': 'shortest_hops',
    'least-loaded (oracle)': 'least_loaded',
    'least-loaded (link state, 1 s)': netlab.LeastLoaded(mode='link_state', update_interval_s=1.0),
    'ECMP': 'ecmp',
}
"""
    ),
    md("""
## The expected number

Hop count sends `bulk` and `web` (h1→h3, h2→h4) over the direct r1→r3 link. Their offered load over its rate is
the utilisation we must measure on that link: computed here from the scenario itself.
"""),
    code("""
def offered_bps(flow):
    size = flow.size.bytes if hasattr(flow.size, 'bytes') else flow.size.mean_bytes
    return flow.arrivals.rate_pps * size * 8

direct = next(l for l in scenario.topology.links if {l.a, l.b} == {'r1', 'r3'})
expected_util = sum(offered_bps(f) for f in scenario.flows if f.src in ('h1', 'h2')) / direct.rate_bps
print(f'expected utilisation of r1->r3 under hop count: {expected_util:.3f}')
"""),
    code("""
c = netlab.compare(scenario, strategies, replications=reps, progress=False)
print(c.table(['packet_delay_mean_s', 'packet_delay_p95_s', 'packet_delay_p99_s', 'loss_ratio', 'out_of_order', 'link_util_max', 'path_diversity']))
"""),
    code("""
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
pc.plot_latency_cdf(c, ax=axes[0])
pc.plot_latency_box(c, ax=axes[1])
fig.tight_layout()
fig, ax = plt.subplots(figsize=(10, 4))
pc.plot_path_share(c, ax=ax, strategy='least-loaded (link state, 1 s)')
fig.tight_layout()
"""),
    md("""
## What the run must show

* The measured utilisation of r1→r3 under hop count equals the computed one within 0.03 (absolute; Poisson
  arrivals over a short run).
* Least-loaded (oracle) beats hop count on p95 latency: its paired 95 % CI lies entirely below zero.
* ECMP finds one equal-cost path here (the direct link is the only shortest path), so it matches hop count's
  utilisation; per-flow hashing never reorders.
"""),
    code("""
links = c.links[(c.links.src == 'r1') & (c.links.dst == 'r3')].groupby('strategy').utilisation.mean()
print(links)
assert abs(links['hop count'] - expected_util) < 0.03, links['hop count']
p = c.paired.set_index(['strategy', 'metric'])
hi = p.loc[('least-loaded (oracle)', 'packet_delay_p95_s'), 'ci_high']
assert hi < 0, p.loc[('least-loaded (oracle)', 'packet_delay_p95_s')]
assert abs(links['ECMP'] - expected_util) < 0.03
assert (c.runs[c.runs.strategy == 'ECMP'].out_of_order == 0).all()
c.save(OUT / 'compare-results')
back = netlab.load_comparison(OUT / 'compare-results')
pd.testing.assert_frame_equal(back.summary, c.summary)
print('p95 paired difference, oracle - hop count (ms):', round(p.loc[('least-loaded (oracle)', 'packet_delay_p95_s'), 'mean_diff'] * 1e3, 2))
"""),
)

# ---------------------------------------------------------------------------------------------------- 03
notebook(
    "03_custom_strategy.ipynb",
    md("""
# A routing strategy of your own, in twenty lines

A strategy is any object with `detection_delay_s`, `attach(net)`, `topology_changed(net)` and
`next_link(node, packet)` (see `netlab.RoutingStrategy`). This one lets a packet take **one sideways step** at
its first router, onto whichever link (no farther from the destination in hops) has the shorter backlog plus
propagation delay; after that it only moves strictly closer, so it cannot loop. It is then compared with the
built-in strategies on `topologies/compare.yaml`, on the same arrivals.
"""),
    params("SCALE = 1.0  # 1.0: 10 replications of 20 s; the test suite runs 0.25"),
    code(
        SETUP
        + """
import networkx as nx

class SidestepOnce:
    \"\"\"At the first router, the emptier of the links no farther (in hops) from the destination; then strictly closer.\"\"\"
    detection_delay_s = 0.0

    def attach(self, net):
        self.net, self.dist = net, {}

    def topology_changed(self, net):
        self.dist = {}  # hop distances are recomputed on the links that are up

    def hops_to(self, dst):
        if dst not in self.dist:
            G = nx.DiGraph([(l.src, l.dst) for l in self.net.links if l.up])
            self.dist[dst] = nx.single_target_shortest_path_length(G, dst) if dst in G else {}
        return self.dist[dst]

    def next_link(self, node, packet):
        d = self.hops_to(packet.dst)
        here, first = d.get(node, math.inf), packet.hops <= 1
        ok = [l for l in node.out_links if l.up and (d.get(l.dst, math.inf) < here or (first and d.get(l.dst, math.inf) == here))]
        return min(ok, key=lambda l: l.backlog_s() + l.delay_s) if ok else None

    def __repr__(self):
        return 'SidestepOnce()'
"""
    ),
    code("""
scenario = netlab.load_scenario('../topologies/compare.yaml').override(f'run.until={max(6.0, 20 * SCALE)}s', 'run.warmup=1s')
reps = max(3, round(10 * SCALE))
c = netlab.compare(scenario, {'hop count': 'shortest_hops', 'sidestep once': SidestepOnce(),
                              'least-loaded (oracle)': 'least_loaded'}, replications=reps, progress=False)
print(c.table(['packet_delay_mean_s', 'packet_delay_p95_s', 'out_of_order', 'link_util_max', 'path_diversity']))
fig, ax = plt.subplots(figsize=(8, 4))
pc.plot_latency_cdf(c, ax=ax)
fig.tight_layout()
"""),
    md("""
## The expected number

Hop count keeps both h1→h3 and h2→h4 on the 5 Mbit/s direct link: utilisation = their offered load / 5 Mbit/s
(computed below). Sidestepping moves part of that load to the detour, so the direct link must run **below** that
figure, and the p95 latency must drop: the paired 95 % CI of (sidestep − hop count) must lie below zero.
"""),
    code("""
def offered_bps(flow):
    size = flow.size.bytes if hasattr(flow.size, 'bytes') else flow.size.mean_bytes
    return flow.arrivals.rate_pps * size * 8

expected_util = sum(offered_bps(f) for f in scenario.flows if f.src in ('h1', 'h2')) / 5e6
util = c.links[(c.links.src == 'r1') & (c.links.dst == 'r3')].groupby('strategy').utilisation.mean()
p = c.paired.set_index(['strategy', 'metric'])
print(f'expected hop-count utilisation {expected_util:.3f}; measured', util.round(3).to_dict())
assert abs(util['hop count'] - expected_util) < 0.03
assert util['sidestep once'] < expected_util - 0.05
assert p.loc[('sidestep once', 'packet_delay_p95_s'), 'ci_high'] < 0, p.loc[('sidestep once', 'packet_delay_p95_s')]
"""),
)

# ---------------------------------------------------------------------------------------------------- 04
notebook(
    "04_e1_hops_vs_ospf.ipynb",
    md("""
# E1: shortest hops vs OSPF cost (reference bandwidth / link rate)

S–A–D over two 10 Mbit/s links against S–B–C–D over three 100 Mbit/s links, 1 ms propagation per link; Poisson
8 Mbit/s from S to D with exponential sizes of mean 1500 B. Hop count takes the short, slow path at ρ = 0.8;
OSPF with a 100 Mbit/s reference costs it 10 + 10 = 20 against 1 + 1 + 1 = 3 and takes the long, fast path at
ρ = 0.08.
"""),
    params("SCALE = 1.0  # 1.0: 10 replications of 60 s; the test suite runs 0.25"),
    code(
        SETUP
        + """
N, L = netlab.NodeSpec, netlab.LinkSpec
slow, fast = dict(rate_bps=10e6, delay_s=1e-3), dict(rate_bps=100e6, delay_s=1e-3)
topo = netlab.Topology(
    (N('S', 'host'), N('A'), N('B'), N('C'), N('D', 'host')),
    (L('S', 'A', **slow), L('A', 'D', **slow), L('S', 'B', **fast), L('B', 'C', **fast), L('C', 'D', **fast)),
)
lam_bps, mean_bytes = 8e6, 1500
flow = netlab.FlowSpec('f', 'S', 'D', arrivals=netlab.Poisson(lam_bps / (8 * mean_bytes)), size=netlab.ExponentialSize(mean_bytes))
until = max(15.0, 60 * SCALE)
scenario = netlab.Scenario(topo, flows=(flow,), run=netlab.RunSpec(until_s=until, warmup_s=0.1 * until))
reps = max(4, round(10 * SCALE))
"""
    ),
    md("""
## Expected numbers (queueing theory, computed here)

Each link is a FIFO queue with Poisson arrivals (λ packets/s) and exponential service (μ = C / (8 E[L])). The first
link of a path is exactly M/M/1: sojourn 1/(μ − λ). Later links see the *same* packet lengths again, so they are
not independent M/M/1 queues (§4, Kleinrock's caveat). "First link M/M/1 + one service time per further link" is a
lower bound (every packet is served again at full length); the Jackson sum Σ 1/(μ − λ) is the textbook
independence approximation, not a bound (the load sweep below measures a path a few per cent above it at low load:
a short packet that followed a long one closely waits for it again at the next link). Propagation adds 1 ms per
link.
"""),
    code("""
lam = lam_bps / (8 * mean_bytes)
def bounds(rates, hops, lam=lam):
    mus = [r / (8 * mean_bytes) for r in rates]
    first = 1 / (mus[0] - lam)
    upper = sum(1 / (mu - lam) for mu in mus) + hops * 1e-3
    lower = first + sum(1 / mu for mu in mus[1:]) + hops * 1e-3
    return lower, upper
exp_hops = bounds([10e6, 10e6], 2)
exp_ospf = bounds([100e6] * 3, 3)
print('hop count: rho = %.2f, delay in [%.2f, %.2f] ms' % (lam / (10e6 / 12000), exp_hops[0] * 1e3, exp_hops[1] * 1e3))
print('OSPF:      rho = %.2f, delay in [%.3f, %.3f] ms' % (lam / (100e6 / 12000), exp_ospf[0] * 1e3, exp_ospf[1] * 1e3))
print('expected ratio hop/OSPF at least %.1f' % (exp_hops[0] / exp_ospf[1]))
"""),
    code("""
c = netlab.compare(scenario, {'hop count': netlab.ShortestHops(), 'OSPF (ref 100 Mb/s)': netlab.OspfCost(reference_bps=100e6)},
                   replications=reps, progress=False)
print(c.table(['packet_delay_mean_s', 'packet_delay_p95_s', 'link_util_max', 'path_diversity']))
fig, ax = plt.subplots(figsize=(8, 4))
pc.plot_latency_cdf(c, ax=ax)
fig.tight_layout()
"""),
    md("""
Tolerance: the 95 % CI of each mean delay over the replications must overlap the interval [lower bound, Jackson
sum] widened by 3 % (sampling at ρ = 0.8 is noisy), and the hop-count delay must be at least the computed ratio
times OSPF's.
"""),
    code("""
s = c.summary.set_index(['strategy', 'metric'])
for name, (lo, hi) in (('hop count', exp_hops), ('OSPF (ref 100 Mb/s)', exp_ospf)):
    m = s.loc[(name, 'packet_delay_mean_s')]
    print(f'{name}: measured {m["mean"] * 1e3:.3f} ms [{m.ci_low * 1e3:.3f}, {m.ci_high * 1e3:.3f}], expected [{lo * 1e3:.3f}, {hi * 1e3:.3f}]')
    assert m.ci_high >= lo * 0.97 and m.ci_low <= hi * 1.03, (name, m)
ratio = s.loc[('hop count', 'packet_delay_mean_s'), 'mean'] / s.loc[('OSPF (ref 100 Mb/s)', 'packet_delay_mean_s'), 'mean']
assert ratio >= exp_hops[0] / exp_ospf[1], ratio
print(f'hop count / OSPF mean delay: {ratio:.2f}')
"""),
    md("""
## Delay against load, with the queueing formula

The same two strategies from a quarter of the load above to all of it, against the formula. The formula is
**M/M/1, not M/D/1**: arrivals are Poisson and packet sizes exponential (`ExponentialSize`), so a link's service
time L/C is exponential too; M/D/1 (Pollaczek–Khinchine with a fixed service time, half the M/M/1 queueing wait)
would be the model for fixed-size packets. Each path has two curves at each offered load (dashed: the lower bound,
first link M/M/1 plus one service time per further link; dotted: the Jackson sum of M/M/1 sojourns, the textbook
approximation); the points are the sweep's means with their 95 % CI bands. OSPF's fast path hardly queues at any
of these loads, so its curves are flat at propagation plus service; hop count's rise as 1/(μ − λ). The measured
hop-count path sits slightly above the Jackson sum at low load and below it near ρ = 0.8: kept packet lengths
make the second link's queue differ from an independent M/M/1 queue both ways.
"""),
    code("""
loads = [0.25, 0.5, 0.75, 0.875, 1.0]
sw = netlab.sweep(scenario, 'load', loads, {'hop count': netlab.ShortestHops(), 'OSPF (ref 100 Mb/s)': netlab.OspfCost(reference_bps=100e6)},
                  replications=reps, progress=False)
paths = {'hop count': ([10e6] * 2, 2), 'OSPF (ref 100 Mb/s)': ([100e6] * 3, 3)}
grid = np.linspace(0.05, 1.05, 120) * lam  # packets/s; rho = 0.84 on the slow path at the right end
fig, ax = plt.subplots(figsize=(8, 4.5))
for k, (name, (rates, hops)) in enumerate(paths.items()):  # drawn first, in the colour the sweep gives the strategy
    lo, hi = np.array([bounds(rates, hops, g) for g in grid]).T
    ax.plot(grid * 8 * mean_bytes / 1e6, lo * 1e3, ls='--', lw=1, color=f'C{k}', label=f'{name}: lower bound (first link M/M/1)')
    ax.plot(grid * 8 * mean_bytes / 1e6, hi * 1e3, ls=':', lw=1, color=f'C{k}', label=f'{name}: Jackson sum (independent M/M/1 links)')
pc.plot_load_latency(sw, ax=ax, metric='packet_delay_mean_s', x='offered_bps')
fig.tight_layout()
"""),
    md("""
Tolerance, as for the single load above: at every load the 95 % CI of each mean delay must overlap its [lower
bound, Jackson sum] widened by 3 %.
"""),
    code("""
m = sw[sw.metric == 'packet_delay_mean_s']
for r in m.itertuples():
    lo, hi = bounds(*paths[r.strategy], lam * r.value)
    print(f'{r.strategy:20s} load x{r.value:<5g} rho {lam * r.value / (paths[r.strategy][0][0] / 12000):.2f}: '
          f'{r.mean * 1e3:7.3f} ms [{r.ci_low * 1e3:.3f}, {r.ci_high * 1e3:.3f}], lower bound {lo * 1e3:.3f}, Jackson {hi * 1e3:.3f}')
    assert r.ci_high >= lo * 0.97 and r.ci_low <= hi * 1.03, r
"""),
    md("""
## Pitfall: the reference bandwidth

With 1 Gbit/s and 10 Gbit/s links and a 100 Mbit/s reference, every cost rounds up to 1 and OSPF degenerates to hop
count; with a 100 Gbit/s reference it does not. One short run each shows the path taken (hops per packet).
"""),
    code("""
fast_topo = netlab.Topology(topo.nodes, tuple(
    netlab.LinkSpec(l.a, l.b, rate_bps=1e9 if l.rate_bps == 10e6 else 10e9, delay_s=l.delay_s) for l in topo.links))
quick = netlab.Scenario(fast_topo, flows=(flow,), run=netlab.RunSpec(until_s=1.0))
hops = {ref: netlab.run(quick, routing=netlab.OspfCost(reference_bps=ref)).flows.hops_mean.iloc[0] for ref in (100e6, 100e9)}
print(hops)
assert hops[100e6] == 2 and hops[100e9] == 3
"""),
)

# ---------------------------------------------------------------------------------------------------- 05
notebook(
    "05_e2_oscillation.ipynb",
    md("""
# E2: a delay metric oscillates under link-state updates; damping alone does not settle it

Two disjoint 2-hop 10 Mbit/s paths S→A→D and S→B→D with 100-packet buffers; 10 sources behind S, 10 sinks behind
D; 12 Mbit/s of Poisson traffic in total (exponential sizes, mean 1000 B). Routing publishes link costs every
T = 10 s.

* **D-SPF** (ARPANET 1979): cost = measured delay, no smoothing (`ewma=1`). Everything follows the path that looked
  best at the last update, so that path runs at ρ = 1.2 and the other idles; at the next update they swap.
* **Damped** (in the spirit of the 1987 HN-SPF metric): EWMA-smoothed, change per update clamped, cost capped at
  3× idle. It bounds how far the published cost swings, but while every packet follows the one published best
  path it **cannot** settle at 50/50: the loaded path's cost still rises and the idle one's falls at every update.
* **Split by 1/cost** (`WeightedSplit`, equal paths so 50/50): converges: ρ = 0.6 on each path, no drops.
"""),
    params("SCALE = 1.0  # 1.0: 5 replications of 200 s (20 updates); the test suite runs 0.25"),
    code(
        SETUP
        + """
T = 10.0
N, L = netlab.NodeSpec, netlab.LinkSpec
core = dict(rate_bps=10e6, delay_s=1e-3, queue_packets=100)
nodes = [N(n) for n in 'SABD'] + [N(f's{i}', 'host') for i in range(10)] + [N(f'd{i}', 'host') for i in range(10)]
links = [L('S', 'A', **core), L('A', 'D', **core), L('S', 'B', **core), L('B', 'D', **core)]
links += [L(f's{i}', 'S', rate_bps=1e9) for i in range(10)] + [L('D', f'd{i}', rate_bps=1e9) for i in range(10)]
mean_bytes, total_bps = 1000, 12e6
rate = total_bps / 10 / (8 * mean_bytes)
flows = [netlab.FlowSpec(f'f{i}', f's{i}', f'd{i}', arrivals=netlab.Poisson(rate), size=netlab.ExponentialSize(mean_bytes)) for i in range(10)]
until = max(80.0, 200 * SCALE)
scenario = netlab.Scenario(netlab.Topology(tuple(nodes), tuple(links)), flows=tuple(flows),
                           run=netlab.RunSpec(until_s=until, warmup_s=T, bin_s=T))
strategies = {
    'D-SPF': netlab.LeastLoaded(mode='link_state', update_interval_s=T, ewma=1.0),
    'damped': netlab.LeastLoaded(mode='link_state', update_interval_s=T, ewma=0.2, clamp=0.5, cap=3.0),
    'split 50/50': netlab.WeightedSplit(splits={'S': {'A': 1, 'B': 1}}),
}
reps = max(2, round(5 * SCALE))
"""
    ),
    md("""
## Expected numbers (computed here)

* Oscillation: the majority path changes at every update, so the share of path A per update interval is ≈ 0 or
  ≈ 1 and **flips per update ≈ 1** for both link-state variants.
* Loss under oscillation: the active path gets λ = 1.2 μ. Its 100-packet buffer fills in B / (λ − μ) seconds, after
  which the excess (λ − μ)/λ = 1/6 is dropped, for the rest of the interval.
* The 50/50 split: ρ = 0.6 per path, no drops, and a path delay between E1's lower bound and Jackson sum. Its whole delay
  distribution has a queueing counterpart too, drawn on the delay CDF below. The formula is **M/M/1** (Poisson
  arrivals, exponential sizes, so exponential service; M/D/1 would be fixed-size packets): a path's first link is
  an M/M/1 queue at λ/2, whose sojourn time is exponential with rate μ − λ/2. Every packet's delay is at least
  that sojourn plus the 2 ms of propagation, so that CDF (dashed) is a bound the measured split curve must stay
  right of. Jackson's textbook tandem (dotted: two independent M/M/1 sojourns, an Erlang-2 law) is the reference
  it would follow if each link drew fresh sizes. The link-state variants have no steady state to compare with.
"""),
    code("""
mu = 10e6 / (8 * mean_bytes); lam = total_bps / (8 * mean_bytes)
fill_s = 100 / (lam - mu)
expected_loss = (lam - mu) / lam * (T - fill_s) / T
lam2 = lam / 2
split_lo = 1 / (mu - lam2) + 1 / mu + 2e-3
split_hi = 2 / (mu - lam2) + 2e-3
print(f'buffer fills in {fill_s:.2f} s; expected loss under oscillation {expected_loss:.3f}')
print(f'split: rho = {lam2 / mu:.2f}, path delay in [{split_lo * 1e3:.2f}, {split_hi * 1e3:.2f}] ms')
"""),
    code("""
c = netlab.compare(scenario, strategies, replications=reps, progress=False)
print(c.table(['packet_delay_mean_s', 'packet_delay_p95_s', 'loss_ratio', 'link_util_max', 'path_diversity']))
"""),
    code("""
paths = c.paths[c.paths.replication == 0].assign(via_a=lambda d: d.path.str.contains('-A-D-'))
share = (paths.groupby(['strategy', 'bin_start_s']).apply(lambda g: g.packets[g.via_a].sum() / g.packets.sum(), include_groups=False)
         .unstack('strategy'))
share = share[share.index >= T]  # after the first update
fig, axes = plt.subplots(1, 2, figsize=(13, 4))
share.plot(ax=axes[0], drawstyle='steps-post', marker='.')
axes[0].set(xlabel='time (s)', ylabel='share of packets via A', title='path share per update interval')
a = mu - lam2  # 1/s: the M/M/1 sojourn rate of the split's first link at rho = 0.6
t = np.geomspace(1e-6, 0.1, 400)  # queueing time (s), on top of the 2 ms of propagation
axes[1].plot((2e-3 + t) * 1e3, 1 - np.exp(-a * t), 'k--', lw=1, label='split: M/M/1 sojourn + 2 ms (bound)')
axes[1].plot((2e-3 + t) * 1e3, 1 - np.exp(-a * t) * (1 + a * t), 'k:', lw=1, label='split: Jackson tandem, 2 x M/M/1 + 2 ms')
pc.plot_latency_cdf(c, ax=axes[1])
fig.tight_layout()
flips = {s: float((share[s].round() != share[s].round().shift()).iloc[1:].mean()) for s in share}
print('flips per update:', flips)
"""),
    md("""
Tolerances: flips per update ≥ 0.9 for both link-state variants; their loss within 0.03 of the computed figure;
damping is not worse than D-SPF on loss (within 0.01); the split's share of A within 0.5 ± 0.03, no drops, its
mean delay inside [lower bound, Jackson sum] widened by 5 %, and its median, 90th and 99th percentile delays at least the
M/M/1 bound's (less 3 %: sampled quantiles).
"""),
    code("""
s = c.summary.set_index(['strategy', 'metric'])['mean']
for name in ('D-SPF', 'damped'):
    assert flips[name] >= 0.9, (name, flips[name])
    assert abs(s[(name, 'loss_ratio')] - expected_loss) < 0.03, (name, s[(name, 'loss_ratio')])
assert s[('damped', 'loss_ratio')] <= s[('D-SPF', 'loss_ratio')] + 0.01
assert abs(share['split 50/50'].mean() - 0.5) < 0.03
assert s[('split 50/50', 'loss_ratio')] == 0
assert split_lo * 0.95 <= s[('split 50/50', 'packet_delay_mean_s')] <= split_hi * 1.05
d = c.delays.loc[c.delays.strategy == 'split 50/50', 'delay_s'].to_numpy()
for q in (0.5, 0.9, 0.99):
    bound = 2e-3 - math.log(1 - q) / a
    print(f'split p{q * 100:g}: {np.quantile(d, q) * 1e3:.3f} ms, M/M/1 bound {bound * 1e3:.3f} ms')
    assert np.quantile(d, q) >= bound * 0.97, (q, np.quantile(d, q), bound)
print('loss:', {k: round(s[(k, 'loss_ratio')], 3) for k in strategies})
"""),
)

# ---------------------------------------------------------------------------------------------------- 06
notebook(
    "06_e3_ecmp_collisions.ipynb",
    md("""
# E3: ECMP hash collisions, 1 − (1 − 1/n)^m

A leaf–spine fabric with n = 4 spines: m long flows from hosts on leaf L1 to hosts on leaf L2, each at (nearly)
host line rate. ECMP hashes each flow (RFC 2992 hash-threshold, salted per node) onto one of the n equal-cost
uplinks, so flows that collide share one spine's capacity. Each replication is one draw of the hash (the root
seed salts it). The expected share of busy spines, which is also the normalised aggregate throughput when m = n,
is 1 − (1 − 1/n)^m (0.684 for m = n = 4, tending to 1 − 1/e).
"""),
    params("SCALE = 1.0  # 1.0: 200 hash draws per m; the test suite runs 0.25"),
    code(
        SETUP
        + """
n, C, size = 4, 10e6, 1000
reps = max(40, round(200 * SCALE))

def fabric(m):
    N, L = netlab.NodeSpec, netlab.LinkSpec
    link = dict(rate_bps=C, delay_s=1e-4, queue_packets=50)
    nodes = [N('L1'), N('L2')] + [N(f'spine{k}') for k in range(n)]
    nodes += [N(f'h{i}', 'host') for i in range(m)] + [N(f'g{i}', 'host') for i in range(m)]
    links = [L('L1', f'spine{k}', **link) for k in range(n)] + [L(f'spine{k}', 'L2', **link) for k in range(n)]
    links += [L(f'h{i}', 'L1', **link) for i in range(m)] + [L('L2', f'g{i}', **link) for i in range(m)]
    # Each flow at 98 % of line rate, constant spacing: one flow alone never queues, two on one spine overflow it.
    flows = [netlab.FlowSpec(f'f{i}', f'h{i}', f'g{i}', arrivals=netlab.Constant(0.98 * C / (8 * size)),
                             size=netlab.FixedSize(size)) for i in range(m)]
    return netlab.Scenario(netlab.Topology(tuple(nodes), tuple(links)), flows=tuple(flows),
                           run=netlab.RunSpec(until_s=0.3, warmup_s=0.1))
"""
    ),
    code("""
rows = []
for m in (1, 2, 4, 8):
    c = netlab.compare(fabric(m), ['ecmp'], replications=reps, progress=False, track_paths=False, max_delays=0)
    up = c.links[c.links.src.eq('L1') & c.links.dst.str.startswith('spine')]
    busy = up.assign(busy=up.utilisation > 0.01).groupby('replication').busy.sum() / n
    carried = up.groupby('replication').utilisation.sum() / n  # aggregate spine throughput / (n x line rate)
    rows.append(dict(m=m, expected=1 - (1 - 1 / n) ** m, busy_share=busy.mean(), busy_se=busy.std(ddof=1) / math.sqrt(reps),
                     throughput_norm=carried.mean()))
table = pd.DataFrame(rows)
table
"""),
    code("""
fig, ax = plt.subplots(figsize=(6, 4))
ms = np.arange(1, 11)
ax.plot(ms, 1 - (1 - 1 / n) ** ms, label='1 - (1 - 1/n)^m')
ax.errorbar(table.m, table.busy_share, yerr=3 * table.busy_se, fmt='o', label='measured (3 SE)')
ax.axhline(1 - 1 / math.e, ls=':', color='grey', label='1 - 1/e')
ax.set(xlabel='flows m', ylabel='share of busy spines', title=f'ECMP over n = {n} spines')
ax.legend()
fig.tight_layout()
"""),
    md("""
Tolerance: for every m, the measured share of busy spines within 3 standard errors (of the mean over the hash
draws, plus 0.01) of the formula; for m = n = 4 the normalised aggregate throughput, busy spines × line rate /
(n × line rate), within 3 standard errors + 0.03 of 0.684 (a lone flow fills 98 % of its spine, not 100 %).
"""),
    code("""
for r in table.itertuples():
    assert abs(r.busy_share - r.expected) <= 3 * r.busy_se + 0.01, r
r4 = table.set_index('m').loc[4]
print(f'm = n = 4: expected {r4.expected:.3f}, busy share {r4.busy_share:.3f}, normalised throughput {r4.throughput_norm:.3f}')
assert abs(r4.throughput_norm - r4.expected) <= 3 * r4.busy_se + 0.03
"""),
)

# ---------------------------------------------------------------------------------------------------- 07
notebook(
    "07_e6_spraying_reordering.ipynb",
    md("""
# E6: per-packet spraying reorders; per-flow ECMP never does

S and D are joined by 4 parallel 2-hop 100 Mbit/s paths; 40 flows of 1500-byte packets load them to 60 % in
total. Per-flow ECMP keeps each flow on one path, so nothing is reordered. Random per-packet spraying spreads
every flow over all four paths: on symmetric paths only queueing jitter (fractions of a millisecond) can reorder,
so little is; add 2 ms to one path and every packet sent on it is overtaken by any packet of its flow sent less
than 2 ms later on a fast path.
"""),
    params("SCALE = 1.0  # 1.0: 5 replications of 4 s; the test suite runs 0.25"),
    code(
        SETUP
        + """
def paths(extra_s):
    N, L = netlab.NodeSpec, netlab.LinkSpec
    nodes = [N('hs', 'host'), N('S'), N('D'), N('hd', 'host')] + [N(f'P{k}') for k in range(4)]
    links = [L('hs', 'S', rate_bps=10e9), L('D', 'hd', rate_bps=10e9)]
    for k in range(4):
        links += [L('S', f'P{k}', rate_bps=100e6, delay_s=1e-3),
                  L(f'P{k}', 'D', rate_bps=100e6, delay_s=1e-3 + (extra_s if k == 3 else 0.0))]
    return netlab.Topology(tuple(nodes), tuple(links))

size, flows_n, load = 1500, 40, 0.6
flow_pps = load * 4 * 100e6 / (8 * size) / flows_n
flows = tuple(netlab.FlowSpec(f'f{i}', 'hs', 'hd', arrivals=netlab.Poisson(flow_pps), size=netlab.FixedSize(size)) for i in range(flows_n))
until = max(1.0, 4 * SCALE)
run = netlab.RunSpec(until_s=until, warmup_s=0.1 * until)
reps = max(2, round(5 * SCALE))
skew = 2e-3
"""
    ),
    md("""
## Expected out-of-order fraction (computed here)

With random spraying a packet takes the slow path with probability 1/4. It arrives out of order if a later packet
of its flow, sent within the skew Δ on one of the three fast paths, overtakes it. A flow's packets are Poisson at
λ_f, so that later packets go on a fast path form a Poisson process of rate (3/4) λ_f, and the expected fraction is
(1/4)(1 − e^(−(3/4) λ_f Δ)). Queueing jitter on the symmetric paths is far below the mean spacing 1/λ_f, so the
symmetric fraction should be small (below a fifth of that).
"""),
    code("""
expected = 0.25 * (1 - math.exp(-0.75 * flow_pps * skew))
print(f'per-flow rate {flow_pps:.0f} packets/s; expected out-of-order fraction with +{skew * 1e3:.0f} ms: {expected:.4f}')
results = {}
for label, extra in (('symmetric', 0.0), (f'+{skew * 1e3:.0f} ms on one path', skew)):
    s = netlab.Scenario(paths(extra), flows=flows, run=run)
    c = netlab.compare(s, {'ECMP (per flow)': 'ecmp', 'spray (per packet)': 'spray'}, replications=reps, progress=False)
    delivered = c.runs.throughput_bps * (until - run.warmup_s) / (8 * size)
    results[label] = (c.runs.assign(ooo_fraction=c.runs.out_of_order / delivered)
                      .groupby('strategy')[['out_of_order', 'ooo_fraction', 'packet_delay_mean_s', 'packet_delay_p99_s']].mean())
table = pd.concat(results, names=['paths'])
table
"""),
    code("""
from netlab.plots.bars import bars  # a bar of height 0 (ECMP's, every time) is marked and labelled, not invisible

wide = table.ooo_fraction.unstack('strategy')
fig, ax = plt.subplots(figsize=(7, 4))
width = 0.8 / len(wide.columns)
for k, strategy in enumerate(wide.columns):
    bars(ax, np.arange(len(wide)) + (k - (len(wide.columns) - 1) / 2) * width, wide[strategy].to_numpy(),
         width=width, color=f'C{k}', label=strategy)
ax.set_xticks(range(len(wide)), wide.index)
ax.axhline(expected, ls='--', color='k', label='expected (spray, skewed)')
ax.set(ylabel='out-of-order fraction of delivered packets')
ax.legend()
fig.tight_layout()
"""),
    md("""
Tolerance: ECMP exactly 0 out-of-order packets in every case; spraying on the skewed paths within 0.02
(absolute) of the computed fraction; spraying on symmetric paths below a fifth of it.
"""),
    code("""
skewed = f'+{skew * 1e3:.0f} ms on one path'
assert (table.xs('ECMP (per flow)', level='strategy').out_of_order == 0).all()
assert abs(table.loc[(skewed, 'spray (per packet)'), 'ooo_fraction'] - expected) < 0.02, table
assert table.loc[('symmetric', 'spray (per packet)'), 'ooo_fraction'] < expected / 5, table
"""),
)

# ---------------------------------------------------------------------------------------------------- 08
notebook(
    "08_e7_braess.ipynb",
    md("""
# E7: Braess's paradox in a queueing network

Links S–A and B–T are M/M/1 queues with μ = 10 mails/s (80 kbit/s, exponential sizes of mean 1000 B); links A–T
and S–B are pure delays of 0.3 s with infinite rate (`rate: inf`). Total load λ = 6 mails/s from S to T. Routes are
fixed splits (`WeightedSplit`):

1. **No bridge**: the equilibrium splits 50/50; each path is one M/M/1 at λ/2 plus 0.3 s.
2. **Zero-delay bridge A–B**: the selfish (Wardrop) equilibrium puts everyone on S–A–B–T, through both queues at λ.
   It is an equilibrium because each other path then costs one queue at λ plus 0.3 s, more than S–A–B–T.
"""),
    params("SCALE = 1.0  # 1.0: 6 replications of 4000 s; the test suite runs 0.25"),
    code(
        SETUP
        + """
mu, lam, d = 10.0, 6.0, 0.3
mean_bytes = 1000
C = mu * 8 * mean_bytes
expected_no_bridge = 1 / (mu - lam / 2) + d
expected_bridge = 2 / (mu - lam)
expected_detour = 1 / (mu - lam) + d
print(f'no bridge: {expected_no_bridge:.3f} s; bridge equilibrium: {expected_bridge:.3f} s '
      f'({expected_bridge / expected_no_bridge - 1:+.0%}); alternatives then cost {expected_detour:.3f} s')
"""
    ),
    code("""
def braess(bridge):
    N, L = netlab.NodeSpec, netlab.LinkSpec
    links = [L('S', 'A', rate_bps=C), L('A', 'T', rate_bps=math.inf, delay_s=d),
             L('S', 'B', rate_bps=math.inf, delay_s=d), L('B', 'T', rate_bps=C)]
    if bridge:
        links.append(L('A', 'B', rate_bps=math.inf, delay_s=0.0))
    return netlab.Topology((N('S', 'host'), N('A'), N('B'), N('T', 'host')), tuple(links))

until = max(1000.0, 4000 * SCALE)
flow = netlab.FlowSpec('mail', 'S', 'T', arrivals=netlab.Poisson(lam), size=netlab.ExponentialSize(mean_bytes))
run = netlab.RunSpec(until_s=until, warmup_s=0.1 * until)
reps = max(4, round(6 * SCALE))
no_bridge = netlab.compare(netlab.Scenario(braess(False), flows=(flow,), run=run),
                           {'50/50': netlab.WeightedSplit(splits={'S': {'A': 1, 'B': 1}})}, replications=reps, progress=False)
bridge = netlab.compare(netlab.Scenario(braess(True), flows=(flow,), run=run),
                        {'all via bridge': netlab.WeightedSplit(splits={'S': {'A': 1}, 'A': {'B': 1}})},
                        replications=reps, progress=False)
no_bridge.summary[no_bridge.summary.metric == 'packet_delay_mean_s']
"""),
    md("""
## A packet keeps its length

In netlab, as in a real network, a mail keeps its size from link to link, so on the bridged path the two queues
are not the independent M/M/1 queues the textbook network assumes (§4, Kleinrock's caveat). We measure both: the
engine as is (sizes kept), and the textbook model with public calls only: run S–A alone on the same arrivals
(same seed, same flow), then replay the instants packets leave it, with freshly drawn sizes, into an isolated
B–T link (the two-stage method of the test suite's Jackson check). The second is what 0.500 s predicts; the
first shows whether the paradox survives the correlation.
"""),
    code("""
def two_stage(seed):
    # Departures from S-A: run S-A alone on the same arrivals (same seed and flow name: the same packets).
    sa = netlab.Topology((netlab.NodeSpec('S', 'host'), netlab.NodeSpec('A', 'host')), (netlab.LinkSpec('S', 'A', rate_bps=C),))
    alone = netlab.run(netlab.Scenario(sa, flows=(netlab.FlowSpec('mail', 'S', 'A', arrivals=flow.arrivals, size=flow.size),),
                                       run=netlab.RunSpec(until_s=until, record_packets=True)), seed=seed).packets
    alone = alone[alone.status == 'delivered'].sort_values('seq')
    rng = np.random.default_rng(seed)
    sizes = np.maximum(1, np.rint(rng.exponential(mean_bytes, len(alone)))).astype(int)
    bt = netlab.Topology((netlab.NodeSpec('B', 'host'), netlab.NodeSpec('T', 'host')), (netlab.LinkSpec('B', 'T', rate_bps=C),))
    second = netlab.run(netlab.Scenario(bt, flows=(netlab.FlowSpec('mail', 'B', 'T', arrivals=netlab.Trace(alone.end_s.tolist(), sizes.tolist())),),
                                        run=netlab.RunSpec(record_packets=True))).packets.sort_values('seq')
    total = (alone.end_s - alone.created_s).to_numpy() + (second.end_s - second.created_s).to_numpy()
    keep = alone.created_s.to_numpy() >= 0.1 * until
    return total[keep].mean(), (alone.end_s - alone.created_s).to_numpy()[keep].mean()

stage = [two_stage(seed) for seed in range(1, reps + 1)]
independent = netlab.mean_ci([t for t, _ in stage])
sa_sojourn = netlab.mean_ci([s for _, s in stage])
kept = bridge.summary.set_index('metric').loc['packet_delay_mean_s']
nb = no_bridge.summary.set_index('metric').loc['packet_delay_mean_s']
print(f'no bridge (50/50):                  {nb["mean"]:.3f} s [{nb.ci_low:.3f}, {nb.ci_high:.3f}]  expected {expected_no_bridge:.3f}')
print(f'bridge, sizes redrawn per queue:     {independent.mean:.3f} s [{independent.low:.3f}, {independent.high:.3f}]  expected {expected_bridge:.3f}')
print(f'bridge, sizes kept (netlab engine):  {kept["mean"]:.3f} s [{kept.ci_low:.3f}, {kept.ci_high:.3f}]')
print(f'S-A sojourn at lambda: {sa_sojourn.mean:.3f} s, so a detour costs {sa_sojourn.mean + d:.3f} s  expected {expected_detour:.3f}')
"""),
    code("""
fig, ax = plt.subplots(figsize=(7, 4))
labels = ['no bridge', 'bridge (independent\\nservice, textbook)', 'bridge (sizes kept)']
values = [nb['mean'], independent.mean, kept['mean']]
errs = [nb['mean'] - nb.ci_low, independent.mean - independent.low, kept['mean'] - kept.ci_low]
ax.bar(labels, values, yerr=errs, color=['C0', 'C3', 'C1'])
ax.axhline(expected_no_bridge, ls='--', color='C0'); ax.axhline(expected_bridge, ls='--', color='C3')
ax.set(ylabel='mean S->T delay (s)', title="Braess's paradox")
fig.tight_layout()
"""),
    md("""
Tolerances: each measured mean within 5 % of its expected value (its 95 % CI over replications must overlap the
±5 % band); the paradox itself: the bridged delay exceeds the no-bridge delay with non-overlapping CIs, for the
textbook model and for the engine's kept sizes (which must stay within 10 % of 0.500 s); the equilibrium check: a
detour (S–A sojourn + 0.3 s) costs more than the bridged path.
"""),
    code("""
def near(ci_low, ci_high, value, rel=0.05):
    return ci_high >= value * (1 - rel) and ci_low <= value * (1 + rel)
assert near(nb.ci_low, nb.ci_high, expected_no_bridge), nb
assert near(independent.low, independent.high, expected_bridge), independent
assert independent.low > nb.ci_high  # adding the bridge made everyone slower
assert near(sa_sojourn.low + d, sa_sojourn.high + d, expected_detour)
assert sa_sojourn.mean + d > independent.mean  # nobody gains by leaving the bridged path
assert kept.ci_low > nb.ci_high and abs(kept['mean'] / expected_bridge - 1) < 0.10  # the paradox survives kept sizes
"""),
)


# ---------------------------------------------------------------------------------------------------- 09
notebook(
    "09_seed_comparison.ipynb",
    md("""
# Routing matters on the seed scenario: mail delivery time

`topologies/seed.yaml` is the bundled mail scenario (three domains, relays, a primary and a backup MX with a
one-minute crash, DNS, POP3 and IMAP readers). beta.example's site, r-beta, hangs off the core by a thin
500 kbit/s line that the background bulk flow bg1→bg2 keeps about three quarters busy; the other way in is the
long way round, r-core → r-gamma → r-west1 → r-west2 → r-beta: four hops at 10 Mbit/s, idle.

Hop count sends alpha.example's mail for beta.example (relay-a → mx-b1) over the busy line. Least-loaded routing
(the oracle: each packet's source sees every link's backlog at that instant and takes the least-delay path) takes
the long way whenever the line is backed up; the link-state variant measures the links every second and moves
whole flows. The metric is `mail_delivery_p95_s`: the 95th percentile of the time from submission (the MUA's
message accepted by the MSA) to the mailbox, over every delivered (message, recipient) pair of a run.
"""),
    params(
        "SCALE = 1.0  # 1.0: 12 replications of hop count, oracle and link-state least-loaded; the test suite runs 0.25"
    ),
    code(
        SETUP
        + """
scenario = netlab.load_scenario('../topologies/seed.yaml')
reps = max(6, round(12 * SCALE))
strategies = {'hop count': netlab.ShortestHops(), 'least-loaded (oracle)': netlab.LeastLoaded()}
if SCALE >= 0.5:  # the link-state variant adds a third of the time again
    strategies['least-loaded (link state, 1 s)'] = netlab.LeastLoaded(mode='link_state', update_interval_s=1.0)
"""
    ),
    md("""
## The expected number

Under hop count the bulk flow (and alpha's mail for beta) crosses r-core→r-beta, so that line's utilisation is
the bulk flow's offered load over the line's rate, computed here from the scenario. It must be above 0.6: that is
the load routing can move.
"""),
    code("""
line = next(l for l in scenario.topology.links if {l.a, l.b} == {'r-core', 'r-beta'})
bulk = next(f for f in scenario.flows if f.name == 'bulk')
expected_util = bulk.arrivals.rate_pps * bulk.size.bytes * 8 / line.rate_bps
print(f'r-core->r-beta: {line.rate_bps / 1e3:.0f} kbit/s; bulk offers {expected_util:.3f} of it under hop count')
assert expected_util > 0.6
"""),
    code("""
c = netlab.compare(scenario, strategies, replications=reps, progress=False)
print(c.table(['mail_delivery_p50_s', 'mail_delivery_p95_s', 'mail_delivery_p99_s', 'packet_delay_p95_s',
               'link_util_max', 'retransmissions', 'path_diversity']))
"""),
    md("""
## Delivery timing

The comparison keeps every (message, recipient) pair of every replication (`c.mail`: status and delivery time),
so the distribution of the time from submission to the mailbox needs no re-run. Every pair counts in the
denominator: a curve that ends below 1 shows the pairs that bounced, were rejected or are still queued.
"""),
    code("""
from netlab.plots.mail import plot_mail_delivery_cdf

print(c.mail.groupby(['strategy', 'status']).size().unstack(fill_value=0))
fig, axes = plt.subplots(1, 2, figsize=(13, 5))
plot_mail_delivery_cdf(c, ax=axes[0])
axes[0].axhline(0.95, ls=':', color='grey')
pc.plot_latency_cdf(c, ax=axes[1])
axes[1].set_title('packet delays (background flows and mail segments)')
fig.tight_layout()
fig, axes = plt.subplots(1, 2, figsize=(13, 5))
for ax, label in zip(axes, list(strategies)[:2]):
    pc.plot_topology_load(c, ax=ax, strategy=label)
    ax.set_title(f'link load: {label}')
fig.tight_layout()
"""),
    md("""
## What the run must show

* Hop count's r-core→r-beta utilisation (mean over replications) equals the computed offered load within 0.05
  (the run ends a little after the bulk flow stops, which lowers it, and mail crossing the line raises it), and
  hop count's busiest link is above 0.6 in every replication.
* Least-loaded (oracle) beats hop count on p95 mail delivery time: the paired 95 % CI of `mail_delivery_p95_s`
  lies entirely below zero, and it is lower in every replication.
* It does so by taking load off the line: its busiest link is less busy, with non-overlapping CIs.
"""),
    code("""
hop = c.links[(c.links.strategy == 'hop count') & (c.links.link == 'r-core->r-beta')]
print(f'hop count r-core->r-beta utilisation: {hop.utilisation.mean():.3f} (expected {expected_util:.3f} +- 0.05)')
assert abs(hop.utilisation.mean() - expected_util) < 0.05
hop_runs = c.runs[c.runs.strategy == 'hop count']
assert (hop_runs.link_util_max > 0.6).all(), hop_runs.link_util_max
p = c.paired.set_index(['strategy', 'metric'])
diff = p.loc[('least-loaded (oracle)', 'mail_delivery_p95_s')]
print(f"p95 mail delivery, oracle - hop count: {diff.mean_diff:.2f} s [{diff.ci_low:.2f}, {diff.ci_high:.2f}]")
assert diff.ci_high < 0, diff
per_rep = c.runs.pivot(index='replication', columns='strategy', values='mail_delivery_p95_s')
assert (per_rep['least-loaded (oracle)'] < per_rep['hop count']).all(), per_rep
s = c.summary.set_index(['strategy', 'metric'])
assert s.loc[('least-loaded (oracle)', 'link_util_max'), 'ci_high'] < s.loc[('hop count', 'link_util_max'), 'ci_low']
delivered = c.mail[c.mail.status == 'delivered'].groupby(['strategy', 'replication']).size()
assert delivered.to_dict() == c.runs.set_index(['strategy', 'replication']).mail_delivered.to_dict()  # one count
"""),
)


# ---------------------------------------------------------------------------------------------------- 10
notebook(
    "10_message_life_and_what_ifs.ipynb",
    md("""
# One message's life, a pulled cable, and an operator's what-ifs

The seed scenario (`topologies/seed.yaml`) with its random workload switched off, driven instead by a trace of
submissions in a CSV file (`mail.send={file: day.csv}`), as an operator would replay a day of their own traffic.
First one message, followed through every stage; then the primary MX's cable pulled, so the backup MX takes the
message and its deferred queue retries on Postfix's schedule; then a two-hour trace under four what-ifs.
"""),
    params("SCALE = 1.0  # fraction of the 200-message trace in part 3; the test suite runs 0.25"),
    code(
        SETUP
        + """
from email.utils import parsedate_to_datetime
from netlab.mail.mailbox import read_mailbox
from netlab.plots.mail import plot_message_timeline

seed = netlab.load_scenario('../topologies/seed.yaml')
quiet = seed.override('mail.workload=null', 'faults=[]')  # no random mail, no scheduled crash


def replay(scenario, rows, name):
    # the scenario with rows (a DataFrame: at, from, to, ...) as its submissions, through a CSV file
    rows.to_csv(name, index=False)
    return scenario.override(f"mail.send={{file: {Path(name).resolve()}}}")
"""
    ),
    md("""
## One message, step by step

alice@alpha.example sends the minutes (3 KB of text and a 40 KB attachment) to dave@beta.example at t = 10 s:
her mail program submits to msa-a with AUTH, msa-a relays through its smarthost relay-a, relay-a looks up
beta.example's MX and delivers to mx-b1, which files it in dave's mailbox; dave's IMAP client (IDLE) fetches it.
"""),
    code("""
one_row = pd.DataFrame([{'at': 10, 'from': 'alice@alpha.example', 'to': 'dave@beta.example',
                         'subject': 'Minutes of the meeting', 'body_size': '3KB', 'attachment': '40KB'}])
one = netlab.run(replay(quiet, one_row, OUT / 'one.csv'))
row = one.messages.iloc[0]
print(row[['status', 'hop_hosts', 'mail_hops', 'size_bytes', 'submitted_s', 'delivered_s', 'retrieved_s', 'packets']])
fig, ax = plt.subplots(figsize=(9, 3.5))
plot_message_timeline(one, rcpt='dave@beta.example', ax=ax)
fig.tight_layout()
"""),
    md(
        "The message as dave's mail program shows it: one `Received:` line per MTA hop, newest first, and one "
        "`Return-Path`; and the Postfix-style log lines of its queue ids."
    ),
    code("""
msg = read_mailbox(one, 'dave@beta.example')[0]
received = msg.get_all('Received')
for line in received:
    print(' '.join(str(line).split()))
print('Return-Path:', msg['Return-Path'])
when = [parsedate_to_datetime(str(r).rsplit(';', 1)[1].strip()) for r in received]
assert row.status == 'delivered' and row.hop_hosts == 'msa-a relay-a mx-b1'
assert len(received) == row.mail_hops == 3 and when == sorted(when, reverse=True)
assert msg.get_all('Return-Path') == ['<alice@alpha.example>']
qids = set(row.queue_ids.split())
log = one.maillog[one.maillog.queue_id.isin(qids)]
print('\\n'.join(log.line))
"""),
    md("""
## Pull the primary MX's cable

The same message, with the link mx-b1–r-beta down from 5 s to 15 min. relay-a cannot reach mx-b1 and falls back
to the backup MX mx-b2 (preference 20), which accepts the message for beta.example and queues it. mx-b2 cannot
reach mx-b1 either: its queue manager defers the message and retries it at its deferred-queue scans (every
300 s) once the backoff has passed. Postfix's rule: after a failed attempt ending at second *f*, a message that
arrived at second *a* waits until *f* + clamp(*f* − *a*, 300 s, 4000 s), and is taken by the first scan after that.
"""),
    code("""
cut = replay(quiet, one_row, OUT / 'one.csv').override(
    'faults=[{at: 5s, link: [mx-b1, r-beta], action: down}, {at: 15min, link: [mx-b1, r-beta], action: up}]')
pulled = netlab.run(cut)
row = pulled.messages.iloc[0]
tries = pulled.mail_hops[pulled.mail_hops.client == 'mx-b2'][['start_s', 'end_s', 'code', 'error']]
print(row[['status', 'hop_hosts', 'delivered_s']])
print(tries.to_string())
arrival = int(tries.start_s.iloc[0])  # mx-b2 queued it just before its first attempt
expected = [tries.start_s.iloc[0]]
for end in tries.end_s.iloc[:-1]:  # every attempt but the last failed
    ready = int(end) + min(max(int(end) - arrival, 300), 4000)
    expected.append(math.ceil(ready / 300) * 300)
print('attempts at', tries.start_s.round(1).tolist(), 'expected', expected)
assert row.status == 'delivered' and row.hop_hosts == 'msa-a relay-a mx-b2 mx-b1'
assert np.allclose(tries.start_s, expected) and row.delivered_s >= 15 * 60
"""),
    md("""
## An operator's what-ifs on a two-hour trace

A trace of submissions from alpha's and gamma's users to beta's over two hours (made up here; an operator would
export theirs), replayed under four what-ifs: as is; the primary MX down for an hour; 5 % loss on the line into
beta's site; and the MX down for an hour with the queue lifetime shortened to 30 minutes. Every
(message, recipient) must end delivered, bounced with a DSN its sender can read, or still queued.
"""),
    code("""
rng = np.random.default_rng(7)
n = max(20, int(200 * SCALE))
senders = ['alice@alpha.example', 'bob@alpha.example', 'carol@alpha.example', 'frank@gamma.example',
           'grace@gamma.example']
beta = ['dave@beta.example', 'erin@beta.example', 'heidi@beta.example', 'ivan@beta.example']
trace = pd.DataFrame({
    'at': np.sort(rng.uniform(0, 7200, n)).round(3),
    'from': rng.choice(senders, n),
    'to': [' '.join(rng.choice(beta, k, replace=False)) for k in rng.integers(1, 3, n)],
    'subject': [f'Report {i}' for i in range(n)],
    'body_size': rng.lognormal(np.log(4000), 1.0, n).astype(int),
})
day = replay(quiet.override('run.until=null'), trace, OUT / 'day.csv')
outage = 'faults=[{at: 30min, node: mx-b1, action: down}, {at: 90min, node: mx-b1, action: up}]'
what_ifs = {
    'as is': day,
    'primary MX down 1 h': day.override(outage),
    '5 % loss into beta': day.override('links[r-core,r-beta].loss=0.05'),  # a link by its two ends
    'MX down 1 h, lifetime 30 min': day.override(outage, 'mail.queue.maximal_queue_lifetime=30min'),
}
runs = {name: netlab.run(s) for name, s in what_ifs.items()}


def outcome(res):
    m = res.messages[res.messages.kind == 'mail']
    d = m[m.status == 'delivered']
    wait = d.delivered_s - d.submitted_s
    return {'pairs': len(m), 'delivered': int((m.status == 'delivered').sum()),
            'bounced': int((m.status == 'bounced').sum()), 'queued': int((m.status == 'queued').sum()),
            'p50 (s)': wait.median(), 'p95 (s)': wait.quantile(0.95), 'max (s)': wait.max(),
            'retransmissions': int(res.connections.retransmissions.sum())}


table = pd.DataFrame({name: outcome(res) for name, res in runs.items()}).T
table
"""),
    code("""
fig, ax = plt.subplots(figsize=(9, 4))
for name, res in runs.items():
    m = res.messages
    d = m[(m.kind == 'mail') & (m.status == 'delivered')]
    wait = np.sort((d.delivered_s - d.submitted_s).to_numpy())
    ax.step(wait, np.arange(1, len(wait) + 1) / len(wait), where='post', label=name)
ax.set(xscale='log', xlabel='submission to mailbox (s)', ylabel='fraction of delivered pairs')
ax.legend(fontsize=8)
fig.tight_layout()
"""),
    md("""
## What the runs must show

* As is, every pair is delivered.
* With the primary MX down, every pair is still delivered: mail submitted while it is down waits in the backup
  MX's queue and arrives only after it is back (90 min).
* 5 % loss costs retransmissions, and every pair is still delivered, intact.
* With the queue lifetime at 30 minutes, the backup MX gives up on mail it could not pass on in time: those pairs
  bounce, each sender gets a DSN (`multipart/report`, `Action: failed`, `Status: 4.4.7`), nothing is lost.
"""),
    code("""
t = table
assert (t.loc['as is', 'delivered'] == t.loc['as is', 'pairs']) and t.loc['as is', 'bounced'] == 0
m = runs['primary MX down 1 h'].messages
assert (m.status == 'delivered').all(), m.status.value_counts()
during = m[(m.kind == 'mail') & (m.submitted_s > 30 * 60 + 60) & (m.submitted_s < 90 * 60 - 60)]
assert len(during) and (during.delivered_s >= 90 * 60).all() and during.hop_hosts.str.contains('mx-b2').all()
assert t.loc['5 % loss into beta', 'delivered'] == t.loc['5 % loss into beta', 'pairs']
assert t.loc['5 % loss into beta', 'retransmissions'] > t.loc['as is', 'retransmissions']
short = runs['MX down 1 h, lifetime 30 min']
m = short.messages
bounced = m[(m.kind == 'mail') & (m.status == 'bounced')]
assert len(bounced) > 0 and set(m.status) <= {'delivered', 'bounced', 'queued'}
dsns = m[m.kind == 'dsn']
assert set(bounced.mail_from) <= set(dsns[dsns.status == 'delivered'].rcpt_to)
sender = bounced.mail_from.iloc[0]
report = next(x for x in read_mailbox(short, sender) if x.get_content_type() == 'multipart/report')
status = next(p for p in report.walk() if p.get_content_type() == 'message/delivery-status')
blocks = status.get_payload()
print(report['Subject']); print(blocks[1])
assert blocks[1]['Action'] == 'failed' and blocks[1]['Status'] == '4.4.7'
"""),
)


notebook(
    "11_operator_auth_whatifs.ipynb",
    md("""
# Sender authentication: an operator's what-ifs

The bundled `topologies/mail-auth.yaml` (alpha.example signs with DKIM at its relay and publishes SPF and
`p=reject`; partner.example is unsigned with `p=quarantine`; beta's mx-b checks SPF, DKIM and DMARC), with the
bot's forgeries off, under five questions an operator asks before changing something:

1. the outbound mail moves to a new relay that the SPF record does not name: what bounces?
2. the DKIM key is rotated in place while receivers cache the old one for the TTL: what fails, and for how long?
3. greylisting on at the MX: how much later does first-time mail arrive, and repeat senders?
4. a partner is on a blocklist for an hour: deferred or bounced, and is anything lost?
5. the bot gets blocklisted and some users bypass the MSA: what does each share meet at mx-b?
"""),
    params("SCALE = 1.0  # the workload's length: 0.5 h + 1.5 h * SCALE of mail; the test suite runs 0.25"),
    code(
        SETUP
        + """
auth = netlab.load_scenario('../topologies/mail-auth.yaml')
minutes = int(60 * (0.5 + 1.5 * SCALE))
base = auth.override('mail.workload.forged_fraction=0', f'mail.workload.stop={minutes}min',
                     f'run.until={minutes + 120}min')


def mail(res):
    m = res.messages
    return m[m.kind == 'mail']


def conserved(res):
    # every (message, recipient) of mail ended delivered, bounced or rejected, and the run's books say so
    m, counts = mail(res), res.summary['mail']['messages']
    ended = m.status.isin(['delivered', 'bounced', 'rejected']).all()
    return ended and counts == m.status.value_counts().to_dict()
"""
    ),
    md("""
## 1. The new relay is not in the SPF record

alpha's MSA now sends through mx-a instead of relay-a. mx-a does not sign, and alpha's SPF record names only
relay-a: at mx-b alpha's mail fails SPF, has no DKIM signature, fails DMARC and `p=reject` refuses it
(550 5.7.1); mx-a bounces it to its sender. Adding mx-a to the record fixes it.
"""),
    code("""
moved = base.override('mail.servers[msa-a].smarthost=mx-a', 'mail.servers[mx-a].trusted=[msa-a]')
fixed = moved.override('mail.records[0].value="v=spf1 a:relay-a.alpha.example a:mx-a.alpha.example -all"')
spf_runs = {'record misses mx-a': netlab.run(moved), 'record names mx-a': netlab.run(fixed)}
for name, res in spf_runs.items():
    m = mail(res)
    print(name); print(pd.crosstab(m.mail_from, [m.spf, m.dmarc, m.status]), end='\\n\\n')
m = mail(spf_runs['record misses mx-a'])
via_new = m.hop_hosts.str.contains('mx-a')
assert via_new.sum() > 0 and (m[via_new].mail_from.str.endswith('@alpha.example')).all()
# the bounced are exactly the new relay's share, each refused by DMARC
assert (m.status == 'bounced').sum() == via_new.sum() and (m[via_new].status == 'bounced').all()
assert (m[via_new].dmarc == 'fail').all() and (m[via_new].dsn == '5.7.1').all()
assert (m[~via_new].status == 'delivered').all()
assert (mail(spf_runs['record names mx-a']).status == 'delivered').all()
assert all(conserved(r) for r in spf_runs.values())
"""),
    md("""
## 2. The DKIM key rotated in place, TTL longer than the overlap

The key changes at a third of the run under the same selector with no overlap (the old key is gone at once);
mx-b holds the old key for the record's TTL (10 min here). Mail signed with the new key fails verification
while mx-b's cached copy lasts, and only then; it still passes DMARC by aligned SPF, so nothing bounces. A new
selector has nothing cached, so nothing fails.
"""),
    code("""
rot_s, ttl_s = 60 * (minutes // 3), 600
rotation = f'mail.dkim_rotations=[{{domain: alpha.example, at: {rot_s}s}}]'
newsel = f'mail.dkim_rotations=[{{domain: alpha.example, at: {rot_s}s, selector: s2}}]'
dkim_runs = {name: netlab.run(base.override('mail.dns_ttl=10min', o))
             for name, o in [('same selector', rotation), ('new selector', newsel)]}
a = mail(dkim_runs['same selector'])
a = a[a.mail_from.str.endswith('@alpha.example')]
failed = a[a.dkim == 'fail']
print(a.groupby('dkim').submitted_s.agg(['min', 'max', 'count']))
assert len(failed) > 0 and (failed.submitted_s >= rot_s).all() and (failed.submitted_s < rot_s + ttl_s).all()
after = a[a.submitted_s >= rot_s + ttl_s]  # once the cached key expired: the new key is fetched, mail passes
assert len(after) > 0 and (after.dkim == 'pass').all() and (a.status == 'delivered').all()
assert (mail(dkim_runs['new selector']).dkim.isin(['pass', 'none'])).all()
assert all(conserved(r) for r in dkim_runs.values())
"""),
    md("""
## 3. Greylisting on

mx-b greylists as postgrey does (delay 300 s): a new (client, sender, recipient) triple gets 450 and the
sender's queue retries it at its scans (every 300 s) once the backoff (300 s) has passed, so first-time mail
waits between 300 s and about 300 s + one scan. A triple retried after the delay passes from then on: repeat
senders are not delayed.
"""),
    code("""
plain = netlab.run(base)
grey = netlab.run(base.override('mail.servers[mx-b].greylist=true'))
m = mail(grey).sort_values('submitted_s').copy()
m['delay_s'] = m.delivered_s - m.submitted_s
first_done = m.groupby(['mail_from', 'rcpt_to']).delivered_s.transform('min')
first = ~m.duplicated(['mail_from', 'rcpt_to'])
repeat = m.submitted_s > first_done  # sent after the triple's first message got through
print(m[first][['mail_from', 'rcpt_to', 'submitted_s', 'delay_s']].to_string())
print('repeat senders: median', round(m[repeat].delay_s.median(), 3), 's, max', round(m[repeat].delay_s.max(), 3))
assert (m[first].delay_s >= 300).all() and (m[first].delay_s <= 300 + 300 + 60).all()
base_delay = mail(plain).eval('delivered_s - submitted_s').max()
assert repeat.sum() > 0 and (m[repeat].delay_s <= base_delay + 1.0).all()
assert conserved(grey) and (m.status == 'delivered').all()
fig, ax = plt.subplots(figsize=(9, 3.5))
ax.scatter(m[~first].submitted_s / 60, m[~first].delay_s, s=10, label='triple seen before')
ax.scatter(m[first].submitted_s / 60, m[first].delay_s, s=30, marker='x', label='first-time triple')
ax.set(xlabel='submitted (min)', ylabel='submission to mailbox (s)', yscale='symlog', title='greylisting at mx-b')
ax.legend()
fig.tight_layout()
fig.savefig(OUT / '11_greylist_delay.png')
"""),
    md("""
## 4. A partner on a blocklist for an hour

msa-p (partner's MSA, which sends straight to mx-b) is listed on `bl.example` from 10 to 70 minutes; mx-b
consults the list (answers cached 60 s). With `dnsbl_action: defer` (450) msa-p keeps the mail and delivers it
once the listing is gone; with `reject` (554 5.7.1) it bounces at once to its sender. Either way nothing is lost.
"""),
    code("""
listing = ['mail.servers[mx-b].dnsbl=[bl.example]', 'mail.dns_ttl=60s',
           'mail.blocklists=[{zone: bl.example, listed: [msa-p], from: 10min, until: 70min}]']
bl_runs = {a: netlab.run(base.override(*listing, f'mail.servers[mx-b].dnsbl_action={a}')) for a in ('defer', 'reject')}
for action, res in bl_runs.items():
    m = mail(res)
    print(action, res.summary['mail']['messages'])
    p = m[m.mail_from == 'pat@partner.example']
    inside = (p.submitted_s >= 600) & (p.submitted_s < 4200 - 60)
    assert inside.sum() > 0 and (p[p.submitted_s < 600].status == 'delivered').all()
    if action == 'defer':
        assert (p[inside].status == 'delivered').all() and (p[inside].delivered_s >= 4200 - 60).all()
    else:
        assert (p[inside].status == 'bounced').all() and (p[inside].dsn == '5.7.1').all()
    assert (m[m.mail_from != 'pat@partner.example'].status == 'delivered').all() and conserved(res)
"""),
    md("""
## 5. The workload's mix: a blocklisted bot, users who bypass the MSA

The bot is on `bl.example` now and mx-b consults the list, so its share of the mail (`listed`) is refused at RCPT
(554 5.7.1 naming the list) before SPF or DMARC are asked. Some users' mail programs deliver straight to mx-b
instead of submitting (`unsigned`: no signature, from an address no SPF record names): that mail fails DMARC and
meets its domain's policy, alpha rejects it and partner quarantines it into Junk. The `mix` column says which is
which; the rest (`genuine`) passes.
"""),
    code("""
mix = netlab.run(base.override('mail.blocklists=[{zone: bl.example, listed: [bot]}]',
                               'mail.servers[mx-b].dnsbl=[bl.example]', 'mail.workload.listed_fraction=0.15',
                               'mail.workload.listed_clients=[bot]', 'mail.workload.unsigned_fraction=0.15'))
m = mail(mix).assign(domain=lambda d: d.mail_from.str.split('@').str[1])
print(pd.crosstab([m.mix, m.domain], [m.status, m.dmarc, m.folder]))
assert set(m.mix) == {'genuine', 'listed', 'unsigned'}
listed, unsigned = m[m.mix == 'listed'], m[m.mix == 'unsigned']
assert (listed.status == 'rejected').all() and listed.reason.str.contains('blocked using bl.example').all()
assert (unsigned.dmarc == 'fail').all() and (unsigned[unsigned.domain == 'alpha.example'].status == 'rejected').all()
assert (unsigned[unsigned.domain == 'partner.example'].folder == 'Junk').all()
assert (m[m.mix == 'genuine'].status == 'delivered').all() and conserved(mix)
"""),
)

# ---------------------------------------------------------------------------------------------------- 12
notebook(
    "12_routing_and_tcp.ipynb",
    md("""
# Routing × TCP: per-packet spraying against per-flow ECMP and flowlets

A sender site (hosts s0–s3 behind router S) and a receiver site (d0–d3 behind D) are joined by two parallel
paths S–P0–D and S–P1–D of 10 Mbit/s (5 ms a hop, DropTail queues of 50 packets). Four long TCP flows s*i* → d*i*
use netlab's default transport (CUBIC, SACK, D-SACK with undo, delayed ACKs; README "Transport"). They run as a
run extension, `netlab.transport.bulk.TcpTraffic` (`Simulation(scenario, extensions=[...])`), which adds
`res.connections`, `res.tcp_flows` and, with `transport: {trace: true}`, `res.cwnd` to the results.

* **ECMP** hashes each flow onto one path: never reordered, but two flows can collide on one path while the
  other idles (all four on one path with probability 2 · (1/2)⁴ = 1/8).
* **Per-packet spraying** (random, or round-robin per node and destination) uses both paths for every flow. When
  the paths differ by Δ = 25 ms, a segment sent on the slow path is overtaken by every segment sent on the fast
  one in the next 25 ms (about 20 at line rate), far more than the three duplicate ACKs that set off a fast
  retransmit. Those retransmissions are spurious: the receiver's D-SACKs say so
  (`spurious_retransmissions`), and each one cuts the window (`congestion_events`) unless undo restores it.
* **Flowlets** (LetFlow-style `Flowlet`) keep a flow on its path until it pauses longer than `gap`, then pick a
  path at random. A backlogged TCP flow never pauses, so it behaves as a randomly placed ECMP flow; on-off flows
  move at every pause, and with the gap above the worst delay difference they are still never reordered.
"""),
    params("SCALE = 1.0  # 1.0: runs of 20 s and 8 ECMP hash draws; the test suite runs 0.25"),
    code(
        SETUP
        + """
from netlab.experiment.runner import Simulation
from netlab.plots.transport import plot_cwnd
from netlab.transport.bulk import TcpFlow, TcpTraffic

rate, hop_s, queue, m, skew = 10e6, 0.005, 50, 4, 0.025
path_bps = rate * 1460 / 1500        # one path's payload rate: 1460 of every 1500 bytes on the wire
until = max(10.0, 20 * SCALE)
warmup = until / 4                   # goodput counts the payload that first arrived after this
draws = max(4, round(8 * SCALE))     # ECMP hash draws (root seeds 1, 2, ...)
# Flowlet's gap above the largest delay difference a flow can see: the skew plus a full queue on one path.
gap = skew + queue * 1500 * 8 / rate + 0.015
print(f'flowlet gap {gap * 1e3:.0f} ms; payload capacity of the two paths {2 * path_bps / 1e6:.2f} Mbit/s')

def topology(extra_s):
    N, L = netlab.NodeSpec, netlab.LinkSpec
    nodes = [N('S'), N('D'), N('P0'), N('P1')] + [N(f's{i}', 'host') for i in range(m)] + [N(f'd{i}', 'host') for i in range(m)]
    links = [L(f's{i}', 'S', rate_bps=1e9) for i in range(m)] + [L('D', f'd{i}', rate_bps=1e9) for i in range(m)]
    for k in range(2):
        links += [L('S', f'P{k}', rate_bps=rate, delay_s=hop_s, queue_packets=queue),
                  L(f'P{k}', 'D', rate_bps=rate, delay_s=hop_s + (extra_s if k == 1 else 0.0), queue_packets=queue)]
    return netlab.Topology(tuple(nodes), tuple(links))

strategies = {'ECMP': netlab.Ecmp(), 'spray (random)': netlab.Spray(mode='random'),
              'spray (round-robin)': netlab.Spray(mode='round_robin'), 'flowlet': netlab.Flowlet(gap_s=gap)}
cases = {'symmetric': 0.0, f'+{skew * 1e3:.0f} ms on P1': skew}
asym = list(cases)[1]

def run(extra_s, routing, flows, *, seed=1, run_s=until, trace=False, paths=False):
    \"\"\"One run: (results, the data segments' paths per flow and second, or None).\"\"\"
    routing = netlab.PathTracker(routing) if paths else routing
    s = netlab.Scenario(topology(extra_s), routing=routing, seed=seed, transport=netlab.TcpConfig(trace=trace),
                        run=netlab.RunSpec(until_s=run_s, warmup_s=run_s / 4))
    sim = Simulation(s, extensions=[TcpTraffic(flows)])
    res = sim.execute()
    if not paths:
        return res, None
    p = sim.strategy.paths_frame()
    return res, p[p.path.str.startswith('s')]  # the data direction (ACKs go d -> s)

def summary(res):
    \"\"\"Goodput, the senders' TCP counters and each path's utilisation (S -> P0, S -> P1).\"\"\"
    c = res.connections[res.connections.role == 'client']
    util = res.links.set_index(['src', 'dst']).utilisation
    return dict(goodput_Mbps=res.tcp_flows.goodput_bps.sum() / 1e6,
                spurious_retx=int(c.spurious_retransmissions.sum()), retx=int(c.retransmissions.sum()),
                congestion_events=int(c.congestion_events.sum()), undone=int(c.undone_recoveries.sum()),
                timeouts=int(c.timeouts.sum()), util_P0=util[('S', 'P0')], util_P1=util[('S', 'P1')])

backlogged = [TcpFlow(f'f{i}', f's{i}', f'd{i}') for i in range(m)]
"""
    ),
    md("""
## Long (backlogged) flows

Each sender always has data waiting, so its window alone sets its rate. What to expect: ECMP's goodput is at
most the number of paths its hash uses times one path's payload rate, 9.73 Mbit/s, and close to it (nothing is
reordered, so the windows keep the queues nearly full), with no spurious retransmission at all. Flowlet places
each backlogged flow at random once and keeps it there (it never pauses for 100 ms), so it is a randomly placed
ECMP. Spraying uses both paths for every flow and loses goodput to reordering on the skewed paths.
"""),
    code("""
rows, runs = [], {}
for case, extra in cases.items():
    for name, strategy in strategies.items():
        res, _ = run(extra, strategy, backlogged, trace=True)
        runs[case, name] = res
        rows.append(dict(paths=case, strategy=name, **summary(res)))
table = pd.DataFrame(rows).set_index(['paths', 'strategy'])
table['paths_used'] = (table[['util_P0', 'util_P1']] > 0.05).sum(axis=1)
table['bound_Mbps'] = table.paths_used * path_bps / 1e6  # the most the paths in use can carry
table.to_csv(OUT / '12_long_flows.csv')
table.round(2)
"""),
    code("""
fig, ax = plt.subplots(figsize=(9, 4))
table.goodput_Mbps.unstack('strategy')[list(strategies)].loc[list(cases)].plot.bar(ax=ax, rot=0)
ax.axhline(2 * path_bps / 1e6, ls='--', color='k', lw=1, label='two paths\\' payload rate')
ax.set(ylabel='goodput of the 4 flows (Mbit/s)', title='4 long CUBIC flows over two 10 Mbit/s paths', ylim=(0, 25))
ax.legend(loc='upper center', ncols=5, fontsize=8)
fig.tight_layout()
fig.savefig(OUT / '12_goodput.png')
"""),
    md("""
Tolerances: ECMP between 90 % and 100.1 % of the paths it uses × 9.73 Mbit/s, flowlet at most that (a CUBIC flow
alone on the slow path, with a queue below its BDP, keeps it 91 % busy at best, and in a short run it is still
climbing back from its start-up losses), both with 0 spurious retransmissions.
On the skewed paths random spraying below 60 % of ECMP and round-robin spraying below 90 %, each with more than
100 spurious (D-SACKed) retransmissions and over three times ECMP's congestion events. On symmetric paths
round-robin spraying within 5 % of ECMP (what we measure: a little below it, not above, as the segments it
alternates still meet queues a packet or two apart); random spraying is well below: its per-packet coin flips let
the two queues drift apart by up to 50 packets (60 ms), enough to reorder, so it shows spurious retransmissions and
stays below 95 % of round-robin.
"""),
    code("""
for case in cases:
    r, f = table.loc[(case, 'ECMP')], table.loc[(case, 'flowlet')]
    assert 0.9 * r.bound_Mbps <= r.goodput_Mbps <= 1.001 * r.bound_Mbps and r.spurious_retx == 0, (case, r)
    assert f.goodput_Mbps <= 1.001 * f.bound_Mbps and f.spurious_retx == 0, (case, f)
e, rand, rr = (table.loc[(asym, n)] for n in ('ECMP', 'spray (random)', 'spray (round-robin)'))
assert rand.goodput_Mbps < 0.6 * e.goodput_Mbps and rr.goodput_Mbps < 0.9 * e.goodput_Mbps, table
for r in (rand, rr):
    assert r.spurious_retx > 100 and r.congestion_events > 3 * e.congestion_events, r
sym = table.loc['symmetric']
assert sym.loc['spray (round-robin)', 'goodput_Mbps'] >= 0.95 * sym.loc['ECMP', 'goodput_Mbps'], sym
assert sym.loc['spray (random)', 'goodput_Mbps'] < 0.95 * sym.loc['spray (round-robin)', 'goodput_Mbps'], sym
assert sym.loc['spray (random)', 'spurious_retx'] > 0
print(f'{asym}: ECMP {e.goodput_Mbps:.2f}, random spray {rand.goodput_Mbps:.2f} ({rand.spurious_retx:.0f} spurious '
      f'retransmissions, {rand.congestion_events:.0f} congestion events), round-robin {rr.goodput_Mbps:.2f} Mbit/s')
"""),
    md("""
## cwnd of one ECMP flow and one sprayed flow (skewed paths)

`transport: {trace: true}` records every change of cwnd; recovery periods are shaded. The ECMP flow's window
follows CUBIC's curve between rare losses; the sprayed flow enters recovery again and again on reordering alone,
so its window stays small (asserted: its mean cwnd over the run below half the ECMP flow's, and more than five
times as many recoveries in its trace).
"""),
    code("""
fig, axes = plt.subplots(1, 2, figsize=(12, 4), sharey=True)
mean_cwnd, recoveries = {}, {}
for ax, name in zip(axes, ('ECMP', 'spray (random)')):
    res = runs[asym, name]
    conn = res.tcp_flows.connection[0]
    plot_cwnd(res.cwnd, [conn], segments_of=1460, ax=ax)
    ax.set(title=f'{name}, flow f0 ({asym})', xlabel='time (s)', ylabel='cwnd (segments)')
    tr = res.cwnd[res.cwnd.connection == conn]
    t = np.append(tr.time_s.to_numpy(), res.summary['sim_time_s'])
    mean_cwnd[name] = float(np.sum(tr.cwnd_bytes.to_numpy() * np.diff(t)) / (t[-1] - t[0]) / 1460)
    entered = (tr.state == 'recovery') & (tr.state.shift() != 'recovery')
    recoveries[name] = int(entered.sum())
fig.tight_layout()
fig.savefig(OUT / '12_cwnd.png')
print('time-average cwnd (segments):', {k: round(v, 1) for k, v in mean_cwnd.items()}, 'recoveries:', recoveries)
assert mean_cwnd['spray (random)'] < 0.5 * mean_cwnd['ECMP'], mean_cwnd
assert recoveries['spray (random)'] > 5 * max(1, recoveries['ECMP']), recoveries
"""),
    md("""
## ECMP's hash draws: where spraying wins on symmetric paths

On symmetric paths round-robin spraying always fills both paths; ECMP does so only when its hash puts the flows
on both (probability 7/8 for four flows). Each root seed is one draw of the hash salt (runs of 10 s here).
Expected: every draw's ECMP goodput between 90 % and 100.1 % of the paths it uses × 9.73 Mbit/s, round-robin
spraying within 5 % of both paths' rate in every draw, so never below ECMP by more than that, and the mean over
draws of ECMP near 15/16 of the two paths' rate (a mean of only a few draws: printed, not asserted).
"""),
    code("""
draw_rows = []
for seed in range(1, draws + 1):
    for name in ('ECMP', 'spray (round-robin)'):
        res, _ = run(0.0, strategies[name], backlogged, seed=seed, run_s=10.0)
        draw_rows.append(dict(seed=seed, strategy=name, **summary(res)))
d = pd.DataFrame(draw_rows)
d['paths_used'] = (d[['util_P0', 'util_P1']] > 0.05).sum(axis=1)
by = d.pivot(index='seed', columns='strategy', values='goodput_Mbps')
by['ECMP paths used'] = d[d.strategy == 'ECMP'].set_index('seed').paths_used
print(by.round(2).to_string())
print(f"mean ECMP {by.ECMP.mean():.2f}, round-robin {by['spray (round-robin)'].mean():.2f}, "
      f"expected ECMP mean 15/16 x {2 * path_bps / 1e6:.2f} = {15 / 16 * 2 * path_bps / 1e6:.2f} Mbit/s")
ecmp = d[d.strategy == 'ECMP']
bound = ecmp.paths_used * path_bps / 1e6
assert ((ecmp.goodput_Mbps >= 0.9 * bound) & (ecmp.goodput_Mbps <= 1.001 * bound)).all(), ecmp
assert (abs(by['spray (round-robin)'] - 2 * path_bps / 1e6) <= 0.05 * 2 * path_bps / 1e6).all(), by
assert (by['spray (round-robin)'] >= 0.95 * by.ECMP).all(), by
"""),
    md("""
## On-off flows: flowlets move, and still do not reorder

Now each flow writes a burst of 500 kB, waits until the receiver has read it, and is silent for an exponential
time of mean 200 ms (`TcpFlow(burst_bytes=..., off_s=...)`), on the skewed paths. Every pause is longer than the
flowlet gap, so Flowlet may move the flow at each burst. Expected: each ECMP flow sends all its segments on one
path (share on P1 exactly 0 or 1); each flowlet flow uses both (share strictly between); flowlet has no spurious
retransmission (its gap is above the delay difference, queueing included), random spraying has many, and
flowlet's goodput is above random spraying's.
"""),
    code("""
on_off = [TcpFlow(f'f{i}', f's{i}', f'd{i}', burst_bytes=500_000, off_s=0.2) for i in range(m)]
oo_rows, shares = [], {}
for name, strategy in strategies.items():
    res, p = run(skew, strategy, on_off, paths=True)
    per_flow = p.assign(p1=p.path.str.contains('-P1-') * p.packets).groupby('flow')[['p1', 'packets']].sum()
    shares[name] = per_flow.p1 / per_flow.packets
    if name == 'flowlet':
        timeline = p.assign(p1=p.path.str.contains('-P1-') * p.packets).groupby(['flow', 'bin_start_s'])[['p1', 'packets']].sum()
    oo_rows.append(dict(strategy=name, bursts=int(res.tcp_flows.bursts.sum()), **summary(res)))
oo = pd.DataFrame(oo_rows).set_index('strategy')
oo['P1 share per flow'] = [', '.join(f'{x:.2f}' for x in shares[n]) for n in oo.index]
oo.to_csv(OUT / '12_on_off.csv')
oo.round(2)
"""),
    code("""
fig, ax = plt.subplots(figsize=(9, 3.5))
for flow, g in (timeline.p1 / timeline.packets).groupby(level='flow'):
    ax.step(g.index.get_level_values('bin_start_s'), g.to_numpy(), where='post', label=flow.split('>')[0])
ax.set(xlabel='time (s)', ylabel='share of segments on P1', title=f'flowlet (gap {gap * 1e3:.0f} ms), on-off flows, per second')
ax.legend(fontsize=7, loc='upper right')
fig.tight_layout()
fig.savefig(OUT / '12_flowlet_paths.png')
"""),
    code("""
assert shares['ECMP'].isin([0.0, 1.0]).all(), shares['ECMP']
assert ((shares['flowlet'] > 0.02) & (shares['flowlet'] < 0.98)).all(), shares['flowlet']
assert oo.loc['flowlet', 'spurious_retx'] == 0 and oo.loc['spray (random)', 'spurious_retx'] > 100, oo
assert oo.loc['flowlet', 'goodput_Mbps'] > oo.loc['spray (random)', 'goodput_Mbps'], oo
print('flowlet P1 shares:', shares['flowlet'].round(2).tolist(), ' ECMP:', shares['ECMP'].tolist())
"""),
)


def build() -> None:
    for name, cells in NOTEBOOKS.items():
        nb = new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        for kind, text in cells:
            if kind == "md":
                nb.cells.append(new_markdown_cell(text))
            else:
                cell = new_code_cell(text)
                if kind == "params":
                    cell.metadata["tags"] = ["parameters"]
                nb.cells.append(cell)
        for i, cell in enumerate(nb.cells):  # stable ids, so a rebuild without changes is byte-identical
            cell.id = f"{name.split('_')[0]}-{i:02d}"
        nbformat.write(nb, HERE / name)
        print("wrote", HERE / name)


if __name__ == "__main__":
    build()
