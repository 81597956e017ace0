"""PyYAML set up for scenario files: a safe loader that records the line of every key and list item (so errors
can say ``FILE:LINE``) and refuses duplicate keys, a safe dumper that writes :class:`FlowMap`/:class:`FlowSeq`
on one line, and both reading ``on``/``off``/``yes``/``no`` and ``1e-3`` as YAML 1.2 does.

>>> data = yaml.load("a: 1\\nb: [x, y]\\non: 1e-3", Loader=Loader)
>>> data, data.lines
({'a': 1, 'b': ['x', 'y'], 'on': 0.001}, {'a': 1, 'b': 2, 'on': 3})
"""

from __future__ import annotations

import re
from typing import Any

import yaml

__all__ = ["MAX_EXPANDED_NODES", "Dumper", "FlowMap", "FlowSeq", "LineMap", "LineSeq", "Loader"]


class FlowMap(dict):  # type: ignore[type-arg]
    """A mapping the dumper writes on one line (``{a: h1, b: r1}``)."""


class FlowSeq(list):  # type: ignore[type-arg]
    """A list the dumper writes on one line (``[r1, r2]``)."""


class LineMap(dict):  # type: ignore[type-arg]
    """A parsed mapping that remembers the line of each key (1-based)."""

    lines: dict[Any, int]


class LineSeq(list):  # type: ignore[type-arg]
    """A parsed list that remembers the line of each item (1-based)."""

    lines: list[int]


#: The most nodes (scalars, lists, mappings) a document may stand for once its aliases are expanded: a YAML
#: "billion laughs" (``b: [*a, *a, ...]`` nested) is a few lines whose expansion fills the memory.
MAX_EXPANDED_NODES = 2_000_000


class Loader(yaml.SafeLoader):
    """PyYAML's safe loader, building :class:`LineMap`/:class:`LineSeq` with line marks and refusing duplicate keys
    and documents whose aliases expand past :data:`MAX_EXPANDED_NODES` nodes."""

    def construct_document(self, node: yaml.Node) -> Any:
        _check_expansion(node)
        return super().construct_document(node)


def _check_expansion(root: yaml.Node) -> None:
    """Count the nodes *root* stands for with every alias expanded (each shared node counted once per use, its
    size computed once), refusing past the limit before anything is built."""
    sizes: dict[int, int] = {}
    # iterative post-order walk: a deep document must not exhaust the Python stack here either
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in sizes:
            continue
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        if not done and any(id(c) not in sizes for c in children):
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)
            continue
        total = 1 + sum(sizes.get(id(c), 1) for c in children)
        if total > MAX_EXPANDED_NODES:
            raise yaml.constructor.ConstructorError(
                None, None, f"the aliases (*name) here expand to more than {MAX_EXPANDED_NODES:,} values: refused "
                "(a YAML alias bomb?)", node.start_mark)  # fmt: skip
        sizes[id(node)] = total


class Dumper(yaml.SafeDumper):
    """PyYAML's safe dumper, indenting block lists and writing FlowMap/FlowSeq on one line."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _construct_map(loader: Loader, node: yaml.MappingNode) -> LineMap:
    loader.flatten_mapping(node)
    out = LineMap()
    out.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in out
        except TypeError:
            raise yaml.constructor.ConstructorError(None, None, "a key must be a scalar", key_node.start_mark) from None
        if duplicate:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = key_node.start_mark.line + 1
    return out


def _construct_seq(loader: Loader, node: yaml.SequenceNode) -> LineSeq:
    out = LineSeq(loader.construct_object(child, deep=True) for child in node.value)
    out.lines = [child.start_mark.line + 1 for child in node.value]
    return out


Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
Loader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)
# PyYAML follows YAML 1.1, where ``on``/``off``/``yes``/``no`` are booleans (``on_off: {on: 1s}`` would have a key
# True) and ``1e-3`` is a string. Read both as YAML 1.2 does, and write them so they read back the same.
_BOOL, _FLOAT = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:float"
_EXP_FLOAT = re.compile(r"^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+$")
for _cls in (Loader, Dumper):
    _cls.yaml_implicit_resolvers = {
        first: [(tag, regex) for tag, regex in resolvers if tag != _BOOL]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    _cls.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
    _cls.add_implicit_resolver(_FLOAT, _EXP_FLOAT, list("-+0123456789."))
Dumper.add_representer(FlowMap, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v, flow_style=True))
Dumper.add_representer(FlowSeq, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))
Dumper.add_representer(LineMap, yaml.SafeDumper.represent_dict)
Dumper.add_representer(LineSeq, yaml.SafeDumper.represent_list)
