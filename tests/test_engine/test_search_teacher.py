"""The teacher rule as a registered part: the criterion, the order it gives the final
selection, and its shorthand."""
import math

import pytest

from mmrnas.engine.estimators import CandidateResult
from mmrnas.engine.search_teacher import PairTeacher, build_search_teacher
from mmrnas.search import NoBudget


def result(val_loss, val_accuracy, train_loss=1.0):
    return CandidateResult(train_loss, val_loss, val_accuracy, state={})


@pytest.mark.parametrize('criterion, results, teacher', [
    ('loss', [result(0.9, 80.0), result(0.8, 70.0)], 1),
    ('accuracy', [result(0.9, 80.0), result(0.8, 70.0)], 0),
    ('accuracy', [result(0.9, 80.0), result(0.8, 80.0)], 1),  # equal accuracy: the loss
    ('loss', [result(0.8, 80.0), result(0.8, 70.0)], 0),  # a tie: the first member
    ('loss', [result(math.nan, 80.0), result(5.0, 10.0)], 1),  # not finite: loses
])
def test_criterion(criterion, results, teacher):
    assert PairTeacher(criterion).choose(['a', 'b'], results, budget=NoBudget()) == teacher


def test_rank_key_orders_like_the_criterion():
    estimates = [(0.9, 80.0), (0.8, 70.0), (None, None), (0.8, 80.0)]
    by_loss = sorted(estimates, key=lambda e: PairTeacher('loss').rank_key(*e))
    by_accuracy = sorted(estimates, key=lambda e: PairTeacher('accuracy').rank_key(*e))
    assert by_loss == [(0.8, 70.0), (0.8, 80.0), (0.9, 80.0), (None, None)]
    assert by_accuracy == [(0.8, 80.0), (0.9, 80.0), (0.8, 70.0), (None, None)]


def test_shorthand_and_its_refusal_beside_a_dict():
    assert build_search_teacher(None, 'accuracy').settings == dict(teacher_criterion='accuracy')
    assert build_search_teacher(dict(type='PairTeacher', criterion='accuracy'),
                                'loss').settings == dict(teacher_criterion='accuracy')
    with pytest.raises(ValueError) as error:
        build_search_teacher(dict(type='PairTeacher'), 'accuracy')
    assert str(error.value) == (
        "train_cfg.teacher_criterion='accuracy' set beside train_cfg.teacher: it is now spelled "
        "inside it, e.g. teacher=dict(type='PairTeacher', criterion='accuracy')")
    with pytest.raises(ValueError, match="teacher_criterion must be one of"):
        build_search_teacher(None, 'speed')
