"""mmrnas.utils.cli: the data of a run checked against the model before the Runner (image
channels, normalisation), and the input shape the tools feed a model."""
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config

from mmrnas.models import RelativeNASBackbone
from mmrnas.utils.cli import check_image_channels, check_loop_data, model_input_shape

ROOT = Path(__file__).resolve().parents[2]


def classifier_cfg(in_channels=None, mean=(125., 123., 114.), in_model=False) -> Config:
    """A retraining-like config: RelativeNASBackbone (``in_channels`` left out when None) and
    a data preprocessor with ``mean`` / ``std``, top-level or in the model."""
    backbone = dict(type='RelativeNASBackbone', stem='cifar')
    if in_channels is not None:
        backbone['in_channels'] = in_channels
    preprocessor = dict(mean=list(mean), std=[50.] * len(mean))
    cfg = dict(model=dict(type='ImageClassifier', backbone=backbone))
    if in_model:
        cfg['model']['data_preprocessor'] = preprocessor
    else:
        cfg['data_preprocessor'] = preprocessor
    return Config(cfg)


def images(channels: int) -> list:
    """A stand-in dataset: one packed sample of ``channels`` x 8 x 8."""
    return [dict(inputs=torch.zeros(channels, 8, 8, dtype=torch.uint8))]


@pytest.mark.parametrize('cfg, channels', [
    (classifier_cfg(), 3),
    (classifier_cfg(in_channels=1, mean=(127.5, )), 1),
    (classifier_cfg(in_channels=1, mean=(127.5, ), in_model=True), 1),
    (Config(dict(model=dict(type='ImageClassifier'))), 1),  # nothing to compare with
])
def test_matching_data_pass(cfg, channels):
    check_image_channels(cfg, images(channels), 'train_dataloader')


@pytest.mark.parametrize('cfg, channels, message', [
    (classifier_cfg(), 1,
     'train_dataloader.dataset gives 1-channel images but the model takes 3: set --cfg-options '
     'model.backbone.in_channels=1 data_preprocessor.mean=[...] data_preprocessor.std=[...] '
     '(1 value each, not 3)'),
    (classifier_cfg(in_channels=3, mean=(127.5, )), 1,
     'train_dataloader.dataset gives 1-channel images but the model takes 3: set --cfg-options '
     'model.backbone.in_channels=1'),
    (classifier_cfg(in_channels=1), 1,
     'train_dataloader.dataset gives 1-channel images but data_preprocessor.mean / std have 3 '
     'values: set --cfg-options data_preprocessor.mean=[...] data_preprocessor.std=[...] '
     '(1 value each, not 3)'),
    # A grey model: the data must match it (no LoadImageFromFile here to name).
    (classifier_cfg(in_channels=1, in_model=True), 3,
     'train_dataloader.dataset gives 3-channel images but the model takes 1: make the pipeline '
     'of train_dataloader.dataset give 1-channel images and set --cfg-options '
     'model.data_preprocessor.mean=[...] model.data_preprocessor.std=[...] (1 value each, not '
     '3)'),
    (classifier_cfg(in_channels=1, mean=(127.5, ), in_model=True), 3,
     'train_dataloader.dataset gives 3-channel images but the model takes 1: make the pipeline '
     'of train_dataloader.dataset give 1-channel images'),
])
def test_mismatch_is_one_line_naming_the_keys(cfg, channels, message):
    with pytest.raises(ValueError) as error:
        check_image_channels(cfg, images(channels), 'train_dataloader')
    assert str(error.value) == message


def with_loader(cfg: Config, key: str, dataset: dict) -> Config:
    """``cfg`` with ``cfg[key] = dict(dataset=dataset)``."""
    cfg[key] = dict(dataset=dataset)
    return cfg


LOAD_PIPELINE = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]


@pytest.mark.parametrize('cfg, key, channels, message', [
    # tools/test.py after a grey command that set only train/val_dataloader's color_type
    (with_loader(classifier_cfg(in_channels=1, mean=(127.5, )), 'test_dataloader',
                 dict(type='CustomDataset', pipeline=LOAD_PIPELINE)), 'test_dataloader', 3,
     'test_dataloader.dataset gives 3-channel images but the model takes 1: set --cfg-options '
     'test_dataloader.dataset.pipeline.0.color_type=grayscale'),
    (with_loader(classifier_cfg(in_channels=1), 'train_dataloader',
                 dict(type='RepeatDataset', times=2, dataset=dict(
                     type='CustomDataset', pipeline=[dict(type='mmpretrain.ResizeEdge')] +
                     LOAD_PIPELINE))), 'train_dataloader', 3,
     'train_dataloader.dataset gives 3-channel images but the model takes 1: set --cfg-options '
     'train_dataloader.dataset.dataset.pipeline.1.color_type=grayscale '
     'data_preprocessor.mean=[...] data_preprocessor.std=[...] (1 value each, not 3)'),
    # more channels than the default model (color_type='unchanged' on RGBA files)
    (with_loader(classifier_cfg(), 'val_dataloader', dict(
        type='CustomDataset', pipeline=[dict(type='LoadImageFromFile', color_type='unchanged'),
                                        dict(type='PackInputs')])), 'val_dataloader', 4,
     'val_dataloader.dataset gives 4-channel images but the model takes 3: set --cfg-options '
     'val_dataloader.dataset.pipeline.0.color_type=color'),
])
def test_data_that_do_not_fit_a_model_name_the_pipeline_option(cfg, key, channels, message):
    with pytest.raises(ValueError) as error:
        check_image_channels(cfg, images(channels), key)
    assert str(error.value) == message


