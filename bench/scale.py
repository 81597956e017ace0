"""Benchmark: netlab on Barabási–Albert topologies of 1,000 to 10,000 routers, for the README's "Scale" figures.

A packet run per size: ``barabasi_albert(n, m=2, seed=1)`` with a host on every tenth router (r0, r10, ...), 20
Poisson background flows of 100 packets/s between host pairs drawn with seed 1, 5 s simulated, default settings
(hop-count routing, default link statistics). Each run happens in a fresh process, so its peak RSS is its own.
Per size it prints: setup seconds (everything before the first event: the network, then the routing tables,
which are shown apart; numpy and scipy are imported first, once per process, and their import time is shown
on its own), event-loop seconds, packet-hops, the memory estimate ``run.max_memory`` is checked against, and
the peak RSS of the whole run, results included; then the growth exponent of setup time, a least-squares fit
of log(setup) on log(routers) over the sizes from 1,000 to 10,000.

Every kind of run is a function ``(routers) -> dict`` in :data:`RUNS`, printed by the same table. ``mail`` is a
day of mail on the same topology: one domain per 50 routers (its five hosts: an MSA, an MX and three client
hosts with two users each; the last domain's third client host is the DNS server instead), 100,000 messages
(``--messages``) from every user at random over a simulated day (the workload's default sizes: lognormal
bodies of median 2,000 B, 15 % with an attachment of median 50 KB), half the users fetching over IMAP IDLE and
half over POP3 every 5 minutes, both deleting what they fetched (mail kept on the server is held in memory:
about 43 KB of peak RSS per pair in two 10,000-message runs), no background flows, and the run ends when every
(message, recipient) pair is final; mail conservation is checked as in every run. It adds messages, pairs
delivered, SMTP transactions and messages per wall second to its row.

``--decisions`` measures instead the routing cost per decision of each strategy at 100, 1,000 and 5,000
routers, microseconds per packet routed from host to host (each hop's decision included): the first packets
toward each destination (tables built on demand) and the same packets again (steady state), on an idle network
and with packets queued on a third of the links (the oracle's search depends on load).

Usage: python bench/scale.py [--sizes 1000,2000,5000,10000] [--runs packets,mail] [--messages N] [--decisions]
[--json]
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import random
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import netlab
from netlab.experiment.memory import estimate_memory
from netlab.experiment.runner import Simulation
from netlab.network.network import Network
from netlab.topology.generators import barabasi_albert

SIZES = (1000, 2000, 5000, 10000)
FLOWS, RATE_PPS, SIM_S, SEED = 20, 100.0, 5.0, 1


def topology(routers: int) -> netlab.Topology:
    """BA(routers, m=2, seed 1), a host leaf on every tenth router."""
    G = barabasi_albert(routers, 2, seed=SEED, hosts=[f"r{i}" for i in range(0, routers, 10)])
    return netlab.topology_from_graph(G)


def packet_scenario(routers: int) -> netlab.Scenario:
    topo = topology(routers)
    hosts = [n.name for n in topo.nodes if n.role == "host"]
    rng = random.Random(SEED)
    flows = tuple(
        netlab.FlowSpec(f"f{i}", *rng.sample(hosts, 2), arrivals=netlab.Poisson(RATE_PPS)) for i in range(FLOWS)
    )
    return netlab.Scenario(topo, flows=flows, run=netlab.RunSpec(until_s=SIM_S), name=f"ba{routers}")


def _routing_timer() -> dict[str, float]:
    """Time the routing strategy's attach (its tables) inside the Simulation's setup."""
    spent = {"routing_s": 0.0}
    attach = Network.attach

    def timed(net: Network, strategy: Any) -> None:
        t0 = time.perf_counter()
        attach(net, strategy)
        spent["routing_s"] += time.perf_counter() - t0

    Network.attach = timed  # type: ignore[method-assign]
    return spent


def _import_engine() -> float:
    """Seconds to import the C-speed tree engine (numpy, scipy.sparse.csgraph): paid once per process."""
    t0 = time.perf_counter()
    import netlab.routing._fast_trees  # noqa: F401

    return time.perf_counter() - t0


def packets(routers: int) -> dict[str, Any]:
    """The packet run (see the module docstring)."""
    s = packet_scenario(routers)
    estimate = estimate_memory(s)
    imported = _import_engine()
    spent = _routing_timer()
    sim = Simulation(s)
    res = sim.execute()
    return {
        "kind": "packets", "routers": routers, "nodes": len(s.topology.nodes), "links": len(sim.net.links),
        "hosts": sum(1 for n in s.topology.nodes if n.role == "host"),
        "setup_s": round(sim.setup_s, 3), "routing_s": round(spent["routing_s"], 3), "run_s": round(sim.run_s, 3),
        "packet_hops": res.summary["packet_hops"], "delivered": res.summary["delivered"],
        "import_s": round(imported, 3), "estimate_mb": round(estimate.total / 1e6),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),  # results built too
    }  # fmt: skip


DAY_S = 86_400.0
MESSAGES = 100_000


def mail_scenario(routers: int, messages: int = MESSAGES) -> netlab.Scenario:
    """The mail run's scenario (see the module docstring): domains of 50 routers, *messages* over one day."""
    from netlab.scenario.files import loads_scenario

    topo = topology(routers)
    hosts = [n.name for n in topo.nodes if n.role == "host"]  # h0, h10, ... in router order
    blocks = [hosts[i : i + 5] for i in range(0, len(hosts) - len(hosts) % 5, 5)]
    dns = blocks[-1].pop()  # the last domain's third client host serves DNS
    domains, servers, users = [], [], []
    for d, (msa, mx, *clients) in enumerate(blocks):
        name = f"d{d}.example"
        domains.append({"name": name, "mx": [[10, mx]]})
        servers += [{"host": msa, "role": "msa", "domains": [name]}, {"host": mx, "role": "mx", "domains": [name]}]
        for c, client in enumerate(clients):
            for u in range(2):
                # Both delete what they fetched: mail kept on the server is memory (the simulated disk), about 43 KB
                # of peak RSS per (message, recipient) measured at 10,000 messages.
                fetch = {"protocol": "imap", "idle": True} if u == 0 else {"protocol": "pop3", "interval": "5min"}
                fetch["delete"] = True
                users.append({"address": f"u{c}{u}@{name}", "password": "pw", "client": client, "fetch": fetch})
    senders = len(users)
    doc = {
        "name": f"ba{routers}-mail",
        "seed": SEED,
        "topology": {
            "generator": "barabasi_albert",
            "n": routers,
            "m": 2,
            "seed": SEED,
            "hosts": [f"r{i}" for i in range(0, routers, 10)],
        },  # what topology() builds
        "run": {"bin": "3600s"},
        "mail": {
            "dns_server": dns,
            "domains": domains,
            "servers": servers,
            "users": users,
            "workload": {"count": messages, "mean_interval": f"{senders * DAY_S / messages:.6g}s"},
        },
    }
    return loads_scenario(json.dumps(doc), source=f"bench/scale.py mail {routers}")  # JSON is YAML


