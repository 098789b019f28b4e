"""Resource constraints of a budget-aware search: bounds, relative violation, feasibility."""
import math
from typing import Any, Dict, Mapping, Optional, Tuple

from mmrnas.utils.config_keys import check_unknown_keys
from .genotype_cost import COST_KEYS, LATENCY_KEY

__all__ = ['parse_constraints', 'check_reachable', 'relative_violation', 'feasibility_teacher']


def _bound(name: str, key: str, value: Any) -> Tuple[float, float]:
    """``value`` (an upper bound, or ``(low, high)``) as ``(low, high)``; ``name``: where the
    constraints are in the config."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ValueError(f'{name}.{key} must be an upper bound or (low, '
                             f'high), got {value!r}')
        low, high = value
    else:
        low, high = 0, value
    for side, number in (('low', low), ('high', high)):
        if isinstance(number, bool) or not isinstance(number, (int, float)) or not (
                math.isfinite(number) and number >= 0):
            raise ValueError(f'{name}.{key}: the {side} bound must be a finite '
                             f'number >= 0, got {number!r}')
    if high <= low:
        raise ValueError(f'{name}.{key}=({low:g}, {high:g}): the low bound must '
                         f'be below the high bound')
    return float(low), float(high)


def parse_constraints(constraints: Any,
                      name: str = 'train_cfg.constraints') -> Dict[str, Tuple[float, float]]:
    """Check ``train_cfg.constraints`` and return ``{key: (low, high)}``.

    Args:
        constraints: ``dict(params=3.0e6, mult_adds=(1e8, 6e8))``: per key of
            :data:`~mmrnas.search.genotype_cost.COST_KEYS`, an upper bound or ``(low, high)``.
        name: Where they are in the config (named by messages).
    """
    if not isinstance(constraints, Mapping) or not constraints:
        raise ValueError(f'{name} must be a non-empty dict such as '
                         f'dict(params=3.0e6, mult_adds=6.0e8), got {constraints!r}')
    check_unknown_keys(name, constraints, COST_KEYS)
    return {key: _bound(name, key, value) for key, value in constraints.items()}


def check_reachable(bounds: Mapping[str, Tuple[float, float]],
                    extremes: Mapping[str, Tuple[int, int]], model: Mapping[str, Any],
                    name: str = 'train_cfg.constraints') -> None:
    """Refuse bounds that no genotype of the search space can meet.

    Args:
        bounds: From :func:`parse_constraints`.
        extremes: ``{key: (smallest, largest)}`` of the constraint model
            (:meth:`~mmrnas.search.genotype_cost.GenotypeCost.extremes`).
        model: The constraint model config, named in the message.
        name: Where the constraints are in the config.
    """
    for key, (low, high) in bounds.items():
        smallest, largest = extremes[key]
        if high < smallest or low > largest:
            if key == LATENCY_KEY:
                raise ValueError(
                    f'{name}.{key}=({low:g}, {high:g}) is out of reach: the latency this '
                    f"machine's table predicts for the networks of the cost model "
                    f'{dict(model)} ranges from {smallest:.3f} to {largest:.3f} ms; choose a '
                    f'limit in that range')
            raise ValueError(
                f'{name}.{key}=({low:g}, {high:g}) is out of reach: the networks '
                f'of the cost model {dict(model)} have {smallest:,} (pooling on every edge) '
                f'to {largest:,} (sep_conv_5x5 on every edge) {key}; choose a bound in that '
                f'range')


def relative_violation(costs: Mapping[str, float],
                       bounds: Mapping[str, Tuple[float, float]]) -> float:
    """Sum over the constrained keys of how far ``costs`` lie outside their bounds, relative
    to the bound: ``(value - high) / high`` above, ``(low - value) / low`` below; 0 when
    feasible."""
    total = 0.0
    for key, (low, high) in bounds.items():
        value = costs[key]
        if value > high:
            total += (value - high) / high
        elif value < low:
            total += (low - value) / low
    return total


def feasibility_teacher(violation_a: float, violation_b: float) -> Optional[int]:
    """The teacher of a pair as feasibility decides it: a feasible member (violation 0) beats
    an infeasible one, between two infeasible ones the smaller violation wins; None when
    feasibility does not decide (both feasible, or equal violations)."""
    feasible_a, feasible_b = violation_a == 0, violation_b == 0
    if feasible_a != feasible_b:
        return 0 if feasible_a else 1
    if not feasible_a and violation_a != violation_b:
        return 0 if violation_a < violation_b else 1
    return None
