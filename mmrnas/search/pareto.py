"""Pareto dominance, non-dominated fronts and hypervolume (pymoo) for multi-objective search.

Objectives are minimised and given as vectors; the search normalises them before calling
these functions (validation loss / ln(classes), cost / the largest cost of the search space),
so that the hypervolume reference point is ``(1, ..., 1)``.
"""
from typing import List, Optional, Sequence

import numpy as np

__all__ = ['dominates', 'non_dominated', 'hypervolume', 'pareto_teacher']


def dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    """Whether ``a`` Pareto-dominates ``b``: no worse in every objective, better in one."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return bool(np.all(a <= b) and np.any(a < b))


def non_dominated(points: Sequence[Sequence[float]]) -> List[int]:
    """Indices of the points no other point dominates (duplicates all kept), in input order."""
    return [
        i for i, point in enumerate(points)
        if not any(dominates(other, point) for j, other in enumerate(points) if j != i)
    ]


def hypervolume(points: Sequence[Sequence[float]], reference: Sequence[float]) -> float:
    """Volume dominated by ``points`` and bounded by ``reference`` (pymoo's ``HV``); points
    not better than the reference in every objective add nothing. 0 for no points."""
    reference = np.asarray(reference, dtype=float)
    inside = [p for p in np.asarray(points, dtype=float).reshape(-1, len(reference))
              if np.all(p < reference)]
    if not inside:
        return 0.0
    from pymoo.indicators.hv import HV
    return float(HV(ref_point=reference)(np.asarray(inside)))


def pareto_teacher(a: Sequence[float], b: Sequence[float], archive: Sequence[Sequence[float]],
                   reference: Sequence[float]) -> Optional[int]:
    """The teacher of a pair in a multi-objective search: the member that dominates the other;
    if neither does, the one that adds more hypervolume to the archive's points (so the
    population spreads along the front instead of collapsing on one objective); None when
    both add the same (e.g. both are dominated by the archive): the primary objective decides.

    Args:
        a: Normalised objectives of the first member.
        b: Normalised objectives of the second member.
        archive: Normalised objectives of the estimates so far.
        reference: The hypervolume reference point.
    """
    if dominates(a, b):
        return 0
    if dominates(b, a):
        return 1
    base = hypervolume(archive, reference) if len(archive) else 0.0
    gain_a = hypervolume([*archive, a], reference) - base
    gain_b = hypervolume([*archive, b], reference) - base
    if gain_a == gain_b:
        return None
    return 0 if gain_a > gain_b else 1
