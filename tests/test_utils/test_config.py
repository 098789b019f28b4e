"""merge_cfg_options: --cfg-options genotype=... reaches every RelativeNASBackbone;
check_pretrained_checkpoints: a missing pretrained checkpoint is one clear error."""
from pathlib import Path

import pytest
from mmengine.config import Config

from mmrnas.utils.config import check_pretrained_checkpoints, iter_module_cfgs, merge_cfg_options


def test_genotype_reaches_nested_backbones():
    cfg = Config(dict(
        genotype='RelativeNAS',
        model=dict(type='EncoderDecoder', backbone=dict(
            type='BiSeNetV1', backbone_cfg=dict(type='RelativeNASBackbone',
                                                genotype='RelativeNAS')),
            decode_head=dict(type='FCNHead'))))
    merge_cfg_options(cfg, {'genotype': 'DARTS_V2', 'model.decode_head.channels': 8})
    assert cfg.genotype == 'DARTS_V2'
    assert cfg.model.backbone.backbone_cfg.genotype == 'DARTS_V2'
    assert 'genotype' not in cfg.model.decode_head and cfg.model.decode_head.channels == 8


def test_genotype_reaches_a_scoped_backbone():
    """The backbone named with its scope (mmrnas.RelativeNASBackbone) gets it too."""
    cfg = Config(dict(model=dict(type='ImageClassifier', backbone=dict(
        type='mmrnas.RelativeNASBackbone', genotype='RelativeNAS'), neck=[dict(type='X')])))
    merge_cfg_options(cfg, {'genotype': 'PDARTS'})
    assert cfg.model.backbone.genotype == 'PDARTS' and 'genotype' not in cfg.model.neck[0]
    assert [key for key, _ in iter_module_cfgs(cfg.model)] == [
        'model', 'model.backbone', 'model.neck.0']


def test_other_options_leave_the_genotype():
    cfg = Config(dict(genotype='RelativeNAS', model=dict(backbone=dict(
        type='RelativeNASBackbone', genotype='RelativeNAS'))))
    merge_cfg_options(cfg, {'model.backbone.base_channels': 8})
    assert cfg.model.backbone.genotype == 'RelativeNAS'
    merge_cfg_options(cfg, None)
    merge_cfg_options(cfg, {'genotype': 'PDARTS'})
    assert cfg.model.backbone.genotype == 'PDARTS'


ROOT = Path(__file__).resolve().parents[2]
CONVERT = ('python tools/model_converters/relativenas_to_mmrnas.py SRC '
           'checkpoints/rnas_c46l14_in1k_backbone.pth --backbone-only')


@pytest.mark.full_install
@pytest.mark.parametrize('config, key', [
    ('detection/ssdlite_rnas-c46l14_8xb32-200e_voc0712-320.py', 'model.backbone.init_cfg'),
    ('segmentation/bisenetv1_rnas-c46l14_2xb8-80k_cityscapes-1024x1024.py',
     'model.backbone.backbone_cfg.init_cfg'),
    ('pose/td-hm_rnas-c46l14_1xb128-140e_coco-256x192.py', 'model.backbone.init_cfg'),
])
def test_missing_pretrained_backbone(config, key, tmp_path, monkeypatch):
    """Each transfer config's ImageNet backbone checkpoint, missing: one error naming the
    converter and the key to override (nested in BiSeNetV1)."""
    monkeypatch.chdir(tmp_path)  # no checkpoints/ here
    cfg = Config.fromfile(str(ROOT / 'configs' / config))
    with pytest.raises(FileNotFoundError) as error:
        check_pretrained_checkpoints(cfg)
    assert str(error.value) == (
        "the pretrained checkpoint 'checkpoints/rnas_c46l14_in1k_backbone.pth' of "
        f'{key} does not exist: make it from the ImageNet weights with `{CONVERT}` '
        f'(docs/transfer_guide.md), point --cfg-options {key}.checkpoint=PATH at another file, '
        f'or train from scratch with --cfg-options {key}=None')
    (tmp_path / 'checkpoints').mkdir()
    (tmp_path / 'checkpoints' / 'rnas_c46l14_in1k_backbone.pth').touch()
    check_pretrained_checkpoints(cfg)
    merge_cfg_options(cfg, {f'{key}.checkpoint': 'elsewhere.pth'})
    with pytest.raises(FileNotFoundError, match=f"'elsewhere.pth' of {key} does not exist"):
        check_pretrained_checkpoints(cfg)
    merge_cfg_options(cfg, {key: None})
    check_pretrained_checkpoints(cfg)


def test_pretrained_urls_and_other_modules():
    """URLs are MMEngine's to fetch; a module other than RelativeNASBackbone gets no converter
    hint; init_cfg lists are checked too."""
    cfg = Config(dict(model=dict(
        type='ImageClassifier',
        backbone=dict(type='ResNet', init_cfg=dict(type='Pretrained',
                                                   checkpoint='torchvision://resnet50')),
        neck=[dict(type='Neck', init_cfg=[dict(type='Kaiming'),
                                          dict(type='Pretrained', checkpoint='~/no.pth')])])))
    with pytest.raises(FileNotFoundError) as error:
        check_pretrained_checkpoints(cfg)
    assert str(error.value) == (
        "the pretrained checkpoint '~/no.pth' of model.neck.0.init_cfg does not exist: point "
        '--cfg-options model.neck.0.init_cfg.checkpoint=PATH at another file, or train from '
        'scratch with --cfg-options model.neck.0.init_cfg=None')
