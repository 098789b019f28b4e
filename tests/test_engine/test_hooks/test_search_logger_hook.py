"""Each pair of a search is an iteration of MMEngine's Runner: MMEngine's hooks and a user's
see it; SearchLoggerHook logs pairs and generations from what the loop publishes."""
import glob
import os.path as osp
import re

import pytest
from mmengine.hooks import Hook
from mmengine.runner import Runner

from mmrnas.engine.search_record import (
    finite_scalars,
    generation_summary,
    pair_scalars,
    search_history,
    search_pair,
)
from ..conftest import ONE_PAIR
from ..test_search_loop import tiny_cfg

pytestmark = pytest.mark.usefixtures('one_thread')


class PairRecorder(Hook):
    """What a user's hook (default priority) sees of a search."""

    def __init__(self):
        self.iterations, self.outputs, self.records, self.epochs = [], [], [], []
        self.pair_scalars, self.generation_scalars = [], []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.iterations.append((runner.epoch, batch_idx, runner.iter, data_batch['members'],
                                [str(g) for g in data_batch['genotypes']]))

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.outputs.append(dict(outputs))
        self.records.append(dict(search_pair(runner)))
        self.pair_scalars.append(
            runner.message_hub.get_scalar('search/pair/teacher_val_loss').current())

    def after_train_epoch(self, runner):
        self.epochs.append((runner.epoch, runner.iter))
        self.generation_scalars.append(
            (runner.message_hub.get_scalar('search/best_teacher_val_loss').current(),
             generation_summary(search_history(runner)[-1])['best_teacher_val_loss']))


def strip_seconds(history):
    return [{key: value for key, value in record.items() if key != 'seconds'}
            for record in history]


def log_lines(work_dir):
    (log, ) = glob.glob(osp.join(work_dir, '*', '*.log'))
    return open(log).read().splitlines()


@pytest.fixture(scope='module')
def recorded(tmp_path_factory):
    """Two generations of two pairs, with MMEngine's RuntimeInfoHook."""
    cfg = tiny_cfg(tmp_path_factory.mktemp('recorded'),
                   **{'train_cfg.max_generations': 2, 'train_cfg.population_size': 4})
    cfg.default_hooks.runtime_info = dict(type='RuntimeInfoHook')
    runner = Runner.from_cfg(cfg)
    recorder = PairRecorder()
    runner.register_hook(recorder)
    runner.train()
    return runner, recorder


def test_every_pair_is_an_iteration(recorded):
    runner, recorder = recorded
    loop = runner.train_loop
    pairs = [(record, pair) for record in loop.history for pair in record['pairs']]
    assert (loop.max_iters, loop.iter, runner.max_iters) == (4, 4, 4)
    assert len(runner.train_dataloader) == 2  # iterations (pairs) per epoch (generation)
    assert [entry[:3] for entry in recorder.iterations] == [(0, 0, 0), (0, 1, 1), (1, 0, 2),
                                                            (1, 1, 3)]
    assert [entry[3] for entry in recorder.iterations] == [pair['members'] for _, pair in pairs]
    assert [entry[4] for entry in recorder.iterations] == [
        [record['population'][m] for m in pair['members']] for record, pair in pairs]
    assert recorder.records == [pair for _, pair in pairs]
    assert recorder.outputs == [finite_scalars(pair_scalars(pair)) for _, pair in pairs]
    assert set(recorder.outputs[0]) == {'teacher_val_loss', 'teacher_val_accuracy',
                                        'student_val_loss', 'student_val_accuracy'}
    assert recorder.epochs == [(1, 2), (2, 4)]
    # SearchLoggerHook (above the default priority) has published this pair's and this
    # generation's scalars when a hook of the default priority runs
    assert recorder.pair_scalars == pytest.approx([o['teacher_val_loss'] for o in
                                                   recorder.outputs])
    for published, expected in recorder.generation_scalars:
        assert published == pytest.approx(expected)


def test_mmengine_runtime_info_hook_takes_the_pair_outputs(recorded):
    runner, recorder = recorded
    hub = runner.message_hub
    assert hub.get_info('iter') == 3  # set before the last pair
    assert hub.get_info('max_iters') == 4 and hub.get_info('max_epochs') == 2
    for key, value in recorder.outputs[-1].items():
        assert hub.get_scalar(f'train/{key}').current() == pytest.approx(value)


def test_the_search_does_not_depend_on_its_logger(tmp_path, searched):
    """Without SearchLoggerHook the search is the same; it says once that nothing is logged,
    and logs no pair or generation."""
    same = Runner.from_cfg(tiny_cfg(tmp_path, **ONE_PAIR, **{'default_hooks.logger': None}))
    same.train()
    assert strip_seconds(same.train_loop.history) == strip_seconds(searched.history)
    lines = log_lines(same.work_dir)
    assert not [line for line in lines if re.search(r'generation \d+/\d+ (pair|done)', line)]
    assert sum("no SearchLoggerHook: pairs, generations and resumes are neither logged nor "
               "published as scalars; add default_hooks.logger=dict(type='SearchLoggerHook')"
               in line for line in lines) == 1


def test_the_logger_hook_logs_each_pair_and_generation(searched):
    lines = log_lines(searched.work_dir)
    pairs = [line.split(' - INFO - ')[1] for line in lines if ' pair ' in line]
    assert len(pairs) == 2  # one pair per generation, two generations
    for number, record in enumerate(searched.history):
        pair = record['pairs'][0]
        a, b = pair['members']
        expected = (f'generation {number + 1}/2 pair 1/1: member {a}: loss '
                    f'{pair["val_loss"][0]:.4f} acc {pair["val_accuracy"][0]:.2f}% | member '
                    f'{b}: loss {pair["val_loss"][1]:.4f} acc {pair["val_accuracy"][1]:.2f}% '
                    f'-> teacher {pair["teacher"]}; ')
        assert pairs[number].startswith(expected) and pairs[number].endswith('s')
    done = [line for line in lines if re.search(r'generation \d/2 done: lr ', line)]
    assert len(done) == 2 and 'ETA 0:00:00' in done[1]
    assert any(f'search finished: reevaluate selection -> {searched.final["genotype"]}' in line
               for line in lines)
