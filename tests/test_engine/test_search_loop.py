"""RelativeNASSearchLoop run by MMEngine's Runner on real data (scikit-learn digits)."""
import json
import math
import os.path as osp
import uuid

import numpy as np
import pytest
import torch
import yaml
from mmengine.config import Config
from mmengine.runner import Runner

from mmrnas.search.candidate_trainer import CandidateResult
from mmrnas.structures import Genotype

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
    assert [r['generation'] for r in history] == [0, 1, 2]
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
    for g in range(3):
        data = yaml.safe_load(open(osp.join(work_dir, 'genotypes', f'generation_{g:03d}.yaml')))
        assert data['generation'] == g and len(data['population']) == 4
        assert [str(Genotype.from_dict(x)) for x in data['population']] == history[g][
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
    assert not osp.exists(osp.join(tmp_path, 'genotypes', 'generation_001.yaml'))
    resumed = run_search(tmp_path, **{'train_cfg.resume': True})
    assert_same_search(resumed, finished)
    assert osp.isfile(osp.join(tmp_path, 'genotypes', 'generation_001.yaml'))
    for name in ('history.jsonl', 'best_genotype.yaml'):
        assert osp.isfile(osp.join(tmp_path, name))
    same = [open(osp.join(d, 'genotypes', 'generation_002.yaml')).read()
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


def nan_for(genotype_text):
    """A CandidateTrainer.estimate replacement: NaN for one genotype, real otherwise."""

    def estimate(self, candidate, lr):
        if str(candidate.genotype) in genotype_text:
            return CandidateResult(math.nan, math.nan, 0.0, None)
        return original(self, candidate, lr)

    from mmrnas.search.candidate_trainer import CandidateTrainer
    original = CandidateTrainer.estimate
    return estimate


def test_non_finite_candidate_loses_and_writes_nothing(tmp_path, monkeypatch):
    from mmrnas.search.candidate_trainer import CandidateTrainer
    cfg = tiny_cfg(tmp_path, **{'train_cfg.max_generations': 1, 'train_cfg.population_size': 2,
                                'train_cfg.final_selection': 'last_generation'})
    runner = Runner.from_cfg(cfg)
    loop = runner.train_loop
    genotypes = loop.population.genotypes()
    before = {k: v.clone() for k, v in loop.model.state_dict().items()}
    positions = loop.population.positions.copy()
    monkeypatch.setattr(CandidateTrainer, 'estimate', nan_for([str(genotypes[0])]))
    runner.train()
    pair = loop.history[0]['pairs'][0]
    assert pair['teacher'] == 1 and not pair['skipped']
    assert pair['val_loss'][pair['members'].index(0)] is None
    np.testing.assert_array_equal(loop.population.positions[1], positions[1])
    assert not np.array_equal(loop.population.positions[0], positions[0])
    # the teacher wrote back: shared layers changed; ops only member 0 uses did not
    assert not torch.equal(loop.model.state_dict()['stem.0.weight'], before['stem.0.weight'])


def test_both_non_finite_skips_pair(tmp_path, monkeypatch):
    from mmrnas.search.candidate_trainer import CandidateTrainer
    cfg = tiny_cfg(tmp_path, **{'train_cfg.max_generations': 1, 'train_cfg.population_size': 2,
                                'train_cfg.final_selection': 'most_frequent'})
    runner = Runner.from_cfg(cfg)
    loop = runner.train_loop
    genotypes = [str(g) for g in loop.population.genotypes()]
    before = {k: v.clone() for k, v in loop.model.state_dict().items()}
    positions = loop.population.positions.copy()
    monkeypatch.setattr(CandidateTrainer, 'estimate', nan_for(genotypes))
    runner.train()
    assert loop.history[0]['pairs'][0]['skipped']
    np.testing.assert_array_equal(loop.population.positions, positions)
    for key, value in loop.model.state_dict().items():
        assert torch.equal(value, before[key]), key


@pytest.mark.parametrize('options, message', [
    ({'train_cfg.population_size': 5}, 'population_size must be even'),
    ({'train_cfg.population_size': 0}, 'population_size must be even'),
    ({'train_cfg.max_generations': 0}, 'max_generations must be a positive integer'),
    ({'train_dataloader.dataset': dict(_delete_=True, type='cifar10', data_root='/nonexistent')},
     'cifar-10-python.tar.gz'),
    ({'model.num_classes': 7}, 'set model.num_classes=10'),
    ({'train_cfg.precision': 'fp16'}, 'precision must be one of'),
    ({'train_cfg.cuda_graph': True}, 'cuda_graph=True needs the search data on a CUDA device'),
])
def test_bad_config_fails_before_work(tmp_path, options, message):
    runner = Runner.from_cfg(tiny_cfg(tmp_path, **options))
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        runner.train_loop
    assert not osp.exists(osp.join(tmp_path, 'checkpoints'))
