"""mmrnas.utils.cli: the data of a run checked against the model before the Runner (image
channels, normalisation), and the input shape the tools feed a model."""
import pytest
import torch
import torch.nn as nn
from mmengine.config import Config

from mmrnas.models import RelativeNASBackbone
from mmrnas.utils.cli import check_image_channels, model_input_shape


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
    (classifier_cfg(in_channels=1, in_model=True), 3,
     'train_dataloader.dataset gives 3-channel images but the model takes 1: set --cfg-options '
     'model.backbone.in_channels=3'),
    (classifier_cfg(in_channels=1, mean=(127.5, ), in_model=True), 3,
     'train_dataloader.dataset gives 3-channel images but the model takes 1: set --cfg-options '
     'model.backbone.in_channels=3 model.data_preprocessor.mean=[...] '
     'model.data_preprocessor.std=[...] (3 values each, not 1)'),
])
def test_mismatch_is_one_line_naming_the_keys(cfg, channels, message):
    with pytest.raises(ValueError) as error:
        check_image_channels(cfg, images(channels), 'train_dataloader')
    assert str(error.value) == message


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
