"""Small text helpers for error messages, shared by every layer (imports nothing of netlab).

>>> did_you_mean("mx2", ["mx1", "msa", "dns"])
"; did you mean 'mx1'?"
>>> did_you_mean("zz", ["a", "b"])
'; expected one of a, b'
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["did_you_mean"]


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest of *choices*, else ``"; expected one of a, b, c"``."""
    options = sorted(str(c) for c in choices)
    close = difflib.get_close_matches(str(word), options, n=1)
    if close:
        return f"; did you mean {close[0]!r}?"
    if len(options) > 12:  # a 1,000-node topology: name a few, not all
        options = [*options[:12], "..."]
    return "; expected one of " + ", ".join(options) if options else ""
