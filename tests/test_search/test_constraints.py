"""Constraints: bounds, relative violation, reachability, the feasibility rule of pairs."""
import pytest

from mmrnas.search.constraints import (
    check_reachable,
    feasibility_teacher,
    parse_constraints,
    relative_violation,
)


def test_parse_bounds():
    assert parse_constraints(dict(params=3.0e6, mult_adds=(1e8, 6e8))) == dict(
        params=(0.0, 3.0e6), mult_adds=(1e8, 6e8))


@pytest.mark.parametrize('constraints, message', [
    (dict(param=3e6), "train_cfg.constraints: unknown key(s) 'param' (did you mean 'params'?)"),
    (dict(params=-1), 'train_cfg.constraints.params: the high bound must be a finite number >= 0'
     ', got -1'),
    (dict(params=(5, 2)), 'train_cfg.constraints.params=(5, 2): the low bound must be below the '
     'high bound'),
    (dict(params=(1, 2, 3)), 'must be an upper bound or (low, high), got (1, 2, 3)'),
    (dict(), 'train_cfg.constraints must be a non-empty dict'),
    (dict(params='3M'), "the high bound must be a finite number >= 0, got '3M'"),
])
def test_bad_constraints_are_one_error(constraints, message):
    with pytest.raises(ValueError) as error:
        parse_constraints(constraints)
    assert message in str(error.value)


def test_relative_violation():
    bounds = dict(params=(0.0, 100.0), mult_adds=(50.0, 200.0))
    assert relative_violation(dict(params=100, mult_adds=50), bounds) == 0
    assert relative_violation(dict(params=150, mult_adds=100), bounds) == 0.5
    assert relative_violation(dict(params=150, mult_adds=40), bounds) == 0.5 + 0.2


@pytest.mark.parametrize('violations, teacher', [
    ((0.0, 0.3), 0), ((0.3, 0.0), 1),  # feasible beats infeasible
    ((0.2, 0.3), 0), ((0.5, 0.1), 1),  # smaller violation wins
    ((0.0, 0.0), None), ((0.4, 0.4), None),  # the usual criterion decides
])
def test_feasibility_teacher(violations, teacher):
    assert feasibility_teacher(*violations) == teacher


def test_unreachable_bounds_name_the_range():
    extremes = dict(params=(15458, 102370), mult_adds=(953600, 4312320))
    model = dict(base_channels=8)
    check_reachable(dict(params=(0, 15458)), extremes, model)  # the all-pooling cell fits
    with pytest.raises(ValueError) as error:
        check_reachable(dict(params=(0, 10000)), extremes, model)
    assert str(error.value) == (
        "train_cfg.constraints.params=(0, 10000) is out of reach: the networks of "
        "the cost model {'base_channels': 8} have 15,458 (pooling on every edge) to 102,370 "
        "(sep_conv_5x5 on every edge) params; choose a bound in that range")
    with pytest.raises(ValueError, match=r'mult_adds=\(5e\+06, 6e\+06\) is out of reach'):
        check_reachable(dict(mult_adds=(5e6, 6e6)), extremes, model)
