"""tools/train.py and tools/test.py: resume of the run's own checkpoints under torch's
weights-only default, test of a trained checkpoint, bad input, and the digits retraining."""
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.runner import CheckpointLoader

from tests.test_configs.test_retrain_configs import (CIFAR10, CONFIGS, read_scalars,
                                                      tiny_options)

# Re-exported fixture (pytest finds it by name in this module).
from tests.test_configs.test_retrain_configs import tiny_cifar10  # noqa: F401
from tests.utils import load_tool

pytestmark = pytest.mark.usefixtures('one_thread')

TOOLS = Path(__file__).resolve().parents[2] / 'tools'
DIGITS = CONFIGS / 'rnas_c8l5_1xb64-12e_digits-16.py'


def options(values: dict) -> list:
    return ['--cfg-options'] + [f'{key}={value}' for key, value in values.items()]


@pytest.mark.slow
def test_resume_and_test(tiny_cifar10, tmp_path):
    train, test = load_tool('train'), load_tool('test')
    work_dir = tmp_path / 'run'
    base = tiny_options(work_dir, tiny_cifar10, max_epochs=2)
    train.main([str(CIFAR10), '--work-dir', str(work_dir)] +
               options(dict(base, experiment_name='first')))
    checkpoint = work_dir / 'epoch_2.pth'
    assert checkpoint.is_file() and not (work_dir / 'epoch_3.pth').exists()
    # The problem being fixed: MMEngine's plain loader under torch's weights-only default.
    with pytest.raises(pickle.UnpicklingError):
        CheckpointLoader.load_checkpoint(str(checkpoint))

    train.main([str(CIFAR10), '--work-dir', str(work_dir), '--resume'] +
               options(dict(base, experiment_name='second', **{'train_cfg.max_epochs': 3})))
    state = torch.load(work_dir / 'epoch_3.pth', weights_only=False)
    assert state['meta']['epoch'] == 3 and state['meta']['iter'] == 6
    # Each run logs to its own timestamped folder; the resumed run is the latest.
    second = sorted(work_dir.glob('*/vis_data/scalars.json'))[-1]
    resumed = [json.loads(line) for line in second.read_text().splitlines()]
    assert [s['epoch'] for s in resumed if 'loss' in s] == [3, 3]  # only the third epoch

    metrics = test.main([str(CIFAR10), str(work_dir / 'epoch_3.pth'), '--trust-checkpoint',
                         '--work-dir', str(tmp_path / 'test')] +
                        options(dict(base, experiment_name='test')))
    assert set(metrics) == {'accuracy/top1'}
    with pytest.raises(SystemExit, match='--trust-checkpoint'):
        test.main([str(CIFAR10), str(checkpoint), '--work-dir', str(tmp_path / 'test2')] +
                  options(dict(base, experiment_name='test2')))


@pytest.mark.slow
def test_converted_official_checkpoint_evaluates(tiny_cifar10, tmp_path):
    """An official-layout CIFAR checkpoint, converted by the tool, runs through tools/test.py
    (weights-only loading: the converted file holds tensors and plain metadata only)."""
    from tests.test_models.test_utils.test_checkpoint_conversion import (C, CLASSES, LAYERS,
                                                                         build_reference)
    official = tmp_path / 'relativenas_cifar10.pt'
    torch.save({f'module.{k}': v for k, v in build_reference(imagenet=False).state_dict().items()},
               official)
    converted = tmp_path / 'converted.pth'
    assert load_tool('model_converters/relativenas_to_mmrnas').main(
        [str(official), str(converted)]) == 0
    base = tiny_options(tmp_path / 'run', tiny_cifar10, max_epochs=1)
    base.update({
        'model.backbone.base_channels': C, 'model.backbone.num_cells': LAYERS,
        'model.head.in_channels': 16 * C, 'model.head.aux_in_channels': 16 * C,
        'model.head.num_classes': CLASSES, 'experiment_name': 'converted'
    })
    metrics = load_tool('test').main([str(CIFAR10), str(converted), '--work-dir',
                                      str(tmp_path / 'test')] + options(base))
    assert set(metrics) == {'accuracy/top1'} and 0 <= metrics['accuracy/top1'] <= 100


def test_unknown_genotype(tmp_path):
    train = load_tool('train')
    with pytest.raises(ValueError, match="'NoSuchCell' is neither a known name"):
        train.main([str(CIFAR10), '--work-dir', str(tmp_path)] +
                   options({'genotype': 'NoSuchCell', 'experiment_name': 'bad_genotype'}))


@pytest.mark.slow
def test_digits_retraining(tmp_path):
    """The whole digits config (measured: 95.96 % top-1; about 2.5 min of CPU time)."""
    work_dir = tmp_path / 'digits'
    env = dict(os.environ, OMP_NUM_THREADS='1')
    result = subprocess.run(
        [sys.executable, str(TOOLS / 'train.py'), str(DIGITS), '--work-dir', str(work_dir)],
        capture_output=True, text=True, env=env, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    (accuracy, ) = [s['accuracy/top1'] for s in read_scalars(work_dir)
                    if 'accuracy/top1' in s and s['step'] == 12]
    assert accuracy >= 88.0
