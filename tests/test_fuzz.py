"""Property tests over the input surfaces: whatever comes in, netlab answers with a value or one of its own
errors, never another exception. `make test` draws a few examples of each (derandomized); `make fuzz` many."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import netlab
from netlab.scenario.document import scenario_from_data
from netlab.scenario.files import loads_scenario
from netlab.units import parse_rate, parse_size, parse_time


def attempt(fn: Callable[..., Any], *args: Any, **kw: Any) -> tuple[Any, netlab.NetlabError | None]:
    """*fn*'s value and None, or None and the netlab error it raised (any other exception fails the test)."""
    try:
        return fn(*args, **kw), None
    except netlab.NetlabError as exc:
        return None, exc


NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(min_value=-(10**400),
                    max_value=10**400))  # fmt: skip
UNIT_TEXT = st.one_of(
    st.text(max_size=20),
    st.builds(lambda n, u: f"{n}{u}", NUMBERS, st.sampled_from(["", "s", "ms", "us", "B", "KB", "KiB", "bps",
                                                                "Mbps", "Gbps", "b", "min", "h", "/s", "M"])),
)  # fmt: skip


@given(st.one_of(UNIT_TEXT, NUMBERS, st.none(), st.booleans()))
def test_units_parse_to_a_finite_number_or_a_unit_error(value: object) -> None:
    for parse in (parse_rate, parse_size, parse_time):
        got, err = attempt(parse, value)
        if err is not None:
            assert isinstance(err, netlab.UnitError) and str(err)
        else:
            assert isinstance(got, int | float) and not math.isnan(got) and got >= 0


KEYS = st.sampled_from(["name", "nodes", "links", "flows", "routing", "run", "faults", "seed", "mail", "a", "b",
                        "rate", "delay", "loss", "until", "src", "dst", "arrivals", "size", "poisson",
                        "strategy"])  # fmt: skip
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, st.text(max_size=8), st.sampled_from(["1ms", "10Mbps", "a"]))
NESTED = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
                      max_leaves=25)  # fmt: skip


@given(st.dictionaries(KEYS, NESTED, max_size=8))
def test_random_nested_data_gives_a_scenario_or_a_netlab_error(data: dict[str, object]) -> None:
    _, err = attempt(scenario_from_data, data, where="fuzz.yaml")
    assert err is None or str(err).startswith("fuzz.yaml")


@given(st.text(alphabet=st.sampled_from(list("abn: -[]{},\n\t'\"&*!|>%@`#0123456789.")), max_size=120))
def test_random_text_gives_a_scenario_or_a_netlab_error(text: str) -> None:
    _, err = attempt(loads_scenario, text, source="fuzz.yaml")
    assert err is None or "fuzz.yaml" in str(err)
