"""tools/analysis_tools/get_flops.py on an mmpretrain classifier config (RelativeNAS CIFAR-10)."""
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / 'tools' / 'analysis_tools' / 'get_flops.py'

CONFIG = """
default_scope = 'mmpretrain'
custom_imports = dict(
    imports=['mmrnas.models', 'mmrnas.models.heads.relativenas_cls_head'],
    allow_failed_imports=False)
model = dict(
    type='ImageClassifier',
    backbone=dict(type='RelativeNASBackbone', stem='cifar', base_channels=36, num_cells=20,
                  with_aux_feature=True),
    head=dict(type='RelativeNASClsHead', num_classes=10, in_channels=576, aux_in_channels=576,
              aux_head='cifar'))
"""


@pytest.mark.slow
def test_cifar10_counts(tmp_path):
    config = tmp_path / 'rnas_cifar10.py'
    config.write_text(CONFIG)
    result = subprocess.run([sys.executable, str(SCRIPT), str(config), '--shape', '32'],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1] == 'input: 1x3x32x32, eval mode'
    assert lines[2] == 'params, auxiliary excluded (paper convention): 3,928,222 (3.928 M)'
    assert lines[3] == 'params, all: 4,404,648 (4.405 M)'
    assert lines[4] == ('mult-adds [counter: RelativeNAS reference rule, conv + linear]: '
                        '616.83 M')
    assert lines[5].startswith('FLOPs [counter: mmengine.analysis.get_model_complexity_info]: ')
    assert lines[5].endswith('(params 4,404,648)')


def test_missing_config_is_one_clear_error(tmp_path):
    result = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / 'nope.py')],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert 'does not exist' in result.stderr.splitlines()[-1]
    assert 'Traceback' not in result.stderr
