"""tools/deployment/pytorch2onnx.py: the exported ONNX model gives PyTorch's outputs in ONNX
Runtime at another batch size, for a searched genotype, a converted official checkpoint and a
backbone pyramid; bad input ends with one error line."""
import argparse
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.registry import MODELS, init_default_scope
from mmengine.runner import load_checkpoint

from mmrnas.structures import get_genotype
from mmrnas.utils.cli import load_config
from tests.utils import TOOLS, load_tool
from ..test_models.test_utils.test_checkpoint_conversion import (
    LAYERS,
    C,
    build_classifier,
    build_reference,
)

ort = pytest.importorskip('onnxruntime')

ROOT = TOOLS.parent
SCRIPT = TOOLS / 'deployment' / 'pytorch2onnx.py'
DIGITS = ROOT / 'configs' / 'retrain' / 'rnas_c8l5_1xb64-12e_digits-16.py'
CIFAR10 = ROOT / 'configs' / 'retrain' / 'rnas_c36l20_1xb128-600e_cifar10.py'
# The CIFAR-10 config shrunk to the reference networks of the converter tests (C8 L6, 10
# classes, CIFAR auxiliary head on the 16C-channel feature of the second reduction cell).
SMALL_CIFAR10 = [f'model.backbone.base_channels={C}', f'model.backbone.num_cells={LAYERS}',
                 f'model.head.in_channels={16 * C}', f'model.head.aux_in_channels={16 * C}']
ERROR_PREFIX = 'pytorch2onnx.py: error: '

tool = load_tool('deployment/pytorch2onnx')
pytestmark = pytest.mark.usefixtures('one_thread')


def export(capsys, *args) -> list[str]:
    """Run the tool in this process; return its stdout lines (it must succeed)."""
    assert tool.main([str(arg) for arg in args]) == 0
    return capsys.readouterr().out.splitlines()


def build_model(config: Path, options: list[str], backbone_only: bool = False) -> nn.Module:
    """The model of ``config`` with ``--cfg-options options`` in eval mode, as the tool builds
    it (initial weights)."""
    parsed = tool.parse_args([str(config), '--shape', '1', '--out', 'unused.onnx',
                              '--cfg-options', *options])
    cfg = load_config(str(config), parsed.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmrnas'))
    model = MODELS.build(cfg.model)
    return (model.backbone if backbone_only else model).eval()


def run_onnxruntime(path: Path, inputs: torch.Tensor) -> dict[str, np.ndarray]:
    session = ort.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    assert [(i.name, i.shape[0]) for i in session.get_inputs()] == [('input', 'batch')]
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(None, {'input': inputs.numpy()})))


def assert_close(actual: np.ndarray, expected: torch.Tensor) -> None:
    """Max relative error (to the largest magnitude) at most 1e-4, the tool's tolerance."""
    expected = expected.numpy()
    assert actual.shape == expected.shape
    assert np.abs(actual - expected).max() <= 1e-4 * np.abs(expected).max()


def randomise_batch_norm(model: nn.Module) -> None:
    """Running statistics and affine parameters away from their initial 0 / 1, so that
    weights that are loaded wrongly change the outputs."""
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                for tensor, low in ((module.weight, 0.5), (module.running_var, 0.5)):
                    tensor.copy_(low + torch.rand(tensor.shape, generator=generator))
                module.bias.normal_(0., 0.2, generator=generator)
                module.running_mean.normal_(0., 0.2, generator=generator)


@pytest.fixture(scope='module')
def official_checkpoints(tmp_path_factory):
    """A reference-format CIFAR network (DataParallel keys) converted by
    tools/model_converters/relativenas_to_mmrnas.py: (reference, classifier file, backbone
    file)."""
    folder = tmp_path_factory.mktemp('official')
    reference = build_reference(imagenet=False)
    torch.save({f'module.{key}': value for key, value in reference.state_dict().items()},
               folder / 'official.pt')
    converter = load_tool('model_converters/relativenas_to_mmrnas')
    files = folder / 'classifier.pth', folder / 'backbone.pth'
    for dst, extra in zip(files, ([], ['--backbone-only'])):
        assert converter.main([str(folder / 'official.pt'), str(dst)] + extra) == 0
    return (reference, ) + files


