"""Pareto dominance, fronts, hypervolume (pymoo) and the multi-objective pair rule."""
import pytest

from mmrnas.search.pareto import dominates, hypervolume, non_dominated, pareto_teacher


def test_dominates():
    assert dominates([0.1, 0.5], [0.2, 0.5])
    assert not dominates([0.1, 0.5], [0.1, 0.5])  # equal: no
    assert not dominates([0.1, 0.6], [0.2, 0.5])  # a trade-off: no


def test_non_dominated_keeps_trade_offs_and_duplicates():
    points = [[0.2, 0.6], [0.5, 0.3], [0.6, 0.6], [0.2, 0.6], [0.9, 0.1]]
    assert non_dominated(points) == [0, 1, 3, 4]


def test_hypervolume_of_rectangles():
    # [0.2, 1] x [0.6, 1] (0.32) united with [0.5, 1] x [0.3, 1] (0.35), overlap 0.2
    assert hypervolume([[0.2, 0.6], [0.5, 0.3]], [1, 1]) == pytest.approx(0.47)
    assert hypervolume([[0.2, 0.6], [1.2, 0.1]], [1, 1]) == pytest.approx(0.32)
    assert hypervolume([], [1, 1]) == 0.0
    assert hypervolume([[0.5, 0.5, 0.5]], [1, 1, 1]) == pytest.approx(0.125)


def test_pareto_teacher():
    """Dominance first, then the larger hypervolume of the reported front once recorded."""
    assert pareto_teacher([0.2, 0.5], [0.3, 0.5], 0.1, 0.9) == 0  # dominates
    assert pareto_teacher([0.3, 0.6], [0.3, 0.5], 0.9, 0.1) == 1
    # a trade-off: the member leaving the larger front teaches
    assert pareto_teacher([0.1, 0.8], [0.6, 0.05], 0.53, 0.59) == 1
    assert pareto_teacher([0.1, 0.8], [0.6, 0.05], 0.59, 0.53) == 0
    # both leave the front as it was: the primary objective decides
    assert pareto_teacher([0.35, 0.4], [0.4, 0.35], 0.49, 0.49) is None
