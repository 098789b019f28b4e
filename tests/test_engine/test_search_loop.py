"""RelativeNASSearchLoop run by MMEngine's Runner on real data (scikit-learn digits)."""
import json
import math
import os
import os.path as osp
import uuid

import numpy as np
import pytest
import torch
import yaml
from mmengine.config import Config
from mmengine.runner import Runner

from mmrnas.structures import Genotype
from . import scripted_estimator  # noqa: F401  (registers ScriptedEstimator)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = {
    'model.base_channels': 4,
    'model.num_cells': 3,
    'train_dataloader.dataset.size': 8,
    'train_dataloader.batch_size': 256,
    'train_dataloader.augment.crop_padding': 1,
    'train_dataloader.augment.cutout': 2,
    'train_cfg.max_generations': 3,
    'train_cfg.population_size': 4,
    'custom_hooks': [dict(type='GenotypeDumpHook', draw=False), dict(type='SearchPlotHook')],
}


def tiny_cfg(work_dir, **options) -> Config:
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'rnas_quickstart.py'))
    cfg.merge_from_dict({**TINY, **options})
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = uuid.uuid4().hex  # MMEngine's global instances are named by it
    return cfg


def run_search(work_dir, **options):
    runner = Runner.from_cfg(tiny_cfg(work_dir, **options))
    runner.train()
    return runner.train_loop


@pytest.fixture(scope='module')
def finished(tmp_path_factory):
    torch.set_num_threads(1)
    return run_search(tmp_path_factory.mktemp('search'))


def test_outputs(finished):
    work_dir = finished.work_dir
    history = [json.loads(line) for line in open(osp.join(work_dir, 'history.jsonl'))]
    assert [r['generation'] for r in history] == [1, 2, 3]
    for record in history:
        assert len(record['pairs']) == 2 and len(record['population']) == 4
        members = sorted(m for p in record['pairs'] for m in p['members'])
        assert members == [0, 1, 2, 3]
        for pair in record['pairs']:
            assert pair['teacher'] in pair['members']
            position = pair['members'].index(pair['teacher'])
            assert pair['val_loss'][position] <= pair['val_loss'][1 - position]
    assert [round(r['lr'], 6) for r in history] == [0.1, 0.07525, 0.02575]
    assert [round(r['drop_path_rate'], 6) for r in history] == [0.0, 0.033333, 0.066667]
    for g in (1, 2, 3):
        data = yaml.safe_load(open(osp.join(work_dir, 'genotypes', f'generation_{g:03d}.yaml')))
        assert data['generation'] == g and len(data['population']) == 4
        assert [str(Genotype.from_dict(x)) for x in data['population']] == history[g - 1][
            'population']
    best = Genotype.load(osp.join(work_dir, 'best_genotype.yaml'))
    assert best == finished.best_genotype
    final = json.load(open(osp.join(work_dir, 'final_selection.json')))
    assert final['mode'] == 'reevaluate' and len(final['members']) == 4
    losses = [m['val_loss'] for m in final['members']]
    assert losses[final['best_index']] == min(losses)
    assert str(best) == final['population'][final['best_index']]
    assert open(osp.join(work_dir, 'search_progress.png'), 'rb').read(8) == b'\x89PNG\r\n\x1a\n'
    assert osp.isfile(osp.join(work_dir, 'checkpoints', 'search_final.pth'))


def test_students_move_teachers_stay(finished):
    """Replays the last generation's update from its checkpoint and record."""
    from mmrnas.engine import load_search_checkpoint
    before = load_search_checkpoint(
        osp.join(finished.work_dir, 'checkpoints', 'search_generation_002.pth'))
    after = finished.population.state_dict()
    record = finished.history[2]
    for pair in record['pairs']:
        student = [m for m in pair['members'] if m != pair['teacher']][0]
        np.testing.assert_array_equal(after['positions'][pair['teacher']],
                                      before['population']['positions'][pair['teacher']])
        assert not np.array_equal(after['positions'][student],
                                  before['population']['positions'][student])


class Stop(Exception):
    pass


def stopped_search(work_dir, generations: int, **options):
    """A search killed once ``generations`` generations are done (checkpoint written, outputs
    of the last one not yet: the stop hook runs before the dump hook)."""
    from mmengine.hooks import Hook

    class StopAfterGeneration(Hook):
        priority = 'VERY_HIGH'

        def after_train_epoch(self, runner):
            if runner.train_loop.epoch == generations:
                raise Stop

    runner = Runner.from_cfg(tiny_cfg(work_dir, **options))
    runner.register_hook(StopAfterGeneration())
    with pytest.raises(Stop):
        runner.train()


