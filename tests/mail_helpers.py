"""A small mail network for the mail tests, built from YAML so the tests also exercise the scenario format.

    pc --- r1 --- r2 --- mx1 (a.test, b.test primary)
    msa ---'  |     '--- mx2 (b.test backup)
    relay ----'   dns ---'
"""

from __future__ import annotations

import copy
from collections.abc import Generator
from typing import Any

import simpy
import yaml

import netlab
from netlab.experiment.runner import Simulation
from netlab.experiment.yaml_io import scenario_from_data

BASE = yaml.safe_load("""
name: mailtest
seed: 1
defaults: {link: {rate: 100Mbps, delay: 2ms}}
nodes:
  - {name: pc, role: host}
  - {name: msa, role: host}
  - {name: relay, role: host}
  - {name: relay2, role: host}
  - {name: mx1, role: host}
  - {name: mx2, role: host}
  - {name: dns, role: host}
  - r1
  - r2
links: [[pc, r1], [msa, r1], [relay, r1], [relay2, r1], [r1, r2], [mx1, r2], [mx2, r2], [dns, r2]]
run: {bin: 1000s}
mail:
  dns_server: dns
  domains:
    - {name: a.test, mx: [[10, mx1]]}
    - {name: b.test, mx: [[10, mx1], [20, mx2]]}
  servers:
    - {host: msa, role: msa, domains: [a.test]}
    - {host: mx1, role: mx, domains: [a.test, b.test], spam_action: tag}
    - {host: mx2, role: relay, relay_domains: [b.test]}
  users:
    - {address: alice@a.test, password: pw, client: pc}
    - {address: bob@b.test}
    - {address: carol@b.test}
""")


def scenario(mail: dict[str, Any] | None = None, **top: Any) -> netlab.Scenario:
    """The base scenario with ``mail`` keys replaced by *mail* and top-level keys by *top*."""
    data = copy.deepcopy(BASE)
    data["mail"].update(copy.deepcopy(mail or {}))
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key].update(value)
        else:
            data[key] = value
    return scenario_from_data(data, where="mailtest.yaml")


def send(to: list[str], at: float = 0.0, **kw: Any) -> dict[str, Any]:
    """A scripted message from alice."""
    return {"at": at, "from": "alice@a.test", "to": to, **kw}


def run(mail: dict[str, Any] | None = None, **top: Any) -> tuple[netlab.Results, Any]:
    """Run the scenario; return the results and the MailSystem (its MTAs and mailboxes)."""
    sim = Simulation(scenario(mail, **top))
    res = sim.execute()
    return res, sim.extensions[0]


def mailbox(system: Any, host: str, user: str) -> list[bytes]:
    """Raw messages in *user*'s mailbox on *host*."""
    return [m.raw for m in system.mtas[host].mailbox.messages(user)]


def raw_session(mail: dict[str, Any], host: str, port: int, lines: list[bytes], at: float = 1.0) -> list[bytes]:
    """Open a connection from pc to *host*:*port* at *at* and send *lines* one by one, each after the previous
    reply; return everything the server sent."""
    # A scripted message later on keeps the run going while the raw session talks.
    mail = {**mail, "send": [*mail.get("send", []), send(["carol@b.test"], at=at + 50.0)]}
    sim = Simulation(scenario(mail, run={"until": "100s", "bin": "1000s"}))
    system = sim.extensions[0]
    got: list[bytes] = []

    def client() -> Generator[simpy.Event, Any, None]:
        yield sim.env.timeout(at)
        conn = yield system.stack.connect("pc", (host, port))
        got.append((yield conn.recv_line()))
        for line in lines:
            conn.send(line)
            while True:
                reply = yield conn.recv_line()
                got.append(reply)
                if reply[3:4] != b"-":
                    break
        conn.close()
        sim.release()

    sim.hold()
    sim.env.process(client())
    sim.execute()
    return got
