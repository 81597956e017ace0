"""Shared fixtures. Under CI=true a skipped test fails: a tool missing on CI is a broken CI, not a pass."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

import netlab
import netlab.testing

# Property tests: few examples in `make test` (fast, and the same examples every run: derandomized), many in
# `make fuzz` (NETLAB_FUZZ=1 or --hypothesis-profile=fuzz), which draws fresh ones each time.
settings.register_profile("default", max_examples=25, derandomize=True, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
# derandomize=False said outright: a profile inherits unset values from the one named "default" above.
settings.register_profile("fuzz", max_examples=2000, deadline=None, derandomize=False,
                          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                 HealthCheck.too_slow])  # fmt: skip
settings.load_profile("fuzz" if os.environ.get("NETLAB_FUZZ") else "default")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") == "true" and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true (a tool the test needs is missing): {report.longrepr}"


@pytest.fixture
def two_hosts() -> netlab.Topology:
    """a --(8 Mbit/s, 1 ms)-- b: a 1000-byte packet takes exactly 1 ms to serialise and 1 ms to cross."""
    return netlab.testing.two_hosts()
