"""Concurrent pairs: interleaved runs compute what each member computes alone."""
import numpy as np
import pytest
import torch

from mmrnas.datasets import BatchAugment, build_search_split, split_indices
from mmrnas.engine.estimators import CandidateTrainer, finish, run_concurrently
from mmrnas.models import RelativeNASSupernet
from mmrnas.search.encoding import decode, random_vectors
from tests.utils import quickstart_search_data

pytestmark = [
    pytest.mark.usefixtures('one_thread'),
    pytest.mark.filterwarnings('ignore:concurrent_pairs=True on a CPU'),
]


def counting(name, steps, log):
    for step in range(steps):
        log.append((name, step))
        yield
    return f'{name} done'


def test_runs_advance_in_turn_and_return_their_values():
    log = []
    results = run_concurrently([counting('a', 3, log), counting('b', 1, log),
                                counting('c', 2, log)])
    assert results == ['a done', 'b done', 'c done']
    assert log == [('a', 0), ('b', 0), ('c', 0), ('a', 1), ('c', 1), ('a', 2)]
    assert finish(counting('d', 2, log)) == 'd done'


def test_one_stream_per_run():
    with pytest.raises(ValueError, match='got 2 runs but 1 streams'):
        run_concurrently([counting('a', 1, []), counting('b', 1, [])], [None])


def make_trainer(device, seed, **options) -> CandidateTrainer:
    dataset, _ = quickstart_search_data()
    train, val = split_indices(len(dataset), 0.5, 0)
    return CandidateTrainer(
        *build_search_split(dataset, train, val, device),
        generator=torch.Generator(device=device).manual_seed(seed), batch_size=128,
        val_batch_size=300, train_augment=BatchAugment(crop_padding=1, flip=True, cutout=4),
        val_augment=BatchAugment(crop_padding=1, flip=True, cutout=4), **options)


def pair_and_alone(device, drop_path_rate=0.0, **options):
    """A pair estimated concurrently, and each member alone with the data generator that
    the concurrent run seeded for it."""
    torch.manual_seed(0)
    weight_set = RelativeNASSupernet(base_channels=4, num_cells=3, num_classes=10).to(device)
    genotypes = [decode(v) for v in random_vectors(2, np.random.Generator(np.random.PCG64(3)))]

    def members():
        return [weight_set.extract(g, drop_path_rate=drop_path_rate) for g in genotypes]

    together = make_trainer(device, 0, concurrent_pairs=True, **options)
    pair = together.estimate_many(members(), lr=0.05)
    seeds = torch.randint(0, 2**62, (2, ), generator=torch.Generator(device=device).manual_seed(0),
                          device=device).tolist()
    alone = [make_trainer(device, seed, **options).estimate(member, lr=0.05)
             for seed, member in zip(seeds, members())]
    return pair, alone


def test_concurrent_pair_equals_each_member_alone_with_its_generator():
    pair, alone = pair_and_alone('cpu')
    assert pair[0].val_loss != pair[1].val_loss
    for ours, reference in zip(pair, alone):
        assert ours.train_loss == reference.train_loss
        assert (ours.val_loss, ours.val_accuracy) == (reference.val_loss, reference.val_accuracy)
        assert ours.state.keys() == reference.state.keys()
        for key, value in ours.state.items():
            assert torch.equal(value, reference.state[key]), key


def test_concurrent_pairs_are_reproducible_with_drop_path():
    first, _ = pair_and_alone('cpu', drop_path_rate=0.2)
    again, _ = pair_and_alone('cpu', drop_path_rate=0.2)
    assert [(r.train_loss, r.val_loss) for r in first] == [(r.train_loss, r.val_loss)
                                                         for r in again]


def test_default_estimates_one_after_the_other():
    torch.manual_seed(0)
    weight_set = RelativeNASSupernet(base_channels=4, num_cells=3, num_classes=10)
    genotypes = [decode(v) for v in random_vectors(2, np.random.Generator(np.random.PCG64(3)))]
    many = make_trainer('cpu', 0).estimate_many(
        [weight_set.extract(g, drop_path_rate=0.2) for g in genotypes], lr=0.05)
    torch.manual_seed(0)
    weight_set = RelativeNASSupernet(base_channels=4, num_cells=3, num_classes=10)
    trainer = make_trainer('cpu', 0)
    single = [trainer.estimate(weight_set.extract(g, drop_path_rate=0.2), lr=0.05)
              for g in genotypes]
    assert [(r.train_loss, r.val_loss) for r in many] == [(r.train_loss, r.val_loss)
                                                        for r in single]


def test_concurrent_pairs_warn_on_a_cpu():
    with pytest.warns(UserWarning, match='without CUDA streams the members of a pair only '
                      'interleave'):
        make_trainer('cpu', 0, concurrent_pairs=True)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA streams')
@pytest.mark.parametrize('cuda_graph', [False, True])
def test_two_streams_compute_what_each_member_computes_alone(cuda_graph):
    """On a GPU: the pair on two streams (eager or graph replays) matches each member trained
    alone on the default stream, up to the run-to-run noise of atomics in pooling backward."""
    pair, alone = pair_and_alone('cuda', cuda_graph=cuda_graph)
    for ours, reference in zip(pair, alone):
        assert ours.train_loss == pytest.approx(reference.train_loss, rel=1e-4)
        assert ours.val_loss == pytest.approx(reference.val_loss, rel=1e-3)
        for key, value in ours.state.items():
            if value.is_floating_point():
                torch.testing.assert_close(value, reference.state[key], rtol=1e-3, atol=1e-4,
                                           msg=key)
