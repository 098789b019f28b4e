"""mmrnas.utils.config_input_size: the image size the config's pipelines fix (test, then val,
then train)."""
from pathlib import Path

import pytest
from mmengine.config import Config

from mmrnas.utils import config_input_size

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'


@pytest.mark.parametrize('config, expected', [
    # CIFAR tests on the 32x32 images as they are: the train crop says the size.
    ('retrain/rnas_c36l20_1xb128-600e_cifar10.py',
     (32, 32, 'train_dataloader.dataset.pipeline RandomCrop(crop_size=32)')),
    ('retrain/rnas_c46l14_8xb128-250e_in1k.py',
     (224, 224, 'test_dataloader.dataset.pipeline CenterCrop(crop_size=224)')),
    ('retrain/rnas_c8l5_1xb64-12e_digits-16.py',
     (16, 16, 'train_dataloader.dataset.pipeline RandomCrop(crop_size=16)')),
    ('retrain/rnas_c8l5_1xb64-30e_custom-folder-32.py',
     (32, 32, 'test_dataloader.dataset.pipeline CenterCrop(crop_size=32)')),
    pytest.param('detection/ssdlite_rnas-c46l14_8xb32-200e_voc0712-320.py',
                 (320, 320, 'test_dataloader.dataset.pipeline Resize(scale=(320, 320))'),
                 marks=pytest.mark.full_install),
    # Evaluated at the images' own size in 1024 x 1024 windows: the train crop.
    pytest.param('segmentation/bisenetv1_rnas-c46l14_2xb8-80k_cityscapes-1024x1024.py',
                 (1024, 1024,
                  'train_dataloader.dataset.pipeline RandomCrop(crop_size=(1024, 1024))'),
                 marks=pytest.mark.full_install),
    # TopdownAffine takes (w, h).
    pytest.param('pose/td-hm_rnas-c46l14_1xb128-140e_coco-256x192.py',
                 (256, 192,
                  'test_dataloader.dataset.pipeline TopdownAffine(input_size=(192, 256))'),
                 marks=pytest.mark.full_install),
])
def test_repository_configs(config, expected):
    assert config_input_size(Config.fromfile(str(CONFIGS / config))) == expected


def loader(*pipeline, **dataset) -> dict:
    return dict(dataset=dict(dataset, pipeline=list(pipeline)))


@pytest.mark.parametrize('cfg, expected', [
    # (w, h) for mmcv's CenterCrop and Resize, (h, w) for mmpretrain's crops; the last
    # fixed-size transform wins.
    (dict(test_dataloader=loader(dict(type='Resize', scale=(64, 48)),
                                 dict(type='CenterCrop', crop_size=(40, 30)))),
     (30, 40, 'test_dataloader.dataset.pipeline CenterCrop(crop_size=(40, 30))')),
    (dict(val_dataloader=loader(dict(type='mmpretrain.RandomResizedCrop', scale=(30, 40)))),
     (30, 40, 'val_dataloader.dataset.pipeline RandomResizedCrop(scale=(30, 40))')),
    # Ratios, -1 and edge resizes fix no size; the next dataloader is read.
    (dict(test_dataloader=loader(dict(type='ResizeEdge', scale=256),
                                 dict(type='Resize', scale=(-1, 512)),
                                 dict(type='RandomCrop', crop_size=(0.5, 0.5))),
          train_dataloader=loader(dict(type='RandomCrop', crop_size=28, padding=2))),
     (28, 28, 'train_dataloader.dataset.pipeline RandomCrop(crop_size=28)')),
    # Through dataset wrappers.
    (dict(train_dataloader=dict(dataset=dict(type='RepeatDataset', times=2, dataset=dict(
        type='ConcatDataset', datasets=[loader(dict(type='Resize', scale=300))['dataset']])))),
     (300, 300, 'train_dataloader.dataset.dataset.datasets.0.pipeline Resize(scale=300)')),
    (dict(test_dataloader=loader(dict(type='PackInputs')), image_size=(20, 24)),
     (20, 24, 'image_size=(20, 24)')),
    (dict(test_dataloader=None, val_dataloader=dict(batch_size=2)),
     (224, 224, 'the default 224: no pipeline of the config fixes a size')),
])
def test_rules(cfg, expected):
    assert config_input_size(Config(cfg)) == expected
