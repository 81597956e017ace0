"""Rows of a results table for formatting code.

pandas-stubs types each field of ``DataFrame.itertuples()`` as the union of every scalar pandas can hold, so
``row.delay_s * 1e3`` does not type-check although the column is float. The tables' column types are fixed by
:mod:`netlab.results`; formatting code reads rows through :func:`rows`, which says so once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


def rows(frame: pd.DataFrame) -> Iterator[Any]:
    """The rows of *frame* as named tuples (``frame.itertuples()``), typed for attribute access.

    >>> import pandas as pd
    >>> [r.b * 2 for r in rows(pd.DataFrame({"a": ["x"], "b": [1.5]}))]
    [3.0]
    """
    return frame.itertuples()
