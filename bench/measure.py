"""What the benchmarks share in measuring: a percentile over the samples of one run."""

from __future__ import annotations


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (``share`` 0.99 for p99) of ``values``; NaN for none."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")