def mail(routers: int, messages: int = MESSAGES) -> dict[str, Any]:
    """The mail run (see the module docstring)."""
    s = mail_scenario(routers, messages)
    estimate = estimate_memory(s)
    imported = _import_engine()
    spent = _routing_timer()
    sim = Simulation(s)
    t0 = time.perf_counter()
    res = sim.execute()
    wall = time.perf_counter() - t0
    m = res.summary["mail"]
    return {
        "kind": "mail", "routers": routers, "nodes": len(s.topology.nodes), "links": len(sim.net.links),
        "hosts": sum(1 for n in s.topology.nodes if n.role == "host"),
        "setup_s": round(sim.setup_s, 3), "routing_s": round(spent["routing_s"], 3), "run_s": round(sim.run_s, 3),
        "packet_hops": int(res.links.packets.sum()), "delivered": res.summary["delivered"],
        "import_s": round(imported, 3), "estimate_mb": round(estimate.total / 1e6),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "messages": messages, "pairs": len(res.messages), "pairs_delivered": m["messages"].get("delivered", 0),
        "pairs_final": int(res.messages["status"].isin(["delivered", "bounced", "rejected"]).sum()),
        "transactions": m["smtp_transactions"], "sim_s": round(res.summary["sim_time_s"], 1),
        "wall_s": round(wall, 1), "msgs_per_s": round(messages / wall, 1),
    }  # fmt: skip


