"""Mail benchmark: N messages on the bundled seed scenario; messages and packet-hops per wall second.

    python bench/mail.py                 # 10,000 messages, then bench/grid6.py in a subprocess for the ratio
    python bench/mail.py -n 2000 --no-grid6

The seed scenario's workload is set to N messages (``mail.workload.count``) at one message per second on
average over all senders, the background flows are removed (so every packet-hop is mail: SMTP over TCP, DNS),
and the run ends when every (message, recipient) is final. Packet-hops are the packets accepted by every link
(``Results.links.packets``); wall time is the event loop plus setup, as measured by the runner.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run_mail(n: int) -> dict[str, float]:
    import netlab

    s = netlab.load_scenario(str(HERE.parent / "topologies" / "seed.yaml"))
    senders = sum(1 for u in s.mail.users if u.client is not None)  # type: ignore[union-attr]
    s = s.override(f"mail.workload.count={n}", "mail.workload.stop=null",
                   f"mail.workload.mean_interval={senders}s", "run.until=null", "run.bin=3600s", flows=[])  # fmt: skip
    t0 = time.perf_counter()
    res = netlab.run(s)
    wall = time.perf_counter() - t0
    hops = int(res.links.packets.sum())
    m = res.summary["mail"]
    return {"messages": n, "pairs": len(res.messages), "delivered": m["messages"].get("delivered", 0),
            "wall_s": wall, "run_s": res.meta["run_s"], "sim_s": res.summary["sim_time_s"], "packet_hops": hops,
            "msgs_per_s": n / wall, "hops_per_s": hops / wall, "transactions": m["smtp_transactions"]}  # fmt: skip


def run_grid6() -> float | None:
    out = subprocess.run([sys.executable, str(HERE / "grid6.py")], capture_output=True, text=True, check=False)
    text = out.stdout + out.stderr
    m = re.search(r"\"hops_per_s\": ([0-9.]+)", text)
    if m is None:
        print(text)
        return None
    return float(m.group(1).replace(",", ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=10_000, help="messages (default 10,000)")
    ap.add_argument("--no-grid6", action="store_true", help="skip the grid6 comparison")
    args = ap.parse_args()
    r = run_mail(args.n)
    print(f"mail: {r['messages']:,} messages ({r['pairs']:,} message-recipient pairs, {r['delivered']:,} delivered, "
          f"{r['transactions']:,} SMTP transactions) in {r['wall_s']:.2f} s wall ({r['sim_s']:.0f} s simulated)")
    print(f"mail: {r['msgs_per_s']:,.0f} messages/s, {r['packet_hops']:,} packet-hops, "
          f"{r['hops_per_s']:,.0f} packet-hops/s")
    if not args.no_grid6:
        g = run_grid6()
        if g is not None:
            print(f"grid6: {g:,.0f} packet-hops/s   ratio mail/grid6 = {r['hops_per_s'] / g:.2f}")


if __name__ == "__main__":
    main()
