"""tools/analysis_tools/get_flops.py on an mmpretrain classifier config (RelativeNAS CIFAR-10),
and the genotype it counts."""
import subprocess
import sys
from pathlib import Path

import pytest

from mmrnas.structures import get_genotype
from tests.test_utils.test_cli import DARTS_TEXT
from tests.utils import load_tool

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / 'tools' / 'analysis_tools' / 'get_flops.py'
DIGITS = ROOT / 'configs' / 'retrain' / 'rnas_c8l5_1xb64-12e_digits-16.py'
CIFAR10 = ROOT / 'configs' / 'retrain' / 'rnas_c36l20_1xb128-600e_cifar10.py'

CONFIG = """
default_scope = 'mmpretrain'
custom_imports = dict(
    imports=['mmrnas.models', 'mmrnas.models.heads.relativenas_cls_head'],
    allow_failed_imports=False)
model = dict(
    type='ImageClassifier',
    backbone=dict(type='RelativeNASBackbone', stem='cifar', base_channels=36, num_cells=20,
                  with_aux_feature=True),
    head=dict(type='mmrnas.RelativeNASClsHead', num_classes=10, in_channels=576,
              aux_in_channels=576, aux_head='cifar'))
"""


@pytest.mark.slow
def test_cifar10_counts(tmp_path):
    config = tmp_path / 'rnas_cifar10.py'
    config.write_text(CONFIG)
    result = subprocess.run([sys.executable, str(SCRIPT), str(config), '--shape', '32'],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1] == f"genotype: RelativeNAS -> {get_genotype('RelativeNAS')!r}"
    assert lines[3] == 'input: 1x3x32x32 (size from --shape), eval mode'
    assert lines[4] == 'params, auxiliary excluded (paper convention): 3,928,222 (3.928 M)'
    assert lines[5] == 'params, all: 4,404,648 (4.405 M)'
    assert lines[6] == ('mult-adds [counter: RelativeNAS reference rule, conv + linear]: '
                        '616.83 M')
    assert lines[7].startswith('FLOPs [counter: mmengine.analysis.get_model_complexity_info]: ')
    assert lines[7].endswith('(params 4,404,648)')


@pytest.mark.slow
def test_cifar_config_counts_at_32_by_default(capsys, monkeypatch, one_thread):
    """Without --shape a CIFAR config is counted at the 32x32 it trains on (mmpretrain's 224
    default gave 25.9 G mult-adds for this network): DARTS_V2 C36 L20, 528.36 M, the count of
    DARTS's 0.53 G."""
    monkeypatch.setenv('OMP_NUM_THREADS', '1')
    load_tool('analysis_tools/get_flops').main([str(CIFAR10), '--cfg-options',
                                                'genotype=DARTS_V2'])
    lines = capsys.readouterr().out.splitlines()
    assert lines[3:7] == [
        'input: 1x3x32x32 (size from train_dataloader.dataset.pipeline RandomCrop(crop_size=32)),'
        ' eval mode',
        'params, auxiliary excluded (paper convention): 3,349,342 (3.349 M)',
        'params, all: 3,825,768 (3.826 M)',
        'mult-adds [counter: RelativeNAS reference rule, conv + linear]: 528.36 M',
    ]


def test_grey_network_is_counted_with_its_channels(capsys, monkeypatch, one_thread):
    """The channels come from the model: a 1-channel stem (C8: 24 filters of 3x3) saves
    2 x 24 x 9 weights and as many mult-adds per pixel of the 16x16 input."""
    monkeypatch.setenv('OMP_NUM_THREADS', '1')
    load_tool('analysis_tools/get_flops').main([str(DIGITS), '--cfg-options',
                                                'model.backbone.in_channels=1'])
    lines = capsys.readouterr().out.splitlines()
    assert lines[3:5] == [
        'input: 1x1x16x16 (size from train_dataloader.dataset.pipeline RandomCrop(crop_size=16)),'
        ' eval mode',
        # 53,770 with 3 channels
        f'params, auxiliary excluded (paper convention): {53_770 - 2 * 24 * 9:,} (0.053 M)',
    ]
    # 2.45 M with 3 channels: 2 * 24 * 9 * 16 * 16 = 0.11 M less
    assert lines[6] == 'mult-adds [counter: RelativeNAS reference rule, conv + linear]: 2.34 M'


def test_missing_config_is_one_clear_error(tmp_path):
    result = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / 'nope.py')],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert 'does not exist' in result.stderr.splitlines()[-1]
    assert 'Traceback' not in result.stderr


@pytest.mark.parametrize('form, name, params, mult_adds', [
    ('default', 'RelativeNAS', '53,770 (0.054 M)', '2.45 M'),
    ('text', 'DARTS_V2', '37,018 (0.037 M)', '1.85 M'),
    ('file', 'PDARTS', '53,490 (0.053 M)', '2.30 M'),
])
def test_genotype_override_is_counted(form, name, params, mult_adds, tmp_path, monkeypatch,
                                      capsys, one_thread):
    """--cfg-options genotype=... (DARTS text or a genotype file) changes the counted network
    and the output says which genotype it counted."""
    monkeypatch.setenv('OMP_NUM_THREADS', '1')
    spec = dict(default='RelativeNAS', text=DARTS_TEXT, file=str(tmp_path / 'best.yaml'))[form]
    get_genotype(name).dump(tmp_path / 'best.yaml')
    options = [] if form == 'default' else ['--cfg-options', f'genotype={spec}']
    load_tool('analysis_tools/get_flops').main([str(DIGITS), '--shape', '16'] + options)
    lines = capsys.readouterr().out.splitlines()
    genotype = repr(get_genotype(name))
    assert lines[:5] == [
        f'config: {DIGITS}',
        f'genotype: {genotype}' if form == 'text' else f'genotype: {spec} -> {genotype}',
        'threads: 1 (OMP_NUM_THREADS=1)',
        'input: 1x3x16x16 (size from --shape), eval mode',
        f'params, auxiliary excluded (paper convention): {params}',
    ]
    assert lines[6] == ('mult-adds [counter: RelativeNAS reference rule, conv + linear]: '
                        f'{mult_adds}')


def test_genotype_file_as_config(tmp_path):
    genotype = tmp_path / 'best_genotype.yaml'
    get_genotype('PDARTS').dump(genotype)
    result = subprocess.run([sys.executable, str(SCRIPT), str(genotype)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        f"get_flops.py: error: '{genotype}' is a genotype file, not a config: pass a config and "
        f'the genotype as --cfg-options genotype={genotype}')
    assert 'Traceback' not in result.stderr
