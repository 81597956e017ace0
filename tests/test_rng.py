from __future__ import annotations

import subprocess
import sys

from netlab.rng import stream, stream_seed


def test_streams_are_stable_across_processes() -> None:
    code = "from netlab.rng import stream_seed; print(stream_seed(7, 'flow', 'f1', 'arrivals'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert int(out) == stream_seed(7, "flow", "f1", "arrivals")


def test_names_and_seeds_give_independent_streams() -> None:
    draws = {(s, n): stream(s, "flow", n).random() for s in (1, 2) for n in ("a", "b")}
    assert len(set(draws.values())) == 4
    assert stream(1, "flow", "a").random() == draws[(1, "a")]
