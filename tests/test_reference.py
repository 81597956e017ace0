"""The generated scenario reference page: current, complete, and runnable as a module."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from netlab.scenario.document import TOP_LEVEL_KEYS
from netlab.scenario.fields import field_key
from netlab.scenario.model import Scenario
from netlab.scenario.reference import SECTIONS, reference_markdown
from netlab.scenario.registry import ARRIVALS, ROUTING, SIZES

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "scenario-reference.md"


def _section(markdown: str, heading: str) -> str:
    """The text under the heading that starts with *heading*, up to the next heading of any level."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip("#").strip().startswith(heading))
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("#")), len(lines))
    return "\n".join(lines[start:end])


def test_page_is_current() -> None:
    # If this fails, run: .venv/bin/python -m netlab.scenario.reference > docs/scenario-reference.md
    assert PAGE.read_text(encoding="utf-8") == reference_markdown()


def test_module_prints_the_page() -> None:
    out = subprocess.run([sys.executable, "-m", "netlab.scenario.reference"], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout  # fmt: skip
    assert out == reference_markdown()


TABLES = [(heading, cls) for heading, _, _, classes in SECTIONS for cls in classes]
TABLES += [(f"`{name}`", cls) for kinds in (ARRIVALS, SIZES) for name, cls in kinds.classes.items()]
TABLES += [(f"`{name}`", cls) for name, cls in ROUTING.items()]


@pytest.mark.parametrize(("heading", "cls"), TABLES, ids=[f"{h}-{c.__name__}" for h, c in TABLES])
def test_every_field_is_documented(heading: str, cls: type) -> None:
    section = _section(reference_markdown(), heading)
    for f in dataclasses.fields(cls):
        row = next((line for line in section.splitlines() if line.startswith(f"| `{field_key(f)}` |")), None)
        assert row is not None, f"{cls.__name__}.{f.name} missing under {heading}"
        assert row.split(" | ")[-1].strip(" |"), f"{cls.__name__}.{f.name} has no description"


def test_every_scenario_key_is_documented() -> None:
    top = _section(reference_markdown(), "Scenario (top level)")
    keys = [f.name for f in dataclasses.fields(Scenario) if f.name not in ("source", "topology")]
    for key in [*keys, "nodes", "links", "topology", "defaults"]:
        assert key in TOP_LEVEL_KEYS and f"| `{key}` |" in top


@pytest.mark.parametrize(("heading", "row"), [
    ("Links", "| `rate` | bit/s | `1Gbps` | serialisation rate per direction; inf = pure delay |"),
    ("Links", "| `queue_bytes` | bytes | none |"),
    ("Flows", "| `stop` | s | `inf` |"),
    ("Flows", "| `arrivals` |  | `{poisson: 100/s}` |"),
    ("`poisson`", "| `rate` | packets/s | required |"),
    ("`ospf`", "| `reference_bandwidth` | bit/s | `100Mbps` |"),
])  # fmt: skip
def test_rows_show_unit_and_default(heading: str, row: str) -> None:
    assert row in _section(reference_markdown(), heading)
