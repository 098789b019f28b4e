"""Data-parallel candidates in 2 gloo CPU processes equal one process training the whole batch.

Each test spawns two processes (``torch.multiprocessing.spawn``) that join a gloo group
through a file in ``tmp_path``; rank 0 saves what it computed and the test compares it with
the same computation in this process.
"""
import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.nn as nn

from mmrnas.datasets import BatchAugment, build_search_split, split_indices
from mmrnas.engine.data_parallel import broadcast_from_rank0, shard_bounds
from mmrnas.engine.estimators import CandidateTrainer
from mmrnas.models.supernets import RelativeNASSupernet
from mmrnas.models.utils import batch_shard, convert_to_global_batch_norm, drop_path
from mmrnas.search import decode, random_vectors
from tests.utils import quickstart_search_data

WORLD = 2


def spawn(worker, tmp_path, *args):
    """Run ``worker(rank, tmp_path, *args)`` in 2 processes of one gloo group."""
    torch.multiprocessing.spawn(_join_group, args=(worker, str(tmp_path), args), nprocs=WORLD)


def _join_group(rank, worker, tmp_dir, args):
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'file://{tmp_dir}/group', rank=rank,
                            world_size=WORLD)
    try:
        worker(rank, tmp_dir, *args)
    finally:
        dist.destroy_process_group()


# ------------------------------------------------------------------ pure helpers
@pytest.mark.parametrize('size, world, expected', [
    (10, 2, [(0, 5), (5, 10)]),
    (7, 3, [(0, 3), (3, 5), (5, 7)]),
    (1, 2, [(0, 1), (1, 1)]),
])
def test_shard_bounds_cover_the_batch_in_order(size, world, expected):
    assert [shard_bounds(size, rank, world) for rank in range(world)] == expected


def test_drop_path_in_a_shard_uses_the_whole_batch_mask():
    x = torch.ones(6, 2, 1, 1)
    torch.manual_seed(3)
    whole = drop_path(x, 0.5, training=True)
    torch.manual_seed(3)
    with batch_shard(6, 2, 5):
        shard = drop_path(x[2:5], 0.5, training=True)
    assert torch.equal(shard, whole[2:5])
    with batch_shard(6, 0, 3), pytest.raises(ValueError, match='got 2 samples inside a batch '
                                                                'shard of 3'):
        drop_path(x[:2], 0.5, training=True)


def test_one_process_helpers_are_identities():
    assert broadcast_from_rank0([1, 2]) == [1, 2]
    bn = nn.BatchNorm2d(3)
    layer = convert_to_global_batch_norm(nn.Sequential(bn))[0]
    assert type(layer).__name__ == 'GlobalBatchNorm2d'
    assert layer.weight is bn.weight and layer.running_var is bn.running_var
    x = torch.randn(4, 3, 2, 2)
    assert torch.equal(layer(x), nn.BatchNorm2d(3)(x))


# ------------------------------------------------------------------ GlobalBatchNorm2d
def _bn_net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 2, 1))


def _bn_data():
    generator = torch.Generator().manual_seed(1)
    return (torch.randn(6, 3, 5, 5, generator=generator),
            torch.randn(6, 2, 3, 3, generator=generator))


def _bn_step(net, x, target, total):
    loss = ((net(x) - target)**2).sum() / total
    loss.backward()
    grads = [p.grad for p in net.parameters()]
    return grads + [net[1].running_mean, net[1].running_var, net[1].num_batches_tracked]


def _bn_worker(rank, tmp_dir):
    net = convert_to_global_batch_norm(_bn_net())
    x, target = _bn_data()
    start, stop = shard_bounds(len(x), rank, WORLD)
    values = _bn_step(net, x[start:stop], target[start:stop], len(x))
    for grad in values[:-3]:
        dist.all_reduce(grad)
    torch.save(values, f'{tmp_dir}/rank{rank}.pt')


@pytest.mark.slow
def test_global_batch_norm_equals_batch_norm_of_the_whole_batch(tmp_path):
    spawn(_bn_worker, tmp_path)
    expected = _bn_step(_bn_net(), *_bn_data(), 6)
    for rank in range(WORLD):
        got = torch.load(tmp_path / f'rank{rank}.pt')
        for e, g in zip(expected, got):
            torch.testing.assert_close(g, e, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ CandidateTrainer
def _estimates(rank=0):
    """Estimate two candidates with write-back between them, as a search pair does."""
    torch.manual_seed(0)
    weight_set = RelativeNASSupernet(base_channels=4, num_cells=3, num_classes=10)
    dataset, _ = quickstart_search_data()
    train, val = split_indices(len(dataset), 0.5, 0)
    generator = torch.Generator().manual_seed(0)
    # 898 training images in two batches of 449: equal shards, identical CPU kernels.
    trainer = CandidateTrainer(
        *build_search_split(dataset, train, val, 'cpu'), generator=generator,
        batch_size=449, val_batch_size=300, train_augment=BatchAugment(1, False, 4),
        val_augment=BatchAugment(1, False, 4))
    results = []
    for vector in random_vectors(2, np.random.Generator(np.random.PCG64(0))):
        candidate = weight_set.extract(decode(vector), drop_path_rate=0.3)
        result = trainer.estimate(candidate, lr=0.05)
        weight_set.write_back(result.state)
        results.append((result.train_loss, result.val_loss, result.val_accuracy))
    return results, weight_set.state_dict()


def _trainer_worker(rank, tmp_dir):
    torch.save(_estimates(rank), f'{tmp_dir}/rank{rank}.pt')


@pytest.mark.slow
def test_data_parallel_candidates_equal_one_process(tmp_path):
    spawn(_trainer_worker, tmp_path)
    torch.set_num_threads(1)
    expected_results, expected_weights = _estimates()
    ranks = [torch.load(tmp_path / f'rank{rank}.pt') for rank in range(WORLD)]
    # Both processes hold exactly the same weight set and results (summed gradients and
    # statistics are identical everywhere).
    assert ranks[0][0] == ranks[1][0]
    for key, value in ranks[0][1].items():
        assert torch.equal(value, ranks[1][1][key]), key
    # ... and equal one process training the whole batch, up to floating point: summation
    # order differs (measured: losses within 2e-7 relative, weights within 2.5e-4 after four
    # SGD steps at lr 0.05, where rounding decides between tied max-pool inputs).
    for got, expected in zip(ranks[0][0], expected_results):
        assert got[2] == expected[2]  # validation accuracy: same predictions
        np.testing.assert_allclose(got[:2], expected[:2], rtol=1e-5)
    for key, value in expected_weights.items():
        torch.testing.assert_close(ranks[0][1][key], value, rtol=1e-3, atol=1e-3,
                                   msg=lambda m, key=key: f'{key}: {m}')


def _concurrent_worker(rank, tmp_dir):
    dataset, _ = quickstart_search_data()
    trainer = CandidateTrainer(
        *build_search_split(dataset, *split_indices(len(dataset), 0.5, 0), 'cpu'),
        generator=torch.Generator().manual_seed(0), concurrent_pairs=True)
    try:
        trainer.estimate_many([], lr=0.05)
    except ValueError as error:
        torch.save(str(error), f'{tmp_dir}/rank{rank}.pt')


@pytest.mark.filterwarnings('ignore:concurrent_pairs=True on a CPU')
def test_concurrent_pairs_refuse_a_process_group(tmp_path):
    spawn(_concurrent_worker, tmp_path)
    for rank in range(WORLD):
        assert torch.load(tmp_path / f'rank{rank}.pt') == (
            'concurrent_pairs=True runs in a single process; set concurrent_pairs=False for a '
            'distributed search')