def assert_same_search(resumed, finished):
    assert resumed.history[0]['population'] == finished.history[0]['population']
    assert [r['pairs'] for r in resumed.history] == [r['pairs'] for r in finished.history]
    for key in ('positions', 'velocities'):
        np.testing.assert_array_equal(resumed.population.state_dict()[key],
                                      finished.population.state_dict()[key])
    assert resumed.best_genotype == finished.best_genotype
    reference = finished.model.state_dict()
    for key, value in resumed.model.state_dict().items():
        assert torch.equal(value, reference[key]), key


@pytest.mark.slow
def test_resume_after_kill_is_exact(finished, tmp_path):
    """Stop after generation 1 (checkpoint written, outputs not yet), resume, compare."""
    stopped_search(tmp_path, 2)
    assert not osp.exists(osp.join(tmp_path, 'genotypes', 'generation_002.yaml'))
    resumed = run_search(tmp_path, **{'train_cfg.resume': True})
    assert_same_search(resumed, finished)
    assert osp.isfile(osp.join(tmp_path, 'genotypes', 'generation_002.yaml'))
    for name in ('history.jsonl', 'best_genotype.yaml'):
        assert osp.isfile(osp.join(tmp_path, name))
    same = [open(osp.join(d, 'genotypes', 'generation_003.yaml')).read()
            for d in (tmp_path, finished.work_dir)]
    assert same[0] == same[1]


@pytest.mark.filterwarnings('ignore:concurrent_pairs=True on a CPU')
def test_concurrent_pairs_search_resumes_exactly(tmp_path):
    """Members' data generators are seeded from the search's generator at every pair, so a
    checkpoint between generations resumes a concurrent search exactly."""
    options = {'train_cfg.concurrent_pairs': True, 'train_cfg.max_generations': 2}
    finished = run_search(tmp_path / 'whole', **options)
    stopped_search(tmp_path / 'cut', 1, **options)
    resumed = run_search(tmp_path / 'cut', **options, **{'train_cfg.resume': True})
    assert_same_search(resumed, finished)
    assert finished.final['mode'] == 'reevaluate' and len(finished.final['members']) == 4


def scripted(**script):
    """``train_cfg.estimator`` of a :class:`ScriptedEstimator` with ``script``."""
    return {'train_cfg.estimator': dict(type='ScriptedEstimator', **script)}


def test_non_finite_candidate_loses_and_writes_nothing(tmp_path):
    options = {'train_cfg.max_generations': 1, 'train_cfg.population_size': 2,
               'train_cfg.final_selection': 'last_generation'}
    first = str(Runner.from_cfg(tiny_cfg(tmp_path / 'draw', **options)).train_loop.population
                .genotypes()[0])  # the same seed draws the same population
    runner = Runner.from_cfg(tiny_cfg(tmp_path / 'run', **options,
                                      **scripted(non_finite=[first])))
    loop = runner.train_loop
    assert str(loop.population.genotypes()[0]) == first
    before = {k: v.clone() for k, v in loop.model.state_dict().items()}
    positions = loop.population.positions.copy()
    runner.train()
    pair = loop.history[0]['pairs'][0]
    assert pair['teacher'] == 1 and not pair['skipped']
    assert pair['val_loss'][pair['members'].index(0)] is None
    np.testing.assert_array_equal(loop.population.positions[1], positions[1])
    assert not np.array_equal(loop.population.positions[0], positions[0])
    # the teacher wrote back: shared layers changed; ops only member 0 uses did not
    assert not torch.equal(loop.model.state_dict()['stem.0.weight'], before['stem.0.weight'])


def test_a_non_finite_reevaluation_loses_and_logs_no_number(tmp_path):
    """The final re-evaluation of member 0 is NaN: recorded as None, member 1 is chosen, and
    the log says ``n/a`` rather than ``nan``."""
    options = {'train_cfg.max_generations': 1, 'train_cfg.population_size': 2}
    runner = Runner.from_cfg(tiny_cfg(tmp_path, **options, **scripted(metrics=[
        (1.0, 1.0, 50.0), (1.0, 2.0, 40.0), (1.0, math.nan, math.nan), (1.0, 1.5, 45.0)])))
    runner.train()
    final = runner.train_loop.final
    assert final['members'] == [dict(index=0, val_loss=None, val_accuracy=None),
                                dict(index=1, val_loss=1.5, val_accuracy=45.0)]
    assert final['best_index'] == 1
    log = open(osp.join(runner.log_dir, f'{runner.timestamp}.log')).read()
    assert 'final selection: member 0: loss n/a\n' in log
    assert 'final selection: member 1: loss 1.5000, acc 45.00%\n' in log


