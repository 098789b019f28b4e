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
from tests.test_tools.test_search_tool import CONFIG, TINY
from tests.utils import load_tool

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
    assert f'moved the earlier search in {work_dir} to ' in capfd.readouterr().out
    assert snapshot(osp.join(work_dir, PREVIOUS_SEARCHES_DIR, moved)) == before
    assert load_search_checkpoint(osp.join(work_dir, 'checkpoints', 'search_final.pth'))[
        'generation'] == 1
    # a second start-over keeps the first one's folder
    assert search_tool.main([CONFIG, '--work-dir', work_dir, '--start-over', '--cfg-options',
                             *TINY, 'train_cfg.max_generations=1']) == 0
    assert len(os.listdir(osp.join(work_dir, PREVIOUS_SEARCHES_DIR))) == 2
    line = one_line_error(capfd, [CONFIG, '--work-dir', work_dir, '--start-over', '--resume'])
    assert line.endswith('--start-over starts a new search: it cannot go with --resume (nor '
                         'with train_cfg.resume or resume=True in the config)')


def test_start_over_checks_the_config_before_moving_anything(searched, tmp_path, capfd):
    """A mistake on the command line must not cost the earlier search its place; and a work
    dir without a search (here: the user's own files) is left alone."""
    work_dir = copy_of(searched, tmp_path)
    before = snapshot(work_dir)
    line = one_line_error(capfd, [CONFIG, '--work-dir', work_dir, '--start-over',
                                  '--cfg-options', *TINY, 'train_cfg.populaton_size=2'])
    assert "unknown key(s) 'populaton_size' (did you mean 'population_size'?)" in line
    assert snapshot(work_dir) == before
    mine = tmp_path / 'mine'
    mine.mkdir()
    (mine / 'notes.txt').write_text('mine')
    assert search_tool.main([CONFIG, '--work-dir', str(mine), '--start-over', '--cfg-options',
                             *TINY, 'train_cfg.max_generations=1']) == 0
    assert (mine / 'notes.txt').read_text() == 'mine'
    assert not (mine / PREVIOUS_SEARCHES_DIR).exists()


def test_start_over_from_the_config_dumped_in_the_work_dir(searched, tmp_path):
    """The Runner dumps the config into the work dir: starting over from that file (which the
    move takes away) still runs, from the config read before the move."""
    work_dir = copy_of(searched, tmp_path)
    dumped = osp.join(work_dir, osp.basename(CONFIG))
    assert search_tool.main([dumped, '--work-dir', work_dir, '--start-over', '--cfg-options',
                             'train_cfg.max_generations=1']) == 0
    assert load_search_checkpoint(osp.join(work_dir, 'checkpoints', 'search_final.pth'))[
        'generation'] == 1


def test_resume_without_a_search_is_an_error(tmp_path, capfd):
    line = one_line_error(capfd, [CONFIG, '--work-dir', str(tmp_path), '--resume',
                                  '--cfg-options', *TINY])
    assert line.endswith(f'resume: no search to continue in {tmp_path} (no '
                         f'last_search_checkpoint file); start a new search without --resume '
                         f'(and train_cfg.resume=False), or give a checkpoint with --resume PATH')


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
    assert line.endswith(f'resume: {other} is outside {work_dir}/checkpoints, and the work dir '
                         f'holds a search that it would mix with; continue it in a new work dir '
                         f'(--work-dir DIR)')


def test_resume_from_an_earlier_checkpoint_keeps_the_later_results(searched, tmp_path, capfd):
    """Going back to generation 1 (e.g. to select again with another setting) overwrites the
    later checkpoints and outputs: a copy of them is kept first."""
    work_dir = copy_of(searched, tmp_path)
    before = snapshot(work_dir)
    earlier = osp.join(work_dir, 'checkpoints', 'search_generation_001.pth')
    assert search_tool.main([CONFIG, '--work-dir', work_dir, '--resume', earlier,
                             '--cfg-options', *TINY, 'optim_wrapper.optimizer.lr=0.5',
                             "train_cfg.resume_changes=['lr']"]) == 0
    (kept, ) = os.listdir(osp.join(work_dir, PREVIOUS_SEARCHES_DIR))
    assert snapshot(osp.join(work_dir, PREVIOUS_SEARCHES_DIR, kept)) == before
    assert snapshot(work_dir)['final_selection.json'] != before['final_selection.json']
    assert (f'resume: {earlier} is earlier than the work dir\'s newest checkpoint '
            f'{work_dir}/checkpoints/search_final.pth; the later checkpoints and outputs were '
            f'copied to {work_dir}/{PREVIOUS_SEARCHES_DIR}/{kept} first') in capfd.readouterr().out


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


def test_seeds_resume_and_new_seeds(tmp_path, capfd):
    """--seeds: a seed whose folder holds a search is refused without --resume, a new seed
    joins the work dir; --resume continues the seeds that have a search and starts the others;
    --resume where no seed has a search is an error."""
    work_dir = str(tmp_path / 'seeds')
    line = one_line_error(capfd, [CONFIG, '--work-dir', work_dir, '--resume', '--seeds', '0',
                                  '--cfg-options', *TINY])
    assert line.endswith(f'resume: no search to continue in {work_dir} (no seed_<S> folder '
                         f'holds one); start the seeds without --resume')
    options = ['--cfg-options', *TINY, 'train_cfg.max_generations=1']
    assert search_tool.main([CONFIG, '--work-dir', work_dir, '--seeds', '0', *options]) == 0
    line = one_line_error(capfd, [CONFIG, '--work-dir', work_dir, '--seeds', '0', *options])
    assert f': error: the work dir {work_dir}/seed_0 holds a search (' in line
    seed_0 = snapshot(osp.join(work_dir, 'seed_0'))
    assert search_tool.main([CONFIG, '--work-dir', work_dir, '--seeds', '1', *options]) == 0
    assert search_tool.main([CONFIG, '--work-dir', work_dir, '--resume', '--seeds', '0', '1',
                             '2', *options]) == 0
    assert snapshot(osp.join(work_dir, 'seed_0')) == seed_0
    assert osp.isfile(osp.join(work_dir, 'seed_2', 'best_genotype.yaml'))


def test_top_level_resume_of_a_runner_built_from_python(searched, tmp_path):
    """MMEngine's top-level ``resume=True`` resumes when the Runner is built from Python too
    (the loop reads it when train_cfg.resume is not given)."""
    from mmengine.runner import Runner
    work_dir = copy_of(searched, tmp_path)
    cfg = search_tool.load_search_config(
        search_tool.parse_args([CONFIG, '--work-dir', work_dir, '--cfg-options', *TINY]))
    cfg.experiment_name = 'top_level_resume'
    cfg.resume = True
    loop = Runner.from_cfg(cfg).train_loop
    assert loop.resumed_from == osp.join(work_dir, 'checkpoints', 'search_final.pth')
    cfg.resume = False
    cfg.experiment_name = 'top_level_new_search'
    with pytest.raises(ValueError, match=f'the work dir {work_dir} holds a search'):
        Runner.from_cfg(cfg).train_loop
