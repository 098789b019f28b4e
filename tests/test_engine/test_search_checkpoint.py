"""Search checkpoints: weights-only loadable (safe to share), written on one device type,
refusing a change that a finished search could not apply."""
import os

import numpy as np
import pytest
import torch
from mmengine.runner import Runner

from mmrnas.engine import load_search_checkpoint
from mmrnas.engine.search_checkpoint import CHECKPOINT_FORMAT
from .conftest import ONE_PAIR
from .test_search_loop import assert_same_search, run_search, stopped_search, tiny_cfg
from .test_search_settings import build_resumed, checkpoint

pytestmark = pytest.mark.usefixtures('one_thread')


def test_checkpoints_load_with_the_weights_only_unpickler(searched):
    for name in ('search_generation_001.pth', 'search_final.pth'):
        state = torch.load(checkpoint(searched, name), weights_only=True)
        assert state['meta']['format'] == CHECKPOINT_FORMAT == 3
        assert state['meta']['device'] == 'cpu'
        assert state['population']['positions'].dtype == torch.float64
        assert state['split']['train'].dtype == torch.int64
    assert state['meta']['checkpoints'] == ['search_generation_001.pth',
                                            'search_generation_002.pth', 'search_final.pth']


class RunsACommand:
    """Unpickling this runs a shell command that leaves a file behind."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


def test_a_checkpoint_carrying_code_is_refused_and_nothing_runs(searched, tmp_path):
    marker = tmp_path / 'ran'
    state = torch.load(checkpoint(searched), weights_only=True)
    state['history'].append(RunsACommand(str(marker)))
    path = tmp_path / 'shared.pth'
    torch.save(state, path)
    with pytest.raises(ValueError) as error:
        build_resumed(tmp_path / 'work', str(path))
    assert str(error.value) == (
        f'resume: {path} holds Python objects that the weights-only loader refuses (the global '
        f'posix.system): a checkpoint of an older mmrnas (format 2 or earlier: finish it with '
        f'the version that wrote it) or not a search checkpoint; not loaded, since unpickling '
        f'it could run code')
    assert not marker.exists()
    with open(path, 'rb') as f:  # the file really runs the command when unpickled unsafely
        torch.load(f, weights_only=False)
    assert marker.exists()


def test_a_format_2_checkpoint_with_numpy_state_is_refused(searched, tmp_path):
    state = torch.load(checkpoint(searched), weights_only=True)
    state['meta']['format'] = 2
    state['population'] = {key: value.numpy() for key, value in state['population'].items()}
    path = tmp_path / 'old.pth'
    torch.save(state, path)
    with pytest.raises(ValueError, match=r'\(the global numpy\.[\w.]+\): a checkpoint of an '
                       r'older mmrnas \(format 2 or earlier: finish it with the version that '
                       r'wrote it\)'):
        load_search_checkpoint(str(path))


def test_shared_checkpoint_resumes_exactly_in_a_new_work_dir(searched, tmp_path):
    """A checkpoint copied elsewhere resumes in a fresh work dir to the same search."""
    resumed = build_resumed(tmp_path / 'fresh', checkpoint(searched))
    resumed.runner.train()
    assert_same_search(resumed, searched)


def test_another_device_type_is_one_line(searched, tmp_path):
    state = torch.load(checkpoint(searched), weights_only=True)
    state['meta']['device'] = 'cuda'
    path = tmp_path / 'from_gpu.pth'
    torch.save(state, path)
    with pytest.raises(ValueError) as error:
        build_resumed(tmp_path / 'work', str(path))
    assert str(error.value) == (
        f'resume: {path} was written by a search on cuda and this one runs on cpu; its random '
        f'states belong to cuda: resume it on a cuda machine')


@pytest.mark.parametrize('options, changed', [
    ({'train_cfg.final_selection': 'last_generation'}, 'final_selection'),
    ({'train_cfg.teacher_criterion': 'accuracy'}, 'teacher_criterion'),
])
def test_finished_search_refuses_a_selection_change_it_cannot_apply(searched, tmp_path,
                                                                   options, changed):
    options['train_cfg.resume_changes'] = [changed]
    with pytest.raises(ValueError) as error:
        build_resumed(tmp_path, checkpoint(searched, 'search_final.pth'), **options)
    last = checkpoint(searched, 'search_generation_002.pth')
    assert str(error.value) == (
        f'resume: {checkpoint(searched, "search_final.pth")} holds a finished search whose '
        f'final selection was made with the old {changed}; to select again, resume from its '
        f'last generation checkpoint {last} (--resume PATH or train_cfg.resume=PATH) with the '
        f'same options')
    loop = build_resumed(tmp_path, last, **options)
    loop.runner.train()
    assert loop.history == searched.history
    assert loop.final['mode'] == loop.final_selection.mode
    assert loop.resume_log[-1]['generation'] == 2


def test_every_stream_is_spawned_from_the_seed(searched):
    """split, population, data order / augmentation and drop path (PyTorch's global RNG):
    four streams of numpy.random.SeedSequence(seed); none is seeded with the seed itself."""
    split, population, data, drop_path = np.random.SeedSequence(0).spawn(4)
    assert searched.data_generator.initial_seed() == int(data.generate_state(1, np.uint64)[0])
    assert searched._drop_path_seed == int(drop_path.generate_state(1, np.uint64)[0])
    assert len({0, searched.data_generator.initial_seed(), searched._drop_path_seed}) == 3


def test_drop_path_stream_is_seeded_when_a_new_search_starts(tmp_path):
    """The global RNG (drop-path masks) is seeded from its own stream at the start of a new
    search; a resume restores it from the checkpoint instead."""
    runner = Runner.from_cfg(tiny_cfg(tmp_path / 'new', **ONE_PAIR))
    seen = []
    trainer_estimate = runner.train_loop.estimator.trainer.estimate_many

    def estimate_many(candidates, lr):
        seen.append(torch.initial_seed())
        return trainer_estimate(candidates, lr)

    runner.train_loop.estimator.trainer.estimate_many = estimate_many
    runner.train()
    assert seen[0] == runner.train_loop._drop_path_seed
    stopped_search(tmp_path / 'cut', 1, **ONE_PAIR)
    resumed = run_search(tmp_path / 'cut', **ONE_PAIR, **{'train_cfg.resume': True})
    assert [r['pairs'] for r in resumed.history] == [
        r['pairs'] for r in runner.train_loop.history]
