"""Repeated, interleaved measurement. On a shared machine a neighbour's load comes and goes:
measured one after the other, a plan and its yardstick would each see a different machine. So
every figure that is compared with a yardstick is measured in rounds, the two sides taking turns
within each round and swapping who goes first from one round to the next, and the figure
reported is the median of the rounds' ratios, with their spread."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any, TypeVar

DEFAULT_REPEATS = 5
Side = TypeVar("Side")


def turns(round_index: int, first: Side, second: Side) -> tuple[Side, Side]:
    """The two sides of one round in the order they run: swapped every other round, so that a
    drift over the run lands on both alike."""
    return (first, second) if round_index % 2 == 0 else (second, first)


def spread(values: Sequence[float]) -> float:
    """The interquartile range of the rounds: how far apart the middle half of them lie. With
    five rounds, the second smallest to the second largest; one round disturbed by a neighbour
    moves neither it nor the median. One or two rounds: their range."""
    if len(values) < 3:
        return max(values) - min(values) if values else 0.0
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q3 - q1


def summary(values: Sequence[float], digits: int = 3) -> dict[str, Any]:
    """The median of the rounds, their spread and every round, rounded for the report."""
    if not values:
        return {"median": None, "spread": None, "rounds": []}
    return {
        "median": round(statistics.median(values), digits),
        "spread": round(spread(values), digits),
        "rounds": [round(v, digits) for v in values],
    }


def ratios(numerators: Sequence[float], denominators: Sequence[float]) -> list[float]:
    """Each round's own ratio (never a ratio of medians: a round compares like with like)."""
    return [a / b for a, b in zip(numerators, denominators, strict=True) if b]
