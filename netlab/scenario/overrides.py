"""Change parts of a scenario by dotted key, as on the command line (``netlab run x.yaml -s run.until=10s``).

Each assignment walks the scenario's dataclasses along its key (the YAML keys: ``run.until``, not ``run.until_s``)
and replaces the value at the end, decoded by the same field metadata and :func:`~netlab.scenario.decode.convert`
the file reader uses: ``10s`` is a time because ``RunSpec.until_s`` says so, and ``10M`` is refused as it is in a
file. The changed dataclasses are rebuilt with :func:`dataclasses.replace` semantics once every assignment of
the call is in (so ``run.warmup=20s`` may come before the ``run.until=30s`` that makes it valid), then the
scenario's own checks and the explicit-path check run. Every error names the override.

Keys: ``seed``, ``run.until``, ``routing.strategy``, ``links[0].rate`` or ``links.0.rate``, a link by its ends
``links[r1,r2].loss``, and list items by their name (``flows.f1.arrivals.poisson``, ``nodes.r1.forwarding_delay``;
mail servers by host, users by address: ``mail.users[bob@b.test].password``). Values are YAML scalars (``10s``,
``300/s``, ``null``, ``{constant: 100/s}``); a mapping merges into a section key by key; ``mail.send={file:
day.csv}`` replaces a list by one read from a file (relative to the current directory).

>>> from netlab.scenario.files import loads_scenario
>>> s = loads_scenario("nodes: [a, b]\\nlinks: [[a, b]]\\nrouting: {strategy: shortest_hops, detection_delay: 50ms}")
>>> t = apply_overrides(s, ["routing.strategy=ospf", "links[a,b].rate=5Mbps"], {"seed": 3})
>>> t.routing, t.topology.links[0].rate_bps, t.seed
(OspfCost(detection_delay_s=0.05, reference_bps=100000000.0), 5000000.0, 3)
"""

from __future__ import annotations

import copy
import dataclasses
import re
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from netlab.errors import ConfigError
from netlab.network.faults import FaultSpec
from netlab.options import did_you_mean
from netlab.routing.base import RoutingStrategy
from netlab.scenario.decode import Ctx, construct, convert, instance
from netlab.scenario.dialect import Loader
from netlab.scenario.document import TOP_LEVEL_KEYS, check_paths, locate, topology_section
from netlab.scenario.encode import dump_value
from netlab.scenario.fields import (
    field_key,
    field_unit,
    fields_by_key,
    is_required,
    python_name_warning,
    python_names,
    type_hints,
    union_members,
)
from netlab.scenario.model import RunSpec, Scenario
from netlab.scenario.registry import ROUTING, ROUTING_KIND, Kinds, kinds_of, named_class, split_call
from netlab.topology.spec import LinkSpec, NodeSpec, Topology
from netlab.transport.config import TcpConfig
from netlab.workload.spec import FlowSpec

__all__ = ["apply_overrides", "parse_key"]

_SEGMENT = re.compile(r"\[([^\[\]]*)\]|([^.\[\]]+)")
# Every parameter any strategy takes: ``routing.reference_bandwidth=1Gbps`` may come before ``routing.strategy=ospf``.
_ROUTING_KEYS = {key for cls in ROUTING.values() for key in fields_by_key(cls)}
#: The field that names a list item, in the order tried: flows and nodes by name, servers by host, users by address.
_IDENTITY = ("name", "host", "address")

Path_ = list[str | int]


def parse_key(key: str) -> Path_:
    """``"links[0].rate"`` or ``"links.0.rate"`` -> ``["links", 0, "rate"]``.

    >>> parse_key("flows.f1.arrivals.poisson"), parse_key("links[r1, r2].loss")
    (['flows', 'f1', 'arrivals', 'poisson'], ['links', 'r1, r2', 'loss'])
    """
    text = key.strip()
    segments: Path_ = []
    pos = 0
    for m in _SEGMENT.finditer(text):
        if text[pos : m.start()] not in ("", ".") or (m.group(2) is not None and pos and text[pos] != "."):
            break
        seg = (m.group(1) if m.group(1) is not None else m.group(2)).strip()
        segments.append(int(seg) if seg.isdigit() else seg)
        pos = m.end()
    if not segments or pos != len(text) or "" in segments or text.startswith("."):
        raise ConfigError(f"override {key!r}: expected a dotted key like 'run.until' or 'links[0].rate'")
    return segments


