"""Scenario files: the :class:`Scenario` value and its YAML codec.

Everything a run needs is one frozen :class:`Scenario` (:mod:`~netlab.scenario.model`). This package reads it
from YAML with errors that say ``FILE:LINE: KEY.PATH: what was expected, got what``, writes it back, and changes
parts of it by dotted key. The spec dataclasses it reads (``NodeSpec``, ``FlowSpec``, ``MailSpec``, the routing
strategies ...) live with the layers they describe; their field metadata (:func:`netlab.options.option`) is the
one source of truth for keys, units, defaults and docs.

=================  ===========================================================================================
``model``          :class:`Scenario` and :class:`RunSpec`, validated on construction
``fields``         what a spec field says: YAML key, unit kind, resolved type, required or its default
``quantities``     unit kinds (``rate``, ``size``, ``time``, ``packet_rate``): parse and write back exactly
``registry``       names for classes (``ospf``, ``poisson``), ``module:Class(args)`` for the user's own
``dialect``        PyYAML set up for scenario files: line marks, no duplicate keys, YAML 1.2 scalars
``decode``         parsed YAML -> spec dataclasses, one generic reader, errors located by :class:`~.decode.Ctx`
``encode``         spec dataclasses -> YAML-ready data (defaults left out, unit strings, shorthands)
``document``       the file as a whole: top-level keys, topology sections, shorthands, cross-checks
``files``          :func:`~.files.load_scenario`, :func:`~.files.loads_scenario`, ``dump`` and ``save``
``overrides``      ``run.until=10s``, ``links[r1,r2].loss=0.05``: dataclasses replaced along a dotted path
``strategies``     a comparison's strategy list (``"least_loaded,ecmp(weight=delay)"``)
``reference``      docs/scenario-reference.md, generated from the field metadata
=================  ===========================================================================================

Only the model is imported here (``import netlab`` stays light); ``netlab.load_scenario`` reads a file.
"""

from __future__ import annotations

from netlab.scenario.model import RunSpec, Scenario

__all__ = ["RunSpec", "Scenario"]
