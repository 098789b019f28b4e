"""The estimator as a registered part: the shorthands, their refusal beside a dict, a user's
own estimator injected through the config (no monkeypatching), and the training-free one."""
import dataclasses

import pytest
import torch
from mmengine.runner import Runner

from mmrnas.engine.estimators import (
    OneEpochEstimator,
    TrainingFreeEstimator,
    build_search_estimator,
    naswot_score,
    synflow_score,
)
from mmrnas.registry import TASK_UTILS
from mmrnas.structures import Genotype
from ..conftest import ONE_PAIR
from ..test_search_loop import tiny_cfg

pytestmark = pytest.mark.usefixtures('one_thread')

DEFAULTS = dict(precision='fp32', channels_last=False, cuda_graph=False, concurrent_pairs=False)


def test_shorthands_are_the_one_epoch_estimate():
    estimator = build_search_estimator(None, dict(DEFAULTS, precision='bf16'))
    assert type(estimator) is OneEpochEstimator
    assert estimator.settings == dict(DEFAULTS, precision='bf16')  # as earlier versions
    spelled = build_search_estimator(dict(type='OneEpochEstimator', precision='bf16'), DEFAULTS)
    assert spelled.settings == estimator.settings


def test_flat_options_beside_an_estimator_are_one_error():
    with pytest.raises(ValueError) as error:
        build_search_estimator(dict(type='OneEpochEstimator'),
                               dict(DEFAULTS, precision='bf16', cuda_graph=True))
    assert str(error.value) == (
        'train_cfg.precision, train_cfg.cuda_graph set beside train_cfg.estimator: they are now '
        "spelled inside it, e.g. estimator=dict(type='OneEpochEstimator', precision='bf16', "
        'cuda_graph=True)')
    with pytest.raises(ValueError, match=r"estimator=\{'type': 'NoSuchEstimator'\}: "):
        build_search_estimator(dict(type='NoSuchEstimator'), DEFAULTS)
    with pytest.raises(ValueError) as error:
        build_search_estimator('OneEpochEstimator', DEFAULTS)
    assert str(error.value) == ("estimator must be dict(type=...), e.g. "
                                "dict(type='OneEpochEstimator'), got 'OneEpochEstimator'")


@TASK_UTILS.register_module()
class FirstMemberWinsEstimator(OneEpochEstimator):
    """The real one-epoch estimate, but the n-th candidate estimated reports loss n: the first
    member of every pair teaches."""

    def __init__(self, **options):
        super().__init__(**options)
        self.calls = 0

    def estimate(self, candidates, lr):
        results = super().estimate(candidates, lr)
        scripted = []
        for result in results:
            scripted.append(dataclasses.replace(result, val_loss=float(self.calls)))
            self.calls += 1
        return scripted


@pytest.mark.slow
def test_a_users_estimator_drives_the_search(tmp_path):
    runner = Runner.from_cfg(tiny_cfg(tmp_path, **ONE_PAIR, **{
        'train_cfg.estimator': dict(type='FirstMemberWinsEstimator'),
        'train_cfg.final_selection': 'last_generation'}))
    runner.train()
    loop = runner.train_loop
    pairs = [pair for record in loop.history for pair in record['pairs']]
    assert [pair['val_loss'] for pair in pairs] == [[0.0, 1.0], [2.0, 3.0]]
    assert all(pair['teacher'] == pair['members'][0] for pair in pairs)
    assert loop.settings['estimator'] == dict(type='FirstMemberWinsEstimator')
    assert 'precision' not in loop.settings


@pytest.mark.parametrize('score', ['synflow', 'naswot'])
def test_a_training_free_estimator_drives_the_search(tmp_path, score):
    """Candidates are scored, not trained: the weight set keeps its initial weights and
    the records hold minus the score as the loss."""
    runner = Runner.from_cfg(tiny_cfg(tmp_path, **ONE_PAIR, **{
        'train_cfg.estimator': dict(type='TrainingFreeEstimator', score=score, batch_size=16),
        'train_cfg.final_selection': 'last_generation'}))
    loop = runner.train_loop
    initial = {k: v.clone() for k, v in loop.model.state_dict().items()}
    runner.train()
    for key, value in loop.model.state_dict().items():
        assert torch.equal(value, initial[key]), key
    estimator = loop.estimator
    assert estimator.inputs().shape[0] == 16
    function = dict(synflow=synflow_score, naswot=naswot_score)[score]
    pairs = [(pair, record['population']) for record in loop.history
             for pair in record['pairs']]
    for pair, population in pairs:
        expected = [-function(loop.model.extract(Genotype.from_string(population[member])),
                              estimator.inputs()) for member in pair['members']]
        assert pair['val_loss'] == pytest.approx(expected, rel=1e-9)
        assert pair['val_accuracy'] == [None, None]
        assert pair['teacher'] == pair['members'][int(expected[1] < expected[0])]
    assert loop.settings['estimator'] == dict(type='TrainingFreeEstimator', score=score,
                                              batch_size=16)


def test_training_free_estimator_refuses_bad_arguments():
    with pytest.raises(ValueError, match="score must be one of 'synflow', 'naswot', got 'zico'"):
        TrainingFreeEstimator(score='zico')
    with pytest.raises(ValueError, match='needs batch_size >= 2, got 1'):
        TrainingFreeEstimator(batch_size=1)