def apply_overrides(scenario: Scenario, assignments: Sequence[str], values: Mapping[str, Any]) -> Scenario:
    """A copy of *scenario* with *assignments* (``"key=value"`` strings, applied in order) and then *values*
    (``{"seed": 2, "run": {"until": "10s"}}``; spec objects welcome) replaced.

    Changing ``routing.strategy`` keeps the parameters the new strategy also takes (``detection_delay``) and
    drops the others, unless they were set in the same call.

    Raises
    ------
    ConfigError
        (or UnitError, TopologyError) naming the override, the key and what was expected: an unknown key (with
        a did-you-mean), a malformed assignment, a value the scenario format refuses, or a scenario that no
        longer holds together (a flow to a node that is gone).
    """
    edit = _Edit(scenario)
    for text in assignments:
        key, sep, raw = text.partition("=")
        if not sep:
            raise ConfigError(f"override {text!r}: expected KEY=VALUE, e.g. run.until=10s")
        try:
            value = yaml.load(raw, Loader=Loader)
        except yaml.YAMLError as exc:
            raise ConfigError(f"override {text!r}: the value is not valid YAML ({exc})") from None
        edit.assign(parse_key(key), _plain(value), text)
    for key, value in values.items():
        text = repr(value)
        edit.assign([key], value, f"{key}={text if len(text) <= 60 else text[:57] + '...'}")
    return edit.finish()


# ---------------------------------------------------------------------------------------------- the drafts
class _Spec:
    """A spec dataclass being edited: its class, its field values so far (values, or drafts of nested specs and
    lists), where it sits, and the assignments that touched it (named if its own checks refuse the result)."""

    __slots__ = ("cls", "ctx", "labels", "values")

    def __init__(self, cls: type, values: dict[str, Any], ctx: Ctx) -> None:
        self.cls, self.values, self.ctx, self.labels = cls, values, ctx, list[str]()

    @classmethod
    def of(cls, obj: Any, ctx: Ctx) -> _Spec:
        return (
            obj if isinstance(obj, _Spec) else cls(type(obj), {f.name: getattr(obj, f.name) for f in _fields(obj)}, ctx)
        )

    def build(self) -> Any:
        kwargs = {name: _build(v) for name, v in self.values.items()}
        where = _at(self.ctx, self.labels)
        for f in _fields(self.cls):
            if f.name not in kwargs and is_required(self.cls, f):
                raise where.error(f"missing required key {field_key(f)!r}")
        return construct(self.cls, kwargs, where)


class _Items:
    """A tuple of specs being edited (``links``, ``flows``, ``mail.users``)."""

    __slots__ = ("items",)

    def __init__(self, items: Sequence[Any]) -> None:
        self.items = list(items)

    def build(self) -> tuple[Any, ...]:
        return tuple(_build(item) for item in self.items)


def _build(value: Any) -> Any:
    return value.build() if isinstance(value, _Spec | _Items) else value


def _fields(obj: Any) -> tuple[dataclasses.Field[Any], ...]:
    return dataclasses.fields(obj)


def _is_spec(value: Any) -> bool:
    return isinstance(value, _Spec) or (dataclasses.is_dataclass(value) and not isinstance(value, type))


def _at(ctx: Ctx, labels: list[str]) -> Ctx:
    """*ctx* named after the overrides in *labels* (``override 'a=1', 'b=2'``)."""
    return dataclasses.replace(ctx, where="override " + ", ".join(dict.fromkeys(repr(x) for x in labels)))


