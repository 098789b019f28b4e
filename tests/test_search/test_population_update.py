"""The population updates as registered parts: what each does to a population, what it
records, and how train_cfg names them."""
import numpy as np
import pytest

from mmrnas.registry import TASK_UTILS
from mmrnas.search import (
    Population,
    PopulationUpdate,
    RandomRedraw,
    SlowFastUpdate,
    build_population_update,
)


def moved(update: PopulationUpdate, seed: int = 3) -> Population:
    population = Population.random(4, np.random.default_rng(0))
    update.update(population, np.array([[0, 1], [2, 3]]), np.array([1, 0]),
                  np.array([False, False]), np.random.default_rng(seed))
    return population


def test_parts_do_what_the_population_does():
    reference = Population.random(4, np.random.default_rng(0))
    reference.update(np.array([[0, 1], [2, 3]]), np.array([1, 0]), np.random.default_rng(3),
                     phi=0.25, skip=np.array([False, False]))
    assert np.array_equal(moved(SlowFastUpdate(phi=0.25)).positions, reference.positions)
    assert np.array_equal(moved(SlowFastUpdate(phi=0.25)).velocities, reference.velocities)
    redrawn = Population.random(4, np.random.default_rng(0))
    redrawn.redraw(np.random.default_rng(3))
    assert np.array_equal(moved(RandomRedraw()).positions, redrawn.positions)
    assert not moved(RandomRedraw()).velocities.any()
    assert SlowFastUpdate().converges and not RandomRedraw().converges


@pytest.mark.parametrize('cfg, phi, part, settings', [
    ('slow_fast', 0.0, SlowFastUpdate, dict(population_update='slow_fast', phi=0.0)),
    ('slow_fast', 0.5, SlowFastUpdate, dict(population_update='slow_fast', phi=0.5)),
    (dict(type='SlowFastUpdate', phi=0.5), 0.0, SlowFastUpdate,
     dict(population_update='slow_fast', phi=0.5)),
    ('random', 0.0, RandomRedraw, dict(population_update='random', phi=0.0)),
    (dict(type='RandomRedraw'), 0.0, RandomRedraw, dict(population_update='random', phi=0.0)),
])
def test_shorthands_and_dicts_record_the_same_settings(cfg, phi, part, settings):
    """The recorded settings are those of checkpoints written before the parts existed, so
    they resume and their history reads the same."""
    update = build_population_update(cfg, phi)
    assert type(update) is part and update.settings == settings


@TASK_UTILS.register_module()
class TestOnlyNotAnUpdate:
    pass


@pytest.mark.parametrize('cfg, phi, message', [
    ('evolution', 0.0, "population_update must be one of ('slow_fast', 'random') or "
     "dict(type=...), got 'evolution'"),
    (dict(type='SlowFastUpdate'), 0.5, "train_cfg.phi=0.5 is the shorthand's argument: with "
     "population_update=dict(type=...) give it there, e.g. dict(type='SlowFastUpdate', "
     "phi=0.5)"),
    (dict(type='SlowFastUpdate', phi=float('nan')), 0.0, 'phi must be a finite number, got nan'),
    (dict(type='NoSuchUpdate'), 0.0, "population_update={'type': 'NoSuchUpdate'}: "
     "NoSuchUpdate is not in the mmrnas::task util registry"),
    (dict(type='SlowFastUpdate', speed=2), 0.0, "population_update={'type': "
     "'SlowFastUpdate', 'speed': 2}: "),
    (dict(type='TestOnlyNotAnUpdate'), 0.0, "population_update={'type': "
     "'TestOnlyNotAnUpdate'} builds a TestOnlyNotAnUpdate, not a "
     "mmrnas.search.population_update.PopulationUpdate"),
])
def test_bad_update_is_one_error(cfg, phi, message):
    with pytest.raises(ValueError) as error:
        build_population_update(cfg, phi)
    assert str(error.value).startswith(message)
    assert '\n' not in str(error.value)


@TASK_UTILS.register_module()
class TestOnlyDampedUpdate(SlowFastUpdate):
    def __init__(self, damping: float = 0.5, **options):
        super().__init__(**options)
        self.damping = damping


def test_a_subclass_records_its_config_and_builds_in_any_scope():
    """A subclass of a shipped part is guarded by its whole config; parts are built in
    mmrnas's scope even while another toolbox's scope is the default."""
    from mmengine.registry import DefaultScope
    cfg = dict(type='TestOnlyDampedUpdate', damping=0.25)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        update = build_population_update(cfg)
        assert type(build_population_update('slow_fast')) is SlowFastUpdate
    assert update.settings == dict(population_update=cfg, phi=0.0)
