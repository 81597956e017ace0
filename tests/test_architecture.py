"""docs/architecture.md and the README's Layout section stay true to the tree, and imports follow the layers."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "architecture.md").read_text()
README = (ROOT / "README.md").read_text()
# Backticked paths, optionally with a name: `netlab/mail/mta/qmgr.py:Deliverer`, `netlab/mail/dns/`.
PATH_RE = re.compile(r"`((?:netlab|tests|docs|bench|topologies|notebooks)/[\w/.-]*)(?::(\w+))?`")


def _layers() -> dict[str, int]:
    block = re.search(r"```layers\n(.*?)```", DOC, re.S)
    assert block, "docs/architecture.md has no ```layers block"
    order: dict[str, int] = {}
    for rank, line in enumerate(block.group(1).strip().splitlines()):
        _, _, names = line.partition(":")
        order.update(dict.fromkeys(names.split(), rank))
    return order


def _top_level_imports(tree: ast.Module) -> list[str]:
    """netlab modules imported when this module is imported (not under TYPE_CHECKING, not inside functions)."""
    out: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "netlab":
            if node.module == "netlab":
                out += [f"netlab.{a.name}" for a in node.names]
            else:
                out.append(node.module)
        elif isinstance(node, ast.Import):
            out += [a.name for a in node.names if a.name.split(".")[0] == "netlab"]
    return out


def _unit(module: str) -> str:
    """The layer unit a module belongs to: netlab.mail.mta.qmgr -> mail; netlab.units -> units."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


@pytest.mark.parametrize(
    ("path", "name"), sorted({(m.group(1), m.group(2) or "") for m in PATH_RE.finditer(DOC)}), ids=str
)
def test_every_path_the_architecture_page_names_exists(path: str, name: str) -> None:
    target = ROOT / path
    assert target.exists(), f"docs/architecture.md names {path}, which does not exist"
    if name:
        assert re.search(rf"^\s*(class|def) {name}\b|^{name}\s*[:=]", target.read_text(), re.M), (
            f"docs/architecture.md names {path}:{name}, which is not defined there"
        )


def test_every_netlab_unit_has_a_layer() -> None:
    netlab = ROOT / "netlab"
    units = {p.stem for p in netlab.glob("*.py")} | {p.parent.name for p in netlab.glob("*/__init__.py")}
    missing = units - set(_layers())
    assert not missing, f"docs/architecture.md's layers block lacks {sorted(missing)}"


def test_imports_flow_one_way_through_the_layers() -> None:
    layer = _layers()
    wrong = []
    for f in sorted((ROOT / "netlab").rglob("*.py")):
        me = _unit(".".join(f.relative_to(ROOT).with_suffix("").parts))
        for imported in _top_level_imports(ast.parse(f.read_text())):
            other = _unit(imported)
            if other != me and layer[other] > layer[me]:
                wrong.append(f"{f.relative_to(ROOT)} imports {imported}: {me!r} may import only the layers before it")
    assert not wrong, "\n".join(wrong)


def test_the_readme_layout_matches_the_tree() -> None:
    section = README.split("## Layout", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"^\s{4}(\S+)", section, re.M))
    for entry in named:
        assert (ROOT / entry).exists(), f"README's Layout names {entry}, which does not exist"
    packages = {f"netlab/{p.name}" for p in (ROOT / "netlab").iterdir() if (p / "__init__.py").exists()}
    assert packages <= named, f"README's Layout lacks {sorted(packages - named)}"
    benches = {p.name for p in (ROOT / "bench").glob("*.py")}
    listed = set(re.findall(r"(\w+\.py)", section.split("bench/", 1)[1].splitlines()[0]))
    assert benches == listed, f"README's Layout lists bench scripts {sorted(listed)}; bench/ holds {sorted(benches)}"


def test_no_module_imports_another_modules_private_name() -> None:
    """``from netlab.x import _name`` reaches into another module's insides; a private module may be imported."""
    wrong = []
    for f in sorted((ROOT / "netlab").rglob("*.py")):
        for node in ast.walk(ast.parse(f.read_text())):
            if not (isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "netlab"):
                continue
            base = ROOT.joinpath(*node.module.split("."))
            for alias in node.names:
                is_module = (base / f"{alias.name}.py").exists() or (base / alias.name / "__init__.py").exists()
                if alias.name.startswith("_") and not alias.name.startswith("__") and not is_module:
                    wrong.append(f"{f.relative_to(ROOT)}: from {node.module} import {alias.name}")
    assert not wrong, "\n".join(wrong)