# ------------------------------------------------------------------------------------------ the whole edit
class _Edit:
    """The assignments of one call: the scenario's sections as drafts, rebuilt by :meth:`finish`."""

    def __init__(self, scenario: Scenario) -> None:
        from netlab.mail.config import MailSpec  # the mail layer, only when a scenario is overridden

        self.scenario = scenario
        t = scenario.topology
        self.sections: dict[str, Any] = {
            "name": scenario.name, "seed": scenario.seed, "nodes": t.nodes, "links": t.links,
            "flows": scenario.flows, "faults": scenario.faults, "run": scenario.run, "mail": scenario.mail,
            "transport": scenario.transport,
        }  # fmt: skip
        self.types: dict[str, Any] = {
            "name": str, "seed": int, "nodes": tuple[NodeSpec, ...], "links": tuple[LinkSpec, ...],
            "flows": tuple[FlowSpec, ...], "faults": tuple[FaultSpec, ...], "run": RunSpec,
            "mail": MailSpec | None, "transport": TcpConfig,
        }  # fmt: skip
        self.routing = _Routing(scenario.routing)
        self.labels: dict[str, list[str]] = {}  # section -> the assignments that touched it
        self.topology: Topology | None = None  # a whole new topology (``topology=...``)

    def assign(self, path: Path_, raw: Any, label: str) -> None:
        top, rest = path[0], path[1:]
        root = Ctx(f"override {label!r}", base=Path())  # files an override names are relative to the cwd
        self.labels.setdefault(str(top), []).append(label)
        if top == "routing":
            self.routing.assign(rest, raw, root.key("routing", None), label)
        elif top == "topology":
            if rest:
                raise root.key("topology", None).error(
                    "give a whole topology: an object, {file: ...} or {generator: ...}"
                )
            self.topology = topology_section(raw, root.key("topology", None), {})
            self.sections["nodes"], self.sections["links"] = self.topology.nodes, self.topology.links
            self.labels.setdefault("nodes", []).append(label)
        elif top in self.sections:
            key = str(top)
            self.sections[key] = _assign(
                self.sections[key], self.types[key], None, rest, raw, root.key(key, None), label
            )
        else:
            keys = [k for k in TOP_LEVEL_KEYS if k != "defaults"]
            raise root.key(top, None).error("unknown key" + did_you_mean(top, keys))

    def finish(self) -> Scenario:
        s = self.scenario
        built = {key: _build(value) for key, value in self.sections.items()}
        topology = s.topology
        touched = [label for key in ("nodes", "links", "topology") for label in self.labels.get(key, [])]
        if touched:
            try:
                topology = Topology(built["nodes"], built["links"])
            except ConfigError as exc:
                raise _at(Ctx(""), touched).error(str(exc), type(exc)) from None
        routing = self.routing.finish()
        everything = [label for labels in self.labels.values() for label in labels]
        if not everything:
            return s
        try:  # without source, so that its messages do not name the file before the override
            new = Scenario(topology, built["flows"], routing, built["faults"], built["run"], built["seed"],
                           built["name"], built["mail"], transport=built["transport"])  # fmt: skip
        except ConfigError as exc:
            raise _at(Ctx(""), everything).error(str(exc), type(exc)) from None
        root = _at(Ctx(""), everything)
        check_paths(new.topology, new.flows, new.routing, lambda keys: locate(root, None, keys))
        return dataclasses.replace(new, source=s.source)


# ------------------------------------------------------------------------------- one value along its path
def _assign(cur: Any, tp: Any, unit: str | None, path: Path_, raw: Any, ctx: Ctx, label: str) -> Any:
    """*cur* (a value of annotation *tp*, or a draft of one) with *raw* assigned at *path* below it."""
    if not path:
        return _whole(cur, tp, unit, raw, ctx, label)
    seg, rest = path[0], path[1:]
    kinds = kinds_of(tp)
    if kinds is not None:
        return _kind(cur, tp, kinds, seg, rest, raw, ctx, label)
    members, _ = union_members(tp)
    if cur is None and len(members) == 1 and dataclasses.is_dataclass(members[0]):
        cur = _Spec(typing.cast(type, members[0]), {}, ctx)  # ``mail.workload.count=5`` where there was none
    if _is_spec(cur):
        spec = _Spec.of(cur, ctx)
        by_key = fields_by_key(spec.cls)
        names = python_names(spec.cls)
        if seg not in by_key and seg in names:  # ``run.until_s=5s``: the Python name of ``run.until``
            python_name_warning(ctx.key(seg, None).location(), str(seg), names[str(seg)])
            seg = names[str(seg)]
        if seg not in by_key:
            raise ctx.key(seg, None).error("unknown key" + did_you_mean(seg, by_key))
        f = by_key[str(seg)]
        value = spec.values.get(f.name)
        spec.values[f.name] = _assign(value, type_hints(spec.cls)[f.name], field_unit(f), rest, raw,
                                      ctx.key(seg, None), label)  # fmt: skip
        spec.labels.append(label)
        return spec
    if isinstance(cur, tuple | _Items) and typing.get_origin(members[0]) is tuple:
        items = cur if isinstance(cur, _Items) else _Items(cur)
        i = _index(items.items, seg, ctx, label)
        item_tp = typing.get_args(members[0])[0]
        items.items[i] = _assign(items.items[i], item_tp, unit, rest, raw, ctx.at(i, None), label)
        return items
    if isinstance(cur, Mapping):
        key = str(seg)
        if key not in cur and rest:
            raise ctx.key(key, None).error("unknown key" + did_you_mean(key, map(str, cur)))
        value_tp = typing.get_args(members[0])[1] if typing.get_args(members[0]) else Any
        return {**cur, key: _assign(cur.get(key), value_tp, unit, rest, raw, ctx.key(key, None), label)}
    raise Ctx(ctx.where).error(f"{ctx.path} has no keys (it is {cur!r:.40})")


