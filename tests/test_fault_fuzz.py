"""Property tests with random fault schedules (issue 12): links and nodes, MTA hosts among them, go down and up at
random times on small packet and mail scenarios. Whatever the schedule, the run ends (its clock reaches
``run.until`` or the scenario finishes; a step budget turns a hang into a failure), packet and mail conservation
hold (both are checked inside the run), and nothing is raised: every schedule drawn is valid, so even a netlab
error fails the property. A fault that changes nothing (bringing up what is up) must change no result.

`make test` draws a few examples of each (derandomized); `make fuzz` many."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import mail_helpers
import pytest
import simpy
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from mail_helpers import BASE

import netlab
import netlab.testing
from netlab.experiment.runner import Simulation
from netlab.scenario.document import scenario_from_data


class StepBudgetExceeded(AssertionError):
    """The run took more events than its budget, or too many in a row at one instant (a frozen clock)."""


class BoundedEnvironment(simpy.Environment):
    """A SimPy environment that fails a run after *max_steps* events, or after *max_same_instant* events in a row
    at one simulated instant (an event re-armed at zero delay forever: the clock is frozen)."""

    def __init__(self, max_steps: int, max_same_instant: int) -> None:
        super().__init__()
        self.max_steps = max_steps
        self.max_same_instant = max_same_instant
        self.steps = 0
        self.same_instant = 0
        self.most_same_instant = 0

    def step(self) -> None:
        before = self.now
        super().step()
        self.steps += 1
        self.same_instant = self.same_instant + 1 if self.now == before else 0
        self.most_same_instant = max(self.most_same_instant, self.same_instant)
        if self.same_instant > self.max_same_instant:
            raise StepBudgetExceeded(f"clock frozen: {self.same_instant} events in a row at t={self.now!r} s")
        if self.steps > self.max_steps:
            raise StepBudgetExceeded(f"{self.steps} events, more than the budget of {self.max_steps} (t={self.now} s)")


# The budgets, in events (not seconds: a slow machine must not fail a run that ends). Measured on 1,500 packet and
# 400 mail examples of the strategies below (fresh ones, as `make fuzz` draws): at most 7,418 events in a packet run
# and 2,092 in a mail run, at most 23 in a row at one instant. The budgets are 25 to 400 times that, so only a run
# that does not end reaches them (a zero-delay re-arm, an event storm), and then within a second or so.
PACKET_STEPS, MAIL_STEPS, SAME_INSTANT = 200_000, 100_000, 10_000

# Each example is a whole run (30-70 ms; the "changes nothing" properties run two): `make fuzz` draws 400 of each
# here, not 2,000 (measured: 2,000 of each took 12 min on this 2-core machine; 400 of each take 3.5 min).
RUNS = settings(max_examples=min(settings.default.max_examples, 400))


def _execute(scenario: netlab.Scenario, max_steps: int) -> tuple[Simulation, netlab.Results]:
    env = BoundedEnvironment(max_steps, SAME_INSTANT)
    sim = Simulation(scenario, env=env)
    return sim, sim.execute()


def _assert_ended(sim: Simulation, until_s: float | None) -> None:
    """The run stopped for a documented reason; with ``until`` its clock reached it (or the scenario finished)."""
    assert sim.stop.triggered
    assert sim.stop_reason in ("until", "idle", "stop_after_delivered")
    if sim.stop_reason == "until":
        assert sim.env.now == until_s
    elif until_s is not None:
        assert sim.env.now <= until_s


def test_the_step_budget_turns_a_frozen_clock_into_a_failure() -> None:
    env = BoundedEnvironment(max_steps=10**6, max_same_instant=1000)

    def rearm() -> Any:  # the old qmgr bug's shape: a scan that schedules itself again at zero delay
        while True:
            yield env.timeout(0.5 if env.now < 1 else 0.0)

    env.process(rearm())
    with pytest.raises(StepBudgetExceeded, match=r"clock frozen: 1001 events in a row at t=1.0 s"):
        env.run(until=5)
    assert env.steps < 1010


# ------------------------------------------------------------------ packet scenarios
# h1 - r1 - r2 - r3 - h2, r1 - r4 - r3 and r2 - r4: a ring with a chord, so most single faults leave a way round.
ROUTERS = ["r1", "r2", "r3", "r4"]
LINKS = [["h1", "r1"], ["r1", "r2"], ["r2", "r3"], ["r3", "h2"], ["r1", "r4"], ["r4", "r3"], ["r2", "r4"]]
STRATEGIES = ["shortest_hops", "shortest_delay", "ospf", "least_loaded", "ecmp", "spray",
              "least_loaded(mode=link_state, update_interval=200ms)", "k_shortest_least_loaded(per=packet)",
              "widest_shortest", "shortest_widest"]  # fmt: skip
TIMES = st.floats(min_value=0.0, max_value=2.5, allow_nan=False).map(lambda t: round(t, 3))


def _fault(targets: list[Any]) -> st.SearchStrategy[dict[str, Any]]:
    target = st.sampled_from(targets)
    return st.builds(
        lambda at, action, t: {"at": at, "action": action, **({"node": t} if isinstance(t, str) else {"link": t})},
        TIMES, st.sampled_from(["down", "up"]), target,
    )  # fmt: skip


# Nodes (hosts too), links, and links named the other way round.
PACKET_TARGETS = ["h1", "h2", *ROUTERS, *LINKS, ["r2", "r1"], ["h2", "r3"]]


@st.composite
def packet_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    flows = [
        {"name": f"f{i}", "src": src, "dst": dst,
         "arrivals": draw(st.sampled_from([{"poisson": "300/s"}, {"constant": "200/s"},
                                           {"on_off": {"rate": "500/s", "on": "100ms", "off": "100ms"}}])),
         "size": draw(st.sampled_from(["1000B", {"exponential": "500B"}])),
         **draw(st.sampled_from([{"count": 100}, {"stop": "1s"}, {}]))}
        for i, (src, dst) in enumerate(draw(st.lists(st.sampled_from([("h1", "h2"), ("h2", "h1"), ("h1", "r3"),
                                                                      ("r2", "h2")]), min_size=1, max_size=3)))
    ]  # fmt: skip
    strategy = draw(st.sampled_from(STRATEGIES))
    detection = draw(st.sampled_from(["0s", "10ms", "300ms"]))
    until = draw(st.sampled_from([1.0, 2.0, None]))
    if until is None and any("count" not in f and "stop" not in f for f in flows):
        until = 2.0  # an endless flow needs run.until (refused otherwise, not what this property is about)
    return {
        "name": "faultfuzz",
        "seed": draw(st.integers(1, 2**16)),
        "defaults": {"link": {"rate": "10Mbps", "delay": "2ms",
                              "queue_packets": draw(st.sampled_from([None, 5, 50]))}},
        "nodes": [{"name": "h1", "role": "host"}, {"name": "h2", "role": "host"}, *ROUTERS],
        "links": LINKS,
        "flows": flows,
        "routing": {"strategy": strategy, "detection_delay": detection} if "(" not in strategy else strategy,
        "faults": draw(st.lists(_fault(PACKET_TARGETS), max_size=8)),
        "run": {"until": until, "bin": "100ms"} if until is not None else {"bin": "100ms"},
    }  # fmt: skip


@RUNS
@given(packet_scenarios())
def test_a_packet_run_under_random_faults_ends_and_conserves_packets(data: dict[str, Any]) -> None:
    scenario = scenario_from_data(data, where="faultfuzz.yaml")
    sim, res = _execute(scenario, PACKET_STEPS)  # a ConservationError (or any other error) fails the test
    _assert_ended(sim, scenario.run.until_s)
    s = res.summary
    assert s["injected"] == s["delivered"] + s["dropped"] + s["in_flight"]


# ------------------------------------------------------------------ mail scenarios
MAIL_NODES = ["pc", "msa", "relay", "mx1", "mx2", "dns", "r1", "r2"]
MAIL_LINKS = [["pc", "r1"], ["msa", "r1"], ["r1", "r2"], ["mx1", "r2"], ["mx2", "r2"], ["dns", "r2"]]
# Short queue times, so a few simulated minutes see retries, backoffs, bounces and give-ups.
FAST_QUEUE = {"queue_run_delay": "10s", "minimal_backoff": "10s", "maximal_backoff": "40s",
              "maximal_queue_lifetime": "120s", "bounce_queue_lifetime": "120s", "connect_timeout": "5s",
              "command_timeout": "20s"}  # fmt: skip
# Faults in the first 100 s, submissions in the first 60 s (before run.until: later ones would only warn).
MAIL_TIMES = st.floats(min_value=0.0, max_value=100.0, allow_nan=False).map(lambda t: round(t, 2))
SEND_TIMES = st.floats(min_value=0.0, max_value=60.0, allow_nan=False).map(lambda t: round(t, 2))
FETCH = st.sampled_from(
    [
        None,
        {"protocol": "pop3", "interval": "20s", "delete": True},
        {"protocol": "imap", "interval": "30s"},
        {"protocol": "imap", "idle": True},
    ]
)


def _mail_fault() -> st.SearchStrategy[dict[str, Any]]:
    target = st.sampled_from([*MAIL_NODES, *MAIL_LINKS])
    return st.builds(
        lambda at, action, t: {"at": at, "action": action, **({"node": t} if isinstance(t, str) else {"link": t})},
        MAIL_TIMES, st.sampled_from(["down", "up"]), target,
    )  # fmt: skip


@st.composite
def mail_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    recipients = st.lists(st.sampled_from(["bob@b.test", "carol@b.test", "alice@a.test", "nobody@b.test"]),
                          min_size=1, max_size=3)  # fmt: skip
    data["mail"].update({
        "queue": FAST_QUEUE, "submit_retry": "10s", "submit_give_up": "100s", "resolver_timeout": "1s",
        "send": [{"at": draw(SEND_TIMES), "from": "alice@a.test", "to": draw(recipients),
                  **draw(st.sampled_from([{}, {"body_size": "20KB"}]))}
                 for _ in range(draw(st.integers(1, 4)))],
    })  # fmt: skip
    fetch = draw(FETCH)
    if fetch is not None:  # bob reads his mail on pc (POP3 or IMAP sessions, cut by the faults too)
        data["mail"]["users"][1] = {"address": "bob@b.test", "client": "pc", "fetch": fetch}
    data["seed"] = draw(st.integers(1, 2**16))
    data["faults"] = draw(st.lists(_mail_fault(), max_size=6))
    data["run"] = {"until": draw(st.sampled_from([150.0, 300.0])), "bin": "1000s"}
    return data


@RUNS
@given(mail_scenarios())
def test_a_mail_run_under_random_faults_ends_and_conserves_mail(data: dict[str, Any]) -> None:
    scenario = scenario_from_data(data, where="faultfuzz.yaml")
    sim, res = _execute(scenario, MAIL_STEPS)  # a MailConservationError (or any other error) fails the test
    _assert_ended(sim, scenario.run.until_s)
    s = res.summary
    assert s["injected"] == s["delivered"] + s["dropped"] + s["in_flight"]


# ------------------------------------------------------------------ a fault that changes nothing
def _with_idle_ups(data: dict[str, Any], draw: st.DrawFn, targets: list[Any]) -> dict[str, Any]:
    """*data* plus one to three ``up`` faults of links and nodes that are up (nothing has failed yet), each told
    to routing before the first real fault happens (told later, it showed routing that fault early before
    ``Link.routed_up``: the regression test below)."""
    scenario = scenario_from_data(data, where="faultfuzz.yaml")
    until = scenario.run.until_s or 3.0
    room = min((f.at_s for f in scenario.faults), default=until) - scenario.routing.detection_delay_s
    assume(room > 0.01)
    at = st.integers(0, 99).map(lambda k: round(room * k / 100, 3))
    ups = st.builds(lambda t, x: {"at": t, "action": "up", **({"node": x} if isinstance(x, str) else {"link": x})},
                    at, st.sampled_from(targets))  # fmt: skip
    return {**data, "faults": [*data["faults"], *draw(st.lists(ups, min_size=1, max_size=3))]}


def _outcome(res: netlab.Results) -> tuple[Any, ...]:
    """What a run did, packets and mail (not its timing or log lines)."""
    s = res.summary
    mail = s.get("mail", {})
    tables = [res.flows, res.drops, *(res.tables[t] for t in ("messages", "mail_hops") if t in res.tables)]
    return (s["sim_time_s"], s["injected"], s["delivered"], s["dropped"], s["dropped_by_reason"],
            mail.get("messages"), mail.get("smtp_transactions"), mail.get("in_mailboxes"),
            [t.to_json(default_handler=str) for t in tables])  # fmt: skip


@RUNS
@given(packet_scenarios(), st.data())
def test_bringing_up_a_packet_link_or_node_that_is_up_changes_nothing(
    data: dict[str, Any], more: st.DataObject
) -> None:
    base = _execute(scenario_from_data(data, where="faultfuzz.yaml"), PACKET_STEPS)[1]
    ups = _with_idle_ups(data, more.draw, PACKET_TARGETS)
    assert _outcome(_execute(scenario_from_data(ups, where="faultfuzz.yaml"), PACKET_STEPS)[1]) == _outcome(base)


@RUNS
@given(mail_scenarios(), st.data())
def test_bringing_up_a_mail_host_or_link_that_is_up_changes_nothing(data: dict[str, Any], more: st.DataObject) -> None:
    base = _execute(scenario_from_data(data, where="faultfuzz.yaml"), MAIL_STEPS)[1]
    ups = _with_idle_ups(data, more.draw, [*MAIL_NODES, *MAIL_LINKS])
    assert _outcome(_execute(scenario_from_data(ups, where="faultfuzz.yaml"), MAIL_STEPS)[1]) == _outcome(base)


def test_an_up_fault_of_a_running_mta_does_not_restart_its_queue_manager() -> None:
    # Shrunk from test_bringing_up_a_mail_host_or_link_that_is_up_changes_nothing: msa "up" at 0.01 s while it
    # runs restarted its qmgr, whose deferred scans then ran at 0.01 + k * 10 s instead of k * 10 s.
    def deferrals(faults: list[dict[str, Any]]) -> tuple[list[float], list[str]]:
        res = netlab.run(mail_helpers.scenario({"queue": FAST_QUEUE, "send": [mail_helpers.send(["bob@b.test"], 1.0)]},
                                               faults=faults, run={"until": 150.0, "bin": "1000s"}))  # fmt: skip
        log = res.maillog
        return list(log["time_s"][log["status"] == "deferred"]), [t for t in log["line"] if "daemon started" in t]

    dns_down = [{"at": 1.0, "action": "down", "node": "dns"}]
    times, started = deferrals(dns_down)
    assert len(times) >= 2 and started == []  # deferred (no DNS), retried at the scans
    assert deferrals([{"at": 0.01, "action": "up", "node": "msa"}, *dns_down]) == (times, [])


@pytest.mark.parametrize(
    "earlier",
    [
        [netlab.FaultSpec(at_s=0.0, action="up", node="b")],  # a fault that changes nothing (shrunk from above)
        [netlab.FaultSpec(at_s=0.1, action="down", link=("s", "b")),  # a flap of the other path, over at once
         netlab.FaultSpec(at_s=0.1, action="up", link=("s", "b"))],
    ],
)  # fmt: skip
def test_routing_learns_of_a_fault_only_after_its_detection_delay(earlier: list[netlab.FaultSpec]) -> None:
    # s -> a -> d is the route; a -> d fails at 0.25 s and routing is told at 0.55 s (detection 300 ms): the
    # packets of 0.25-0.55 s (1000/s) die on the dead link, whatever happened before on links that came back.
    flow = netlab.FlowSpec("f", "s", "d", arrivals=netlab.Constant(1000.0), size=netlab.FixedSize(100), stop_s=1.0)
    s = netlab.Scenario(netlab.testing.diamond(), flows=(flow,), routing=netlab.ShortestHops(detection_delay_s=0.3),
                        faults=(*earlier, netlab.FaultSpec(at_s=0.25, action="down", link=("a", "d"))))  # fmt: skip
    alone = netlab.run(dataclasses.replace(s, faults=s.faults[-1:])).summary["dropped_by_reason"]["link_down"]
    assert 299 <= alone <= 302
    assert netlab.run(s).summary["dropped_by_reason"]["link_down"] == alone  # measured: 51 and 151
