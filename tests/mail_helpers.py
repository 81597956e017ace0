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
from netlab.mail.content.address import Address
from netlab.scenario.document import scenario_from_data

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


def mailbox(system: Any, host: str, user: str, folder: str = "INBOX") -> list[bytes]:
    """Raw messages in *user*'s mailbox *folder* on *host*."""
    return [e.raw for e in system.stores[host].mailbox(_address(system, host, user), folder).entries]


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
        conn = yield system.stack.connect("pc", (host, port)).connected
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


def _address(system: Any, host: str, user: str) -> str:
    """*user* as a message-store account on *host*: a bare local part gets the one domain it has there."""
    if "@" in user:
        return user
    (found,) = [u for u in system.stores[host].users if Address.split(u).local == user]
    return found


def users(**fetch: dict[str, Any] | None) -> list[dict[str, Any]]:
    """alice (sends from pc), bob and carol, whose mail programs on pc fetch as *fetch* says (by local part)."""
    out: list[dict[str, Any]] = [{"address": "alice@a.test", "password": "pw", "client": "pc"}]
    if fetch.get("alice"):
        out[0]["fetch"] = fetch["alice"]
    for name in ("bob", "carol"):
        user: dict[str, Any] = {"address": f"{name}@b.test", "password": f"{name}-pw"}
        if fetch.get(name):
            user.update(client="pc", fetch=fetch[name])
        out.append(user)
    return out


def scripted(mail: dict[str, Any], script: Any, *, until: str = "600s") -> tuple[netlab.Results, Any, Any]:
    """Run the scenario with the generator ``script(env, system)`` (*system*: the MailSystem, its ``stack`` and
    MTAs) as an extra process (it holds the run until it returns); return the results, the MailSystem and what
    *script* returned."""
    sim = Simulation(scenario(mail, run={"until": until, "bin": "1000s"}))
    system = sim.extensions[0]
    box: list[Any] = []

    def wrapper() -> Generator[simpy.Event, Any, None]:
        box.append((yield from script(sim.env, system)))
        sim.release()

    sim.hold()
    sim.env.process(wrapper())
    res = sim.execute()
    return res, system, box[0] if box else None


def pop3(conn: Any, command: bytes, *, multiline: bool = False) -> Generator[simpy.Event, Any, bytes]:
    """Send one POP3 *command* (CRLF added) and read its response: the status line, and with *multiline* and
    ``+OK`` the lines up to the lone dot (included)."""
    if command:
        conn.send(command + b"\r\n")
    out = yield conn.recv_line()
    if multiline and out.startswith(b"+OK"):
        while True:
            line = yield conn.recv_line()
            out += line
            if line == b".\r\n":
                break
    return out


def imap(conn: Any, tag: str, command: bytes) -> Generator[simpy.Event, Any, bytes]:
    """Send ``tag command`` and read everything up to the tagged response, literals read with recv_exactly."""
    conn.send(tag.encode() + b" " + command + b"\r\n")
    out = b""
    while True:
        line = yield conn.recv_line()
        out += line
        if line.rstrip(b"\r\n").endswith(b"}") and b"{" in line:
            n = int(line.rstrip(b"\r\n").rsplit(b"{", 1)[1][:-1])
            out += yield conn.recv_exactly(n)
            continue
        if line.startswith(tag.encode() + b" ") or not line:
            return out