def _whole(cur: Any, tp: Any, unit: str | None, raw: Any, ctx: Ctx, label: str) -> Any:
    """*raw* in place of *cur*: a mapping merges into a spec or a list key by key, anything else is decoded."""
    if isinstance(raw, Mapping):
        kinds = kinds_of(tp)
        if kinds is not None:
            if len(raw) == 1 and _kind_name(kinds, cur) in raw and isinstance(next(iter(raw.values())), Mapping):
                ((name, inner),) = raw.items()  # {poisson: {rate: 5}} onto a poisson: edit it
                return _whole(_Spec.of(cur, ctx), kinds.classes[name], None, inner, ctx.key(name, None), label)
            return convert(raw, tp, unit, ctx)  # another kind: the whole value
        if _is_spec(cur) or (isinstance(cur, tuple | _Items) and set(raw) != {"file"}):
            for key, value in raw.items():
                cur = _assign(cur, tp, unit, [key], value, ctx, label)
            return cur
    return convert(raw, tp, unit, ctx)


def _kind(cur: Any, tp: Any, kinds: Kinds, seg: Any, rest: Path_, raw: Any, ctx: Ctx, label: str) -> Any:
    """``arrivals.poisson=300/s``, ``arrivals.poisson.rate=300/s``, ``arrivals.constant=100/s`` (a new kind)."""
    sub = ctx.key(seg, None)
    if seg not in kinds.classes:
        raise sub.error("unknown key" + did_you_mean(seg, kinds.classes))
    cls = kinds.classes[str(seg)]
    same = _kind_name(kinds, cur) == seg
    if rest:  # into the kind's own fields; a new kind starts from its defaults
        return _assign(_Spec.of(cur, ctx) if same else _Spec(cls, {}, ctx), cls, None, rest, raw, sub, label)
    if same and isinstance(raw, Mapping):
        return _whole(_Spec.of(cur, ctx), cls, None, raw, sub, label)
    return convert({seg: raw}, tp, None, ctx)  # the kind's shorthand: its first field


def _kind_name(kinds: Kinds, value: Any) -> str | None:
    cls = value.cls if isinstance(value, _Spec) else type(value)
    return next((name for name, c in kinds.classes.items() if c is cls), None)


# ------------------------------------------------------------------------------------------ list items
def _index(items: list[Any], seg: str | int, ctx: Ctx, label: str) -> int:
    """A list index, the index of the link between two nodes (``r1,r2``), or of the item named *seg*."""
    if isinstance(seg, int):
        if not 0 <= seg < len(items):
            raise ctx.at(seg, None).error(f"index out of range (the list has {len(items)} items)")
        return seg
    if items and _cls(items[0]) is LinkSpec:
        return _link_index(items, seg, ctx)
    names = [_ident(item) for item in items]
    if seg in names:
        return names.index(seg)
    raise ctx.key(seg, None).error(f"no item named {seg!r}" + did_you_mean(seg, [str(n) for n in names if n]))


