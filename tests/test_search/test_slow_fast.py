"""Tests of the slow-fast update rule and teacher selection (docs/reference.md §3.1)."""
import math

import numpy as np
import pytest

from mmrnas.search import select_teacher, slow_fast_update

LOWER = np.zeros(3)
UPPER = np.array([2.0, 7.0, 3.0])

# Example 1, no clipping (dyadic values, so the results are exact):
# v = r1 * v + r2 * (x_f - x_s) = [0.125 + 0.5, -0.125 + 1.0, 0 - 0.25]; x = x_s + v.
EX1 = dict(x_slow=[0.5, 1.0, 2.0], v_slow=[0.25, -0.5, 0.0], x_fast=[1.5, 3.0, 1.0],
           r1=[0.5, 0.25, 1.0], r2=[0.5, 0.5, 0.25])
EX1_X, EX1_V = [1.125, 1.875, 1.75], [0.625, 0.875, -0.25]
# Example 2, clipped at both bounds: v = [-1 - 0.125, 1 + 0.25, 0.5 + 0.25];
# x_s + v = [-0.875, 7.75, 3.25] -> [0, 7, 3]; the velocity keeps its unclipped value.
EX2 = dict(x_slow=[0.25, 6.5, 2.5], v_slow=[-1.0, 2.0, 0.5], x_fast=[0.0, 7.0, 3.0],
           r1=[1.0, 0.5, 1.0], r2=[0.5, 0.5, 0.5])
EX2_X, EX2_V = [0.0, 7.0, 3.0], [-1.125, 1.25, 0.75]


def _update(example, **kwargs):
    return slow_fast_update(lower=LOWER, upper=UPPER,
                            **{key: np.array(value) for key, value in example.items()}, **kwargs)


def test_update_no_clipping():
    x, v = _update(EX1)
    np.testing.assert_array_equal(x, EX1_X)
    np.testing.assert_array_equal(v, EX1_V)
    assert x.dtype == v.dtype == np.float64


def test_update_clips_position_not_velocity():
    x, v = _update(EX2)
    np.testing.assert_array_equal(x, EX2_X)
    np.testing.assert_array_equal(v, EX2_V)


def test_update_batch():
    batch = {key: np.stack([EX1[key], EX2[key]]) for key in EX1}
    x, v = slow_fast_update(lower=LOWER, upper=UPPER, **batch)
    np.testing.assert_array_equal(x, [EX1_X, EX2_X])
    np.testing.assert_array_equal(v, [EX1_V, EX2_V])


def test_update_does_not_modify_inputs():
    arrays = {key: np.array(value) for key, value in EX2.items()}
    copies = {key: value.copy() for key, value in arrays.items()}
    lower, upper = LOWER.copy(), UPPER.copy()
    slow_fast_update(lower=lower, upper=upper, **arrays)
    for key, value in arrays.items():
        np.testing.assert_array_equal(value, copies[key])
    np.testing.assert_array_equal(lower, LOWER)
    np.testing.assert_array_equal(upper, UPPER)


def test_update_phi_term():
    # v = 0.5 * (2 - 1) + 0.5 * r3 * (x_mean - 1) = [0.5 - 0.5, 0.5 + 0.5, 0.5 + 0]
    example = dict(x_slow=[1.0, 1.0, 1.0], v_slow=[0.0, 0.0, 0.0], x_fast=[2.0, 2.0, 2.0],
                   r1=[0.5, 0.5, 0.5], r2=[0.5, 0.5, 0.5])
    x, v = _update(example, phi=0.5, x_mean=np.array([0.0, 3.0, 1.0]),
                   r3=np.array([1.0, 0.5, 0.25]))
    np.testing.assert_array_equal(v, [0.0, 1.0, 0.5])
    np.testing.assert_array_equal(x, [1.0, 2.0, 1.5])
    # phi = 0 ignores the mean term entirely
    x0, v0 = _update(example, phi=0.0, x_mean=np.array([0.0, 3.0, 1.0]),
                     r3=np.array([1.0, 0.5, 0.25]))
    np.testing.assert_array_equal(v0, [0.5, 0.5, 0.5])
    np.testing.assert_array_equal(x0, [1.5, 1.5, 1.5])


def test_update_phi_needs_mean_and_r3():
    with pytest.raises(ValueError, match='x_mean'):
        _update(EX1, phi=0.5, r3=np.ones(3))
    with pytest.raises(ValueError, match='r3'):
        _update(EX1, phi=0.5, x_mean=np.ones(3))


@pytest.mark.parametrize('loss_a, loss_b, teacher', [
    (1.0, 2.0, 0),
    (2.0, 1.0, 1),
    (1.5, 1.5, 0),                      # exact tie: a (fix of the reference's inconsistency)
    (float('nan'), 3.0, 1),
    (3.0, float('nan'), 0),
    (float('inf'), 3.0, 1),
    (3.0, float('inf'), 0),
    (float('-inf'), 3.0, 1),            # non-finite loses even if "lower"
    (float('nan'), float('nan'), 0),    # both non-finite: a is the nominal teacher
    (float('inf'), float('nan'), 0),
    (np.float32(0.5), np.float64(0.25), 1),
])
def test_select_teacher_loss(loss_a, loss_b, teacher):
    assert select_teacher(loss_a, loss_b) == teacher
    # accuracies are ignored by the loss criterion
    assert select_teacher(loss_a, loss_b, acc_a=0.0, acc_b=1.0, criterion='loss') == teacher


@pytest.mark.parametrize('loss_a, loss_b, acc_a, acc_b, teacher', [
    (2.0, 1.0, 0.9, 0.8, 0),            # higher accuracy wins despite a higher loss
    (1.0, 2.0, 0.8, 0.9, 1),
    (1.0, 0.5, 0.8, 0.8, 1),            # equal accuracy: lower loss
    (0.5, 1.0, 0.8, 0.8, 0),
    (1.0, 1.0, 0.8, 0.8, 0),            # full tie: a
    (float('nan'), 1.0, 1.0, 0.1, 1),   # non-finite loss loses whatever the accuracy
    (1.0, float('inf'), 0.1, 1.0, 0),
])
def test_select_teacher_accuracy(loss_a, loss_b, acc_a, acc_b, teacher):
    assert select_teacher(loss_a, loss_b, acc_a, acc_b, criterion='accuracy') == teacher


def test_select_teacher_errors():
    with pytest.raises(ValueError, match="unknown teacher criterion 'top1'"):
        select_teacher(1.0, 2.0, criterion='top1')
    with pytest.raises(ValueError, match='needs both acc_a and acc_b'):
        select_teacher(1.0, 2.0, acc_a=0.5, criterion='accuracy')


@pytest.mark.parametrize('train_a, train_b, teacher', [
    (math.nan, 1.0, 1),  # a validates better but its training diverged: b teaches
    (1.0, math.inf, 0),
    (None, None, 0),  # no training losses given: validation losses decide
    (math.nan, math.nan, 0),  # both unusable: a is the nominal teacher, nothing is written
])
def test_select_teacher_uses_the_finite_rule_of_write_back(train_a, train_b, teacher):
    from mmrnas.search.slow_fast import estimate_is_finite
    assert select_teacher(0.5, 0.9, 90.0, 10.0, 'accuracy', train_a, train_b) == teacher
    assert select_teacher(0.5, 0.9, train_loss_a=train_a, train_loss_b=train_b) == teacher
    assert estimate_is_finite(train_a, 0.5) == (train_a is None or math.isfinite(train_a))
