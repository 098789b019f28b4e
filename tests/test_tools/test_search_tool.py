"""tools/search.py: a real (tiny) search from the command line, resume, and bad input."""
import os
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(ROOT, 'tools', 'search.py')
CONFIG = osp.join(ROOT, 'configs', 'rnas_quickstart.py')
TINY = ['model.base_channels=4', 'model.num_cells=3', 'train_dataloader.dataset.size=8',
        'train_dataloader.batch_size=256', 'train_cfg.max_generations=2',
        'train_cfg.population_size=2']


def search(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True,
                          timeout=600, env=env, cwd=ROOT)


@pytest.mark.slow
def test_search_then_resume_finished(tmp_path):
    result = search(CONFIG, '--work-dir', str(tmp_path), '--cfg-options', *TINY)
    assert result.returncode == 0, result.stderr[-2000:]
    best = (tmp_path / 'best_genotype.yaml').read_text()
    assert (tmp_path / 'best_genotype_normal.png').is_file()
    resumed = search(CONFIG, '--work-dir', str(tmp_path), '--resume', '--cfg-options', *TINY)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert 'resumed the search from' in resumed.stdout + resumed.stderr
    assert (tmp_path / 'best_genotype.yaml').read_text() == best


@pytest.mark.parametrize('args, message', [
    (['missing.py'], "config file 'missing.py' does not exist"),
    ([CONFIG, '--work-dir', '/proc/no-such-dir'], 'cannot create the work dir'),
    ([CONFIG, '--cfg-options', 'train_cfg.population_size=3'],
     'population_size must be even and at least 2'),
])
def test_bad_input_is_one_line(tmp_path, args, message):
    if '--work-dir' not in args:
        args = args + ['--work-dir', str(tmp_path)]
    result = search(*args)
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith('search.py: error: ') and message in last
    assert 'Traceback' not in result.stderr