def test_the_grey_retraining_command_of_the_guide_fits_test_py():
    """docs/retraining_guide.md's grey options: without the test_dataloader one, tools/test.py
    is told to make its data grey (test_dataloader = val_dataloader was copied when the config
    was parsed); with it, the test data fit."""
    grey = {'model.backbone.in_channels': 1, 'data_preprocessor.mean': [127.5],
            'data_preprocessor.std': [50.]}
    grey.update({f'{key}.dataset.pipeline.0.color_type': 'grayscale'
                 for key in ('train_dataloader', 'val_dataloader')})
    cfg = Config.fromfile(str(ROOT / 'configs/retrain/rnas_c8l5_1xb64-30e_custom-folder-32.py'))
    cfg.merge_from_dict(grey)
    with pytest.raises(ValueError) as error:
        check_image_channels(cfg, images(3), 'test_dataloader')
    assert str(error.value) == (
        'test_dataloader.dataset gives 3-channel images but the model takes 1: set '
        '--cfg-options test_dataloader.dataset.pipeline.0.color_type=grayscale')
    cfg.merge_from_dict({'test_dataloader.dataset.pipeline.0.color_type': 'grayscale'})
    assert cfg.test_dataloader.dataset.pipeline[0] == dict(type='LoadImageFromFile',
                                                           color_type='grayscale')


@pytest.mark.parametrize('loop, keys', [
    ('train_loop', ['train_dataloader', 'val_dataloader']),
    ('val_loop', ['val_dataloader']),
    ('test_loop', ['test_dataloader']),
])
def test_each_loop_checks_the_data_it_reads(loop, keys, monkeypatch):
    built = []

    def build_dataset(cfg, key):
        built.append(key)
        return images(1)

    monkeypatch.setattr('mmrnas.utils.cli.build_dataset', build_dataset)
    cfg = classifier_cfg()
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        with_loader(cfg, key, dict(type='CustomDataset', pipeline=LOAD_PIPELINE))
    with pytest.raises(ValueError) as error:
        check_loop_data(cfg, loop)
    assert built == keys[:1]
    assert str(error.value).startswith(f'{keys[0]}.dataset gives 1-channel images but the '
                                       'model takes 3: set --cfg-options '
                                       'model.backbone.in_channels=1')
    cfg.model.backbone.in_channels = 1
    cfg.data_preprocessor.update(mean=[127.5], std=[50.])
    built.clear()
    check_loop_data(cfg, loop)
    assert built == keys


def test_empty_and_unreadable_datasets():
    with pytest.raises(ValueError) as error:
        check_image_channels(classifier_cfg(), [], 'val_dataloader')
    assert str(error.value) == ('val_dataloader.dataset has no samples: check its data_root '
                                '(and data_prefix / ann_file)')

    class Unreadable:
        def __len__(self):
            return 1

        def __getitem__(self, index):
            raise OSError('cannot identify image file')

    with pytest.raises(ValueError) as error:
        check_image_channels(classifier_cfg(), Unreadable(), 'val_dataloader')
    assert str(error.value) == ('val_dataloader.dataset: cannot read its first sample through '
                                'the pipeline (OSError: cannot identify image file)')


@pytest.mark.parametrize('in_channels, shape, expected', [
    (3, None, ((3, 32, 32), 'size from train_dataloader.dataset.pipeline '
                            'RandomCrop(crop_size=32)')),
    (1, None, ((1, 32, 32), 'size from train_dataloader.dataset.pipeline '
                            'RandomCrop(crop_size=32)')),
    (1, [16], ((1, 16, 16), 'size from --shape')),
    (3, [16, 24], ((3, 16, 24), 'size from --shape')),
])
def test_model_input_shape(in_channels, shape, expected):
    """Channels from the model's first convolution, the size from --shape or the config."""
    cfg = Config(dict(train_dataloader=dict(dataset=dict(
        pipeline=[dict(type='RandomCrop', crop_size=32, padding=4)]))))
    model = nn.Sequential(RelativeNASBackbone(stem='cifar', base_channels=4, num_cells=3,
                                              in_channels=in_channels))
    assert model_input_shape(cfg, model, shape) == expected
    assert model_input_shape(cfg, nn.Linear(2, 2), shape)[0][0] == 3  # no convolution
