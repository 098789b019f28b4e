"""A search's settings: checked at build, recorded in checkpoints, guarded on resume."""
import math
import os.path as osp

import pytest
import torch
from mmengine.runner import Runner

from mmrnas.engine import load_search_checkpoint
from mmrnas.engine.final_selection import build_final_selection
from mmrnas.engine.search_settings import (
    check_resume_settings,
    check_search_arguments,
    parse_search_optim_wrapper,
    settings_diff,
)
from mmrnas.search import build_population_update
from mmrnas.utils import check_unknown_keys
from .conftest import ONE_PAIR
from .test_search_loop import tiny_cfg

pytestmark = pytest.mark.usefixtures('one_thread')


def checkpoint(loop, name='search_generation_001.pth'):
    return osp.join(loop.work_dir, 'checkpoints', name)


def build_resumed(tmp_path, path, **options):
    """Build (not run) a loop that resumes from ``path``."""
    cfg = tiny_cfg(tmp_path, **{**ONE_PAIR, 'train_cfg.resume': path, **options})
    return Runner.from_cfg(cfg).train_loop


def test_checkpoint_records_settings(searched):
    settings = load_search_checkpoint(checkpoint(searched))['meta']['settings']
    assert settings == searched.settings
    assert settings['lr'] == 0.1 and settings['clip_grad'] == dict(max_norm=5, norm_type=2.0)
    assert settings['augment'] == dict(crop_padding=1, flip=False, cutout=2)
    assert settings['supernet'] == dict(type='RelativeNASSupernet', base_channels=4,
                                        num_cells=3, num_classes=10)
    dataset = settings['dataset']
    assert dataset['config'] == dict(type='mmrnas.DigitsDataset', split='all', size=8,
                                     pipeline=[dict(type='PackInputs')])
    assert (dataset['num_samples'], dataset['num_classes']) == (1797, 10)
    assert dataset['mean'] == [0.3053087] * 3
    assert dataset['std'] == [0.3758859] * 3
    assert len(dataset['sha1']) == 40
    assert (settings['seed'], settings['population_size'], settings['train_portion']) == (0, 2,
                                                                                       0.5)
    assert settings['population_update'] == 'slow_fast'


def test_checkpoint_without_population_update_resumes_as_slow_fast(searched, tmp_path):
    """A checkpoint written before ``population_update`` existed moved by slow-fast learning."""
    state = load_search_checkpoint(checkpoint(searched))
    del state['meta']['settings']['population_update']
    old = tmp_path / 'old.pth'
    torch.save(state, old)
    loop = build_resumed(tmp_path / 'work', str(old))
    assert loop.settings['population_update'] == 'slow_fast' and loop.resume_log == []


@pytest.mark.parametrize('options, named', [
    ({'optim_wrapper.optimizer.lr': 0.05}, ['lr: 0.1 in the checkpoint, 0.05 in the config',
                                            "train_cfg.resume_changes=['lr']"]),
    ({'train_dataloader.augment.cutout': 4}, ['augment.cutout: 2 in the checkpoint, 4 in the',
                                              "resume_changes=['augment']"]),
    ({'train_cfg.phi': 0.5, 'train_cfg.precision': 'bf16'},
     ['phi: 0.0 in the checkpoint, 0.5', "precision: 'fp32' in the checkpoint, 'bf16'",
      "resume_changes=['phi', 'precision']"]),
    ({'model.base_channels': 8}, ['supernet.base_channels: 4 in the checkpoint, 8 in the config',
                                  'supernet can never change on resume']),
    ({'train_dataloader.dataset.size': 16}, ['dataset.config.size: 8 in the checkpoint, 16',
                                             'dataset.sha1', 'dataset can never change']),
    ({'train_dataloader.mean': None}, ['dataset.mean: [0.3053087, 0.3053087, 0.3053087] in '
                                       'the checkpoint, [0.3053087185068797,']),
    ({'randomness.seed': 3}, ['seed: 0 in the checkpoint, 3 in the config']),
    ({'train_dataloader.train_portion': 0.6}, ['train_portion: 0.5 in the checkpoint, 0.6']),
    ({'train_cfg.population_update': 'random'},
     ["population_update: 'slow_fast' in the checkpoint, 'random'",
      'population_update can never change on resume']),
])
def test_resume_with_other_settings_is_one_error(searched, tmp_path, options, named):
    with pytest.raises(ValueError) as error:
        build_resumed(tmp_path, checkpoint(searched), **options)
    message = str(error.value)
    assert message.startswith(f'resume: {checkpoint(searched)} was written by a search with '
                              f'other settings: ')
    assert '\n' not in message
    for text in named:
        assert text in message


