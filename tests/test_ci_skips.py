"""Under CI=true a skipped test (a tool missing on the CI machine) fails instead of passing quietly."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

CONFTEST = (Path(__file__).parent / "conftest.py").read_text()


@pytest.mark.parametrize(("ci", "outcome"), [("true", {"failed": 1}), ("", {"skipped": 1})])
def test_skip_fails_only_under_ci(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, ci: str,
                                  outcome: dict[str, int]) -> None:  # fmt: skip
    monkeypatch.setenv("CI", ci)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile("import pytest\n\ndef test_needs_tool():\n    pytest.skip('tshark not installed')\n")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(**outcome)