#: The kinds of run, by name: each takes the number of routers and returns one row of the table.
RUNS: dict[str, Callable[[int], dict[str, Any]]] = {"packets": packets, "mail": mail}


def in_child(kind: str, routers: int, messages: int = MESSAGES) -> dict[str, Any]:
    """Run *kind* at *routers* in a fresh interpreter (its own peak RSS); its row."""
    cmd = [sys.executable, __file__, "--one", f"{kind}:{routers}", "--messages", str(messages)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{kind} at {routers} routers failed:\n{out.stderr}")
    row: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return row


def growth_exponent(rows: list[dict[str, Any]], key: str = "setup_s") -> float:
    """Least-squares slope of log(key) on log(routers)."""
    xs = [math.log(r["routers"]) for r in rows]
    ys = [math.log(max(r[key], 1e-9)) for r in rows]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)


def print_rows(rows: list[dict[str, Any]]) -> None:
    print(f"{'run':<8} {'routers':>8} {'nodes':>7} {'links':>7} {'import s':>8} {'setup s':>8} {'routing s':>9} "
          f"{'loop s':>7} {'packet-hops':>11} {'estimate':>9} {'peak RSS':>9}")  # fmt: skip
    for r in rows:
        print(f"{r['kind']:<8} {r['routers']:>8,} {r['nodes']:>7,} {r['links']:>7,} {r['import_s']:>8.2f} "
              f"{r['setup_s']:>8.2f} {r['routing_s']:>9.2f} {r['run_s']:>7.2f} {r['packet_hops']:>11,} "
              f"{r['estimate_mb']:>6,} MB {r['peak_rss_mb']:>6,} MB")  # fmt: skip
        if r["kind"] == "mail":
            print(f"{'':<8} mail: {r['messages']:,} messages, {r['pairs']:,} pairs ({r['pairs_final']:,} final, "
                  f"{r['pairs_delivered']:,} delivered), {r['transactions']:,} SMTP transactions, "
                  f"{r['sim_s']:,} s simulated, {r['wall_s']:,} s wall: {r['msgs_per_s']:,} messages/s")  # fmt: skip


# ---------------------------------------------------------------------- cost per decision
STRATEGIES: dict[str, Any] = {
    "shortest_hops": netlab.ShortestHops(), "ospf": netlab.OspfCost(), "ecmp": netlab.Ecmp(),
    "spray": netlab.Spray(), "least_loaded oracle": netlab.LeastLoaded(),
    "least_loaded link_state": netlab.LeastLoaded(mode="link_state"),
    "k_shortest_least_loaded": netlab.KShortestLeastLoaded(), "widest_shortest": netlab.WidestShortest(),
    "shortest_widest": netlab.ShortestWidest(),
}  # fmt: skip


def _walk(strategy: Any, pkt: Any) -> None:
    """Route *pkt* from its source to its destination as the engine does (source route, table, next_link)."""
    node = pkt.src
    while node is not pkt.dst:
        link = (
            pkt.route[pkt.hops] if pkt.route is not None else (node.fib.get(pkt.dst) or strategy.next_link(node, pkt))
        )
        pkt.hops += 1
        node = link.dst


