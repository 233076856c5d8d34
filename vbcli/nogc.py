"""Pause Python's cyclic garbage collector around work that allocates 100 000s of objects.

The collector runs every few hundred new containers (tuples, lists) and each full pass walks
every object alive, so reading a large ledger into tuples spends a fifth of its time
collecting nothing: rows hold Decimals, datetimes and strings, which form no cycles.
Mercurial's `util.nogc` does the same for the same reason. Reference counting still frees
everything as usual; only cycles wait until the collector is back on.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """The collector off inside the block (and back on after it, if it was on)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