def test_both_non_finite_skips_pair(tmp_path):
    options = {'train_cfg.max_generations': 1, 'train_cfg.population_size': 2,
               'train_cfg.final_selection': 'most_frequent'}
    genotypes = [str(g) for g in Runner.from_cfg(tiny_cfg(
        tmp_path / 'draw', **options)).train_loop.population.genotypes()]
    runner = Runner.from_cfg(tiny_cfg(tmp_path / 'run', **options,
                                      **scripted(non_finite=genotypes)))
    loop = runner.train_loop
    before = {k: v.clone() for k, v in loop.model.state_dict().items()}
    positions = loop.population.positions.copy()
    runner.train()
    assert loop.history[0]['pairs'][0]['skipped']
    np.testing.assert_array_equal(loop.population.positions, positions)
    for key, value in loop.model.state_dict().items():
        assert torch.equal(value, before[key]), key


@pytest.mark.parametrize('options, message', [
    ({'train_cfg.population_size': 5}, 'population_size must be even'),
    ({'train_cfg.population_size': 0}, 'population_size must be even'),
    ({'train_cfg.max_generations': 0}, 'max_generations must be a positive integer'),
    ({'train_dataloader.dataset': dict(_delete_=True, type='CIFAR10', data_root='/nonexistent',
                                       download=False, pipeline=[dict(type='PackInputs')])},
     'Cannot find CIFAR10 dataset in /nonexistent'),
    ({'model.num_classes': 7}, 'set model.num_classes=10'),
    ({'model.in_channels': 1}, 'takes 1-channel images but the search dataset gives 3: set '
                               'model.in_channels=3'),
    ({'train_cfg.precision': 'fp16'}, 'precision must be one of'),
    ({'train_cfg.population_update': 'evolution'},
     r"population_update must be one of \('slow_fast', 'random'\) or dict\(type=...\), got "
     r"'evolution'"),
    ({'train_cfg.cuda_graph': True}, 'cuda_graph=True needs the search data on a CUDA device'),
])
def test_bad_config_fails_before_work(tmp_path, options, message):
    runner = Runner.from_cfg(tiny_cfg(tmp_path, **options))
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        runner.train_loop
    assert not osp.exists(osp.join(tmp_path, 'checkpoints'))


def test_generations_count_from_one(finished):
    """Log, history, genotype files and checkpoints use the same generation numbers."""
    work_dir = finished.work_dir
    assert sorted(os.listdir(osp.join(work_dir, 'checkpoints'))) == [
        'search_final.pth', 'search_generation_001.pth', 'search_generation_002.pth',
        'search_generation_003.pth']
    assert sorted(os.listdir(osp.join(work_dir, 'genotypes'))) == [
        'final_population.yaml', 'generation_001.yaml', 'generation_002.yaml',
        'generation_003.yaml']
    from mmrnas.engine import load_search_checkpoint
    state = load_search_checkpoint(osp.join(work_dir, 'checkpoints', 'search_generation_002.pth'))
    assert state['generation'] == 2 and state['history'][-1]['generation'] == 2


def test_split_and_population_streams_are_independent(finished):
    """The split and the population draw from two streams spawned from the seed."""
    from mmrnas.datasets import split_indices
    from mmrnas.search import Population
    split_seed, population_seed = np.random.SeedSequence(0).spawn(4)[:2]
    train, val = split_indices(1797, 0.5, split_seed)
    np.testing.assert_array_equal(finished.split['train'], train)
    np.testing.assert_array_equal(finished.split['val'], val)
    initial = Population.random(4, np.random.Generator(np.random.PCG64(population_seed)))
    assert finished.history[0]['population'] == [str(g) for g in initial.genotypes()]
    same_stream = split_indices(1797, 0.5, 0)[0]
    assert not np.array_equal(finished.split['train'], same_stream)