def _link_index(links: list[Any], seg: str, ctx: Ctx) -> int:
    """``links[r1,r2]``: the link between r1 and r2 (either way unless it is directed).

    A valid topology has at most one link per pair and direction, but the assignments of one call are applied to
    drafts before the topology checks them, so ``links[0].b=r2`` may have made a second r1-r2 link: then the ends
    name no single link and the error gives the indices to choose from, rather than editing the first silently.
    """
    here = dataclasses.replace(ctx, path=f"{ctx.path}[{seg}]")
    ends = [e.strip() for e in seg.split(",")]
    if len(ends) != 2 or not all(ends):
        raise here.error("expected a link index or its two ends, like links[3] or links[r1,r2]")
    pairs = [(_get(link, "a"), _get(link, "b"), bool(_get(link, "directed"))) for link in links]
    found = [i for i, (a, b, directed) in enumerate(pairs)
             if (a, b) == tuple(ends) or (not directed and (b, a) == tuple(ends))]  # fmt: skip
    if len(found) == 1:
        return found[0]
    if found:
        which = ", ".join(f"links[{i}] ({pairs[i][0]}-{pairs[i][1]})" for i in found)
        raise here.error(f"{len(found)} links join {ends[0]!r} and {ends[1]!r}: {which}; name one by its index, "
                         f"e.g. links[{found[0]}]")  # fmt: skip
    nodes = {n for a, b, _ in pairs for n in (a, b)}
    for end in ends:
        if end not in nodes:
            raise here.error(f"no link has an end {end!r}" + did_you_mean(end, nodes))
    near = [f"[{a},{b}]" for a, b, _ in pairs if a in ends or b in ends]
    shown = ", ".join(near[:12]) + (", ..." if len(near) > 12 else "")
    back = [i for i, (a, b, directed) in enumerate(pairs) if directed and (b, a) == tuple(ends)]
    hint = f" (links[{back[0]}] is directed: only {ends[1]} -> {ends[0]})" if back else ""
    raise here.error(f"no link between {ends[0]!r} and {ends[1]!r}{hint}; links at {ends[0]} or {ends[1]}: {shown}")


def _cls(item: Any) -> type:
    return item.cls if isinstance(item, _Spec) else type(item)


def _get(item: Any, name: str) -> Any:
    return item.values.get(name) if isinstance(item, _Spec) else getattr(item, name, None)


def _ident(item: Any) -> Any:
    """What names a list item: its ``name``, ``host`` or ``address``."""
    names = {f.name for f in dataclasses.fields(_cls(item))} if dataclasses.is_dataclass(_cls(item)) else set()
    return next((_get(item, key) for key in _IDENTITY if key in names), None)


