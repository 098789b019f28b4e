"""tools/model_converters/relativenas_to_mmrnas.py: a converted network gives the reference's
logits, loaded as a classifier and as a pretrained backbone.

The reference networks (RelativeNAS / DARTS ``NetworkCIFAR`` and ``NetworkImageNet``, written
from docs/reference.md §1 with the reference's module names) come from the library test.
"""
import argparse
import os
import subprocess
import sys

import pytest
import torch
from mmengine.runner import load_checkpoint

from mmrnas.models import RelativeNASBackbone
from tests.utils import TOOLS, load_tool
from ..test_models.test_utils.test_checkpoint_conversion import (
    LAYERS,
    C,
    assert_same,
    build_classifier,
    build_reference,
)

SCRIPT = TOOLS / 'model_converters' / 'relativenas_to_mmrnas.py'
ERROR_PREFIX = 'relativenas_to_mmrnas: error: '


tool = load_tool('model_converters/relativenas_to_mmrnas')


@pytest.fixture(autouse=True)
def single_thread():
    """One intra-op thread: faster for these tiny networks, and no OpenMP spinning on a busy
    machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def run_tool(capsys, *args: str) -> tuple[int, str, str]:
    status = tool.main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_one_line_error(status: int, err: str, *fragments: str) -> None:
    assert status == 2
    assert err.startswith(ERROR_PREFIX) and err.count('\n') == 1, err
    assert 'Traceback' not in err
    for fragment in fragments:
        assert fragment in err, err


@pytest.mark.parametrize('stem,layout', [
    ('cifar', 'plain'),
    ('cifar', 'DataParallel'),
    ('imagenet', 'DataParallel, wrapped'),
])
def test_converted_checkpoints_give_reference_logits(tmp_path, capsys, stem, layout):
    """The ImageNet network runs at 64x64 with a global average pool on both sides: the
    reference ``NetworkImageNet`` head, ``AvgPool2d(7)``, needs 224x224 input (that head is
    checked in the library test)."""
    imagenet = stem == 'imagenet'
    ref = build_reference(imagenet=imagenet)
    prefix = 'module.' if 'DataParallel' in layout else ''
    state_dict = {prefix + key: value for key, value in ref.state_dict().items()}
    src = tmp_path / 'official.pt'
    torch.save({'epoch': 599, 'state_dict': state_dict} if 'wrapped' in layout else state_dict,
               src)

    classifier_file = tmp_path / 'out' / 'classifier.pth'
    status, out, err = run_tool(capsys, src, classifier_file)
    assert status == 0, err
    aux = f'{stem} auxiliary head'
    assert out.splitlines() == [
        f'network: {stem} stem, base_channels={C}, num_cells={LAYERS}, 10 classes, {aux}',
        f'converted {len(state_dict)} tensors (backbone.* + head.*) -> {classifier_file}',
    ]
    # Only tensors and plain containers: loadable without unpickling any object.
    checkpoint = torch.load(classifier_file, map_location='cpu', weights_only=True)
    assert set(checkpoint) == {'meta', 'state_dict'}
    assert checkpoint['meta'] == dict(
        converted_from='official.pt', tool='tools/model_converters/relativenas_to_mmrnas.py',
        content='classifier', stem=stem, base_channels=C, num_cells=LAYERS, num_classes=10,
        aux_head=stem)
    assert all(type(value) in (str, int) for value in checkpoint['meta'].values())
    assert os.listdir(classifier_file.parent) == ['classifier.pth']  # no temporary file left

    model = build_classifier(imagenet=imagenet)
    load_checkpoint(model, str(classifier_file), map_location='cpu', strict=True)
    model.eval()
    x = torch.randn(2, 3, 64 if imagenet else 32, 64 if imagenet else 32)
    with torch.no_grad():
        expected = ref(x.clone())[0]
        assert_same(model(x, mode='tensor'), expected)

    backbone_file = tmp_path / 'backbone.pth'
    status, out, err = run_tool(capsys, src, backbone_file, '--backbone-only')
    assert status == 0, err
    num_head = sum(key.startswith(('classifier.', 'auxiliary_head.')) for key in ref.state_dict())
    assert out.splitlines()[-1] == (
        f'converted {len(state_dict) - num_head} tensors (backbone.* only, {num_head} head '
        f'tensors dropped) -> {backbone_file}')
    checkpoint = torch.load(backbone_file, map_location='cpu', weights_only=True)
    assert checkpoint['meta']['content'] == 'backbone'
    converted = checkpoint['state_dict']
    assert all(key.startswith('backbone.') for key in converted)

    backbone = RelativeNASBackbone(
        stem=stem, base_channels=C, num_cells=LAYERS,
        init_cfg=dict(type='Pretrained', checkpoint=str(backbone_file), prefix='backbone.'))
    backbone.init_weights()
    loaded = backbone.state_dict()
    assert set(loaded) == {key[len('backbone.'):] for key in converted}
    assert all(torch.equal(loaded[key[len('backbone.'):]], value)
               for key, value in converted.items())
    backbone.eval()
    with torch.no_grad():
        assert_same(ref.classifier(backbone(x)[-1].mean(dim=(2, 3))), expected)


def test_refuses_a_checkpoint_that_is_not_weights_only_loadable(tmp_path, capsys):
    src = tmp_path / 'with_args.pt'
    torch.save({'state_dict': build_reference(imagenet=False).state_dict(),
                'args': argparse.Namespace(lr=0.025)}, src)
    dst = tmp_path / 'dst.pth'
    status, out, err = run_tool(capsys, src, dst)
    assert_one_line_error(status, err, 'cannot be loaded with weights_only=True',
                          'argparse.Namespace', 'refuses', 'arbitrary code')
    assert out == '' and not dst.exists()


def test_unmatched_key_is_named(tmp_path, capsys):
    state_dict = build_reference(imagenet=False).state_dict()
    state_dict['cells.2.drop_mask'] = torch.zeros(1)
    src = tmp_path / 'extra.pt'
    torch.save(state_dict, src)
    dst = tmp_path / 'dst.pth'
    dst.write_bytes(b'previous')
    status, _, err = run_tool(capsys, src, dst)
    assert_one_line_error(status, err, "1 key(s) match no parameter", "'cells.2.drop_mask'")
    assert dst.read_bytes() == b'previous'
    assert sorted(os.listdir(tmp_path)) == ['dst.pth', 'extra.pt']  # no temporary file left


@pytest.mark.parametrize('content,fragment', [
    (b'not a checkpoint', 'as a PyTorch checkpoint (Unsupported operand'),
    (b'', 'as a PyTorch checkpoint (EOFError'),
    (None, "found a list"),
])
def test_unreadable_or_foreign_files(tmp_path, capsys, content, fragment):
    src = tmp_path / 'src.pt'
    if content is None:
        torch.save([torch.zeros(1)], src)
    else:
        src.write_bytes(content)
    status, _, err = run_tool(capsys, src, tmp_path / 'dst.pth')
    assert_one_line_error(status, err, fragment)


def test_cli_missing_file(tmp_path):
    """Run as a script: one line on stderr, exit status 2, no traceback."""
    missing = tmp_path / 'missing.pt'
    result = subprocess.run([sys.executable, str(SCRIPT), str(missing), str(tmp_path / 'x.pth')],
                            capture_output=True, text=True, timeout=300)
    assert result.stdout == ''
    assert_one_line_error(result.returncode, result.stderr, f'{missing}: no such file')
    assert os.listdir(tmp_path) == []
