"""The estimator as a registered part: the shorthands, their refusal beside a dict, and a
user's own estimator injected through the config (no monkeypatching)."""
import dataclasses

import pytest
from mmengine.runner import Runner

from mmrnas.engine.estimators import OneEpochEstimator, build_search_estimator
from mmrnas.registry import TASK_UTILS
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