# ----------------------------------------------------------------------------------------------- routing
class _Routing:
    """The routing section being edited. Parameters are kept as given until :meth:`finish`, which decodes them
    by the fields of the strategy the call ends with (``reference_bandwidth`` is a rate because ``ospf`` says so,
    whether ``routing.strategy=ospf`` came before or after it)."""

    def __init__(self, strategy: RoutingStrategy) -> None:
        self.original = strategy
        self.cls: type = type(strategy)
        self.given: dict[str, tuple[Any, str]] = {}  # YAML key -> (value as given, its override)
        self.labels: list[str] = []

    def assign(self, path: Path_, raw: Any, ctx: Ctx, label: str) -> None:
        self.labels.append(label)
        if not path:
            if isinstance(raw, str):  # a bare name changes the strategy and keeps its parameters
                self._switch(raw, ctx.key("strategy", None), label)
            elif isinstance(raw, Mapping):
                for key, value in raw.items():
                    self.assign([key], value, ctx, label)
            elif isinstance(raw, RoutingStrategy):
                self.original, self.cls, self.given = raw, type(raw), {}
            else:
                raise ctx.error(f"expected a strategy name or {{strategy: name, ...}}, got {raw!r:.60}")
            return
        key, rest = str(path[0]), path[1:]
        if key == "strategy":
            if rest:
                raise Ctx(ctx.where).error(f"{ctx.key('strategy', None).path} has no keys (it is {raw!r:.40})")
            self._switch(raw, ctx.key(key, None), label)
            return
        accepted = self._keys(self.cls)
        if key not in accepted and key not in _ROUTING_KEYS and dataclasses.is_dataclass(self.cls):
            raise ctx.key(key, None).error("unknown key" + did_you_mean(key, [*accepted, "strategy"]))
        if rest:  # routing.paths.f2=[...]: into the parameter's own data
            base = self.given[key][0] if key in self.given else self._current(key, ctx)
            raw = _set_plain(copy.deepcopy(base), rest, raw, ctx.key(key, None))
        self.given[key] = (raw, label)

    def finish(self) -> RoutingStrategy:
        if not self.labels or (self.cls is type(self.original) and not self.given):
            return self.original
        cls, kwargs = self.cls, {}
        old = type(self.original)
        if dataclasses.is_dataclass(self.original) and (cls is old or old in ROUTING.values()):
            names = {f.name for f in dataclasses.fields(cls)}  # what the old strategy and the new one share
            kwargs = {f.name: getattr(self.original, f.name) for f in dataclasses.fields(old) if f.name in names}
        by_key, name = self._keys(cls), _name(cls)
        where = _at(Ctx("", "routing"), self.labels)
        if not dataclasses.is_dataclass(cls):  # a class of the user's own takes its arguments as given
            return typing.cast(RoutingStrategy, instance(cls, {k: raw for k, (raw, _) in self.given.items()},
                                                         ROUTING_KIND, where))  # fmt: skip
        for key, (raw, label) in self.given.items():
            here = Ctx(f"override {label!r}", f"routing.{key}", base=Path())
            if key not in by_key:
                raise here.error(f"not a parameter of strategy {name!r}" + did_you_mean(key, by_key))
            f = by_key[key]
            kwargs[f.name] = convert(raw, type_hints(cls)[f.name], field_unit(f), here)
        draft = _Spec(cls, kwargs, Ctx("", "routing"))
        draft.labels = self.labels
        strategy = draft.build()
        if not isinstance(strategy, RoutingStrategy):
            raise where.error(f"{cls.__name__} is not a routing strategy")
        return strategy

    def _switch(self, text: Any, ctx: Ctx, label: str) -> None:
        """``ospf``, ``ecmp(weight=delay)`` or ``mypkg.routing:Mine(k=2)``: the class, and its arguments as given."""
        if not isinstance(text, str):
            raise ctx.error(f"unknown routing strategy {text!r}" + did_you_mean(text, ROUTING))
        try:
            name, params = split_call(text)
            self.cls = named_class(name, ROUTING, ROUTING_KIND)
        except ConfigError as exc:
            raise ctx.error(str(exc)) from None
        for key, value in params.items():
            self.given[key] = (value, label)

    def _current(self, key: str, ctx: Ctx) -> Any:
        """The current value of parameter *key* as plain data (to assign into), if the strategy has it."""
        by_key = self._keys(type(self.original))
        if key not in by_key:
            raise ctx.key(key, None).error(f"not a parameter of strategy {_name(type(self.original))!r}")
        f = by_key[key]
        hint = type_hints(type(self.original))[f.name]
        return dump_value(getattr(self.original, f.name), hint, field_unit(f), compact=False)

    @staticmethod
    def _keys(strategy: type) -> dict[str, dataclasses.Field[Any]]:
        return fields_by_key(strategy) if dataclasses.is_dataclass(strategy) else {}


def _name(cls: type) -> str:
    return next((name for name, c in ROUTING.items() if c is cls), f"{cls.__module__}:{cls.__qualname__}")


def _set_plain(data: Any, path: Path_, value: Any, ctx: Ctx) -> Any:
    """*value* at *path* inside plain data (dicts and lists): ``{"f1": [...]}`` + ``f2`` -> a second entry."""
    if not path:
        return value
    seg, rest = path[0], path[1:]
    if isinstance(data, list) and isinstance(seg, int) and 0 <= seg < len(data):
        data[seg] = _set_plain(data[seg], rest, value, ctx.at(seg, None))
        return data
    if isinstance(data, dict) and (seg in data or not rest):
        data[seg] = _set_plain(data.get(seg), rest, value, ctx.key(seg, None))
        return data
    raise ctx.key(seg, None).error(
        "unknown key" + (did_you_mean(seg, map(str, data)) if isinstance(data, dict) else "")
    )


def _plain(value: Any) -> Any:
    """Parsed YAML without its line marks: an override's line 1 is no line of the scenario file."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