def decisions(routers: int) -> list[dict[str, Any]]:
    """Microseconds per packet routed, per strategy, idle and loaded (see the module docstring)."""
    import simpy

    from netlab.network.packet import Packet

    G = barabasi_albert(routers, 2, seed=SEED, hosts=[f"r{i}" for i in range(0, routers, 10)],
                        rate_bps=1e7, delay_s=1e-3)  # fmt: skip
    topo = netlab.topology_from_graph(G)
    rows = []
    for load in ("idle", "loaded"):
        net = Network(simpy.Environment(), topo)
        rng = random.Random(SEED)
        if load == "loaded":
            for link in net.links:
                if rng.random() < 1 / 3:
                    for i in range(rng.randint(1, 8)):
                        link.send(Packet(link.src, link.dst, 1000, 0.0, flow="load", seq=i))
        hosts = [n for n in net.nodes.values() if n.role == "host"]
        pairs = [tuple(rng.sample(hosts, 2)) for _ in range(200)]
        for label, spec in STRATEGIES.items():
            strategy = copy.deepcopy(spec)
            for node in net.nodes.values():
                node.fib, node.source_routes = {}, {}
            t0 = time.perf_counter()
            net.attach(strategy)
            attach = time.perf_counter() - t0
            timings = []
            for _ in range(2):  # first: tables built as needed; then the same packets again
                t0 = time.perf_counter()
                for a, b in pairs:
                    _walk(strategy, Packet(a, b, 1000, 0.0))
                timings.append((time.perf_counter() - t0) / len(pairs) * 1e6)
            rows.append({"routers": routers, "load": load, "strategy": label, "attach_s": round(attach, 3),
                         "first_us": round(timings[0], 1), "steady_us": round(timings[1], 1)})  # fmt: skip
    return rows


def print_decisions(rows: list[dict[str, Any]]) -> None:
    print(f"{'strategy':<26} {'routers':>8} {'load':>7} {'attach s':>9} {'first us':>10} {'steady us':>10}")
    for r in rows:
        print(f"{r['strategy']:<26} {r['routers']:>8,} {r['load']:>7} {r['attach_s']:>9.3f} {r['first_us']:>10,.1f} "
              f"{r['steady_us']:>10,.1f}")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)), help="router counts, comma-separated")
    ap.add_argument("--runs", default="packets", help=f"kinds of run, comma-separated (of {', '.join(RUNS)})")
    ap.add_argument("--decisions", action="store_true", help="cost per routing decision instead")
    ap.add_argument("--json", action="store_true", help="also print the rows as one JSON line")
    ap.add_argument("--messages", type=int, default=MESSAGES, help="messages in the mail run (default 100,000)")
    ap.add_argument("--one", help=argparse.SUPPRESS)  # kind:routers, in the child process
    args = ap.parse_args(argv)
    if args.one:
        kind, n = args.one.split(":")
        row = mail(int(n), args.messages) if kind == "mail" else RUNS[kind](int(n))
        print(json.dumps(row))
        return
    if args.decisions:
        drows = [row for n in (100, 1000, 5000) for row in decisions(n)]
        print_decisions(drows)
        if args.json:
            print(json.dumps(drows))
        return
    sizes = [int(x) for x in args.sizes.split(",")]
    rows = [in_child(kind, n, args.messages) for kind in args.runs.split(",") for n in sizes]
    print_rows(rows)
    for kind in dict.fromkeys(r["kind"] for r in rows):
        fit = [r for r in rows if r["kind"] == kind and 1000 <= r["routers"] <= 10000]
        if len(fit) >= 2:
            print(f"{kind}: setup time grows like routers^{growth_exponent(fit):.2f} "
                  f"(routing tables alone: ^{growth_exponent(fit, 'routing_s'):.2f}) "
                  f"between {fit[0]['routers']:,} and {fit[-1]['routers']:,} routers")  # fmt: skip
    print(f"python {sys.version.split()[0]}, peak RSS of this parent: "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")  # fmt: skip
    if args.json:
        print(json.dumps(rows))


if __name__ == "__main__":
    main()
