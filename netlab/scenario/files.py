"""Scenario files: YAML in, :class:`Scenario` out, and back.

The format is documented in ``docs/scenario-reference.md`` (generated from the dataclass field metadata by
:mod:`netlab.scenario.reference`). This module is the file layer: it parses the text with the line-marking
loader of :mod:`netlab.scenario.dialect`, hands the data to :mod:`netlab.scenario.document`
(shorthands and whole-file cross-checks over the generic field reader), and dumps what that module's
``scenario_to_data`` returns.

Every mistake raises :class:`ConfigError` (or a subclass) as ``FILE:LINE: KEY.PATH: what was expected, got
what``, the line taken from the YAML node marks.

>>> s = loads_scenario("nodes: [a, b]\\nlinks: [[a, b]]\\nrun: {until: 10s}")
>>> s.topology.links[0].rate_bps, s.run.until_s
(1000000000.0, 10.0)
>>> loads_scenario(dump_scenario(s)) == s
True
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from netlab.errors import ConfigError
from netlab.scenario.dialect import Dumper, Loader
from netlab.scenario.document import scenario_from_data, scenario_to_data
from netlab.scenario.model import Scenario

__all__ = ["dump_scenario", "load_scenario", "loads_scenario", "save_scenario"]


def load_scenario(path: str | Path) -> Scenario:
    """Read the scenario file *path* (YAML). Relative file names inside it are relative to *path*.

    Raises
    ------
    ConfigError
        When the file is missing or unreadable, or anything in it is wrong (message ``FILE:LINE: KEY: ...``).
    """
    if not isinstance(path, str | os.PathLike):
        raise ConfigError(f"load_scenario: expected a file path (str or pathlib.Path), got {path!r:.60}")
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_SCENARIO_BYTES:
            raise ConfigError(_too_big(str(path), size))
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such scenario file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the scenario file ({exc})") from None
    return _load_text(text, str(path), p.parent, p.stem)


def loads_scenario(text: str, source: str = "<string>") -> Scenario:
    """Read a scenario from YAML *text*; *source* names it in error messages (files are relative to cwd)."""
    if not isinstance(text, str):
        raise ConfigError(f"loads_scenario: expected YAML text (str), got {text!r:.60}")
    return _load_text(text, source, Path(), "scenario")


def dump_scenario(scenario: Scenario) -> str:
    """*scenario* as canonical YAML that :func:`loads_scenario` reads back into an equal scenario.

    Values equal to their defaults are left out, quantities are written with units (``'10Mbps'``, ``'2ms'``)
    when that is exact, and link values shared by every link move into ``defaults.link``.
    """
    text: str = yaml.dump(scenario_to_data(scenario), Dumper=Dumper, sort_keys=False, allow_unicode=True, width=110)
    return text


def save_scenario(scenario: Scenario, path: str | Path) -> None:
    """Write *scenario* to *path* as YAML (see :func:`dump_scenario`)."""
    Path(path).write_text(dump_scenario(scenario), encoding="utf-8")


#: The largest scenario file read (its YAML is parsed in Python, about 7 s per MB, for the line numbers).
MAX_SCENARIO_BYTES = 2_000_000


def _too_big(where: str, size: int) -> str:
    return (f"{where}: {size:,} bytes, more than the {MAX_SCENARIO_BYTES:,} a scenario file may have: put a big "
            "topology in a GraphML/GML file (topology: {file: ...}) or use a generator, and traffic in a CSV "
            "trace or send file")  # fmt: skip


def _load_text(text: str, where: str, base: Path, default_name: str) -> Scenario:
    if len(text) > MAX_SCENARIO_BYTES:
        raise ConfigError(_too_big(where, len(text)))
    try:
        data = yaml.load(text, Loader=Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{where}{line}: invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: invalid YAML: {exc}") from None
    except RecursionError:  # the parser recurses once per level: [[[[...]]]] 5,000 deep
        raise ConfigError(f"{where}: invalid YAML: nested too deeply for netlab to read (a scenario needs a few "
                          "levels; this one has thousands)") from None  # fmt: skip
    return scenario_from_data(data, where=where, source=where, base=base, default_name=default_name)