def test_random_population_update_redraws_every_generation(tmp_path):
    """population_update='random' (the random-search baseline): each generation is paired,
    estimated and written back as in a search, then the whole population is redrawn from the
    population stream; the final re-evaluation takes the best distinct genotypes it
    estimated (by their latest estimate), never the last, unestimated draw."""
    from mmrnas.search import Population, random_vectors
    loop = run_search(tmp_path, **{'train_cfg.population_update': 'random'})
    _, population_seed = np.random.SeedSequence(0).spawn(4)[:2]
    rng = np.random.Generator(np.random.PCG64(population_seed))
    population = Population.random(4, rng)
    for record in loop.history:
        assert record['population'] == [str(g) for g in population.genotypes()]
        pairs = population.pairs(rng)
        assert [pair['members'] for pair in record['pairs']] == pairs.tolist()
        population = Population(random_vectors(4, rng))
    latest = {}
    for record in loop.history:
        for pair in record['pairs']:
            for position, member in enumerate(pair['members']):
                latest[record['population'][member]] = pair['val_loss'][position]
    best = sorted(latest, key=latest.get)[:4]
    assert loop.final['candidates'] == 'best distinct estimates'
    assert loop.final['population'] == best
    assert loop.final['genotype'] in latest
    np.testing.assert_array_equal(loop.population.positions, population.positions)
    assert not loop.population.velocities.any()
    assert loop.settings['population_update'] == 'random'


def test_resume_reads_states_to_the_cpu_whatever_the_model_device(finished, tmp_path):
    """The checkpoint is read to the CPU even when the loop's device is not the CPU (on a
    GPU, RNG states mapped there are refused by torch.set_rng_state and Generator.set_state);
    only the weight set goes to the model, by load_state_dict."""
    state = torch.load(osp.join(finished.work_dir, 'checkpoints', 'search_generation_002.pth'),
                       weights_only=True)
    state['meta']['device'] = 'meta'
    path = str(tmp_path / 'written_on_meta.pth')
    torch.save(state, path)
    runner = Runner.from_cfg(tiny_cfg(tmp_path / 'work'))
    loop = runner.train_loop
    loop.device = torch.device('meta')  # where the model would live: anywhere but the CPU
    loop.checkpoints.device_type = 'meta'
    loop.resume = path
    loop.resumed_from, loop._resume_state = loop.checkpoints.read(path)
    states = loop._resume_state['rng']
    for tensor in (states['global_states']['torch'], states['data']):
        assert tensor.device.type == 'cpu' and tensor.dtype == torch.uint8
    runner.train()
    assert_same_search(loop, finished)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device')
def test_cuda_resume_after_kill_is_exact(tmp_path):
    """On a GPU: stop after generation 1, resume, and get the uninterrupted search."""
    options = {'train_cfg.max_generations': 2}
    whole = run_search(tmp_path / 'whole', **options)
    assert whole.device.type == 'cuda'
    stopped_search(tmp_path / 'cut', 1, **options)
    resumed = run_search(tmp_path / 'cut', **options, **{'train_cfg.resume': True})
    assert_same_search(resumed, whole)


def one_pair_cfg(work_dir, **options):
    return tiny_cfg(work_dir, **{'train_cfg.max_generations': 1, 'train_cfg.population_size': 2,
                                 'train_cfg.final_selection': 'last_generation', **options})


@pytest.mark.parametrize('criterion, teacher', [('loss', 0), ('accuracy', 1)])
def test_teacher_criterion_decides_through_the_loop(tmp_path, criterion, teacher):
    """Member 0 has the lower loss, member 1 the higher accuracy."""
    runner = Runner.from_cfg(one_pair_cfg(tmp_path, **{'train_cfg.teacher_criterion': criterion},
                                          **scripted(metrics=[(1.0, 1.0, 50.0),
                                                              (1.0, 1.2, 60.0)])))
    runner.train()
    pair = runner.train_loop.history[0]['pairs'][0]
    assert pair['teacher'] == pair['members'][teacher]
    assert runner.train_loop.final['genotype'] == runner.train_loop.history[0]['population'][
        pair['teacher']]


def test_non_finite_training_loss_loses_even_with_the_better_validation(tmp_path):
    """One rule for teacher choice and write-back: a NaN training loss makes a candidate
    lose, though its validation loss is lower, and it writes nothing back."""
    runner = Runner.from_cfg(one_pair_cfg(tmp_path, **scripted(
        metrics=[(math.nan, 0.5, 90.0), (1.0, 1.0, 50.0)])))
    loop = runner.train_loop
    positions = loop.population.positions.copy()
    runner.train()
    pair = loop.history[0]['pairs'][0]
    first = pair['members'][0]
    assert pair['teacher'] == pair['members'][1] and not pair['skipped']
    assert pair['train_loss'][0] is None
    np.testing.assert_array_equal(loop.population.positions[pair['teacher']],
                                  positions[pair['teacher']])
    assert not np.array_equal(loop.population.positions[first], positions[first])


