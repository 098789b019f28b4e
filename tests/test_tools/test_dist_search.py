"""tools/dist_search.sh: a search on 2 gloo CPU processes equals the single-process search."""
import json
import os
import os.path as osp
import socket
import subprocess
import sys

import numpy as np
import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'rnas_quickstart.py')
# 898 training images in two batches of 449: equal shards on both processes.
TINY = ['model.base_channels=4', 'model.num_cells=3', 'train_dataloader.batch_size=449',
        'train_cfg.max_generations=2', 'train_cfg.population_size=4',
        'train_cfg.drop_path_rate=0.3', 'train_cfg.final_selection=last_generation']


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run(command, work_dir):
    env = dict(os.environ, OMP_NUM_THREADS='1', PORT=str(free_port()),
               PATH=osp.dirname(sys.executable) + os.pathsep + os.environ['PATH'])
    result = subprocess.run(command + ['--work-dir', str(work_dir), '--cfg-options', *TINY],
                            capture_output=True, text=True, timeout=900, env=env, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def history(work_dir):
    with open(work_dir / 'history.jsonl') as f:
        return [json.loads(line) for line in f]


@pytest.mark.slow
def test_two_process_search_matches_one_process(tmp_path):
    single, double = tmp_path / 'single', tmp_path / 'double'
    run([sys.executable, 'tools/search.py', CONFIG], single)
    result = run(['bash', 'tools/dist_search.sh', CONFIG, '2'], double)
    assert result.stdout.count('search finished') == 1  # rank 0 logs

    # Rank 0's decisions: the same pairs and teachers, the same population (the update is
    # exact once decisions agree), the same final genotype files byte for byte.
    one, two = history(single), history(double)
    assert [[p['members'] for p in g['pairs']] for g in one] == \
        [[p['members'] for p in g['pairs']] for g in two]
    assert [[p['teacher'] for p in g['pairs']] for g in one] == \
        [[p['teacher'] for p in g['pairs']] for g in two]
    for name in ('best_genotype.yaml', 'genotypes/generation_001.yaml',
                 'genotypes/generation_002.yaml', 'genotypes/final_population.yaml'):
        assert (single / name).read_bytes() == (double / name).read_bytes(), name
    # Losses agree up to floating point: summation order differs and compounds over eight
    # candidates trained one after the other (measured: within 5e-4 relative).
    losses = [np.array([p['val_loss'] for p in g['pairs']]) for g in (one + two)]
    np.testing.assert_allclose(np.concatenate(losses[:2]), np.concatenate(losses[2:]),
                               rtol=2e-3)

    states = [torch.load(d / 'checkpoints' / 'search_final.pth', weights_only=False)
              for d in (single, double)]
    for key in ('positions', 'velocities'):
        assert np.array_equal(states[0]['population'][key], states[1]['population'][key])
    # The weight set as a whole: relative L2 distance (single tensors drift further where
    # rounding flipped a tied max-pool input; measured 1.7e-3 here).
    weights = [torch.cat([v.double().flatten() for k, v in sorted(s['weight_set'].items())
                          if v.is_floating_point()]) for s in states]
    assert float((weights[0] - weights[1]).norm() / weights[0].norm()) < 1e-2