def test_searched_genotype(tmp_path, capsys):
    """A genotype file through --cfg-options and a runner checkpoint of that network (loaded
    with --trust-checkpoint): ONNX Runtime at batch 3 equals PyTorch, and params / mult-adds are
    get_flops' numbers."""
    genotype = tmp_path / 'best_genotype.yaml'
    get_genotype('PDARTS').dump(genotype)
    options = [f'genotype={genotype}']
    model = build_model(DIGITS, options)
    randomise_batch_norm(model)
    checkpoint = tmp_path / 'epoch_12.pth'
    # A pickled object besides the tensors, as in MMEngine's runner checkpoints.
    torch.save({'meta': {'epoch': 12}, 'state_dict': model.state_dict(),
                'message_hub': argparse.Namespace(iter=240)}, checkpoint)
    out = tmp_path / 'onnx' / 'rnas_digits.onnx'

    lines = export(capsys, DIGITS, checkpoint, '--trust-checkpoint', '--shape', '16', '16',
                   '--out', out, '--cfg-options', *options)
    assert lines[1] == f"genotype: {genotype} -> {get_genotype('PDARTS')!r}"
    assert f'checkpoint: {checkpoint} ({len(model.state_dict())} tensors)' in lines
    assert ('exported: logits of ImageClassifier, eval mode, input 1x3x16x16 (size from '
            '--shape)') in lines
    assert '  input: batch x 3 x 16 x 16' in lines and '  logits: batch x 10' in lines
    assert lines[-2].startswith('onnxruntime (CPUExecutionProvider) vs PyTorch at batch 3, '
                                'max relative error: logits ')
    assert lines[-1].startswith(f'saved: {out} (')
    assert os.listdir(out.parent) == ['rnas_digits.onnx']  # no temporary file left

    load_tool('analysis_tools/get_flops').main([str(DIGITS), '--shape', '16', '--cfg-options',
                                                *options])
    flops = capsys.readouterr().out.splitlines()
    params = 'params, auxiliary excluded (paper convention): 53,490 (0.053 M)'
    mult_adds = 'mult-adds [counter: RelativeNAS reference rule, conv + linear]: 2.30 M'
    assert params in flops and params in lines
    assert mult_adds in flops and mult_adds in lines

    inputs = torch.randn(3, 3, 16, 16)  # exported at batch 1: the batch axis is dynamic
    with torch.no_grad():
        expected = model(inputs, mode='tensor')
    assert_close(run_onnxruntime(out, inputs)['logits'], expected)


def test_converted_official_checkpoint(official_checkpoints, tmp_path, capsys):
    """The converter's classifier checkpoint in the shrunk CIFAR-10 config: ONNX Runtime gives
    the logits of our classifier loaded with it and of the reference network."""
    reference, classifier_file, _ = official_checkpoints
    out = tmp_path / 'rnas_cifar10.onnx'
    lines = export(capsys, CIFAR10, classifier_file, '--shape', '32', '32', '--out', out,
                   '--cfg-options', *SMALL_CIFAR10)
    assert f'checkpoint: {classifier_file} ({len(reference.state_dict())} tensors)' in lines
    assert '  logits: batch x 10' in lines

    model = build_classifier(imagenet=False)
    load_checkpoint(model, str(classifier_file), map_location='cpu', strict=True)
    inputs = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        expected = model.eval()(inputs, mode='tensor')
        assert_close(expected.numpy(), reference(inputs)[0])
    assert_close(run_onnxruntime(out, inputs)['logits'], expected)


def test_backbone_pyramid(official_checkpoints, tmp_path, capsys):
    """--backbone-only with the converter's backbone checkpoint: one output per pyramid level,
    named by level, with the backbone's shapes and values; the auxiliary feature is left out."""
    reference, _, backbone_file = official_checkpoints
    options = SMALL_CIFAR10 + ['model.backbone.out_indices=(0,1,2,3)']
    out = tmp_path / 'backbone.onnx'
    lines = export(capsys, CIFAR10, backbone_file, '--shape', '32', '32', '--out', out,
                   '--backbone-only', '--cfg-options', *options)
    assert ('exported: pyramid of RelativeNASBackbone, eval mode, input 1x3x32x32 (size from '
            '--shape)') in lines

    backbone = build_model(CIFAR10, options, backbone_only=True)
    assert backbone.with_aux_feature  # the config's; the export leaves that feature out
    load_checkpoint(backbone, str(backbone_file), map_location='cpu', strict=True,
                    revise_keys=[(r'^backbone\.', '')])
    inputs = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        aux_feature, *levels = backbone(inputs)
        assert_close(reference.classifier(levels[-1].mean(dim=(2, 3))).numpy(),
                     reference(inputs)[0])
    outputs = run_onnxruntime(out, inputs)
    assert list(outputs) == ['level0', 'level1', 'level2', 'level3']
    assert [f'  {name}: batch x {" x ".join(map(str, level.shape[1:]))}'
            for name, level in zip(outputs, levels)] == lines[-6:-2]
    assert [level.shape[1:] for level in levels] == [(3 * C, 32, 32), (4 * C, 32, 32),
                                                     (8 * C, 16, 16), (16 * C, 8, 8)]
    for actual, expected in zip(outputs.values(), levels):
        assert_close(actual, expected)


@pytest.mark.slow
def test_grey_network_at_the_config_size(tmp_path, capsys):
    """Without --shape the input is the size the config trains at, with the model's channels:
    a 1-channel digits network exports with 1 x 16 x 16 inputs."""
    options = ['model.backbone.in_channels=1']
    model = build_model(DIGITS, options)
    checkpoint = tmp_path / 'grey.pth'
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    out = tmp_path / 'grey.onnx'
    lines = export(capsys, DIGITS, checkpoint, '--out', out, '--cfg-options', *options)
    assert ('exported: logits of ImageClassifier, eval mode, input 1x1x16x16 (size from '
            'train_dataloader.dataset.pipeline RandomCrop(crop_size=16))') in lines
    assert '  input: batch x 1 x 16 x 16' in lines
    inputs = torch.randn(3, 1, 16, 16)
    with torch.no_grad():
        expected = model(inputs, mode='tensor')
    assert_close(run_onnxruntime(out, inputs)['logits'], expected)


