"""The OpenMMLab stack itself works here: one stock model per toolbox, one CPU forward.

These prove the installed toolboxes (and mmcv's compiled ops), not mmrnas code.
"""
import pytest
import torch
from mmengine.hub import get_config
from mmengine.registry import DefaultScope

pytestmark = [pytest.mark.slow, pytest.mark.full_install]


def build_stock_model(scope: str, config: str):
    """Build ``model`` of a toolbox's own config (no pretrained weights are loaded)."""
    import importlib
    importlib.import_module(f'{scope}.utils').register_all_modules(init_default_scope=False)
    registry = importlib.import_module(f'{scope}.registry').MODELS
    cfg = get_config(f'{scope}::{config}')
    with DefaultScope.overwrite_default_scope(scope):
        model = registry.build(cfg.model)
    return model.eval()


def test_mmdet_retinanet_predict_uses_compiled_nms():
    from mmdet.structures import DetDataSample
    torch.manual_seed(0)
    model = build_stock_model('mmdet', 'retinanet/retinanet_r18_fpn_1x_coco.py')
    sample = DetDataSample(metainfo=dict(
        img_shape=(128, 160), ori_shape=(128, 160), scale_factor=(1.0, 1.0)))
    data = dict(inputs=[torch.randint(0, 255, (3, 128, 160), dtype=torch.uint8)],
                data_samples=[sample])
    with torch.no_grad():
        (result, ) = model.test_step(data)
    boxes = result.pred_instances.bboxes
    assert boxes.ndim == 2 and boxes.shape[1] == 4
    assert boxes.shape[0] <= 100  # max_per_img after mmcv.ops batched_nms


def test_mmseg_bisenetv1_forward():
    model = build_stock_model(
        'mmseg', 'bisenetv1/bisenetv1_r18-d32_4xb4-160k_cityscapes-1024x1024.py')
    from mmengine.model import revert_sync_batchnorm
    model = revert_sync_batchnorm(model)
    with torch.no_grad():
        logits = model(torch.rand(1, 3, 64, 128), mode='tensor')
    assert logits.shape == (1, 19, 8, 16)  # stride-8 logits of BiSeNetV1's decode head


def test_mmpose_simplebaseline_forward():
    model = build_stock_model(
        'mmpose', 'body_2d_keypoint/topdown_heatmap/coco/td-hm_res50_8xb64-210e_coco-256x192.py')
    with torch.no_grad():
        heatmaps = model(torch.rand(1, 3, 256, 192), None, mode='tensor')
    assert heatmaps.shape == (1, 17, 64, 48)


def test_mmpretrain_resnet18_cifar_predict():
    model = build_stock_model('mmpretrain', 'resnet/resnet18_8xb16_cifar10.py')
    data = dict(inputs=[torch.randint(0, 255, (3, 32, 32), dtype=torch.uint8)] * 2)
    with torch.no_grad():
        results = model.test_step(data)
    assert len(results) == 2
    assert results[0].pred_score.shape == (10, )
    assert torch.isclose(results[0].pred_score.sum(), torch.tensor(1.0))
