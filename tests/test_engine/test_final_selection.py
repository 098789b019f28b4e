"""The final selections as registered parts, on a finished search, and a user's own selection
registered in a custom module and run through a config."""
import json
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from mmrnas.engine.final_selection import (
    LastGenerationSelection,
    MostFrequentSelection,
    build_final_selection,
    candidates,
)
from mmrnas.search import RandomRedraw, SlowFastUpdate
from mmrnas.structures import Genotype
from .conftest import ONE_PAIR
from .test_search_loop import ROOT, TINY

pytestmark = pytest.mark.usefixtures('one_thread')


def test_last_generation_takes_the_best_teacher(searched):
    last = searched.history[-1]
    (pair, ) = last['pairs']
    final = LastGenerationSelection().select(searched)
    assert final['mode'] == 'last_generation'
    assert final['genotype'] == last['population'][pair['teacher']]
    assert final['population'] == [str(g) for g in searched.population.genotypes()]


def test_most_frequent_takes_the_mode_of_the_final_population(searched):
    final = MostFrequentSelection().select(searched)
    population = [str(g) for g in searched.population.genotypes()]
    assert final['genotype'] == final['most_frequent'] == max(population, key=population.count)
    assert final['most_frequent_count'] == population.count(final['genotype'])


def test_a_random_search_chooses_among_what_it_estimated(searched, monkeypatch):
    monkeypatch.setattr(searched, 'population_update', RandomRedraw())
    latest = {}
    for record in searched.history:
        for pair in record['pairs']:
            for position, member in enumerate(pair['members']):
                latest[record['population'][member]] = pair['val_loss'][position]
    expected = sorted(latest, key=latest.get)[:searched.population_size]
    assert [str(g) for g in candidates(searched)] == expected
    assert LastGenerationSelection().select(searched)['candidates'] == 'best distinct estimates'


def test_shorthands_build_the_parts():
    update = SlowFastUpdate()
    for shorthand, mode in (('reevaluate', 'reevaluate'), ('last_generation', 'last_generation'),
                            ('most_frequent', 'most_frequent')):
        selection = build_final_selection(shorthand, update, 'slow_fast')
        assert selection.mode == mode and selection.settings == dict(final_selection=mode)
    assert type(build_final_selection(dict(type='LastGenerationSelection'), update,
                                      'slow_fast')) is LastGenerationSelection
    with pytest.raises(ValueError) as error:
        build_final_selection('best', update, 'slow_fast')
    assert str(error.value) == ("final_selection must be one of ('reevaluate', "
                                "'last_generation', 'most_frequent') or dict(type=...), got "
                                "'best'")


USER_MODULE = '''
from mmrnas.engine.final_selection import FinalSelection
from mmrnas.registry import TASK_UTILS


@TASK_UTILS.register_module()
class FirstCandidateSelection(FinalSelection):
    """Takes the first member of the final population."""

    mode = 'first_candidate'

    def choose(self, loop, genotypes, eligible, final):
        final['note'] = 'the first one'
        return str(genotypes[0]), None
'''


@pytest.mark.slow
def test_a_users_registered_selection_runs_a_search(tmp_path, monkeypatch):
    (tmp_path / 'user_parts').mkdir()
    (tmp_path / 'user_parts' / 'first_candidate.py').write_text(USER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path / 'user_parts'))
    config = tmp_path / 'search.py'
    config.write_text(f"_base_ = [{osp.join(ROOT, 'configs', 'rnas_quickstart.py')!r}]\n"
                      "custom_imports = dict(imports=['first_candidate'], "
                      "allow_failed_imports=False)\n"
                      "train_cfg = dict(final_selection=dict(type='FirstCandidateSelection'))\n")
    cfg = Config.fromfile(str(config))
    cfg.merge_from_dict({**TINY, **ONE_PAIR})
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    runner.train()
    loop = runner.train_loop
    with open(osp.join(cfg.work_dir, 'final_selection.json')) as f:
        final = json.load(f)
    assert final['mode'] == 'first_candidate' and final['note'] == 'the first one'
    assert final['genotype'] == str(loop.population.genotypes()[0])
    assert Genotype.load(osp.join(cfg.work_dir, 'best_genotype.yaml')) == Genotype.from_string(
        final['genotype'])
    assert loop.settings['final_selection'] == dict(type='FirstCandidateSelection')
