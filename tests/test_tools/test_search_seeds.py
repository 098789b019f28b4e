"""tools/search.py --seeds: one search per seed in its sub-folder, then a summary."""
import json
import os.path as osp
import shlex

import pytest
import torch

from mmrnas.datasets import search_data
from mmrnas.datasets.search_data import read_search_data
from mmrnas.engine import RelativeNASSearchLoop
from mmrnas.structures import get_genotype
from .test_search_tool import CONFIG, TINY, one_line_error, search_tool

pytestmark = pytest.mark.usefixtures('one_thread')

ONE_GENERATION = TINY + ['train_cfg.max_generations=1']


@pytest.fixture(scope='module')
def two_seeds(tmp_path_factory):
    torch.set_num_threads(1)
    work_dir = tmp_path_factory.mktemp('seeds')
    assert search_tool.main([CONFIG, '--work-dir', str(work_dir), '--seeds', '0', '3',
                             '--cfg-options', *ONE_GENERATION]) == 0
    return work_dir


def test_each_seed_is_the_search_of_that_seed(two_seeds, tmp_path):
    single = tmp_path / 'single'
    assert search_tool.main([CONFIG, '--work-dir', str(single), '--cfg-options',
                             *ONE_GENERATION, 'randomness.seed=3']) == 0
    assert (two_seeds / 'seed_3' / 'best_genotype.yaml').read_bytes() == (
        single / 'best_genotype.yaml').read_bytes()
    history = [json.loads(line) for line in open(two_seeds / 'seed_3' / 'history.jsonl')]
    expected = [json.loads(line) for line in open(single / 'history.jsonl')]
    for record in history + expected:
        record.pop('seconds')
    assert history == expected


def test_summary_file_and_lines(two_seeds, capsys):
    summary = json.loads((two_seeds / 'seeds_summary.json').read_text())
    assert [result['seed'] for result in summary['seeds']] == [0, 3]
    for result in summary['seeds']:
        final = json.loads(open(osp.join(two_seeds, f'seed_{result["seed"]}',
                                         'final_selection.json')).read())
        member = final['members'][final['best_index']]
        assert result['genotype'] == final['genotype']
        assert (result['val_loss'], result['val_accuracy']) == (member['val_loss'],
                                                                member['val_accuracy'])
        assert result['work_dir'] == osp.join(str(two_seeds), f'seed_{result["seed"]}')
    assert summary['distinct_genotypes'] == len({r['genotype'] for r in summary['seeds']})
    lines = search_tool.summary_lines(summary)
    assert lines[0].startswith(f'seed 0: {summary["seeds"][0]["genotype"]} (estimate: loss ')
    accuracy = summary['val_accuracy']
    assert lines[2] == (f'estimated val accuracy over 2 seeds: {accuracy["mean"]:.2f} +- '
                        f'{accuracy["std"]:.2f}% (min {accuracy["min"]:.2f}, max '
                        f'{accuracy["max"]:.2f})')
    assert lines[3].startswith(f'{summary["distinct_genotypes"]} distinct genotype(s)')


FREE = '; no seed has an accuracy: a training-free estimate\'s loss is minus its score'


@pytest.mark.parametrize('estimates, shown, spread', [
    # training-free: a loss (minus the score), no accuracy
    (((-12.5, None), (-10.5, None)), ('loss -12.5000', 'loss -10.5000'),
     'estimated val loss over 2 seeds: -11.50 +- 1.41 (min -12.50, max -10.50' + FREE + ')'),
    # a seed whose re-evaluation was not finite has no estimate: counted apart
    (((0.5, 80.0), (None, None)), ('loss 0.5000, acc 80.00%', None),
     'estimated val accuracy over 1 of 2 seeds: 80.00 +- 0.00% (min 80.00, max 80.00)'),
    (((-12.5, None), (None, None)), ('loss -12.5000', None),
     'estimated val loss over 1 of 2 seeds: -12.50 +- 0.00 (min -12.50, max -12.50' + FREE
     + ')'),
    # no seed has an estimate (another final selection): no spread line
    (((None, None), (None, None)), (None, None), None),
])
def test_summary_lines_count_the_seeds_with_an_estimate(estimates, shown, spread):
    from mmrnas.engine.seed_summary import seed_result, summarize_seeds
    names = ('DARTS_V2', 'RelativeNAS')
    summary = summarize_seeds([
        seed_result(seed, f'w/seed_{seed}', dict(
            mode='reevaluate', genotype=str(get_genotype(name)), best_index=0,
            members=[dict(index=0, val_loss=loss, val_accuracy=accuracy)]))
        for seed, name, (loss, accuracy) in zip((0, 1), names, estimates)])
    lines = search_tool.summary_lines(summary)
    assert lines[:2] == [f'seed {seed}: {get_genotype(name)}' + (
        '' if estimate is None else f' (estimate: {estimate})')
        for seed, name, estimate in zip((0, 1), names, shown)]
    assert lines[2:-1] == ([] if spread is None else [spread])
    assert lines[-1].startswith('2 distinct genotype(s); edges that differ')


