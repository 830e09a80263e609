"""What the benchmarks share in measuring: a percentile over the samples of one run, and a driver
that does not pause while it times."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (``share`` 0.99 for p99) of ``values``; NaN for none."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


@contextmanager
def driver_gc_paused() -> Iterator[None]:
    """The driver's own garbage collector off for one timed run (collected before it).

    The driver is the local Bot API and the pacing: its record of every update and message
    grows to hundreds of thousands of objects, and a full collection of them took 60 ms here.
    Meanwhile no update is queued and no reply recorded, so a steady 200 a second reached the
    bot as a burst of a dozen, whose queueing set the p99. The bot's collector is untouched.
    """
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
