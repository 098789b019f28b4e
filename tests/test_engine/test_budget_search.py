"""Budget-aware and multi-objective searches run by MMEngine's Runner on the digits."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
import yaml

from mmrnas.search.pareto import dominates, hypervolume
from mmrnas.structures import Genotype
from .test_search_loop import assert_same_search, run_search, stopped_search

pytestmark = pytest.mark.usefixtures('one_thread')

DIGITS_NET = dict(base_channels=8, num_cells=5, stem='cifar', num_classes=10, input_size=16)
# 400 of the digits (200 to train, 200 to validate): the rules checked here do not depend on
# the amount of data.
SMALL_DATA = {'train_dataloader.dataset.split': 'train',
              'train_dataloader.dataset.num_train': 400}
BUDGET = {'train_cfg.constraints': dict(params=50000), 'train_cfg.constraint_model': DIGITS_NET,
          **SMALL_DATA}
PARETO = {'train_cfg.objectives': ['val_loss', 'params'],
          'train_cfg.constraint_model': DIGITS_NET, **SMALL_DATA}


@pytest.fixture(scope='module')
def budgeted(tmp_path_factory):
    torch.set_num_threads(1)
    return run_search(tmp_path_factory.mktemp('budget'), **BUDGET)


@pytest.fixture(scope='module')
def pareto(tmp_path_factory):
    torch.set_num_threads(1)
    return run_search(tmp_path_factory.mktemp('pareto'), **PARETO)


def test_pairs_follow_the_feasibility_rule(budgeted):
    budget, decided = budgeted.budget, 0
    for record in budgeted.history:
        population = [Genotype.from_string(g) for g in record['population']]
        assert record['feasible_share'] == np.mean([budget.feasible(g) for g in population])
        for pair in record['pairs']:
            violations = [budget.violation(population[m]) for m in pair['members']]
            assert pair['violation'] == violations
            assert pair['costs'] == [budget.costs(population[m]) for m in pair['members']]
            teacher = pair['members'].index(pair['teacher'])
            if (violations[0] == 0) != (violations[1] == 0):
                assert violations[teacher] == 0
                decided += 1
            elif violations[0] > 0 and violations[1] > 0:
                assert violations[teacher] < violations[1 - teacher]
                decided += 1
            else:
                assert pair['val_loss'][teacher] <= pair['val_loss'][1 - teacher]
    assert decided > 0  # the bound splits the population: the rule was exercised


def test_final_selection_is_feasible(budgeted):
    final = json.load(open(osp.join(budgeted.work_dir, 'final_selection.json')))
    assert final['feasible'] is True and final['violation'] == 0
    chosen = Genotype.from_string(final['genotype'])
    assert final['costs'] == budgeted.budget.costs(chosen)
    assert final['costs']['params'] <= 50000
    feasible = [m for m in final['members']
                if budgeted.budget.feasible(Genotype.from_string(final['population'][m['index']]))]
    assert final['best_index'] == min(feasible, key=lambda m: m['val_loss'])['index']
    assert budgeted.settings['constraints'] == dict(params=[0.0, 50000.0])


def test_no_feasible_genotype_is_said_and_the_closest_taken(tmp_path):
    loop = run_search(tmp_path, **{**BUDGET, 'train_cfg.constraints': dict(params=15500),
                                   'train_cfg.max_generations': 1})
    final = loop.final
    violations = [loop.budget.violation(Genotype.from_string(g)) for g in final['population']]
    assert final['feasible'] is False and final['violation'] == min(violations) > 0
    assert final['genotype'] == final['population'][int(np.argmin(violations))]
    log = open(osp.join(loop.runner.log_dir, f'{loop.runner.timestamp}.log')).read()
    assert 'final selection: no genotype of the final population meets the constraints' in log


def test_pareto_front_file_and_archive(pareto):
    archive = pareto.budget.archive
    generations = [entry['generation'] for entry in archive]
    assert generations == [1] * 4 + [2] * 4 + [3] * 4 + ['final'] * 4  # P x G + final members
    for record in pareto.history:
        estimated = [entry for entry in archive if entry['generation'] == record['generation']]
        members = [m for pair in record['pairs'] for m in pair['members']]
        assert [e['genotype'] for e in estimated] == [record['population'][m] for m in members]
        assert [e['val_loss'] for e in estimated] == [
            pair['val_loss'][i] for pair in record['pairs'] for i in (0, 1)]
    body = yaml.safe_load(open(osp.join(pareto.work_dir, 'pareto_front.yaml')))
    front = body['front']
    assert body['objectives'] == ['val_loss', 'params'] and front
    assert set(front[0]) == {'genotype', 'generation', 'val_loss', 'val_accuracy', 'params',
                             'mult_adds', 'feasible'}
    latest = {entry['genotype']: entry for entry in archive if entry['val_loss'] is not None}
    for entry in front:
        assert latest[entry['genotype']] == entry
        assert not any(dominates((o['val_loss'], o['params']), (entry['val_loss'],
                                                                 entry['params']))
                       for o in latest.values())
    on_front = {entry['genotype'] for entry in front}
    for genotype, entry in latest.items():
        if genotype not in on_front:
            assert any(dominates((f['val_loss'], f['params']), (entry['val_loss'],
                                                                entry['params']))
                       for f in front)
    scale = pareto.budget
    expected = hypervolume([(e['val_loss'] / scale.loss_scale,
                             e['params'] / scale.cost_scales['params']) for e in front], [1, 1])
    final = json.load(open(osp.join(pareto.work_dir, 'final_selection.json')))
    assert final['hypervolume']['value'] == pytest.approx(expected) == body['hypervolume']
    assert osp.getsize(osp.join(pareto.work_dir, 'pareto_front.png')) > 1000


def test_resume_keeps_the_archive_exactly(pareto, tmp_path):
    stopped_search(tmp_path, 1, **PARETO)
    resumed = run_search(tmp_path, **PARETO, **{'train_cfg.resume': True})
    assert_same_search(resumed, pareto)
    assert resumed.budget.archive == pareto.budget.archive
    assert resumed.final['pareto_front'] == pareto.final['pareto_front']