def test_failed_check_writes_nothing(tmp_path, capsys, monkeypatch):
    real = tool.relative_errors
    monkeypatch.setattr(tool, 'relative_errors',
                        lambda *args: {name: 2e-3 for name in real(*args)})
    out = tmp_path / 'model.onnx'
    assert tool.main([str(DIGITS), '--shape', '8', '--out', str(out)]) == 1
    err = capsys.readouterr().err
    assert err == (f'{ERROR_PREFIX}ONNX Runtime differs from PyTorch by more than 0.0001 (max '
                   f'relative error): logits 2.00e-03; {out} not written\n')
    assert os.listdir(tmp_path) == []


BACKBONE_CONFIG = """
default_scope = 'mmrnas'
model = dict(type='RelativeNASBackbone', stem='cifar', base_channels=4, num_cells=3)
"""


ERRORS = dict([
    ('missing config', "config file '{tmp}/nope.py' does not exist"),
    ('missing checkpoint', "checkpoint '{tmp}/nope.pth' does not exist"),
    ('not a classifier', "{tmp}/backbone.py builds a RelativeNASBackbone, not an mmpretrain "
     'ImageClassifier with a head: pass --backbone-only to export its backbone'),
    ('no backbone', '{tmp}/backbone.py builds a RelativeNASBackbone, which has no backbone'),
    ('shape count', '--shape takes H W (or H), positive integers; got 16 16 3'),
    ('shape zero', '--shape takes positive sizes, got 0 16'),
    ('shape too small', '--shape 1 1: the network does not run on this input size ('),
    ('other genotype', '{tmp}/darts.pth does not fit the model of the config: tensors '),
    ('pickled objects', '{tmp}/runner.pth pickles Python objects besides tensors (e.g. '
     'argparse.Namespace), which weights-only loading refuses; if it was written by your own '
     'training run, pass --trust-checkpoint'),
    ('not a checkpoint', 'cannot read {tmp}/backbone.py as a PyTorch checkpoint ('),
])


SHAPES = {'shape count': ['16', '16', '3'], 'shape zero': ['0', '16'], 'shape too small': ['1']}


@pytest.mark.parametrize('case', list(ERRORS))
def test_bad_input_is_one_error_line(case, tmp_path, capsys):
    (tmp_path / 'backbone.py').write_text(BACKBONE_CONFIG)
    config, checkpoint, extra = DIGITS, [], []
    if case == 'missing config':
        config = tmp_path / 'nope.py'
    elif case == 'missing checkpoint':
        checkpoint = [tmp_path / 'nope.pth']
    elif case in ('not a classifier', 'no backbone'):
        config = tmp_path / 'backbone.py'
        extra = ['--backbone-only'] if case == 'no backbone' else []
    elif case == 'other genotype':
        checkpoint = [tmp_path / 'darts.pth']
        torch.save({'state_dict': build_model(DIGITS, ['genotype=DARTS_V2']).state_dict()},
                   checkpoint[0])
    elif case == 'pickled objects':
        checkpoint = [tmp_path / 'runner.pth']
        torch.save({'state_dict': {}, 'args': argparse.Namespace(lr=0.1)}, checkpoint[0])
    elif case == 'not a checkpoint':
        checkpoint = [tmp_path / 'backbone.py']
    out = tmp_path / 'out.onnx'
    args = [config, *checkpoint, '--shape', *SHAPES.get(case, ['16']), '--out', out, *extra]
    with pytest.raises(SystemExit) as exit_info:
        tool.main([str(arg) for arg in args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(ERROR_PREFIX + ERRORS[case].format(tmp=tmp_path)), err
    assert err.count('\n') == 1 and 'Traceback' not in err
    assert not out.exists()


@pytest.mark.parametrize('source, message', [
    ('size from --shape', '--shape 1 1: the network does not run on this input size ('),
    ('size from test_dataloader.dataset.pipeline Resize(scale=1)',
     'input 1 x 1 (size from test_dataloader.dataset.pipeline Resize(scale=1); --shape H W '
     'sets another): the network does not run on this input size ('),
])
def test_a_size_the_network_does_not_run_on_names_its_source(source, message):
    """The error names where the size came from: --shape, or the config."""
    with pytest.raises(ValueError) as error:
        tool.probe(nn.Conv2d(1, 1, 3), (1, 1, 1), source)
    assert str(error.value).startswith(message) and '\n' not in str(error.value)


def test_cli_exit_status(tmp_path):
    """Run as a script: one line on stderr, exit status 2."""
    result = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path / 'nope.py'), '--shape', '16', '--out',
         str(tmp_path / 'x.onnx')], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        f"{ERROR_PREFIX}config file '{tmp_path / 'nope.py'}' does not exist")
    assert 'Traceback' not in result.stderr and result.stdout == ''
