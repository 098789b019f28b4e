"""What a search publishes: scalars for the visualizer (TensorBoard event files) and the
generation records in the MessageHub, from which the hooks write their outputs."""
import glob
import json
import math
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmengine.logging import MessageHub, MMLogger

from mmrnas.engine import GenotypeDumpHook, SearchPlotHook
from mmrnas.engine.search_record import FINAL_KEY, HISTORY_KEY, generation_summary
from .test_search_loop import run_search

pytestmark = pytest.mark.usefixtures('one_thread')

TENSORBOARD = {
    'train_cfg.max_generations': 2, 'train_cfg.population_size': 4,
    'visualizer': dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend'),
                                                        dict(type='TensorboardVisBackend')])}


@pytest.fixture(scope='module')
def searched(tmp_path_factory):
    torch.set_num_threads(1)
    return run_search(tmp_path_factory.mktemp('tensorboard'), **TENSORBOARD)


def test_tensorboard_event_file_holds_the_search_scalars(searched):
    pytest.importorskip('tensorboard')
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = glob.glob(osp.join(searched.work_dir, '*', 'vis_data', 'events.out.tfevents.*'))
    assert len(events) == 1
    accumulator = EventAccumulator(events[0])
    accumulator.Reload()
    tags = accumulator.Tags()['scalars']
    for key in ('lr', 'drop_path_rate', 'diversity', 'seconds', 'mean_teacher_val_loss',
                'mean_student_val_loss', 'best_teacher_val_loss'):
        values = accumulator.Scalars(f'search/{key}')
        assert [v.step for v in values] == [1, 2]
        expected = [generation_summary(r)[key] for r in searched.history]
        assert [v.value for v in values] == pytest.approx(expected, rel=1e-6)
    pairs = accumulator.Scalars('search/pair/teacher_val_loss')
    assert [v.step for v in pairs] == [1, 2, 3, 4]  # two pairs per generation
    teachers = [p['val_loss'][p['members'].index(p['teacher'])]
                for r in searched.history for p in r['pairs']]
    assert [v.value for v in pairs] == pytest.approx(teachers, rel=1e-6)
    assert {'search/pair/student_val_accuracy', 'search/final/val_loss'} <= set(tags)


def test_local_backend_writes_the_same_scalars(searched):
    (scalars, ) = glob.glob(osp.join(searched.work_dir, '*', 'vis_data', 'scalars.json'))
    lines = [json.loads(line) for line in open(scalars)]
    lrs = [line['search/lr'] for line in lines if 'search/lr' in line]
    assert lrs == pytest.approx([r['lr'] for r in searched.history])


def record(generation, pairs):
    return dict(generation=generation, lr=0.1, drop_path_rate=0.0, diversity=1.0, seconds=2.0,
                population=[], pairs=pairs)


def pair(members, teacher, val_loss, train_loss=(1.0, 1.0), skipped=False):
    return dict(members=members, teacher=teacher, skipped=skipped, train_loss=list(train_loss),
                val_loss=list(val_loss), val_accuracy=[50.0, 40.0])


def test_generation_summary_counts_finite_estimates_only():
    summary = generation_summary(record(1, [
        pair([0, 1], 0, [1.0, 2.0]),
        pair([2, 3], 3, [None, 0.5], train_loss=(None, 1.0)),  # member 2 diverged: not counted
        pair([4, 5], 4, [0.1, 0.2], train_loss=(None, None), skipped=True),  # skipped pair
    ]))
    assert summary['mean_teacher_val_loss'] == 0.75 and summary['best_teacher_val_loss'] == 0.5
    assert summary['mean_student_val_loss'] == 2.0
    empty = generation_summary(record(1, []))
    assert math.isnan(empty['best_teacher_val_loss'])


def test_hooks_read_the_published_records(tmp_path):
    """The hooks need only the runner's MessageHub and work dir, not the search loop."""
    from mmrnas.structures import Genotype, get_genotype
    hub = MessageHub.get_instance('test_hooks_read_the_published_records')
    genotype = str(get_genotype('RelativeNAS'))
    history = [dict(record(1, [pair([0, 1], 1, [1.0, 0.5])]), population=[genotype, genotype])]
    hub.update_info(HISTORY_KEY, history)
    hub.update_info(FINAL_KEY, dict(genotype=genotype, population=[genotype, genotype],
                                    mode='most_frequent'))
    runner = SimpleNamespace(message_hub=hub, work_dir=str(tmp_path),
                             logger=MMLogger.get_current_instance())
    dump, plot = GenotypeDumpHook(draw=False), SearchPlotHook()
    dump.after_train_epoch(runner)
    plot.after_train_epoch(runner)
    dump.after_train(runner)
    assert json.loads((tmp_path / 'history.jsonl').read_text()) == history[0]
    assert (tmp_path / 'genotypes' / 'generation_001.yaml').is_file()
    assert Genotype.load(str(tmp_path / 'best_genotype.yaml')) == Genotype.from_string(genotype)
    assert (tmp_path / 'search_progress.png').read_bytes()[:4] == b'\x89PNG'
