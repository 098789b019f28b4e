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


def pareto_teacher(a: Sequence[float], b: Sequence[float], after_a: float,
                   after_b: float) -> Optional[int]:
    """The teacher of a pair in a multi-objective search: the member that dominates the other;
    if neither does, the one whose estimate, once recorded, leaves the larger hypervolume of
    the front the search reports (so the population spreads along the front instead of
    collapsing on one objective); None when both leave the same (e.g. both are dominated by
    the front): the primary objective decides.

    Args:
        a: Normalised objectives of the first member.
        b: Normalised objectives of the second member.
        after_a: Hypervolume of the reported front with ``a`` recorded
            (:meth:`~mmrnas.search.budget.SearchBudget.teacher` computes it).
        after_b: The same with ``b`` recorded.
    """
    if dominates(a, b):
        return 0
    if dominates(b, a):
        return 1
    if after_a == after_b:
        return None
    return 0 if after_a > after_b else 1
