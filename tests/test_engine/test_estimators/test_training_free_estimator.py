"""TrainingFreeEstimator: candidates scored, not trained, as a registered search part."""
import pytest
import torch
from mmengine.runner import Runner

from mmrnas.engine.estimators import TrainingFreeEstimator, naswot_score, synflow_score
from mmrnas.structures import Genotype
from ..conftest import ONE_PAIR
from ..test_search_loop import tiny_cfg

pytestmark = pytest.mark.usefixtures('one_thread')


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


def test_teacher_accuracy_and_objectives_are_refused(tmp_path):
    """No accuracy and no cross-entropy: the criterion 'accuracy' and cost objectives are
    refused when the search is built; constraints alone are accepted."""
    estimator = dict(type='TrainingFreeEstimator')
    with pytest.raises(ValueError, match="gives no accuracy: use the teacher criterion 'loss'"):
        Runner.from_cfg(tiny_cfg(tmp_path / 'a', **ONE_PAIR, **{
            'train_cfg.estimator': estimator, 'train_cfg.teacher_criterion': 'accuracy'}
        )).train_loop
    with pytest.raises(ValueError, match="objectives' hypervolume needs: search with "):
        Runner.from_cfg(tiny_cfg(tmp_path / 'b', **ONE_PAIR, **{
            'train_cfg.estimator': estimator, 'train_cfg.objectives': ('val_loss', 'params'),
            'train_cfg.constraint_model': dict(base_channels=4, num_cells=3, stem='cifar',
                                               num_classes=10, input_size=8)})).train_loop