def test_allowed_change_is_logged_and_recorded(searched, tmp_path):
    options = {'optim_wrapper.optimizer.lr': 0.05, 'train_cfg.resume_changes': ['lr']}
    loop = build_resumed(tmp_path, checkpoint(searched), **options)
    assert loop.settings['lr'] == 0.05
    assert loop.resume_log == [dict(generation=1, changed={'lr': [0.1, 0.05]})]
    loop.runner.train()
    assert [round(r['lr'], 6) for r in loop.history] == [0.1, 0.0255]  # 2nd: cosine from 0.05
    meta = load_search_checkpoint(checkpoint(loop, 'search_final.pth'))['meta']
    assert meta['resume_log'] == loop.resume_log and meta['settings']['lr'] == 0.05


def test_extend_a_finished_search(searched, tmp_path):
    """max_generations raised on purpose: one more generation and a new final selection."""
    options = {'train_cfg.max_generations': 3, 'train_cfg.resume_changes': ['max_generations']}
    loop = build_resumed(tmp_path, checkpoint(searched, 'search_final.pth'), **options)
    loop.runner.train()
    assert [r['generation'] for r in loop.history] == [1, 2, 3]
    assert loop.history[:2] == searched.history
    assert loop.final['population'] == [str(g) for g in loop.population.genotypes()]
    assert osp.isfile(checkpoint(loop, 'search_generation_003.pth'))


def test_cannot_shorten_below_completed_generations(searched, tmp_path):
    options = {'train_cfg.max_generations': 1, 'train_cfg.resume_changes': ['max_generations']}
    with pytest.raises(ValueError, match='has already run 2 generations; max_generations=1 '
                       'cannot shorten it'):
        build_resumed(tmp_path, checkpoint(searched, 'search_final.pth'), **options)


def test_unset_seed_takes_the_checkpoints(searched, tmp_path):
    loop = build_resumed(tmp_path, checkpoint(searched), **{'randomness.seed': None})
    assert loop.seed == 0 and loop.settings['seed'] == 0


@pytest.mark.parametrize('content, message', [
    (b'not a checkpoint', 'is not a search checkpoint (torch.load: '),
    ({'meta': {}, 'state_dict': {}}, 'it is a training checkpoint (resume it with tools/train.py'),
    ({'meta': {'kind': 'mmrnas RelativeNAS search'}},
     'was written by another mmrnas (checkpoint format 1, this version reads 3'),
])
def test_not_a_search_checkpoint(tmp_path, content, message):
    path = tmp_path / 'file.pth'
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        torch.save(content, path)
    with pytest.raises(ValueError) as error:
        load_search_checkpoint(str(path))
    assert message in str(error.value) and '\n' not in str(error.value)


def test_settings_diff_and_check():
    recorded = dict(lr=0.1, augment=dict(cutout=16, flip=True), seed=0, augment2=None)
    current = dict(lr=0.1, augment=dict(cutout=8, flip=True), seed=1, augment2=dict(flip=True))
    assert settings_diff(recorded, current) == {
        'augment.cutout': (16, 8), 'augment2': (None, '<unset>'),
        'augment2.flip': ('<unset>', True), 'seed': (0, 1)}
    with pytest.raises(ValueError, match=r"resume_changes=\['augment', 'augment2'\] \(seed can "
                       'never change on resume\\)'):
        check_resume_settings(recorded, current, (), 'x.pth')
    with pytest.raises(ValueError, match=r'seed: 0 in the checkpoint, 1 in the config\. '):
        check_resume_settings(recorded, current, ('augment', 'augment2'), 'x.pth')
    assert check_resume_settings(recorded, dict(recorded, lr=0.2), ('lr', ), 'x.pth') == ['lr']


def test_unknown_keys_suggest_the_spelling():
    with pytest.raises(ValueError, match=r"train_cfg: unknown key\(s\) 'populaton_size' \(did "
                       r"you mean 'population_size'\?\), 'zzz'; it takes population_size, "):
        check_unknown_keys('train_cfg', ['populaton_size', 'zzz', 'seed'],
                           ('population_size', 'seed'))


def exists(kind):
    return kind == 'SGD'


