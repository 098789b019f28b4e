"""merge_cfg_options: --cfg-options genotype=... reaches every RelativeNASBackbone."""
from mmengine.config import Config

from mmrnas.utils.config import merge_cfg_options


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


def test_other_options_leave_the_genotype():
    cfg = Config(dict(genotype='RelativeNAS', model=dict(backbone=dict(
        type='RelativeNASBackbone', genotype='RelativeNAS'))))
    merge_cfg_options(cfg, {'model.backbone.base_channels': 8})
    assert cfg.model.backbone.genotype == 'RelativeNAS'
    merge_cfg_options(cfg, None)
    merge_cfg_options(cfg, {'genotype': 'PDARTS'})
    assert cfg.model.backbone.genotype == 'PDARTS'
