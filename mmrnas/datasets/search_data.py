"""The data a search runs on: a labelled image set split in two halves on the device."""
import hashlib
from typing import Any, Dict, Tuple

import numpy as np
import torch

from .cifar import CIFAR10_MEAN, CIFAR10_STD, CIFAR100_MEAN, CIFAR100_STD, load_cifar
from .device_data import DeviceDataset
from .digits import DIGITS_MEAN, DIGITS_STD, load_digits

__all__ = ['SEARCH_DATASETS', 'load_search_dataset', 'build_search_split', 'dataset_identity']

#: Dataset types a search config may name, with their number of classes.
SEARCH_DATASETS: Dict[str, int] = dict(cifar10=10, cifar100=100, digits=10)


def load_search_dataset(cfg: dict) -> Tuple[DeviceDataset, int]:
    """Load the training images a search splits, on the CPU.

    Args:
        cfg (dict): ``dict(type='cifar10' | 'cifar100', data_root=..., download=False)`` (the
            50k CIFAR training images) or ``dict(type='digits', size=16)`` (scikit-learn's
            1,797 handwritten digits).

    Returns:
        tuple[DeviceDataset, int]: The images and the number of classes.
    """
    cfg = dict(cfg)
    kind = cfg.pop('type', None)
    if kind not in SEARCH_DATASETS:
        raise ValueError(f'search dataset type must be one of {sorted(SEARCH_DATASETS)}, '
                         f'got {kind!r}')
    takes = ('size', ) if kind == 'digits' else ('data_root', 'download')
    unknown = sorted(set(cfg) - set(takes))
    if unknown:
        raise ValueError(f'the {kind} search dataset takes {", ".join(takes)}; unknown: '
                         f'{", ".join(unknown)}')
    if kind == 'digits':
        images, labels = load_digits(**cfg)
        return DeviceDataset(images, labels, DIGITS_MEAN, DIGITS_STD), SEARCH_DATASETS[kind]
    data_root = cfg.pop('data_root', None)
    if data_root is None:
        raise ValueError(f"the {kind} search dataset needs data_root (the folder holding the "
                         f"python batches)")
    images, labels = load_cifar(data_root, name=kind, train=True, **cfg)
    mean, std = (CIFAR10_MEAN, CIFAR10_STD) if kind == 'cifar10' else (CIFAR100_MEAN,
                                                                        CIFAR100_STD)
    return DeviceDataset(images, labels, mean, std), SEARCH_DATASETS[kind]


def build_search_split(dataset: DeviceDataset, train_indices: np.ndarray,
                       val_indices: np.ndarray,
                       device: torch.device) -> Tuple[DeviceDataset, DeviceDataset]:
    """The training and validation halves on ``device``."""
    return (dataset.subset(train_indices).to(device), dataset.subset(val_indices).to(device))



def dataset_identity(cfg: dict, dataset: DeviceDataset, num_classes: int) -> Dict[str, Any]:
    """What identifies the data of a search, recorded in its checkpoints: the dataset config
    without where the files live (``data_root``, ``download``: moving the data is fine), the
    number of images and classes, and the SHA-1 of the images and labels."""
    digest = hashlib.sha1()
    for tensor in (dataset.images, dataset.labels):
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    config = {k: v for k, v in dict(cfg).items() if k not in ('data_root', 'download')}
    return dict(config=config, num_samples=len(dataset), num_classes=num_classes,
                sha1=digest.hexdigest())
