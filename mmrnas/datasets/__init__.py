"""mmrnas.datasets: fast search-time data held on the device (torch only at import time)."""
from .cifar import CIFAR10_MEAN, CIFAR10_STD, CIFAR100_MEAN, CIFAR100_STD, load_cifar
from .device_data import BatchAugment, DeviceDataset
from .digits import DIGITS_MEAN, DIGITS_STD, load_digits
from .search_data import SEARCH_DATASETS, build_search_split, dataset_identity, load_search_dataset
from .split import split_indices

__all__ = [
    'BatchAugment', 'CIFAR100_MEAN', 'CIFAR100_STD', 'CIFAR10_MEAN', 'CIFAR10_STD',
    'DIGITS_MEAN', 'DIGITS_STD', 'DeviceDataset', 'load_cifar', 'load_digits', 'split_indices',
    'SEARCH_DATASETS', 'load_search_dataset', 'build_search_split', 'dataset_identity'
]
