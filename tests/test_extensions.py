"""The runner's extension hook: extensions hold the run open, check themselves, and add tables to Results."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import netlab
from netlab.experiment.runner import Simulation


class Timer:
    """A fake extension: holds the run until *at* seconds, sends one packet then, reports one table."""

    name = "timer"

    def __init__(self, at: float, fail: bool = False) -> None:
        self.at, self.fail, self.fired = at, fail, None

    def start(self, sim: Simulation) -> None:
        sim.hold()
        sim.env.timeout(self.at).callbacks.append(lambda _e: self._fire(sim))

    def _fire(self, sim: Simulation) -> None:
        self.fired = sim.env.now
        a, b = sim.net.nodes["a"], sim.net.nodes["b"]
        a.inject(netlab_packet(a, b, sim.env.now))
        sim.release()

    def check(self, sim: Simulation) -> None:
        if self.fail:
            raise netlab.SimulationError("timer: books do not balance")

    def tables(self, sim: Simulation) -> dict[str, pd.DataFrame]:
        return {"timer": pd.DataFrame({"fired_s": [self.fired]})}

    def summary(self, sim: Simulation) -> dict[str, float | None]:
        return {"fired_s": self.fired}


def netlab_packet(src, dst, now):  # type: ignore[no-untyped-def]
    from netlab.network.packet import Packet

    return Packet(src, dst, 1000, now)


def test_an_extension_holds_the_run_and_adds_its_table(two_hosts: netlab.Topology, tmp_path: Path) -> None:
    res = Simulation(netlab.Scenario(two_hosts), extensions=[Timer(5.0)]).execute()
    # The run ends idle when the extension has released and its packet has arrived (1 ms + 1 ms later).
    assert res.summary["stop_reason"] == "idle"
    assert res.summary["sim_time_s"] == pytest.approx(5.002)
    assert res.summary["delivered"] == 1
    assert res.timer["fired_s"].tolist() == [5.0]
    assert res.summary["timer"] == {"fired_s": 5.0}
    res.save(tmp_path)
    assert netlab.load_results(tmp_path).timer["fired_s"].tolist() == [5.0]


def test_unknown_table_is_an_attribute_error(two_hosts: netlab.Topology) -> None:
    res = netlab.run(netlab.Scenario(two_hosts))
    with pytest.raises(AttributeError, match="no attribute or table 'messages'"):
        _ = res.messages


def test_an_extensions_check_failure_fails_the_run(two_hosts: netlab.Topology) -> None:
    with pytest.raises(netlab.SimulationError, match="books do not balance"):
        Simulation(netlab.Scenario(two_hosts), extensions=[Timer(1.0, fail=True)]).execute()


class Clock(Timer):
    """Another fake extension whose table is also called `timer` (or one of the run's own tables)."""

    name = "clock"

    def __init__(self, at: float, table: str = "timer") -> None:
        super().__init__(at)
        self.table = table

    def tables(self, sim: Simulation) -> dict[str, pd.DataFrame]:
        return {self.table: pd.DataFrame({"fired_s": [self.fired]})}


@pytest.mark.parametrize(
    ("extensions", "message"),
    [([Timer(1.0), Timer(2.0)], r"two extensions are named 'timer'"),
     ([Timer(1.0), Clock(2.0)], r"extension 'clock' returns a table 'timer', which extension 'timer' already has"),
     ([Clock(1.0, table="links")], r"extension 'clock' returns a table 'links', which the run itself already has")],
)  # fmt: skip
def test_extensions_whose_names_or_tables_clash_are_refused(
    two_hosts: netlab.Topology, extensions: list[Timer], message: str
) -> None:
    """The second table (or summary section) of a name silently replaced the first; now the clash is named."""
    with pytest.raises(netlab.ConfigError, match=message):
        Simulation(netlab.Scenario(two_hosts), extensions=extensions).execute()