@pytest.mark.parametrize('optim_wrapper, message', [
    (dict(type='AmpOptimWrapper', optimizer=dict(type='SGD', lr=0.1)),
     "optim_wrapper.type='AmpOptimWrapper' is not supported by the search"),
    (dict(optimizer=dict(type='SGD', lr=0.1), paramwise_cfg=dict(norm_decay_mult=0)),
     r"unknown key\(s\) 'paramwise_cfg'"),
    (dict(optimizer=dict(type='SGD', lr=0.1), accumulative_counts=2),
     r"unknown key\(s\) 'accumulative_counts'"),
    (dict(optimizer=dict(type='SGD', lr=-0.1)),
     r'optim_wrapper.optimizer.lr must be a finite number in \[0, inf\], got -0.1'),
    (dict(optimizer=dict(type='SGD')), 'optim_wrapper.optimizer.lr .* is required'),
    (dict(optimizer=dict(type='Sgd', lr=0.1)), "type='Sgd' is not a registered optimizer"),
    (dict(optimizer=dict(type='SGD', lr=0.1), clip_grad=dict(type='value', clip_value=1)),
     r"unknown key\(s\) 'clip_value'"),
    (dict(optimizer=dict(type='SGD', lr=0.1), clip_grad=dict(type='value')),
     "clip_grad.type='value' is not supported"),
    (dict(optimizer=dict(type='SGD', lr=0.1), clip_grad=dict(norm_type=1)),
     'clip_grad needs max_norm'),
])
def test_optim_wrapper_refusals(optim_wrapper, message):
    with pytest.raises(ValueError, match=message):
        parse_search_optim_wrapper(optim_wrapper, exists)


def test_optim_wrapper_honoured():
    lr, optimizer, max_norm, norm_type = parse_search_optim_wrapper(
        dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1, momentum=0.9),
             clip_grad=dict(max_norm=5, norm_type=math.inf)), exists)
    assert (lr, optimizer, max_norm, norm_type) == (0.1, dict(type='SGD', momentum=0.9), 5,
                                                    math.inf)
    assert parse_search_optim_wrapper(dict(optimizer=dict(type='SGD', lr=0)), exists)[2:] == (
        None, 2.0)


SEARCH_ARGUMENTS = dict(max_generations=2, population_size=4, lr_min=0.001, drop_path_rate=0.3,
                        max_keep_checkpoints=3, resume_changes=())


@pytest.mark.parametrize('options, message', [
    (dict(phi=0.5),
     "phi=0.5 weights the population-mean term of the slow-fast update, which "
     "population_update='random' does not run: set phi=0 (or population_update='slow_fast')"),
    (dict(final_selection='most_frequent'),
     "final_selection='most_frequent' takes the mode of the final population, which "
     "population_update='random' draws afresh after the last generation and never evaluates: "
     "set final_selection='reevaluate' or 'last_generation' (or "
     "population_update='slow_fast')"),
])
def test_random_update_refuses_the_settings_it_would_ignore(options, message):
    def build(population_update='random', phi=0.0, final_selection='reevaluate'):
        update = build_population_update(population_update, phi)
        return update, build_final_selection(final_selection, update, population_update)

    build()
    build(final_selection='last_generation')
    build(population_update='slow_fast', **options)
    with pytest.raises(ValueError) as error:
        build(**options)
    assert str(error.value) == message


@pytest.mark.parametrize('size, fix', [(3, 4), (0, 2), (True, 20), ('4', 20)])
def test_one_population_size_rule(size, fix):
    """train_cfg.population_size and Population give the same message (one rule)."""
    message = (f'population_size must be even and at least 2 (individuals are paired), got '
               f'{size!r}; use an even size such as {fix}')
    with pytest.raises(ValueError) as error:
        check_search_arguments(**dict(SEARCH_ARGUMENTS, population_size=size))
    assert str(error.value) == message


def test_a_users_batch_augment_is_recorded_with_its_type():
    from mmrnas.datasets import BatchAugment
    from mmrnas.engine.search_inputs import augment_settings

    class MirrorOnly(BatchAugment):
        """A user's augment with BatchAugment's options."""

    assert augment_settings(None) is None
    assert augment_settings(BatchAugment(4, True, 16)) == dict(crop_padding=4, flip=True,
                                                                cutout=16)
    assert augment_settings(MirrorOnly(0, True, 0)) == dict(
        type=f'{__name__}.test_a_users_batch_augment_is_recorded_with_its_type.<locals>.'
        f'MirrorOnly', crop_padding=0, flip=True, cutout=0)