def test_phi_moves_students_towards_the_mean(tmp_path):
    """phi > 0 adds phi * r3 * (mean - x) to the students' velocity, replayed here."""
    from mmrnas.search import bounds, slow_fast_update
    runs = {}
    for phi in (0.0, 0.5):
        runner = Runner.from_cfg(one_pair_cfg(tmp_path / str(phi), **{'train_cfg.phi': phi}))
        loop = runner.train_loop
        before = loop.population.positions.copy()
        rng = np.random.Generator(np.random.PCG64())
        rng.bit_generator.state = loop.rng.bit_generator.state
        runner.train()
        runs[phi] = loop
    pair = runs[0.5].history[0]['pairs'][0]
    assert pair['teacher'] == runs[0.0].history[0]['pairs'][0]['teacher']  # same estimates
    student = [m for m in pair['members'] if m != pair['teacher']][0]
    rng.permutation(2)  # the pairing draw
    r1, r2, r3 = rng.random((1, 32)), rng.random((1, 32)), rng.random((1, 32))
    expected, _ = slow_fast_update(before[[student]], np.zeros((1, 32)),
                                   before[[pair['teacher']]], r1, r2, *bounds(), phi=0.5,
                                   x_mean=before.mean(axis=0), r3=r3)
    np.testing.assert_array_equal(runs[0.5].population.positions[student], expected[0])
    assert not np.array_equal(runs[0.5].population.positions[student],
                              runs[0.0].population.positions[student])


def test_reference_lr_quirk_changes_the_lr_candidates_train_with(tmp_path):
    from mmrnas.search.schedules import search_lr
    lrs = {}
    for quirk in (False, True):
        runner = Runner.from_cfg(one_pair_cfg(tmp_path / str(quirk), **{
            'train_cfg.reference_lr_quirk': quirk, 'train_cfg.max_generations': 3},
            **scripted(metrics=[(1.0, 1.0, 50.0), (1.0, 1.2, 40.0)] * 3)))
        runner.train()
        calls = lrs[quirk] = runner.train_loop.estimator.lrs
        assert [r['lr'] for r in runner.train_loop.history] == calls[::2]
    assert lrs[False][4] == pytest.approx(0.02575) == search_lr(2, 3, 0.1, 0.001)
    assert lrs[True][4] == search_lr(2, 3, 0.1, 0.001, reference_quirk=True)
    assert lrs[True][4] == pytest.approx(0.00925)
    assert lrs[False][:2] == lrs[True][:2] == [0.1, 0.1]  # the quirk starts at generation 2


def test_validate_with_train_augment_changes_validation_only(tmp_path):
    """The first candidate trains the same, but validates with crop and cutout (drawn from
    the data generator, so the second candidate then sees other batches)."""
    history = {}
    for flag in (False, True):
        loop = run_search(tmp_path / str(flag), **{
            'train_cfg.max_generations': 1, 'train_cfg.population_size': 2,
            'train_cfg.final_selection': 'most_frequent',
            'train_dataloader.validate_with_train_augment': flag})
        history[flag] = loop.history[0]['pairs'][0]
    assert history[True]['train_loss'][0] == history[False]['train_loss'][0]
    assert history[True]['val_loss'][0] != history[False]['val_loss'][0]
    assert history[True]['train_loss'][1] != history[False]['train_loss'][1]


def test_final_selection_modes(finished, tmp_path):
    """last_generation: the best teacher of the last generation; most_frequent: the mode of
    the final population (first seen on ties)."""
    from collections import Counter
    last = finished.history[-1]
    teachers = [(p['val_loss'][p['members'].index(p['teacher'])], p['teacher'])
                for p in last['pairs']]
    expected_last = last['population'][min(teachers)[1]]
    population = finished.final['population']
    expected_mode = Counter(population).most_common(1)[0][0]
    last_generation = osp.join(finished.work_dir, 'checkpoints', 'search_generation_003.pth')
    for mode, expected in (('last_generation', expected_last), ('most_frequent', expected_mode)):
        # the same search, selected again from its last generation checkpoint
        loop = run_search(tmp_path / mode, **{'train_cfg.final_selection': mode,
                                              'train_cfg.resume': last_generation,
                                              'train_cfg.resume_changes': ['final_selection']})
        assert [r['pairs'] for r in loop.history] == [r['pairs'] for r in finished.history]
        assert loop.final['mode'] == mode and loop.final['genotype'] == expected
        assert loop.final['population'] == population
        assert loop.final['most_frequent'] == expected_mode
        assert loop.final['most_frequent_count'] == Counter(population)[expected_mode]
