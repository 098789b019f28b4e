"""The image size the config's pipelines fix (test, then val, then train): the default input of
the tools that measure or export its model (``get_flops.py``, ``pytorch2onnx.py``).

Not always the size a model is tested at: a segmentation config (BiSeNet on Cityscapes) tests at
the native image size, its test pipeline has no size transform, so its train crop (1024 x 1024)
is taken."""
from typing import Any, Optional, Tuple

__all__ = ['DEFAULT_INPUT_SIZE', 'config_input_size']

#: mmpretrain's convention, for a config whose pipelines fix no size.
DEFAULT_INPUT_SIZE = 224
#: Transforms whose output has a fixed size: the argument holding it and the order of a pair.
#: mmcv's ``CenterCrop`` and ``Resize`` and mmpose's ``TopdownAffine`` take (w, h); mmpretrain's
#: (and mmseg's) ``RandomCrop`` and mmpretrain's ``RandomResizedCrop`` take (h, w). A ``Resize``
#: that keeps the aspect ratio counts with its bound.
SIZE_TRANSFORMS = {
    'CenterCrop': ('crop_size', 'wh'),
    'RandomCrop': ('crop_size', 'hw'),
    'RandomResizedCrop': ('scale', 'hw'),
    'Resize': ('scale', 'wh'),
    'TopdownAffine': ('input_size', 'wh'),
}
#: Top-level config variables that name the image size (the digits config's ``image_size``,
#: mmseg's ``crop_size``), both (h, w).
SIZE_VARIABLES = ('image_size', 'crop_size')
#: The dataloaders read in this order: what the model is evaluated at first.
DATALOADERS = ('test_dataloader', 'val_dataloader', 'train_dataloader')


def _height_width(value: Any, order: str) -> Optional[Tuple[int, int]]:
    """``(h, w)`` of a size argument (an int or a pair of ints in ``order``); None for anything
    else (ratios, ranges, -1 for "keep")."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    if not (isinstance(value, (list, tuple)) and len(value) == 2 and all(
            isinstance(side, int) and not isinstance(side, bool) and side > 0 for side in value)):
        return None
    return (value[0], value[1]) if order == 'hw' else (value[1], value[0])


def _pipeline(dataset: Any, key: str) -> Tuple[Optional[list], str]:
    """The pipeline of a dataset config and its dotted key, through dataset wrappers
    (``dataset=`` of ``RepeatDataset``, the first of ``datasets=`` of ``ConcatDataset``)."""
    while isinstance(dataset, dict) and 'pipeline' not in dataset:
        if isinstance(dataset.get('dataset'), dict):
            dataset, key = dataset['dataset'], f'{key}.dataset'
        elif isinstance(dataset.get('datasets'), (list, tuple)) and dataset['datasets']:
            dataset, key = dataset['datasets'][0], f'{key}.datasets.0'
        else:
            return None, key
    pipeline = dataset.get('pipeline') if isinstance(dataset, dict) else None
    return (pipeline if isinstance(pipeline, (list, tuple)) else None), f'{key}.pipeline'


def config_input_size(cfg: Any) -> Tuple[int, int, str]:
    """``(height, width, source)``: the size the config's pipelines fix (test, then val, then
    train), and where it was read.

    The last fixed-size transform (:data:`SIZE_TRANSFORMS`) of the test pipeline, else of the
    val pipeline, else of the train pipeline (a CIFAR config tests on the 32 x 32 images as
    they are and crops 32 x 32 in training; a segmentation config tests at the native size and
    gives its train crop), else a top-level :data:`SIZE_VARIABLES` entry, else
    :data:`DEFAULT_INPUT_SIZE`. ``source`` reads e.g.
    ``'test_dataloader.dataset.pipeline CenterCrop(crop_size=224)'``.

    Args:
        cfg (Config | dict): The config.
    """
    for name in DATALOADERS:
        loader = cfg.get(name)
        if not isinstance(loader, dict):
            continue
        pipeline, key = _pipeline(loader.get('dataset'), f'{name}.dataset')
        for transform in reversed(pipeline or []):
            if not isinstance(transform, dict):
                continue
            kind = str(transform.get('type', '')).rsplit('.', 1)[-1]
            if kind not in SIZE_TRANSFORMS:
                continue
            argument, order = SIZE_TRANSFORMS[kind]
            size = _height_width(transform.get(argument), order)
            if size is not None:
                return (*size, f'{key} {kind}({argument}={transform[argument]})')
    for name in SIZE_VARIABLES:
        size = _height_width(cfg.get(name), 'hw')
        if size is not None:
            return (*size, f'{name}={cfg[name]}')
    return (DEFAULT_INPUT_SIZE, DEFAULT_INPUT_SIZE,
            f'the default {DEFAULT_INPUT_SIZE}: no pipeline of the config fixes a size')