def test_resume_runs_only_what_is_missing(two_seeds, monkeypatch):
    """With --resume the finished seeds are not searched again; the data are read once for
    the two seeds' config checks and runs (four loops built)."""
    def no_generation(self, generation):
        raise AssertionError('a finished seed ran a generation')

    reads = []

    def counted(*args, **kwargs):
        reads.append(args[0]['type'])
        return read_search_data(*args, **kwargs)

    monkeypatch.setattr(RelativeNASSearchLoop, '_run_generation', no_generation)
    monkeypatch.setattr(search_data, 'read_search_data', counted)
    before = (two_seeds / 'seeds_summary.json').read_text()
    assert search_tool.main([CONFIG, '--work-dir', str(two_seeds), '--resume', '--seeds', '0',
                             '3', '--cfg-options', *ONE_GENERATION]) == 0
    assert (two_seeds / 'seeds_summary.json').read_text() == before
    assert reads == ['mmrnas.DigitsDataset']


def test_ctrl_c_in_the_second_seed_names_the_command(tmp_path, capfd, monkeypatch):
    """Ctrl-C in seed 1's second generation: the message names its checkpoint and the command
    (parent work dir, --seeds), which finishes seed 1 without searching seed 0 again."""
    real = RelativeNASSearchLoop._run_generation

    def interrupted(self, generation):
        if self.seed == 1 and generation == 1:
            raise KeyboardInterrupt
        return real(self, generation)

    monkeypatch.setattr(RelativeNASSearchLoop, '_run_generation', interrupted)
    work_dir = str(tmp_path / 'work')
    argv = [CONFIG, '--work-dir', work_dir, '--seeds', '0', '1', '--cfg-options', *TINY]
    assert search_tool.main(argv) == 130
    last = capfd.readouterr().err.strip().splitlines()[-1]
    command = (f'python tools/search.py {CONFIG} --work-dir {work_dir} --resume --seeds 0 1 '
               f'--cfg-options ' + ' '.join(TINY))
    checkpoint = osp.join(work_dir, 'seed_1', 'checkpoints', 'search_generation_001.pth')
    assert last.endswith(f'interrupted during generation 2/2; the last checkpoint {checkpoint} '
                         f'holds generation 1/2. Continue with: {command}')
    assert not osp.exists(osp.join(work_dir, 'seeds_summary.json'))
    seed_0 = open(osp.join(work_dir, 'seed_0', 'history.jsonl')).read()
    monkeypatch.setattr(RelativeNASSearchLoop, '_run_generation', real)
    assert search_tool.main(shlex.split(command)[2:]) == 0
    assert open(osp.join(work_dir, 'seed_0', 'history.jsonl')).read() == seed_0
    summary = json.loads(open(osp.join(work_dir, 'seeds_summary.json')).read())
    assert [result['seed'] for result in summary['seeds']] == [0, 1]


@pytest.mark.parametrize('args, message', [
    (['--seeds', '0', '2', '0'], '--seeds: seed(s) [0] are given twice; give each seed once'),
    (['--seeds', '0', '--resume', 'x.pth'],
     '--resume with --seeds takes no checkpoint path: every seed resumes from the last '
     'checkpoint of its own WORK_DIR/seed_<S>'),
])
def test_bad_seeds_are_one_line(tmp_path, capfd, args, message):
    line = one_line_error(capfd, [CONFIG, '--work-dir', str(tmp_path), *args])
    assert line.endswith(message)
