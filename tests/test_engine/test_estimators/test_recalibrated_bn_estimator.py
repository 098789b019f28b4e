"""RecalibratedBNEstimator: BatchNorm statistics averaged over training batches before
validating, written back, the epoch itself unchanged."""
import numpy as np
import pytest
import torch
import torch.nn as nn

from mmrnas.datasets import build_search_split, split_indices
from mmrnas.engine.estimators import CandidateTrainer, RecalibratedBNEstimator
from mmrnas.engine.estimators.one_epoch_estimator import build_search_estimator
from mmrnas.models import RelativeNASSupernet
from mmrnas.search.encoding import decode, random_vectors
from tests.utils import quickstart_search_data

pytestmark = pytest.mark.usefixtures('one_thread')


def halves():
    dataset, _ = quickstart_search_data()
    train, val = split_indices(len(dataset), 0.5, 0)
    return build_search_split(dataset, train, val, 'cpu')


def candidate():
    torch.manual_seed(0)
    weight_set = RelativeNASSupernet(base_channels=4, num_cells=3, num_classes=10)
    genotype = decode(random_vectors(1, np.random.Generator(np.random.PCG64(3)))[0])
    return weight_set.extract(genotype, drop_path_rate=0.0)


def norms(module):
    return [m for m in module.modules() if isinstance(m, nn.BatchNorm2d)]


def test_statistics_are_the_plain_average_over_the_batches():
    train, val = halves()
    plain, recalibrated = candidate(), candidate()
    recalibrated.drop_path_rate = plain.drop_path_rate = 0.2
    rates = []
    norms(recalibrated)[0].register_forward_pre_hook(
        lambda m, inputs: rates.append((m.training, recalibrated.drop_path_rate)))
    results = []
    for net, batches in ((plain, 0), (recalibrated, 3)):
        trainer = CandidateTrainer(train, val, torch.Generator().manual_seed(0), batch_size=128,
                                   val_batch_size=300, bn_recalibration_batches=batches)
        torch.manual_seed(1)
        results.append(trainer.estimate(net, lr=0.05))
    # the same epoch: identical weights and training loss, other statistics and validation
    assert results[0].train_loss == results[1].train_loss
    for key, value in plain.state_dict().items():
        if 'running' not in key and 'num_batches' not in key:
            assert torch.equal(value, recalibrated.state_dict()[key]), key
    assert results[0].val_loss != results[1].val_loss
    # what the statistics are: the mean of the three batches' statistics, written back
    first = norms(recalibrated)[0]
    assert first.momentum == 0.1 and first.num_batches_tracked.item() == 3
    # trained with drop path, recalibrated without, validated without; the rate restored
    phases = [rate for i, rate in enumerate(rates) if i == 0 or rates[i - 1] != rate]
    assert phases == [(True, 0.2), (True, 0.0), (False, 0.2)]
    assert rates.count((True, 0.0)) == 3 and recalibrated.drop_path_rate == 0.2
    assert torch.equal(results[1].state[next(k for k in results[1].state
                                             if k.endswith('running_mean'))],
                       first.running_mean)

    replay = candidate()
    replay.load_state_dict(recalibrated.state_dict())
    generator = torch.Generator().manual_seed(0)
    trainer = CandidateTrainer(train, val, generator, batch_size=128, val_batch_size=300)
    # the generator as the estimate left it after its epoch: one epoch drawn, then 3 batches
    torch.manual_seed(1)
    for _ in train.batches(128, generator):
        pass
    seen = []
    handle = norms(replay)[0].register_forward_hook(
        lambda m, inputs, output: seen.append(inputs[0].mean(dim=(0, 2, 3))))
    replay.train()
    with torch.no_grad():
        for _, (inputs, _labels) in zip(range(3), train.batches(128, generator)):
            replay(inputs)
    handle.remove()
    torch.testing.assert_close(first.running_mean, torch.stack(seen).mean(0), rtol=1e-5,
                               atol=1e-6)


def test_the_part_is_built_from_the_config_and_records_it():
    estimator = build_search_estimator(dict(type='RecalibratedBNEstimator', batches=5), {
        'precision': 'fp32', 'channels_last': False, 'cuda_graph': False,
        'concurrent_pairs': False})
    assert isinstance(estimator, RecalibratedBNEstimator) and estimator.batches == 5
    options = dict(precision='fp32', channels_last=False, cuda_graph=False,
                   concurrent_pairs=False)
    assert estimator.settings == dict(estimator=dict(type='RecalibratedBNEstimator', batches=5,
                                                     **options))
    # the default spelled out or not: the same settings (a resume accepts either)
    assert build_search_estimator(dict(type='RecalibratedBNEstimator'), options).settings == \
        build_search_estimator(dict(type='RecalibratedBNEstimator', batches=20), options).settings
    train, val = halves()
    estimator.setup(train, val, torch.Generator(), 128, 300, dict(type='SGD', momentum=0.9),
                    5.0, 2.0, None, None)
    assert estimator.trainer.bn_recalibration_batches == 5


@pytest.mark.parametrize('batches', [0, -1, 2.5])
def test_batches_must_be_a_positive_count(batches):
    with pytest.raises(ValueError, match=f'needs batches >= 1 .*got {batches}'):
        RecalibratedBNEstimator(batches=batches)
    if batches == -1:
        with pytest.raises(ValueError, match='bn_recalibration_batches must be >= 0'):
            CandidateTrainer(*halves(), torch.Generator(), bn_recalibration_batches=-1)
