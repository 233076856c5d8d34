"""One function over many items on every core: forked workers that share read-only data.

The workers are forked once, so they inherit the imported modules and the `shared` data
(the parsed price bars) instead of importing or unpickling them per task. Each result goes
back to its item's place, so the output never depends on the number of workers. On Ctrl-C
(or any error) in the parent every worker is terminated and reaped before the error goes on.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable, Sequence
from typing import Any

_shared: Any = None


def _init(shared: Any) -> None:
    global _shared
    # The parent owns interrupts: it terminates the workers, they must not die half-way alone.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _shared = shared


def _call(task: tuple[Callable[[Any, Any], Any], int, Any]) -> tuple[int, Any]:
    func, index, item = task
    return index, func(_shared, item)


def run_all(func: Callable[[Any, Any], Any], items: Sequence[Any], *, shared: Any, jobs: int,
            on_done: Callable[[int], None] | None = None) -> list[Any]:
    """[func(shared, item) for item in items], on up to `jobs` forked workers.

    `func` must be a module-level function. `on_done(n)` reports n finished items.
    """
    if jobs <= 1 or len(items) <= 1:
        results = []
        for item in items:
            results.append(func(shared, item))
            if on_done is not None:
                on_done(len(results))
        return results
    pool = multiprocessing.get_context("fork").Pool(min(jobs, len(items)), initializer=_init, initargs=(shared,))
    results: list[Any] = [None] * len(items)
    try:
        tasks = ((func, index, item) for index, item in enumerate(items))
        for done, (index, result) in enumerate(pool.imap_unordered(_call, tasks), 1):
            results[index] = result
            if on_done is not None:
                on_done(done)
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
    return results
