"""scikit-learn's handwritten digits as an mmpretrain dataset (quick retraining runs).

This module imports mmpretrain; configs load it with
``custom_imports=dict(imports=['mmrnas.datasets.digits_cls_dataset'])``. It is not imported by
``mmrnas.datasets``.
"""
from typing import List, Optional

from mmpretrain.datasets import BaseDataset

from mmrnas.registry import DATASETS
from .digits import load_digits

__all__ = ['DigitsDataset']

NUM_DIGITS = 1797


@DATASETS.register_module()
class DigitsDataset(BaseDataset):
    """The 1797 8x8 scikit-learn digits, upsampled (nearest) to ``size`` and repeated to 3
    channels, held in memory as ``img`` arrays (H x W x 3 uint8).

    The split is deterministic, in file order: ``'train'`` = the first ``num_train`` images,
    ``'test'`` = the rest (1500 / 297 by default), ``'all'`` = all 1797 (what a search splits
    itself).

    Args:
        split (str): ``'train'``, ``'test'`` or ``'all'``. Defaults to ``'train'``.
        size (int): Image side length. Defaults to 32.
        num_train (int): Number of training images. Defaults to 1500.
        pipeline (list): Transforms. Defaults to ``()``.
        test_mode (bool): Passed to :class:`BaseDataset`. Defaults to False.
        **kwargs: Other arguments of :class:`mmpretrain.datasets.BaseDataset`.
    """

    METAINFO = {'classes': tuple(str(digit) for digit in range(10))}
    SPLITS = ('train', 'test', 'all')

    def __init__(self,
                 split: str = 'train',
                 size: int = 32,
                 num_train: int = 1500,
                 pipeline: Optional[list] = (),
                 test_mode: bool = False,
                 **kwargs) -> None:
        if split not in self.SPLITS:
            raise ValueError(f'split must be one of {self.SPLITS}, got {split!r}')
        if not 0 < num_train < NUM_DIGITS:
            raise ValueError(f'num_train must be in 1..{NUM_DIGITS - 1}, got {num_train}')
        self.split = split
        self.size = size
        self.num_train = num_train
        super().__init__(ann_file='', pipeline=pipeline, test_mode=test_mode, **kwargs)

    def load_data_list(self) -> List[dict]:
        """One ``dict(img=H x W x 3 uint8, gt_label=int)`` per image of the split."""
        images, labels = load_digits(self.size)
        part = dict(train=slice(0, self.num_train), test=slice(self.num_train, None),
                    all=slice(None))[self.split]
        images = images[part].permute(0, 2, 3, 1).numpy()
        return [
            dict(img=image, gt_label=int(label))
            for image, label in zip(images, labels[part].tolist())
        ]
