"""tools/search.py never loses a search: a used work dir is refused, moved aside on request,
resumed only when there is something to resume, and rotation deletes only its own files."""
import os
import os.path as osp
import re
import shutil

import pytest
import torch

from mmrnas.engine import load_search_checkpoint
from mmrnas.engine.search_work_dir import PREVIOUS_SEARCHES_DIR
from tests.utils import load_tool

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'rnas_quickstart.py')
TINY = ['model.base_channels=4', 'model.num_cells=3', 'train_dataloader.dataset.size=8',
        'train_dataloader.batch_size=256', 'train_cfg.max_generations=2',
        'train_cfg.population_size=2']

search_tool = load_tool('search')
pytestmark = pytest.mark.usefixtures('one_thread')


def snapshot(folder) -> dict:
    """Every file under ``folder`` with its bytes, except what the Runner writes on every
    start: its logs (a folder named by the start time) and its config dump."""
    files = {}
    for parent, folders, names in os.walk(folder):
        folders[:] = [name for name in folders if not re.fullmatch(r'\d{8}_\d{6}', name)]
        for name in set(names) - {osp.basename(CONFIG)}:
            path = osp.join(parent, name)
            with open(path, 'rb') as f:
                files[osp.relpath(path, folder)] = f.read()
    return files


def one_line_error(capfd, argv) -> str:
    """Run the tool; expect exit code 2 and one line on stderr."""
    with pytest.raises(SystemExit) as exit_info:
        search_tool.main(argv)
    assert exit_info.value.code == 2
    lines = capfd.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.fixture(scope='module')
def searched(tmp_path_factory):
    """A finished tiny search (two generations of one pair) and its files."""
    torch.set_num_threads(1)
    work_dir = str(tmp_path_factory.mktemp('searched'))
    assert search_tool.main([CONFIG, '--work-dir', work_dir, '--cfg-options', *TINY]) == 0
    return work_dir


def copy_of(searched, tmp_path) -> str:
    work_dir = str(tmp_path / 'copy')
    shutil.copytree(searched, work_dir)
    return work_dir


def test_new_search_in_a_used_work_dir_is_refused_and_touches_nothing(searched, tmp_path,
                                                                      capfd):
    work_dir = copy_of(searched, tmp_path)
    before = snapshot(work_dir)
    line = one_line_error(capfd, [CONFIG, '--work-dir', work_dir, '--cfg-options', *TINY])
    assert line.endswith(
        f'the work dir {work_dir} holds a search (best_genotype.yaml, '
        f'checkpoints/search_final.pth, checkpoints/search_generation_001.pth and 4 more); a '
        f'new search would overwrite it: continue it with --resume (train_cfg.resume=True), '
        f'start elsewhere with --work-dir DIR, or move it aside with --start-over')
    assert snapshot(work_dir) == before


def test_start_over_moves_the_earlier_search_aside(searched, tmp_path, capfd):
    work_dir = copy_of(searched, tmp_path)
    before = snapshot(work_dir)
    assert search_tool.main([CONFIG, '--work-dir', work_dir, '--start-over', '--cfg-options',
                             *TINY, 'train_cfg.max_generations=1']) == 0
    (moved, ) = os.listdir(osp.join(work_dir, PREVIOUS_SEARCHES_DIR))
    assert f'moved the earlier contents of {work_dir} to ' in capfd.readouterr().out
    assert snapshot(osp.join(work_dir, PREVIOUS_SEARCHES_DIR, moved)) == before
    assert load_search_checkpoint(osp.join(work_dir, 'checkpoints', 'search_final.pth'))[
        'generation'] == 1
    # a second start-over keeps the first one's folder
    assert search_tool.main([CONFIG, '--work-dir', work_dir, '--start-over', '--cfg-options',
                             *TINY, 'train_cfg.max_generations=1']) == 0
    assert len(os.listdir(osp.join(work_dir, PREVIOUS_SEARCHES_DIR))) == 2
    line = one_line_error(capfd, [CONFIG, '--work-dir', work_dir, '--start-over', '--resume'])
    assert line.endswith('--start-over starts a new search: it cannot go with --resume (or '
                         'train_cfg.resume=True)')


def test_resume_without_a_search_is_an_error(tmp_path, capfd):
    line = one_line_error(capfd, [CONFIG, '--work-dir', str(tmp_path), '--resume',
                                  '--cfg-options', *TINY])
    assert line.endswith(f'resume: no search to continue in {tmp_path} (no '
                         f'last_search_checkpoint file); start a new search without --resume, '
                         f'or give a checkpoint with --resume PATH')


def test_resume_with_a_dangling_pointer_is_an_error(searched, tmp_path, capfd):
    work_dir = copy_of(searched, tmp_path)
    os.remove(osp.join(work_dir, 'checkpoints', 'search_final.pth'))
    line = one_line_error(capfd, [CONFIG, '--work-dir', work_dir, '--resume', '--cfg-options',
                                  *TINY])
    folder = osp.join(work_dir, 'checkpoints')
    assert line.endswith(
        f'resume: {work_dir}/last_search_checkpoint points at {folder}/search_final.pth, which '
        f'does not exist; give a checkpoint with --resume PATH (in {folder}: '
        f'search_generation_001.pth, search_generation_002.pth)')


@pytest.mark.parametrize('option', ['train_cfg.resume=True', 'resume=True'])
def test_resume_from_the_config(searched, tmp_path, capfd, option):
    """A config's train_cfg.resume (or MMEngine's top-level resume) resumes: the command line
    only overrides it when given."""
    work_dir = copy_of(searched, tmp_path)
    before = snapshot(work_dir)
    assert search_tool.main([CONFIG, '--work-dir', work_dir, '--cfg-options', *TINY,
                             option]) == 0
    assert f'resumed the search from {work_dir}/checkpoints/search_final.pth' in \
        capfd.readouterr().out
    assert snapshot(work_dir)['best_genotype.yaml'] == before['best_genotype.yaml']


def test_resume_from_another_search_into_a_used_work_dir_is_refused(searched, tmp_path, capfd):
    work_dir = copy_of(searched, tmp_path)
    other = osp.join(searched, 'checkpoints', 'search_generation_001.pth')
    line = one_line_error(capfd, [CONFIG, '--work-dir', work_dir, '--resume', other,
                                  '--cfg-options', *TINY])
    assert line.endswith(f'resume: {other} is not a checkpoint of the search in {work_dir}, '
                         f'which holds another search; continue it in a new work dir '
                         f'(--work-dir DIR)')


def test_rotation_deletes_only_checkpoints_of_this_search(searched, tmp_path):
    """A file that sorts first (a backup, another run's) survives rotation; the search's own
    older checkpoints go, oldest first."""
    work_dir = copy_of(searched, tmp_path)
    folder = osp.join(work_dir, 'checkpoints')
    shutil.copyfile(osp.join(folder, 'search_generation_001.pth'),
                    osp.join(folder, 'search_generation_000.pth'))
    assert search_tool.main([CONFIG, '--work-dir', work_dir, '--resume', '--cfg-options', *TINY,
                             'train_cfg.max_generations=4', 'train_cfg.max_keep_checkpoints=2',
                             "train_cfg.resume_changes=['max_generations']"]) == 0
    assert sorted(os.listdir(folder)) == [
        'search_final.pth', 'search_generation_000.pth', 'search_generation_003.pth',
        'search_generation_004.pth'
    ]
    assert load_search_checkpoint(osp.join(folder, 'search_final.pth'))['meta'][
        'checkpoints'] == ['search_generation_003.pth', 'search_generation_004.pth',
                           'search_final.pth']


def test_seeds_resume(tmp_path, capfd):
    """--resume --seeds: a seed not started yet starts; none started at all is an error."""
    work_dir = str(tmp_path / 'seeds')
    line = one_line_error(capfd, [CONFIG, '--work-dir', work_dir, '--resume', '--seeds', '0',
                                  '--cfg-options', *TINY])
    assert line.endswith(f'resume: none of the seeds [0] has a search to continue in '
                         f'{work_dir}/seed_<S>; start them without --resume')
    options = ['--cfg-options', *TINY, 'train_cfg.max_generations=1']
    assert search_tool.main([CONFIG, '--work-dir', work_dir, '--seeds', '0', *options]) == 0
    line = one_line_error(capfd, [CONFIG, '--work-dir', work_dir, '--seeds', '1', *options])
    assert f': error: the work dir {work_dir} holds a search (seed_0/checkpoints/' in line
    seed_0 = snapshot(osp.join(work_dir, 'seed_0'))
    assert search_tool.main([CONFIG, '--work-dir', work_dir, '--resume', '--seeds', '0', '1',
                             *options]) == 0
    assert snapshot(osp.join(work_dir, 'seed_0')) == seed_0
    assert osp.isfile(osp.join(work_dir, 'seed_1', 'best_genotype.yaml'))
